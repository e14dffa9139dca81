//! The deploy and rollback engine. Every step that mutates AWS comes after every check that can
//! refuse; every wait has a deadline; a failure after the first mutation rolls back what this
//! run touched, to the last revision that proved healthy.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::aws::{bounded, ecs, AwsError, Clients};
use crate::diff;
use crate::env::model::Environment;
use crate::live::Live;
use crate::render::Ecs;
use crate::rollout::interrupt::Interrupt;
use crate::rollout::migrate::{self, MigrationResult};
use crate::rollout::progress::Progress;
use crate::rollout::smoke::{self, CheckResult};
use crate::rollout::wait::{self, Settled, Watch};
use crate::rollout::{history, verify};

/// How a rollout ended; each maps to one exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every service is stable on its new revision (and smoke checks passed).
    Succeeded,
    /// Verify found problems: nothing was changed (exit 1).
    Invalid,
    /// A gate refused: wrong account, or another rollout in progress (exit 3).
    Refused,
    /// A migration failed: no service was changed (exit 1).
    MigrationFailed,
    /// The deploy failed and `--no-rollback` left it as it is (exit 1).
    FailedNoRollback,
    /// The deploy failed and every touched service is back on a known-good revision (exit 4).
    RolledBack,
    /// The deploy failed and so did the rollback (exit 5).
    RollbackFailed,
}

