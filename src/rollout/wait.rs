//! Waiting for services to settle: DescribeServices in batches of 10, at an interval that starts
//! short and grows to at most 15 s, each service under its own deadline.
//!
//! Stable = one deployment, it is PRIMARY on the expected task definition, its rollout
//! COMPLETED (when ECS reports rollout state), and running == desired. Failed = the rollout with
//! the expected task definition FAILED (the circuit breaker), or ECS replaced it on its own
//! (the breaker's automatic rollback). Neither before the deadline = timed out.
//!
//! A service on blue/green, canary or linear ([`Watch::follow`]) is followed through its service
//! deployment instead (ListServiceDeployments for the newest one since the update, then
//! DescribeServiceDeployments): SUCCESSFUL is stable; a rollback (ECS's, on a failure or an
//! alarm), STOPPED, or an alarm that fired is a failure, reported once ECS finished rolling back.
//! A deployment held at slipway's PAUSE hook after the test traffic shift is answered with
//! ContinueServiceDeployment once the smoke checks ran against the test listener. A service
//! deployment that reached a new stage is polled again after the first interval.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::aws::ecs::{self, LiveService};
use crate::aws::AwsError;
use crate::rollout::interrupt::Interrupt;
use crate::rollout::progress::Progress;

pub const FIRST_INTERVAL: Duration = Duration::from_millis(250);
pub const MAX_INTERVAL: Duration = Duration::from_secs(15);
/// How long a blue/green, canary or linear update may go without ECS listing its service
/// deployment before the service's own deployments are followed instead.
pub const UNLISTED: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct Watch {
    /// The service's label in the environment file (what results are keyed by).
    pub service: String,
    /// Its name in ECS.
    pub ecs_name: String,
    /// The task definition the service must settle on.
    pub target: String,
    pub timeout: Duration,
    /// Blue/green, canary or linear: follow the service deployment the update started.
    pub follow: Option<Follow>,
}

