//! The only place that talks to AWS.
//!
//! [`sdk_config`] builds the one SDK configuration every client comes from: credential chain and
//! profile, region from the environment file, `AWS_ENDPOINT_URL` (how tests reach the emulator),
//! bounded retries, and connect/attempt/operation timeouts (the SDK has no read timeout by
//! default, so a silent server would hang a call for minutes). One adapter module per service
//! converts between slipway's types and the SDK's.

pub mod cloudfront;
pub mod cloudwatch;
pub mod ecr;
pub mod ecs;
pub mod elbv2;
pub mod iam;
pub mod s3;
pub mod secrets;
pub mod sts;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Overrides `AWS_ENDPOINT_URL` (which the SDK reads by itself).
    pub endpoint_url: Option<String>,
    pub timeouts: Timeouts,
}

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// One HTTP attempt.
    pub attempt: Duration,
    /// A whole operation, retries included.
    pub operation: Duration,
    pub max_attempts: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            attempt: Duration::from_secs(10),
            operation: Duration::from_secs(30),
            max_attempts: 4,
        }
    }
}

pub async fn sdk_config(opts: &AwsOptions) -> SdkConfig {
    let t = opts.timeouts;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(t.max_attempts)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(t.connect)
                .operation_attempt_timeout(t.attempt)
                .operation_timeout(t.operation)
                .build(),
        );
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
        let _ = ENDPOINT.set(e.clone());
    }
    loader.load().await
}

/// The endpoint every client of this process calls instead of AWS's own, when one is
/// configured (`AWS_ENDPOINT_URL`): named in "cannot reach" errors.
static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Every client slipway uses, built from one configuration.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub sts: aws_sdk_sts::Client,
    pub iam: aws_sdk_iam::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub s3: aws_sdk_s3::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Clients {
        // An endpoint of one's own (an emulator, MinIO) serves buckets by path, not by host name.
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            ecs: aws_sdk_ecs::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(config),
            cloudfront: aws_sdk_cloudfront::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
        }
    }
}

/// Calls in flight at once per batch of work (DescribeServices batches, DescribeTaskDefinition,
/// DescribeImages, ...): enough to hide latency, few enough not to trip throttling.
pub const CONCURRENCY: usize = 8;

/// Runs `f` over `items` with at most `limit` calls in flight, results in input order.
pub async fn bounded<I, T, F, Fut>(items: I, limit: usize, f: F) -> Vec<T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    use futures::stream::{self, StreamExt};
    stream::iter(items)
        .map(f)
        .buffered(limit.max(1))
        .collect()
        .await
}

/// A failed AWS call, said in one line with what to do: a service error with its code (and,
/// when access was denied, the IAM permission that was missing), or why no answer came back
/// (unreachable, no credentials, timed out). The SDK's full error chain is kept for `-v`
/// (`{:#}` prints it).
#[derive(Debug, thiserror::Error)]
pub struct AwsError {
    /// IAM service prefix: `ecs`, `ecr`, `sts`, `elasticloadbalancing`, `iam`, `s3`.
    pub service: &'static str,
    pub operation: &'static str,
    /// The service's error code (`AccessDeniedException`, `ClusterNotFoundException`, ...).
    pub code: Option<String>,
    pub message: String,
    /// Why no answer came back, when none did.
    pub transport: Option<Box<Transport>>,
    /// The SDK's error chain, for `-v`.
    pub detail: Box<str>,
}

/// Why a call got no answer from AWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// The endpoint could not be reached: the cause, in words.
    Unreachable(String),
    /// The credential chain found nothing.
    NoCredentials,
    /// A credential provider failed (an expired SSO session, a role it could not assume).
    Credentials(String),
    /// No answer within the deadline.
    TimedOut,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())?;
        if f.alternate() && !self.detail.is_empty() {
            write!(f, "\n  AWS SDK: {}", self.detail)?;
        }
        Ok(())
    }
}

