//! The only place that talks to AWS.
//!
//! [`sdk_config`] builds the one SDK configuration every client comes from: credential chain and
//! profile, region from the environment file, `AWS_ENDPOINT_URL` (how tests reach the emulator),
//! bounded retries, and connect/attempt/operation timeouts (the SDK has no read timeout by
//! default, so a silent server would hang a call for minutes). One adapter module per service
//! converts between slipway's types and the SDK's.

pub mod ecr;
pub mod ecs;
pub mod elbv2;
pub mod iam;
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
    }
    loader.load().await
}

/// Every client slipway uses, built from one configuration.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub sts: aws_sdk_sts::Client,
    pub iam: aws_sdk_iam::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            ecs: aws_sdk_ecs::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
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

/// A failed AWS call, with the cause the SDK's `Display` hides, and, when access was denied,
/// the IAM permission that was missing.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct AwsError {
    /// IAM service prefix: `ecs`, `ecr`, `sts`, `elasticloadbalancing`, `iam`.
    pub service: &'static str,
    pub operation: &'static str,
    /// The service's error code (`AccessDeniedException`, `ClusterNotFoundException`, ...).
    pub code: Option<String>,
    pub message: String,
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
        let (code, message) = match err.as_service_error() {
            Some(e) => (
                e.code().map(str::to_string),
                e.message().map_or_else(
                    || aws_sdk_ecs::error::DisplayErrorContext(&err).to_string(),
                    str::to_string,
                ),
            ),
            None => (
                None,
                aws_sdk_ecs::error::DisplayErrorContext(&err).to_string(),
            ),
        };
        AwsError {
            service,
            operation,
            code,
            message,
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