/// Which service deployment is the update's: the newest created at or after `since` (seconds
/// since the epoch) that is not `known`, the newest one before the update.
#[derive(Clone, Debug, PartialEq)]
pub struct Follow {
    pub since: f64,
    pub known: Option<String>,
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

/// Where a service deployment stands. `bake_started` is when this wait first saw BAKE_TIME.
pub fn classify_deployment(
    d: &ecs::ServiceDeploymentState,
    bake_started: Option<Instant>,
) -> (Option<Settled>, String) {
    let alarms = if d.triggered_alarms.is_empty() {
        String::new()
    } else {
        format!("alarm(s) in ALARM: {}", d.triggered_alarms.join(", "))
    };
    let why = || {
        [d.reason.clone().unwrap_or_default(), alarms.clone()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    };
    match d.status.as_str() {
        "SUCCESSFUL" => return (Some(Settled::Stable), "stable".to_string()),
        "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED" => {
            let outcome = if d.status == "ROLLBACK_FAILED" {
                "and its rollback failed"
            } else {
                "to the previous revision"
            };
            return (
                Some(Settled::Failed {
                    reason: format!("ECS rolled the deployment back {outcome} ({})", why()),
                }),
                "rolled back by ECS".to_string(),
            );
        }
        "STOPPED" => {
            return (
                Some(Settled::Failed {
                    reason: format!("ECS stopped the deployment ({})", why()),
                }),
                "stopped".to_string(),
            )
        }
        _ => {}
    }
    if d.rolling_back() {
        return (None, format!("ECS is rolling back ({})", why()));
    }
    if d.alarm_status.as_deref() == Some("TRIGGERED") {
        // Alarms without rollback: ECS carries on; slipway does not.
        return (
            Some(Settled::Failed {
                reason: format!("the deployment's {alarms}"),
            }),
            "alarm".to_string(),
        );
    }
    let mut line = d.stage.clone().unwrap_or_else(|| d.status.clone());
    if let Some(w) = d.production_weight {
        line.push_str(&format!(", {w}% of production traffic on the new revision"));
    }
    if let (Some("BAKE_TIME"), Some(minutes), Some(since)) =
        (d.stage.as_deref(), d.bake_minutes, bake_started)
    {
        let left = Duration::from_secs(minutes.max(0) as u64 * 60).saturating_sub(since.elapsed());
        line.push_str(&format!(", bake time left ~{}s", left.as_secs()));
    }
    if let Some(a) = &d.alarm_status {
        if a != "DISABLED" {
            line.push_str(&format!(", alarms {}", a.to_lowercase()));
        }
    }
    (None, line)
}

/// The state of each followed service deployment, finding the ones not known yet.
async fn follow(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    watches: &[&Watch],
    followed: &mut BTreeMap<String, String>,
) -> Result<BTreeMap<String, ecs::ServiceDeploymentState>, AwsError> {
    if watches.is_empty() {
        return Ok(BTreeMap::new());
    }
    for w in watches {
        if followed.contains_key(&w.service) {
            continue;
        }
        let Some(f) = &w.follow else { continue };
        let newest = ecs::newest_service_deployment(
            client,
            cluster,
            &w.ecs_name,
            f.since,
            f.known.as_deref(),
        )
        .await?;
        if let Some(arn) = newest {
            followed.insert(w.service.clone(), arn);
        }
    }
    let arns: Vec<String> = watches
        .iter()
        .filter_map(|w| followed.get(&w.service).cloned())
        .collect();
    if arns.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(ecs::describe_service_deployments(client, &arns)
        .await?
        .into_iter()
        .map(|d| (d.arn.clone(), d))
        .collect())
}

/// Blue/green, canary and linear: where the smoke checks run against the test listener while
/// ECS holds a deployment at slipway's PAUSE hook (after test traffic shifted, before
/// production traffic moves).
pub struct TestTraffic<'a> {
    pub env: &'a crate::env::model::Environment,
    pub base: String,
    pub deadline: Duration,
}

/// Answers the PAUSE hook `hook` ECS holds `service`'s deployment at: runs the service's smoke
/// checks against the test listener (when `test` says where), then ContinueServiceDeployment,
/// CONTINUE when they passed and ROLLBACK when they failed. Without checks to run, the hook
/// is continued. Returns why the checks failed, or None.
async fn answer_hook(
    client: &aws_sdk_ecs::Client,
    test: Option<&TestTraffic<'_>>,
    service: &str,
    deployment: &str,
    hook: &str,
    progress: &dyn Progress,
) -> Option<String> {
    let runnable = test.filter(|t| {
        t.env
            .services
            .iter()
            .any(|s| s.name.v == service && !s.smoke.is_empty())
    });
    let failed = match runnable {
        None => {
            progress.service(
                service,
                "held after test traffic; no test-listener checks in this wait (--no-smoke, a rollback, or no base URL for the test listener): continuing",
            );
            None
        }
        Some(t) => {
            progress.service(
                service,
                &format!(
                    "held after test traffic: smoke checks against the test listener {}",
                    t.base
                ),
            );
            let results =
                crate::rollout::smoke::run(t.env, &[service.to_string()], &t.base, t.deadline)
                    .await;
            let failed: Vec<String> = results
                .iter()
                .filter(|r| !r.passed)
                .map(|r| format!("{}: {}", r.check, r.detail))
                .collect();
            if failed.is_empty() {
                progress.service(
                    service,
                    "smoke checks passed on the test listener: production traffic may shift",
                );
                None
            } else {
                Some(format!(
                    "smoke checks against the test listener failed ({}); production traffic never shifted",
                    failed.join("; ")
                ))
            }
        }
    };
    let rollback = failed.is_some();
    match ecs::continue_service_deployment(client, deployment, hook, rollback).await {
        Ok(()) if rollback => progress.service(
            service,
            &format!("{}: ECS rolls back", failed.as_deref().unwrap_or_default()),
        ),
        Ok(()) => {}
        // The hook is no longer waiting (it timed out, or the deployment ended meanwhile):
        // what ECS did instead shows in the next polls.
        Err(e) => progress.service(
            service,
            &format!("answering the deployment's hook failed: {e}"),
        ),
    }
    failed
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
    wait_with(client, cluster, watches, progress, interrupt, None).await
}

/// [`wait`], with the smoke checks of blue/green, canary and linear services run against the
/// test listener while ECS holds their deployments at slipway's hook ([`TestTraffic`]); [`wait`]
/// continues such a hook without checks.
pub async fn wait_with(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    watches: &[Watch],
    progress: &dyn Progress,
    interrupt: (&Interrupt, u32),
    test: Option<&TestTraffic<'_>>,
) -> Result<BTreeMap<String, Settled>, AwsError> {
    let (interrupt, seen) = interrupt;
    let started = Instant::now();
    let mut done: BTreeMap<String, Settled> = BTreeMap::new();
    let mut interval = FIRST_INTERVAL;
    let mut errors = 0u32;
    // Service deployments followed (service -> ARN) and when each was first seen baking.
    let mut followed: BTreeMap<String, String> = BTreeMap::new();
    let mut baking: BTreeMap<String, Instant> = BTreeMap::new();
    // Blue/green, canary or linear watches ECS listed no service deployment for in time.
    let mut unlisted: Vec<Watch> = Vec::new();
    // Hooks answered (hook id), and why a service's test-traffic smoke checks failed.
    let mut answered: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut tested: BTreeMap<String, String> = BTreeMap::new();
    // Each followed deployment's last stage: a new one restarts the short poll interval.
    let mut stages: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut moved = false;
    loop {
        let pending: Vec<&Watch> = watches
            .iter()
            .filter(|w| !done.contains_key(&w.service))
            .collect();
        if pending.is_empty() {
            return Ok(done);
        }
        // Polls start on a schedule (`interval` apart), however long each one takes.
        let poll_started = Instant::now();
        // A poll fails when either of its reads does; a few failed polls in a row end the wait.
        let mut poll_failed = false;
        let (traffic, rolling): (Vec<&Watch>, Vec<&Watch>) = pending
            .into_iter()
            .partition(|w| w.follow.is_some() && !unlisted.iter().any(|u| u.service == w.service));
        match follow(client, cluster, &traffic, &mut followed).await {
            Ok(states) => {
                for w in &traffic {
                    let Some(d) = followed.get(&w.service).and_then(|a| states.get(a)) else {
                        // ECS has not listed the deployment yet; after a while the service's
                        // own deployments are followed instead.
                        if started.elapsed() >= UNLISTED {
                            progress.info(&format!(
                                "{}: ECS lists no service deployment since the update; following the service's deployments",
                                w.service
                            ));
                            unlisted.push((*w).clone());
                        }
                        continue;
                    };
                    if d.stage.as_deref() == Some("BAKE_TIME") {
                        baking.entry(w.service.clone()).or_insert_with(Instant::now);
                    }
                    let (settled, line) = classify_deployment(d, baking.get(&w.service).copied());
                    progress.service(&w.service, &line);
                    let at = (d.status.clone(), d.stage.clone().unwrap_or_default());
                    if stages.insert(w.service.clone(), at.clone()).as_ref() != Some(&at) {
                        moved = true;
                    }
                    if let Some(hook) = d.awaiting().filter(|h| !answered.contains(&h.id)) {
                        answered.insert(hook.id.clone());
                        if let Some(why) =
                            answer_hook(client, test, &w.service, &d.arn, &hook.id, progress).await
                        {
                            tested.insert(w.service.clone(), why);
                        }
                        moved = true;
                    }
                    let smoke_failed = tested.get(&w.service).cloned();
                    let settled = match (settled, smoke_failed) {
                        // ECS's rollback (or its end) after the checks failed: say why.
                        (Some(Settled::Failed { reason }), Some(why)) => Some(Settled::Failed {
                            reason: format!("{why}; {reason}"),
                        }),
                        (Some(Settled::Stable), Some(why)) => Some(Settled::Failed { reason: why }),
                        (s, _) => s,
                    };
                    if let Some(st) = settled {
                        done.insert(w.service.clone(), st);
                    } else if started.elapsed() >= w.timeout {
                        let (running, desired) = (d.running, d.desired);
                        done.insert(w.service.clone(), Settled::TimedOut { running, desired });
                    }
                }
            }
            Err(e) if errors < 3 => {
                poll_failed = true;
                progress.info(&format!("poll failed ({e}); retrying"));
            }
            Err(e) => return Err(e),
        }
        let mut rolling = rolling;
        let fallback: Vec<&Watch> = watches
            .iter()
            .filter(|w| unlisted.iter().any(|u| u.service == w.service))
            .filter(|w| {
                !done.contains_key(&w.service) && !rolling.iter().any(|r| r.service == w.service)
            })
            .collect();
        rolling.extend(fallback);
        let names: Vec<String> = rolling.iter().map(|w| w.ecs_name.clone()).collect();
        let described = if names.is_empty() {
            Ok(ecs::Described::default())
        } else {
            ecs::describe_services(client, cluster, &names).await
        };
        let pending = rolling;
        match described {
            Ok(described) => {
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
                poll_failed = true;
                progress.info(&format!("poll failed ({e}); retrying"));
            }
            Err(e) => return Err(e),
        }
        errors = if poll_failed { errors + 1 } else { 0 };
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
        // A deployment that moved on (a new stage, a hook answered) is polled soon again: its
        // next step may be its last.
        interval = if std::mem::take(&mut moved) {
            FIRST_INTERVAL
        } else {
            (interval.mul_f64(1.5)).min(MAX_INTERVAL)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str, stage: Option<&str>) -> ecs::ServiceDeploymentState {
        ecs::ServiceDeploymentState {
            arn: "arn:sd".into(),
            status: status.into(),
            stage: stage.map(str::to_string),
            reason: None,
            production_weight: Some(10.0),
            running: 1,
            desired: 1,
            bake_minutes: Some(2),
            alarm_status: Some("MONITORING".into()),
            triggered_alarms: Vec::new(),
            hooks: Vec::new(),
        }
    }

    #[test]
    fn only_a_pause_hook_awaiting_action_of_a_deployment_under_way_is_answered() {
        let hook = |target: &str, status: &str| ecs::HookState {
            id: format!("{target}-{status}"),
            target_type: target.into(),
            status: status.into(),
        };
        let mut d = state("IN_PROGRESS", Some("POST_TEST_TRAFFIC_SHIFT"));
        d.hooks = vec![
            hook("PAUSE", "SUCCEEDED"),
            hook("AWS_LAMBDA", "AWAITING_ACTION"),
            hook("PAUSE", "AWAITING_ACTION"),
        ];
        assert_eq!(
            d.awaiting().map(|h| h.id.as_str()),
            Some("PAUSE-AWAITING_ACTION")
        );
        d.status = "ROLLBACK_IN_PROGRESS".into();
        assert_eq!(d.awaiting(), None);
        d.status = "IN_PROGRESS".into();
        d.hooks.pop();
        assert_eq!(d.awaiting(), None);
    }

    #[test]
    fn service_deployments_settle_on_success_and_fail_on_rollbacks_and_alarms() {
        assert_eq!(
            classify_deployment(&state("SUCCESSFUL", None), None).0,
            Some(Settled::Stable)
        );
        let (settled, line) = classify_deployment(
            &state("IN_PROGRESS", Some("PRODUCTION_TRAFFIC_SHIFT")),
            None,
        );
        assert_eq!(settled, None);
        assert_eq!(line, "PRODUCTION_TRAFFIC_SHIFT, 10% of production traffic on the new revision, alarms monitoring");
        // While ECS rolls back, the wait goes on; once it is done, it is a failure.
        let mut d = state("ROLLBACK_IN_PROGRESS", Some("BAKE_TIME"));
        d.reason = Some("the new revision failed during BAKE_TIME".into());
        assert_eq!(classify_deployment(&d, None).0, None);
        d.status = "ROLLBACK_SUCCESSFUL".into();
        d.triggered_alarms = vec!["api-5xx".into()];
        let Some(Settled::Failed { reason }) = classify_deployment(&d, None).0 else {
            panic!("a rollback is a failure")
        };
        assert_eq!(
            reason,
            "ECS rolled the deployment back to the previous revision (the new revision failed during BAKE_TIME; alarm(s) in ALARM: api-5xx)"
        );
        // A fired alarm ECS does not roll back for still fails the rollout.
        let mut d = state("IN_PROGRESS", Some("BAKE_TIME"));
        d.alarm_status = Some("TRIGGERED".into());
        d.triggered_alarms = vec!["api-latency".into()];
        assert!(matches!(
            classify_deployment(&d, None).0,
            Some(Settled::Failed { .. })
        ));
        assert!(matches!(
            classify_deployment(&state("STOPPED", None), None).0,
            Some(Settled::Failed { .. })
        ));
        // Bake time left, from when the wait first saw BAKE_TIME.
        let (_, line) = classify_deployment(
            &state("IN_PROGRESS", Some("BAKE_TIME")),
            Some(Instant::now()),
        );
        assert!(line.contains("bake time left ~1"), "{line}");
    }
}