impl Status {
    pub fn exit(self) -> crate::exit::Exit {
        use crate::exit::Exit;
        match self {
            Status::Succeeded => Exit::Ok,
            Status::Invalid | Status::MigrationFailed | Status::FailedNoRollback => Exit::Error,
            Status::Refused => Exit::Refused,
            Status::RolledBack => Exit::RolledBack,
            Status::RollbackFailed => Exit::RollbackFailed,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Invalid => "refused (verify)",
            Status::Refused => "refused",
            Status::MigrationFailed => "migration failed",
            Status::FailedNoRollback => "failed (not rolled back)",
            Status::RolledBack => "rolled back",
            Status::RollbackFailed => "rollback failed",
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ServiceOutcome {
    pub service: String,
    /// What ran before this rollout (None: the service did not exist).
    pub previous: Option<String>,
    /// The revision this rollout put in place.
    pub deployed: Option<String>,
    pub registered: bool,
    pub updated: bool,
    pub settled: Option<Settled>,
    pub rolled_back_to: Option<String>,
    pub rollback: Option<Settled>,
    pub note: Option<String>,
}

impl ServiceOutcome {
    /// Where the service stands now, in words.
    pub fn state(&self) -> String {
        if let Some(rb) = &self.rollback {
            let to = self.rolled_back_to.as_deref().map_or("–", short_arn);
            return match rb {
                Settled::Stable => format!("rolled back to {to}"),
                other => format!("rollback to {to} {}", other.describe()),
            };
        }
        match (&self.settled, self.updated) {
            (Some(s), _) => s.describe(),
            (None, false) if self.deployed.is_some() => "unchanged".to_string(),
            _ => "not started".to_string(),
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub environment: String,
    pub status: Status,
    pub problems: Vec<String>,
    pub verified: Option<verify::Checked>,
    pub migrations: Vec<MigrationResult>,
    pub services: Vec<ServiceOutcome>,
    pub smoke: Vec<CheckResult>,
    /// Seconds from the first failure noticed to the rollback's first UpdateService.
    pub rollback_started_after_secs: Option<f64>,
    /// Seconds each step took, in order (verify, register, migrate, update, wait, smoke, rollback).
    pub phases: Vec<(String, f64)>,
    pub duration_secs: f64,
}

impl Report {
    fn phase(&mut self, name: &str, since: Instant) {
        self.phases
            .push((name.to_string(), since.elapsed().as_secs_f64()));
    }
}

/// What a deploy applies.
pub struct Deploy<'a> {
    pub env: &'a Environment,
    pub clients: &'a Clients,
    pub rendered: &'a Ecs,
    pub live: &'a Live,
    pub services: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub timeout: Option<Duration>,
    pub rollback: bool,
    pub smoke: bool,
    pub smoke_base_url: Option<String>,
    pub smoke_deadline: Duration,
}

pub fn short_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The revision that runs `td` for `service`: the live one when the rendered task definition is
/// the same (an unchanged deploy registers nothing), else a newly registered one. Returns the
/// ARN and whether it was registered now.
pub async fn revision_for(
    client: &aws_sdk_ecs::Client,
    live: &Live,
    service: &str,
    td: &crate::render::TaskDefinition,
    progress: &dyn Progress,
) -> Result<(String, bool), AwsError> {
    if let Some((arn, l)) = live.task_definition_of(service) {
        if diff::normalise_task_definition(l) == diff::normalise_task_definition(td) {
            progress.info(&format!("{service}: unchanged ({})", short_arn(arn)));
            return Ok((arn.to_string(), false));
        }
    }
    let rev = ecs::register_task_definition(client, td).await?;
    progress.info(&format!("{service}: registered {}", short_arn(&rev.arn)));
    Ok((rev.arn, true))
}

/// Another rollout is in flight on one of the services: its description.
pub fn in_progress(live: &Live, services: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for name in services {
        let Some(s) = live.services.get(name) else {
            continue;
        };
        let rolling = s.deployments.len() > 1
            || s.primary()
                .is_some_and(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"));
        if rolling {
            let p = s.primary();
            out.push(format!(
                "{name} is mid-rollout: deployment {} ({}) {}/{} running, {} deployment(s) in flight{}",
                p.map_or("?", |d| d.id.as_str()),
                p.map_or("?", |d| short_arn(&d.task_definition)),
                p.map_or(0, |d| d.running_count),
                p.map_or(0, |d| d.desired_count),
                s.deployments.len(),
                p.and_then(|d| d.created_at)
                    .map_or_else(String::new, |t| format!(", started {}", crate::planfile::timestamp(t)))
            ));
        }
    }
    out
}

fn service_timeout(env: &Environment, name: &str, opts: &Options) -> Duration {
    opts.timeout.unwrap_or_else(|| {
        env.services
            .iter()
            .find(|s| s.name.v == name)
            .map_or(Duration::from_secs(600), |s| s.deployment.timeout)
    })
}

impl Deploy<'_> {
    fn cluster(&self) -> &str {
        &self.env.cluster.v
    }

    pub async fn run(&self, opts: &Options, progress: &dyn Progress) -> Report {
        let started = Instant::now();
        let interrupt = Interrupt::install();
        let mut report = Report {
            environment: self.env.name.clone(),
            status: Status::Succeeded,
            problems: Vec::new(),
            verified: None,
            migrations: Vec::new(),
            services: self
                .services
                .iter()
                .map(|s| ServiceOutcome {
                    service: s.clone(),
                    previous: self.live.services.get(s).map(|l| l.task_definition.clone()),
                    ..Default::default()
                })
                .collect(),
            smoke: Vec::new(),
            rollback_started_after_secs: None,
            phases: Vec::new(),
            duration_secs: 0.0,
        };
        let result = self.steps(opts, progress, &mut report, &interrupt).await;
        if let Err(e) = result {
            // An AWS error mid-rollout: roll back whatever was touched.
            report.problems.push(e.to_string());
            if report.services.iter().any(|s| s.updated) {
                self.fail(opts, progress, &mut report, Instant::now(), &interrupt)
                    .await;
            } else {
                report.status = Status::Invalid;
            }
        }
        progress.finish();
        report.duration_secs = started.elapsed().as_secs_f64();
        report
    }

    async fn steps(
        &self,
        opts: &Options,
        progress: &dyn Progress,
        report: &mut Report,
        interrupt: &Interrupt,
    ) -> Result<(), AwsError> {
        // 1. Another rollout in flight?
        let busy = in_progress(self.live, &self.services);
        if !busy.is_empty() {
            report.problems = busy;
            report.problems.push("another deploy is rolling: wait for it to settle (`slipway status` shows it), then deploy again".into());
            report.status = Status::Refused;
            return Ok(());
        }

        // 2. Verify: nothing is mutated before this passes.
        let t = Instant::now();
        progress.step(&format!(
            "verify {} ({} in {})",
            self.env.name, self.env.account_id.v, self.env.region.v
        ));
        let (checked, problems) =
            verify::verify(self.clients, self.env, self.rendered, &self.services).await?;
        progress.info(&format!(
            "account {} · {} image(s), {} secret(s), {} role(s), {} target group(s) checked",
            checked.account, checked.images, checked.secrets, checked.roles, checked.target_groups
        ));
        for u in &checked.unchecked {
            progress.info(&format!("not checked (SSM parameter): {u}"));
        }
        report.verified = Some(checked);
        report.phase("verify", t);
        if !problems.is_empty() {
            report.status = if problems.iter().any(|p| p.wrong_account) {
                Status::Refused
            } else {
                Status::Invalid
            };
            report.problems = problems.into_iter().map(|p| p.message).collect();
            return Ok(());
        }

        // 3. Register what changed (an unchanged task definition registers nothing).
        let t = Instant::now();
        progress.step("register task definitions");
        let mut targets: BTreeMap<String, String> = BTreeMap::new();
        for name in &self.services {
            let td = &self.rendered.task_definitions[name];
            let (arn, registered) =
                revision_for(&self.clients.ecs, self.live, name, td, progress).await?;
            let outcome = report
                .services
                .iter_mut()
                .find(|s| &s.service == name)
                .expect("listed");
            outcome.registered = registered;
            outcome.deployed = Some(arn.clone());
            targets.insert(name.clone(), arn);
        }

        report.phase("register", t);

        // 4. Migrations, on the new revision, before any service changes.
        let t = Instant::now();
        for svc in self
            .env
            .services
            .iter()
            .filter(|s| self.services.contains(&s.name.v))
        {
            let Some(m) = &svc.migration else { continue };
            let name = &svc.name.v;
            let registered = report
                .services
                .iter()
                .any(|s| &s.service == name && s.registered);
            if !registered {
                progress.info(&format!(
                    "{name}: migration skipped: its task definition did not change"
                ));
                continue;
            }
            progress.step(&format!("migrate ({name})"));
            let run = migrate::run(
                &self.clients.ecs,
                name,
                m,
                &targets[name],
                &self.rendered.task_definitions[name],
                &self.rendered.services[name],
                progress,
            );
            // Ctrl-C stops waiting for the migration (no service has changed yet).
            let result = tokio::select! {
                r = run => r?,
                () = interrupt.beyond(0) => {
                    report.problems.push(format!(
                        "{name}: interrupted while the migration ran: its task may still be running (`slipway status`, or the ECS console); no service was changed"
                    ));
                    report.status = Status::MigrationFailed;
                    return Ok(());
                }
            };
            let passed = result.passed;
            if !passed {
                report
                    .problems
                    .push(format!("{name}: migration failed: {}", result.detail));
            }
            report.migrations.push(result);
            if !passed {
                report.status = Status::MigrationFailed;
                return Ok(());
            }
        }

        if !report.migrations.is_empty() {
            report.phase("migrate", t);
        }
        if interrupt.count() > 0 {
            report
                .problems
                .push("interrupted before any service changed: nothing to roll back".into());
            report.status = Status::Invalid;
            return Ok(());
        }

        // 5. Update (or create) every service whose revision or settings change, in parallel.
        let autoscaling = |name: &str| {
            self.env
                .services
                .iter()
                .find(|s| s.name.v == name)
                .and_then(|s| s.autoscaling.as_ref())
                .map(|a| (a.min.v, a.max.v))
        };
        let settings_change: BTreeMap<String, bool> = self
            .services
            .iter()
            .map(|n| {
                let differs = self.live.services.get(n).is_some_and(|l| {
                    diff::settings_differ(&self.rendered.services[n], &l.settings, autoscaling(n))
                });
                (n.clone(), differs)
            })
            .collect();
        let to_update: Vec<String> = self
            .services
            .iter()
            .filter(|n| {
                self.live.services.get(*n).map(|l| &l.task_definition) != Some(&targets[*n])
                    || settings_change[*n]
            })
            .cloned()
            .collect();
        if to_update.is_empty() {
            progress.step("nothing to roll out: every service already runs its revision");
            return Ok(());
        }
        let t = Instant::now();
        progress.step(&format!("update {}", to_update.join(", ")));
        let parallel = self.env.deploy.parallelism.max(1) as usize;
        let settings_change = &settings_change;
        let autoscaling = &autoscaling;
        let results = bounded(to_update.clone(), parallel, |name| {
            let target = targets[&name].clone();
            async move {
                let r = if self.live.services.contains_key(&name) {
                    // Settings converge too when they drifted; the desired count only where
                    // no autoscaling owns it.
                    let settings = settings_change[&name].then(|| &self.rendered.services[&name]);
                    let desired = settings
                        .filter(|_| autoscaling(&name).is_none())
                        .map(|s| s.desired_count);
                    ecs::update_service_with(
                        &self.clients.ecs,
                        self.cluster(),
                        &name,
                        &target,
                        settings,
                        desired,
                    )
                    .await
                    .map(|_| ())
                } else {
                    ecs::create_service(&self.clients.ecs, &self.rendered.services[&name], &target)
                        .await
                        .map(|_| ())
                };
                (name, r)
            }
        })
        .await;
        let mut update_error = None;
        for (name, r) in results {
            let outcome = report
                .services
                .iter_mut()
                .find(|s| s.service == name)
                .expect("listed");
            match r {
                Ok(()) => outcome.updated = true,
                Err(e) => {
                    outcome.settled = Some(Settled::Failed {
                        reason: e.to_string(),
                    });
                    update_error.get_or_insert(e);
                }
            }
        }

        report.phase("update", t);

        // 6. Wait for the updated services to settle.
        let t = Instant::now();
        progress.step("wait for the services to settle");
        let watches: Vec<Watch> = report
            .services
            .iter()
            .filter(|s| s.updated)
            .map(|s| Watch {
                service: s.service.clone(),
                target: targets[&s.service].clone(),
                timeout: service_timeout(self.env, &s.service, opts),
            })
            .collect();
        let settled = wait::wait(
            &self.clients.ecs,
            self.cluster(),
            &watches,
            progress,
            (interrupt, 0),
        )
        .await?;
        report.phase("wait", t);
        let mut failed_at = None;
        for (name, st) in settled {
            if !st.is_stable() {
                failed_at.get_or_insert_with(Instant::now);
            }
            report
                .services
                .iter_mut()
                .find(|s| s.service == name)
                .expect("listed")
                .settled = Some(st);
        }
        if update_error.is_some() {
            failed_at.get_or_insert_with(Instant::now);
        }

        // 7. Smoke checks, once everything is stable.
        if failed_at.is_none() && opts.smoke {
            let base = opts
                .smoke_base_url
                .clone()
                .or_else(|| self.env.smoke_base_url.as_ref().map(|u| u.v.clone()));
            let has_checks = self
                .env
                .services
                .iter()
                .any(|s| to_update.contains(&s.name.v) && !s.smoke.is_empty());
            match (base, has_checks) {
                (_, false) => {}
                (None, true) => progress.info("smoke checks skipped: no base URL (set smoke_base_url or pass --smoke-base-url)"),
                (Some(base), true) => {
                    progress.step(&format!("smoke checks against {base}"));
                    let t = Instant::now();
                    let checks = smoke::run(self.env, &to_update, &base, opts.smoke_deadline);
                    tokio::select! {
                        r = checks => report.smoke = r,
                        () = interrupt.beyond(0) => {
                            report.problems.push("interrupted during the smoke checks".into());
                            failed_at = Some(Instant::now());
                        }
                    }
                    report.phase("smoke", t);
                    for r in &report.smoke {
                        progress.service(
                            &format!("{} smoke {}", r.service, r.check),
                            &format!("{} after {} attempt(s): {}", if r.passed { "passed" } else { "FAILED" }, r.attempts, r.detail),
                        );
                    }
                    if report.smoke.iter().any(|r| !r.passed) {
                        failed_at = Some(Instant::now());
                        report.problems.push("smoke checks failed".into());
                    }
                }
            }
        }

        match failed_at {
            None => {
                progress.step("mark the new revisions healthy");
                let deployed: Vec<String> = report
                    .services
                    .iter()
                    .filter(|s| s.updated)
                    .filter_map(|s| s.deployed.clone())
                    .collect();
                for arn in deployed {
                    // The services are fine: a failed tag is a warning, never a rollback.
                    if let Err(e) = history::mark_healthy(&self.clients.ecs, &arn).await {
                        report.problems.push(format!(
                            "warning: {} was not marked healthy ({e}); a later rollback will not pick it",
                            short_arn(&arn)
                        ));
                    }
                }
                report.status = Status::Succeeded;
            }
            Some(at) => {
                for s in &report.services {
                    if let Some(st) = s.settled.as_ref().filter(|st| !st.is_stable()) {
                        report
                            .problems
                            .push(format!("{}: {}", s.service, st.describe()));
                    }
                }
                self.fail(opts, progress, report, at, interrupt).await;
            }
        }
        Ok(())
    }

    /// The deploy failed: roll back what it touched (unless told not to).
    async fn fail(
        &self,
        opts: &Options,
        progress: &dyn Progress,
        report: &mut Report,
        failed_at: Instant,
        interrupt: &Interrupt,
    ) {
        if !opts.rollback {
            progress.step("deploy failed; --no-rollback: leaving the services as they are");
            report.status = Status::FailedNoRollback;
            return;
        }
        if report.services.iter().all(|s| !s.updated) {
            progress.step("deploy failed before any service changed: nothing to roll back");
            report.status = Status::Invalid;
            return;
        }
        progress.step("deploy failed: rolling back");
        let t = Instant::now();
        let touched: Vec<(String, Option<String>, Option<String>)> = report
            .services
            .iter()
            .filter(|s| s.updated)
            .map(|s| (s.service.clone(), s.previous.clone(), s.deployed.clone()))
            .collect();
        let mut watches = Vec::new();
        let mut rollback_errors = Vec::new();
        for (name, previous, deployed) in &touched {
            let family = &self.rendered.task_definitions[name].family;
            let exclude: Vec<&str> = deployed.iter().map(String::as_str).collect();
            let target = match history::last_healthy(&self.clients.ecs, family, &exclude).await {
                Ok(Some(arn)) => Some(arn),
                Ok(None) => previous.clone(),
                Err(e) => {
                    rollback_errors.push(format!("{name}: cannot look up healthy revisions: {e}"));
                    previous.clone()
                }
            };
            if report.rollback_started_after_secs.is_none() {
                report.rollback_started_after_secs = Some(failed_at.elapsed().as_secs_f64());
            }
            let outcome = report
                .services
                .iter_mut()
                .find(|s| &s.service == name)
                .expect("listed");
            match target {
                Some(arn) => {
                    progress.info(&format!("{name}: back to {}", short_arn(&arn)));
                    match ecs::update_service(&self.clients.ecs, self.cluster(), name, &arn).await {
                        Ok(_) => {
                            outcome.rolled_back_to = Some(arn.clone());
                            watches.push(Watch {
                                service: name.clone(),
                                target: arn,
                                timeout: service_timeout(self.env, name, opts),
                            });
                        }
                        Err(e) => {
                            outcome.rollback = Some(Settled::Failed {
                                reason: e.to_string(),
                            });
                            rollback_errors.push(format!("{name}: {e}"));
                        }
                    }
                }
                None => {
                    // Created by this deploy: nothing to go back to, so stop it.
                    progress.info(&format!("{name}: created by this deploy; scaling it to 0"));
                    outcome.note = Some("created by this deploy: scaled to 0".into());
                    match ecs::set_desired_count(&self.clients.ecs, self.cluster(), name, 0).await {
                        Ok(()) => outcome.rollback = Some(Settled::Stable),
                        Err(e) => {
                            outcome.rollback = Some(Settled::Failed {
                                reason: e.to_string(),
                            });
                            rollback_errors.push(format!("{name}: {e}"));
                        }
                    }
                }
            }
        }
        progress.step("wait for the rollback to settle (Ctrl-C again stops waiting)");
        let seen = interrupt.count();
        match wait::wait(
            &self.clients.ecs,
            self.cluster(),
            &watches,
            progress,
            (interrupt, seen),
        )
        .await
        {
            Ok(settled) => {
                for (name, st) in settled {
                    report
                        .services
                        .iter_mut()
                        .find(|s| s.service == name)
                        .expect("listed")
                        .rollback = Some(st);
                }
            }
            Err(e) => rollback_errors.push(format!("waiting for the rollback: {e}")),
        }
        let all_back = report
            .services
            .iter()
            .filter(|s| s.updated)
            .all(|s| s.rollback.as_ref().is_some_and(Settled::is_stable));
        report.problems.extend(rollback_errors);
        report.phase("rollback", t);
        report.status = if all_back {
            Status::RolledBack
        } else {
            Status::RollbackFailed
        };
    }
}

/// Where a rollback takes one service.
#[derive(Clone, Debug)]
pub enum RollbackTo {
    /// The last revision marked healthy before the current one.
    LastHealthy,
    Revision(i32),
    Release(String),
}

/// `slipway rollback`: services back to a known-good revision, same wait.
pub async fn rollback(
    env: &Environment,
    clients: &Clients,
    live: &Live,
    services: &[String],
    to: &RollbackTo,
    timeout: Option<Duration>,
    progress: &dyn Progress,
) -> Report {
    let started = Instant::now();
    let mut report = Report {
        environment: env.name.clone(),
        status: Status::Succeeded,
        problems: Vec::new(),
        verified: None,
        migrations: Vec::new(),
        services: Vec::new(),
        smoke: Vec::new(),
        rollback_started_after_secs: None,
        phases: Vec::new(),
        duration_secs: 0.0,
    };
    let busy = in_progress(live, services);
    if !busy.is_empty() {
        report.problems = busy;
        report.status = Status::Refused;
        return report;
    }
    let opts = Options {
        timeout,
        rollback: false,
        smoke: false,
        smoke_base_url: None,
        smoke_deadline: Duration::ZERO,
    };
    progress.step(&format!("rollback {}", env.name));
    let interrupt = Interrupt::install();
    let mut watches = Vec::new();
    for name in services {
        let mut outcome = ServiceOutcome {
            service: name.clone(),
            ..Default::default()
        };
        let Some(current) = live.services.get(name).map(|s| s.task_definition.clone()) else {
            report.problems.push(format!(
                "{name} does not exist in {}: nothing to roll back",
                env.cluster.v
            ));
            report.services.push(outcome);
            continue;
        };
        outcome.previous = Some(current.clone());
        let family = ecs::family_of(&current).to_string();
        let target = match to {
            RollbackTo::LastHealthy => {
                history::last_healthy(&clients.ecs, &family, &[current.as_str()]).await
            }
            RollbackTo::Revision(r) => Ok(Some(format!(
                "{}:{r}",
                current
                    .rsplit_once(':')
                    .map_or(current.as_str(), |(a, _)| a)
            ))),
            RollbackTo::Release(tag) => {
                history::revision_for_release(&clients.ecs, &family, tag).await
            }
        };
        match target {
            Ok(Some(arn)) if arn == current => {
                outcome.note = Some(format!("already on {}", short_arn(&arn)));
                outcome.rollback = Some(Settled::Stable);
                outcome.rolled_back_to = Some(arn);
            }
            Ok(Some(arn)) => {
                progress.info(&format!("{name}: {} → {}", short_arn(&current), short_arn(&arn)));
                match ecs::update_service(&clients.ecs, &env.cluster.v, name, &arn).await {
                    Ok(_) => {
                        outcome.updated = true;
                        outcome.rolled_back_to = Some(arn.clone());
                        watches.push(Watch {
                            service: name.clone(),
                            target: arn,
                            timeout: service_timeout(env, name, &opts),
                        });
                    }
                    Err(e) => {
                        report.problems.push(format!("{name}: {e}"));
                        outcome.rollback = Some(Settled::Failed { reason: e.to_string() });
                    }
                }
            }
            Ok(None) => report.problems.push(match to {
                RollbackTo::Release(tag) => format!("{name}: no revision of {family} was deployed with image tag {tag}"),
                _ => format!("{name}: no revision of {family} before {} is marked healthy; pass --to REVISION", short_arn(&current)),
            }),
            Err(e) => report.problems.push(format!("{name}: {e}")),
        }
        report.services.push(outcome);
    }
    if !watches.is_empty() {
        progress.step("wait for the services to settle");
        match wait::wait(
            &clients.ecs,
            &env.cluster.v,
            &watches,
            progress,
            (&interrupt, 0),
        )
        .await
        {
            Ok(settled) => {
                for (name, st) in settled {
                    if let Some(o) = report.services.iter_mut().find(|s| s.service == name) {
                        o.rollback = Some(st);
                    }
                }
            }
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    progress.finish();
    let ok = report.problems.is_empty()
        && report
            .services
            .iter()
            .all(|s| s.rollback.as_ref().is_some_and(Settled::is_stable));
    report.status = if ok {
        Status::Succeeded
    } else if report.services.iter().any(|s| s.updated) {
        Status::RollbackFailed
    } else {
        // Nothing was changed: a target that does not exist is bad input.
        Status::Invalid
    };
    report.duration_secs = started.elapsed().as_secs_f64();
    report
}
