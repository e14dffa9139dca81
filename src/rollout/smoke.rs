//! Smoke checks after a rollout: the environment's HTTP checks, each retried with exponential
//! backoff, all under one overall deadline.

use std::time::{Duration, Instant};

use crate::env::model::{Environment, SmokeCheck};

/// Longest single request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait between two attempts of a check.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CheckResult {
    pub service: String,
    pub check: String,
    pub url: String,
    pub passed: bool,
    pub attempts: u32,
    /// What the last attempt saw.
    pub detail: String,
}

/// Runs the smoke checks of `services` against `base_url`.
pub async fn run(
    env: &Environment,
    services: &[String],
    base_url: &str,
    deadline: Duration,
) -> Vec<CheckResult> {
    let checks: Vec<(&str, &SmokeCheck)> = env
        .services
        .iter()
        .filter(|s| services.contains(&s.name.v))
        .flat_map(|svc| svc.smoke.iter().map(move |c| (svc.name.v.as_str(), c)))
        .collect();
    run_checks(&checks, base_url, deadline).await
}

/// Runs `checks` (each with the service or site it belongs to) against `base_url`.
pub async fn run_checks(
    checks: &[(&str, &SmokeCheck)],
    base_url: &str,
    deadline: Duration,
) -> Vec<CheckResult> {
    let client = match reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("slipway-smoke/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return vec![CheckResult {
                service: String::new(),
                check: String::new(),
                url: base_url.to_string(),
                passed: false,
                attempts: 0,
                detail: format!("cannot build an HTTP client: {e}"),
            }]
        }
    };
    let until = Instant::now() + deadline;
    let futures = checks
        .iter()
        .map(|(owner, check)| one(&client, owner, check, base_url, until));
    futures::future::join_all(futures).await
}

async fn one(
    client: &reqwest::Client,
    service: &str,
    check: &SmokeCheck,
    base_url: &str,
    until: Instant,
) -> CheckResult {
    let url = format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        check.path.v.trim_start_matches('/')
    );
    let expected: Vec<u16> = if check.expect_unauthorized {
        vec![401]
    } else if check.expect_status.is_empty() {
        vec![200]
    } else {
        check.expect_status.iter().map(|s| s.v as u16).collect()
    };
    let attempts_allowed = check.retries.max(0) as u32 + 1;
    let mut backoff = check.backoff;
    let mut result = CheckResult {
        service: service.to_string(),
        check: check.name.v.clone(),
        url: url.clone(),
        passed: false,
        attempts: 0,
        detail: String::new(),
    };
    for attempt in 1..=attempts_allowed {
        result.attempts = attempt;
        match client.get(&url).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap_or_default();
                let status_ok = expected.contains(&status);
                let body_ok = check
                    .body_contains
                    .as_ref()
                    .is_none_or(|needle| body.contains(&needle.v));
                if status_ok && body_ok {
                    result.passed = true;
                    result.detail = format!("{status}");
                    return result;
                }
                result.detail = if !status_ok {
                    format!(
                        "answered {status}, expected {}",
                        expected
                            .iter()
                            .map(u16::to_string)
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                } else {
                    format!(
                        "answered {status} but the body does not contain {:?}",
                        check
                            .body_contains
                            .as_ref()
                            .map(|n| n.v.as_str())
                            .unwrap_or_default()
                    )
                };
            }
            Err(e) => {
                result.detail = format!("request failed: {}", e.without_url());
            }
        }
        if attempt == attempts_allowed {
            break;
        }
        let now = Instant::now();
        if now + backoff >= until {
            result.detail.push_str(" (smoke deadline reached)");
            break;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    result
}
