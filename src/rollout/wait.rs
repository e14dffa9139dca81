//! Waiting for services to settle: DescribeServices in batches of 10, at an interval that starts
//! short and grows to at most 15 s, each service under its own deadline.
//!
//! Stable = one deployment, it is PRIMARY on the expected task definition, its rollout
//! COMPLETED (when ECS reports rollout state), and running == desired. Failed = the rollout with
//! the expected task definition FAILED (the circuit breaker), or ECS replaced it on its own
//! (the breaker's automatic rollback). Neither before the deadline = timed out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::aws::ecs::{self, LiveService};
use crate::aws::AwsError;
use crate::rollout::interrupt::Interrupt;
use crate::rollout::progress::Progress;

pub const FIRST_INTERVAL: Duration = Duration::from_millis(250);
pub const MAX_INTERVAL: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct Watch {
    /// The service's label in the environment file (what results are keyed by).
    pub service: String,
    /// Its name in ECS.
    pub ecs_name: String,
    /// The task definition the service must settle on.
    pub target: String,
    pub timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Settled {
    Stable,
    Failed {
        reason: String,
    },
    TimedOut {
        running: i32,
        desired: i32,
    },
    /// Stopped watching (interrupt) before it settled.
    Interrupted,
}

impl Settled {
    pub fn is_stable(&self) -> bool {
        matches!(self, Settled::Stable)
    }

    pub fn describe(&self) -> String {
        match self {
            Settled::Stable => "stable".to_string(),
            Settled::Failed { reason } => format!("failed: {reason}"),
            Settled::TimedOut { running, desired } => {
                format!("timed out with {running}/{desired} tasks running on the new revision")
            }
            Settled::Interrupted => "interrupted while rolling".to_string(),
        }
    }
}

/// Where one service stands, from one DescribeServices answer.
pub fn classify(s: &LiveService, target: &str) -> (Option<Settled>, String) {
    let ours = s.deployments.iter().find(|d| d.task_definition == target);
    let Some(d) = ours else {
        // ECS no longer runs a deployment of our revision: the breaker rolled it back.
        let why = s.events.first().map_or_else(
            || "ECS replaced the deployment".to_string(),
            |(_, m)| m.clone(),
        );
        return (
            Some(Settled::Failed {
                reason: format!("ECS rolled the deployment back on its own ({why})"),
            }),
            "rolled back by ECS".to_string(),
        );
    };
    if d.rollout_state.as_deref() == Some("FAILED") {
        let reason = d
            .rollout_state_reason
            .clone()
            .unwrap_or_else(|| "the rollout failed".to_string());
        return (Some(Settled::Failed { reason }), "failed".to_string());
    }
    let line = format!(
        "{} {}/{} running, {} pending{}",
        d.rollout_state.as_deref().unwrap_or(&d.status),
        d.running_count,
        d.desired_count,
        d.pending_count,
        if s.deployments.len() > 1 {
            format!(", {} older deployment(s) draining", s.deployments.len() - 1)
        } else {
            String::new()
        }
    );
    let completed = d.rollout_state.as_deref().is_none_or(|r| r == "COMPLETED");
    if s.deployments.len() == 1
        && d.status == "PRIMARY"
        && completed
        && d.running_count == d.desired_count
        && s.running_count == s.desired_count
    {
        return (Some(Settled::Stable), "stable".to_string());
    }
    (None, line)
}

/// Polls until every watched service settled or its deadline passed. An interrupt beyond
/// `interrupt.1` stops the wait: the services still rolling come back as `Interrupted`.
pub async fn wait(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    watches: &[Watch],
    progress: &dyn Progress,
    interrupt: (&Interrupt, u32),
) -> Result<BTreeMap<String, Settled>, AwsError> {
    let (interrupt, seen) = interrupt;
    let started = Instant::now();
    let mut done: BTreeMap<String, Settled> = BTreeMap::new();
    let mut interval = FIRST_INTERVAL;
    let mut errors = 0u32;
    loop {
        let pending: Vec<&Watch> = watches
            .iter()
            .filter(|w| !done.contains_key(&w.service))
            .collect();
        if pending.is_empty() {
            return Ok(done);
        }
        let names: Vec<String> = pending.iter().map(|w| w.ecs_name.clone()).collect();
        // Polls start on a schedule (`interval` apart), however long each one takes.
        let poll_started = Instant::now();
        match ecs::describe_services(client, cluster, &names).await {
            Ok(described) => {
                errors = 0;
                let by_name: BTreeMap<&str, &LiveService> = described
                    .found
                    .iter()
                    .map(|s| (s.name.as_str(), s))
                    .collect();
                for w in &pending {
                    let Some(s) = by_name.get(w.ecs_name.as_str()) else {
                        done.insert(
                            w.service.clone(),
                            Settled::Failed {
                                reason: "the service no longer exists".into(),
                            },
                        );
                        continue;
                    };
                    let (settled, line) = classify(s, &w.target);
                    progress.service(&w.service, &line);
                    if let Some(st) = settled {
                        done.insert(w.service.clone(), st);
                    } else if started.elapsed() >= w.timeout {
                        let d = s.deployments.iter().find(|d| d.task_definition == w.target);
                        done.insert(
                            w.service.clone(),
                            Settled::TimedOut {
                                running: d.map_or(0, |d| d.running_count),
                                desired: d.map_or(s.desired_count, |d| d.desired_count),
                            },
                        );
                    }
                }
            }
            // Reads are retried by the SDK already; a few failed polls in a row end the wait.
            Err(e) if errors < 3 => {
                errors += 1;
                progress.info(&format!("poll failed ({e}); retrying"));
            }
            Err(e) => return Err(e),
        }
        if watches.iter().all(|w| done.contains_key(&w.service)) {
            return Ok(done);
        }
        tokio::select! {
            () = tokio::time::sleep(interval.saturating_sub(poll_started.elapsed())) => {}
            () = interrupt.beyond(seen) => {
                for w in watches {
                    done.entry(w.service.clone()).or_insert(Settled::Interrupted);
                }
                return Ok(done);
            }
        }
        interval = (interval.mul_f64(1.5)).min(MAX_INTERVAL);
    }
}