impl AwsError {
    pub fn from_sdk<E, R>(
        service: &'static str,
        operation: &'static str,
        err: aws_sdk_ecs::error::SdkError<E, R>,
    ) -> AwsError
    where
        E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let detail = aws_sdk_ecs::error::DisplayErrorContext(&err).to_string();
        let (code, message) = match err.as_service_error() {
            Some(e) => (
                e.code().map(str::to_string),
                e.message().map_or_else(|| detail.clone(), str::to_string),
            ),
            None => (None, detail.clone()),
        };
        let detail = detail.into_boxed_str();
        let transport = if err.as_service_error().is_some() {
            None
        } else {
            transport_cause(&err).map(Box::new)
        };
        AwsError {
            service,
            operation,
            code,
            message,
            transport,
            detail,
        }
    }

    pub fn invalid(
        service: &'static str,
        operation: &'static str,
        message: impl Into<String>,
    ) -> AwsError {
        AwsError {
            service,
            operation,
            code: None,
            message: message.into(),
            transport: None,
            detail: Box::default(),
        }
    }

    /// The IAM action this call needs, e.g. `ecs:DescribeServices`.
    pub fn permission(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }

    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "AccessDenied"
                    | "AccessDeniedException"
                    | "UnauthorizedOperation"
                    | "UnrecognizedClientException"
                    | "InvalidClientTokenId"
                    | "ExpiredToken"
                    | "ExpiredTokenException"
            )
        )
    }

    pub fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    fn describe(&self) -> String {
        let op = self.permission();
        let endpoint = || {
            ENDPOINT
                .get()
                .cloned()
                .unwrap_or_else(|| format!("the {} endpoint", self.service))
        };
        match self.transport.as_deref() {
            Some(Transport::Unreachable(why)) => {
                return format!(
                    "cannot reach AWS at {} ({op}): {why}; check the network, or AWS_ENDPOINT_URL",
                    endpoint()
                )
            }
            Some(Transport::NoCredentials) => {
                return format!(
                    "no AWS credentials ({op}): looked in the environment (AWS_ACCESS_KEY_ID), the shared config and credentials files (AWS_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), the ECS container and EC2 instance metadata; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or in GitHub Actions assume the environment's role with aws-actions/configure-aws-credentials"
                )
            }
            Some(Transport::Credentials(why)) => {
                return format!(
                    "cannot get AWS credentials ({op}): {why}; check AWS_PROFILE, or log in again (aws sso login)"
                )
            }
            Some(Transport::TimedOut) => {
                return format!(
                    "AWS at {} did not answer {op} in time (--aws-timeout); check the network, or raise --aws-timeout",
                    endpoint()
                )
            }
            None => {}
        }
        match self.code.as_deref() {
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => format!(
                "AWS {op} was denied: the caller needs the IAM permission `{op}` ({})",
                self.message
            ),
            Some(
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "ExpiredToken"
                | "ExpiredTokenException",
            ) => format!(
                "AWS {op} refused the credentials ({}): check AWS_PROFILE / the role slipway runs as",
                self.message
            ),
            Some(code) => format!("AWS {op} failed: {code}: {}", self.message),
            None => format!("AWS {op} failed: {}", self.message),
        }
    }
}

/// Why a call that got no service answer failed, found by walking the error's causes.
fn transport_cause<E, R>(err: &aws_sdk_ecs::error::SdkError<E, R>) -> Option<Transport>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ecs::error::SdkError;
    if matches!(err, SdkError::TimeoutError(_)) {
        return Some(Transport::TimedOut);
    }
    let mut causes: Vec<String> = Vec::new();
    let mut io_kind = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        if let Some(c) = e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
        {
            use aws_credential_types::provider::error::CredentialsError as C;
            return Some(match c {
                C::CredentialsNotLoaded(_) => Transport::NoCredentials,
                other => Transport::Credentials(
                    aws_sdk_ecs::error::DisplayErrorContext(other).to_string(),
                ),
            });
        }
        causes.push(e.to_string());
        source = e.source();
    }
    if let SdkError::DispatchFailure(d) = err {
        if d.is_timeout() {
            return Some(Transport::TimedOut);
        }
    }
    let why = match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
        Some(std::io::ErrorKind::ConnectionReset) => "the connection was reset".to_string(),
        Some(std::io::ErrorKind::TimedOut) => return Some(Transport::TimedOut),
        Some(kind) => kind.to_string(),
        None if causes.iter().any(|c| c.contains("dns error")) => {
            "the host name does not resolve".to_string()
        }
        None => {
            if !matches!(err, SdkError::DispatchFailure(_)) {
                return None;
            }
            causes.last().cloned().unwrap_or_else(|| "no answer".into())
        }
    };
    Some(Transport::Unreachable(why))
}
