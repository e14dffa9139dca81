//! The deploy and rollback engine, one method per step: refuse when busy → verify → register →
//! migrate (nothing changes a service up to here: [`Rollout::prepare`]), then update → wait →
//! smoke → mark healthy, or roll back ([`Rollout::roll_out`]). `deploy` runs both halves;
//! `apply` runs Terraform between them. Every step that mutates AWS comes after every check that
//! can refuse; every wait has a deadline; a failure after the first mutation rolls back what
//! this run touched, to the last revision that proved healthy. The one move a rollback makes
//! (point services at revisions, wait for them) is [`point_and_wait`], shared with
//! `slipway rollback`.

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
    /// Refused: another rollout in progress, or the lock was lost before any change (exit 3).
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
    /// The environment's static sites, published after the services succeeded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<crate::site::run::Outcome>,
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
    /// The test listener's base URL (blue/green, canary, linear).
    pub smoke_test_base_url: Option<String>,
    pub smoke_deadline: Duration,
}

/// Says why the run no longer holds the environment's lock, once it does not.
pub type LockWatch<'a> = &'a (dyn Fn() -> Option<String> + Sync);

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

fn service_timeout(env: &Environment, name: &str, timeout: Option<Duration>) -> Duration {
    timeout.unwrap_or_else(|| {
        env.services
            .iter()
            .find(|s| s.name.v == name)
            .map_or(Duration::from_secs(600), |s| s.deployment.timeout)
    })
}

/// What verify found: every image, secret, role and target group the documents name exists (or
/// not). Verify only reads, so commands run it before they take the lock: bad input then
/// changes nothing in AWS, not even the lock.
#[derive(Clone, Debug)]
pub struct Verified {
    pub checked: verify::Checked,
    pub problems: Vec<String>,
    pub secs: f64,
}

impl Verified {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report of a rollout that verify stopped before anything changed (exit 1).
    pub fn refused(self, env: &Environment, services: &[String]) -> Report {
        let mut report = Report::new(&env.name);
        report.services = services
            .iter()
            .map(|s| ServiceOutcome {
                service: s.clone(),
                ..Default::default()
            })
            .collect();
        report.status = Status::Invalid;
        report.problems = self.problems;
        report.phases.push(("verify".into(), self.secs));
        report.duration_secs = self.secs;
        report.verified = Some(self.checked);
        report
    }
}

/// Step 2, verify, before anything is mutated (see [`Verified`]).
pub async fn verify(
    env: &Environment,
    clients: &Clients,
    rendered: &Ecs,
    services: &[String],
    account: &str,
    progress: &dyn Progress,
) -> Result<Verified, AwsError> {
    let t = Instant::now();
    progress.step(&format!(
        "verify {} ({} in {})",
        env.name, env.account_id.v, env.region.v
    ));
    let (checked, problems) = verify::verify(clients, env, rendered, services, account).await?;
    progress.info(&format!(
        "account {} · {} image(s), {} secret(s), {} role(s), {} target group(s){} checked",
        checked.account,
        checked.images,
        checked.secrets,
        checked.roles,
        checked.target_groups,
        if checked.alarms > 0 {
            format!(", {} alarm(s)", checked.alarms)
        } else {
            String::new()
        }
    ));
    for u in &checked.unchecked {
        progress.info(&format!("not checked (SSM parameter): {u}"));
    }
    Ok(Verified {
        checked,
        problems: problems.into_iter().map(|p| p.message).collect(),
        secs: t.elapsed().as_secs_f64(),
    })
}

/// Whether the rollout goes on after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Go,
    /// It ends here; the report says why.
    Stop,
}

impl Report {
    fn new(environment: &str) -> Report {
        Report {
            environment: environment.to_string(),
            status: Status::Succeeded,
            problems: Vec::new(),
            verified: None,
            migrations: Vec::new(),
            services: Vec::new(),
            smoke: Vec::new(),
            rollback_started_after_secs: None,
            phases: Vec::new(),
            duration_secs: 0.0,
            sites: Vec::new(),
        }
    }

    fn outcome(&mut self, name: &str) -> &mut ServiceOutcome {
        self.services
            .iter_mut()
            .find(|s| s.service == name)
            .expect("every service of the rollout has an outcome")
    }

    fn stop(&mut self, status: Status, problem: impl Into<String>) -> Flow {
        self.problems.push(problem.into());
        self.status = status;
        Flow::Stop
    }
}

impl<'a> Deploy<'a> {
    /// The whole rollout after verify: [`Rollout::prepare`], then [`Rollout::roll_out`].
    pub async fn run(
        &'a self,
        verified: Verified,
        opts: &'a Options,
        progress: &'a dyn Progress,
        interrupt: &'a Interrupt,
        lock: Option<LockWatch<'a>>,
    ) -> Report {
        let mut r = Rollout::new(self, verified, opts, progress, interrupt);
        r.lock = lock;
        if r.prepare().await {
            r.roll_out().await;
        }
        r.finish()
    }
}

/// One rollout under way: what each step found, and where each service stands.
pub struct Rollout<'a> {
    d: &'a Deploy<'a>,
    opts: &'a Options,
    progress: &'a dyn Progress,
    interrupt: &'a Interrupt,
    /// Checked before the first service changes: a lost lock stops the rollout there.
    pub lock: Option<LockWatch<'a>>,
    started: Instant,
    /// The revision each service is to run.
    targets: BTreeMap<String, String>,
    /// Services updated (or created) now.
    updated: Vec<String>,
    /// When the first failure was noticed.
    failed_at: Option<Instant>,
    /// Blue/green, canary and linear services: which service deployment the update starts.
    follows: BTreeMap<String, wait::Follow>,
    pub report: Report,
}

impl<'a> Rollout<'a> {
    /// A rollout of `d`, which [`verify`] passed (`verified` goes into the report).
    pub fn new(
        d: &'a Deploy<'a>,
        verified: Verified,
        opts: &'a Options,
        progress: &'a dyn Progress,
        interrupt: &'a Interrupt,
    ) -> Rollout<'a> {
        let mut report = Report::new(&d.env.name);
        report.phases.push(("verify".into(), verified.secs));
        report.problems = verified.problems;
        report.verified = Some(verified.checked);
        report.services = d
            .services
            .iter()
            .map(|s| ServiceOutcome {
                service: s.clone(),
                previous: d.live.services.get(s).map(|l| l.task_definition.clone()),
                ..Default::default()
            })
            .collect();
        Rollout {
            d,
            opts,
            progress,
            interrupt,
            lock: None,
            started: Instant::now(),
            targets: BTreeMap::new(),
            updated: Vec::new(),
            failed_at: None,
            follows: BTreeMap::new(),
            report,
        }
    }

    /// Everything before the first service changes: verify's verdict, another rollout in
    /// flight?, register, migrate. False when the rollout ends here (the report says why).
    pub async fn prepare(&mut self) -> bool {
        if !self.report.problems.is_empty() {
            self.report.status = Status::Invalid;
            return false;
        }
        let steps = async {
            if self.refuse_if_busy() == Flow::Stop {
                return Ok(Flow::Stop);
            }
            self.register().await?;
            if self.migrate().await? == Flow::Stop {
                return Ok(Flow::Stop);
            }
            Ok::<_, AwsError>(self.interrupted_before_any_change())
        };
        match steps.await {
            Ok(flow) => flow == Flow::Go,
            Err(e) => {
                // Nothing changed a service yet: nothing to roll back.
                self.report.stop(Status::Invalid, e.to_string());
                false
            }
        }
    }

    /// Update, wait, smoke, then mark healthy or roll back.
    pub async fn roll_out(&mut self) {
        let steps = async {
            if self.lock_lost() == Flow::Stop {
                return Ok(());
            }
            self.update().await;
            self.wait().await?;
            self.smoke().await;
            Ok::<_, AwsError>(())
        };
        if let Err(e) = steps.await {
            // An AWS error mid-rollout: roll back whatever was touched.
            self.report.problems.push(e.to_string());
            self.failed_at.get_or_insert_with(Instant::now);
        }
        if self.report.status != Status::Succeeded {
            return;
        }
        match self.failed_at {
            None => self.mark_healthy().await,
            Some(at) => self.fail(at).await,
        }
    }

    pub fn finish(mut self) -> Report {
        self.progress.finish();
        self.report.duration_secs = self.started.elapsed().as_secs_f64();
        self.report
    }

    fn phase(&mut self, name: &str, since: Instant) {
        self.report
            .phases
            .push((name.to_string(), since.elapsed().as_secs_f64()));
    }

    fn cluster(&self) -> &str {
        &self.d.env.cluster.v
    }

    /// 1. Another rollout in flight (a second line of defence behind the lock).
    fn refuse_if_busy(&mut self) -> Flow {
        let busy = in_progress(self.d.live, &self.d.services);
        if busy.is_empty() {
            return Flow::Go;
        }
        self.report.problems = busy;
        self.report.stop(
            Status::Refused,
            "another deploy is rolling: wait for it to settle (`slipway status` shows it), then deploy again",
        )
    }

    /// 3. Register what changed (an unchanged task definition registers nothing).
    async fn register(&mut self) -> Result<(), AwsError> {
        let d = self.d;
        let t = Instant::now();
        self.progress.step("register task definitions");
        for name in &d.services {
            let td = &d.rendered.task_definitions[name];
            let (arn, registered) =
                revision_for(&d.clients.ecs, d.live, name, td, self.progress).await?;
            let outcome = self.report.outcome(name);
            outcome.registered = registered;
            outcome.deployed = Some(arn.clone());
            self.targets.insert(name.clone(), arn);
        }
        self.phase("register", t);
        Ok(())
    }

    /// 4. Migrations, on each new revision, before any service changes.
    async fn migrate(&mut self) -> Result<Flow, AwsError> {
        let d = self.d;
        let t = Instant::now();
        for svc in d
            .env
            .services
            .iter()
            .filter(|s| d.services.contains(&s.name.v))
        {
            let Some(m) = svc.migration.as_ref().filter(|m| !m.command.is_empty()) else {
                continue;
            };
            let name = &svc.name.v;
            if !self.report.outcome(name).registered {
                self.progress.info(&format!(
                    "{name}: migration skipped: its task definition did not change"
                ));
                continue;
            }
            self.progress.step(&format!("migrate ({name})"));
            let run = migrate::run(
                &d.clients.ecs,
                name,
                m,
                &self.targets[name],
                &d.rendered.task_definitions[name],
                &d.rendered.services[name],
                self.progress,
            );
            // Ctrl-C stops waiting for the migration (no service has changed yet).
            let result = tokio::select! {
                r = run => r?,
                () = self.interrupt.beyond(0) => {
                    return Ok(self.report.stop(Status::MigrationFailed, format!(
                        "{name}: interrupted while the migration ran: its task may still be running (`slipway status`, or the ECS console); no service was changed"
                    )));
                }
            };
            let passed = result.passed;
            let detail = result.detail.clone();
            self.report.migrations.push(result);
            if !passed {
                return Ok(self.report.stop(
                    Status::MigrationFailed,
                    format!("{name}: migration failed: {detail}"),
                ));
            }
        }
        if !self.report.migrations.is_empty() {
            self.phase("migrate", t);
        }
        Ok(Flow::Go)
    }

    fn interrupted_before_any_change(&mut self) -> Flow {
        if self.interrupt.count() == 0 {
            return Flow::Go;
        }
        self.report.stop(
            Status::Invalid,
            "interrupted before any service changed: nothing to roll back",
        )
    }

    fn lock_lost(&mut self) -> Flow {
        match self.lock.and_then(|lost| lost()) {
            None => Flow::Go,
            Some(why) => self.report.stop(
                Status::Refused,
                format!("{why}: stopping before any service changes"),
            ),
        }
    }

    /// 5. Update (or create) every service whose revision or settings change, in parallel.
    async fn update(&mut self) {
        let d = self.d;
        let t = Instant::now();
        self.follows = follows(d.env, d.clients, &d.services).await;
        let autoscaling = |name: &str| {
            d.env
                .services
                .iter()
                .find(|s| s.name.v == name)
                .and_then(|s| s.autoscaling.as_ref())
                .map(|a| (a.min.v, a.max.v))
        };
        let settings_change: BTreeMap<String, bool> = d
            .services
            .iter()
            .map(|n| {
                let differs = d.live.services.get(n).is_some_and(|l| {
                    diff::settings_differ(&d.rendered.services[n], &l.settings, autoscaling(n))
                });
                (n.clone(), differs)
            })
            .collect();
        let targets = &self.targets;
        let to_update: Vec<String> = d
            .services
            .iter()
            .filter(|n| {
                d.live.services.get(*n).map(|l| &l.task_definition) != Some(&targets[*n])
                    || settings_change[*n]
            })
            .cloned()
            .collect();
        if to_update.is_empty() {
            self.progress
                .step("nothing to update: every service already runs this");
            return;
        }
        self.progress
            .step(&format!("update {}", to_update.join(", ")));
        let parallel = d.env.deploy.parallelism.max(1) as usize;
        let settings_change = &settings_change;
        let autoscaling = &autoscaling;
        let results = bounded(to_update.clone(), parallel, |name| {
            let target = targets[&name].clone();
            async move {
                let r = if d.live.services.contains_key(&name) {
                    // Settings converge too when they drifted; the desired count only where
                    // no autoscaling owns it.
                    let settings = settings_change[&name].then(|| &d.rendered.services[&name]);
                    let desired = settings
                        .filter(|_| autoscaling(&name).is_none())
                        .map(|s| s.desired_count);
                    ecs::update_service_with(
                        &d.clients.ecs,
                        &d.env.cluster.v,
                        d.env.ecs_name(&name),
                        &target,
                        settings,
                        desired,
                    )
                    .await
                    .map(|_| ())
                } else {
                    ecs::create_service(&d.clients.ecs, &d.rendered.services[&name], &target)
                        .await
                        .map(|_| ())
                };
                (name, r)
            }
        })
        .await;
        for (name, r) in results {
            match r {
                Ok(()) => {
                    self.report.outcome(&name).updated = true;
                    self.updated.push(name);
                }
                Err(e) => {
                    self.report.problems.push(format!("{name}: {e}"));
                    self.report.outcome(&name).settled = Some(Settled::Failed {
                        reason: e.to_string(),
                    });
                    self.failed_at.get_or_insert_with(Instant::now);
                }
            }
        }
        self.phase("update", t);
    }

    /// 6. Wait for the updated services to settle.
    async fn wait(&mut self) -> Result<(), AwsError> {
        if self.updated.is_empty() {
            return Ok(());
        }
        let t = Instant::now();
        self.progress.step("wait for the services to settle");
        let watches: Vec<Watch> = self
            .updated
            .iter()
            .map(|s| Watch {
                service: s.clone(),
                ecs_name: self.d.env.ecs_name(s).to_string(),
                target: self.targets[s].clone(),
                timeout: service_timeout(self.d.env, s, self.opts.timeout),
                follow: self.follows.get(s).cloned(),
            })
            .collect();
        let test = self.test_traffic();
        let settled = wait::wait_with(
            &self.d.clients.ecs,
            self.cluster(),
            &watches,
            self.progress,
            (self.interrupt, 0),
            test.as_ref(),
        )
        .await?;
        self.phase("wait", t);
        for (name, st) in settled {
            if !st.is_stable() {
                self.failed_at.get_or_insert_with(Instant::now);
                self.report
                    .problems
                    .push(format!("{name}: {}", st.describe()));
            }
            self.report.outcome(&name).settled = Some(st);
        }
        Ok(())
    }

    /// Where the smoke checks of blue/green, canary and linear services run during test
    /// traffic: `--smoke-test-base-url`, else the smoke base URL on the alb's test listener port.
    fn test_traffic(&self) -> Option<wait::TestTraffic<'a>> {
        let env = self.d.env;
        if !self.opts.smoke {
            return None;
        }
        let base = self.opts.smoke_test_base_url.clone().or_else(|| {
            let port = env.alb.as_ref()?.test_listener_port.as_ref()?.v;
            let base = self
                .opts
                .smoke_base_url
                .clone()
                .or_else(|| env.smoke_base_url.as_ref().map(|u| u.v.clone()))?;
            let mut url = reqwest::Url::parse(&base).ok()?;
            url.set_port(Some(port as u16)).ok()?;
            Some(url.to_string().trim_end_matches('/').to_string())
        })?;
        Some(wait::TestTraffic {
            env,
            base,
            deadline: self.opts.smoke_deadline,
        })
    }

    /// 7. Smoke checks of the updated services, once everything is stable.
    async fn smoke(&mut self) {
        if self.failed_at.is_some() || !self.opts.smoke {
            return;
        }
        let env = self.d.env;
        let base = self
            .opts
            .smoke_base_url
            .clone()
            .or_else(|| env.smoke_base_url.as_ref().map(|u| u.v.clone()));
        let has_checks = env
            .services
            .iter()
            .any(|s| self.updated.contains(&s.name.v) && !s.smoke.is_empty());
        let base = match (base, has_checks) {
            (_, false) => return,
            (None, true) => {
                self.progress.info("smoke checks skipped: no base URL (set smoke_base_url or pass --smoke-base-url)");
                return;
            }
            (Some(base), true) => base,
        };
        self.progress.step(&format!("smoke checks against {base}"));
        let t = Instant::now();
        let checks = smoke::run(env, &self.updated, &base, self.opts.smoke_deadline);
        tokio::select! {
            r = checks => self.report.smoke = r,
            () = self.interrupt.beyond(0) => {
                self.report.problems.push("interrupted during the smoke checks".into());
                self.failed_at = Some(Instant::now());
            }
        }
        self.phase("smoke", t);
        for r in &self.report.smoke {
            self.progress.service(
                &format!("{} smoke {}", r.service, r.check),
                &format!(
                    "{} after {} attempt(s): {}",
                    if r.passed { "passed" } else { "FAILED" },
                    r.attempts,
                    r.detail
                ),
            );
        }
        if self.report.smoke.iter().any(|r| !r.passed) {
            self.failed_at = Some(Instant::now());
            self.report.problems.push("smoke checks failed".into());
        }
    }

    /// 8a. Everything is stable and checked: its revisions are the next rollback targets.
    async fn mark_healthy(&mut self) {
        if self.updated.is_empty() {
            return;
        }
        self.progress.step("mark the new revisions healthy");
        for name in self.updated.clone() {
            let arn = &self.targets[&name];
            // The services are fine: a failed tag is a warning, never a rollback.
            if let Err(e) = history::mark_healthy(&self.d.clients.ecs, arn).await {
                self.report.problems.push(format!(
                    "warning: {} was not marked healthy ({e}); a later rollback will not pick it",
                    short_arn(arn)
                ));
            }
        }
    }

    /// 8b. The deploy failed: every touched service back to its last healthy revision (unless
    /// told not to); a service this deploy created is scaled to 0.
    async fn fail(&mut self, failed_at: Instant) {
        if !self.opts.rollback {
            self.progress
                .step("deploy failed; --no-rollback: leaving the services as they are");
            self.report.status = Status::FailedNoRollback;
            return;
        }
        if self.updated.is_empty() {
            self.progress
                .step("deploy failed before any service changed: nothing to roll back");
            self.report.status = Status::Invalid;
            return;
        }
        self.progress.step("deploy failed: rolling back");
        let d = self.d;
        let t = Instant::now();
        let mut moves = Vec::new();
        let mut errors = Vec::new();
        for name in self.updated.clone() {
            let previous = self.report.outcome(&name).previous.clone();
            let family = &d.rendered.task_definitions[&name].family;
            let exclude = [self.targets[&name].as_str()];
            let target = match history::last_healthy(&d.clients.ecs, family, &exclude).await {
                Ok(Some(arn)) => Some(arn),
                Ok(None) => previous,
                Err(e) => {
                    errors.push(format!("{name}: cannot look up healthy revisions: {e}"));
                    previous
                }
            };
            self.report
                .rollback_started_after_secs
                .get_or_insert_with(|| failed_at.elapsed().as_secs_f64());
            match target {
                Some(arn) => {
                    self.progress
                        .info(&format!("{name}: back to {}", short_arn(&arn)));
                    self.report.outcome(&name).rolled_back_to = Some(arn.clone());
                    moves.push((name, arn));
                }
                None => {
                    // Created by this deploy: nothing to go back to, so stop it.
                    self.progress
                        .info(&format!("{name}: created by this deploy; scaling it to 0"));
                    let r = ecs::set_desired_count(
                        &d.clients.ecs,
                        self.cluster(),
                        d.env.ecs_name(&name),
                        0,
                    )
                    .await;
                    let outcome = self.report.outcome(&name);
                    outcome.note = Some("created by this deploy: scaled to 0".into());
                    outcome.rollback = Some(match r {
                        Ok(()) => Settled::Stable,
                        Err(e) => {
                            errors.push(format!("{name}: {e}"));
                            Settled::Failed {
                                reason: e.to_string(),
                            }
                        }
                    });
                }
            }
        }
        self.progress
            .step("wait for the rollback to settle (Ctrl-C again stops waiting)");
        let seen = self.interrupt.count();
        let settled = point_and_wait(
            d.env,
            d.clients,
            &moves,
            self.opts.timeout,
            self.progress,
            (self.interrupt, seen),
        )
        .await;
        for (name, moved) in settled {
            errors.extend(moved.problem);
            self.report.outcome(&name).rollback = Some(moved.settled);
        }
        let all_back = self.updated.iter().all(|s| {
            self.report
                .services
                .iter()
                .find(|o| &o.service == s)
                .and_then(|o| o.rollback.as_ref())
                .is_some_and(Settled::is_stable)
        });
        self.report.problems.extend(errors);
        self.phase("rollback", t);
        self.report.status = if all_back {
            Status::RolledBack
        } else {
            Status::RollbackFailed
        };
    }
}

/// Where one service of [`point_and_wait`] ended.
#[derive(Clone, Debug)]
pub struct Moved {
    /// UpdateService succeeded: the service was pointed at its revision.
    pub updated: bool,
    pub settled: Settled,
    /// What went wrong, to report.
    pub problem: Option<String>,
}

/// Points each service at its revision (`moves`: service → task definition ARN) and waits for
/// them to settle: the one move both a failed deploy's rollback and `slipway rollback` make.
pub async fn point_and_wait(
    env: &Environment,
    clients: &Clients,
    moves: &[(String, String)],
    timeout: Option<Duration>,
    progress: &dyn Progress,
    interrupt: (&Interrupt, u32),
) -> BTreeMap<String, Moved> {
    let mut out = BTreeMap::new();
    let mut watches = Vec::new();
    let names: Vec<String> = moves.iter().map(|(n, _)| n.clone()).collect();
    let mut follows = follows(env, clients, &names).await;
    // A blue/green, canary or linear service ECS rolled back already runs the revision: moving
    // it again would start (and bake) one more deployment of it.
    let live = if follows.is_empty() {
        Vec::new()
    } else {
        let ecs_names: Vec<String> = follows
            .keys()
            .map(|n| env.ecs_name(n).to_string())
            .collect();
        ecs::describe_services(&clients.ecs, &env.cluster.v, &ecs_names)
            .await
            .map(|d| d.found)
            .unwrap_or_default()
    };
    for (name, arn) in moves {
        let settled_on = |l: &&ecs::LiveService| {
            l.name == env.ecs_name(name)
                && &l.task_definition == arn
                && l.primary()
                    .is_some_and(|p| p.rollout_state.as_deref() != Some("IN_PROGRESS"))
        };
        if follows.contains_key(name) && live.iter().any(|l| settled_on(&l)) {
            progress.service(name, "already on it (ECS rolled it back)");
            out.insert(
                name.clone(),
                Moved {
                    updated: false,
                    settled: Settled::Stable,
                    problem: None,
                },
            );
            continue;
        }
        match ecs::update_service(&clients.ecs, &env.cluster.v, env.ecs_name(name), arn).await {
            Ok(_) => watches.push(Watch {
                service: name.clone(),
                ecs_name: env.ecs_name(name).to_string(),
                target: arn.clone(),
                timeout: service_timeout(env, name, timeout),
                follow: follows.remove(name),
            }),
            Err(e) => {
                out.insert(
                    name.clone(),
                    Moved {
                        updated: false,
                        settled: Settled::Failed {
                            reason: e.to_string(),
                        },
                        problem: Some(format!("{name}: {e}")),
                    },
                );
            }
        }
    }
    if watches.is_empty() {
        return out;
    }
    let settled = wait::wait(&clients.ecs, &env.cluster.v, &watches, progress, interrupt).await;
    for w in watches {
        let moved = match &settled {
            Ok(s) => Moved {
                updated: true,
                settled: s.get(&w.service).cloned().unwrap_or(Settled::Interrupted),
                problem: None,
            },
            Err(e) => Moved {
                updated: true,
                settled: Settled::Failed {
                    reason: format!("waiting for it to settle: {e}"),
                },
                problem: Some(format!("{}: waiting for it to settle: {e}", w.service)),
            },
        };
        out.insert(w.service, moved);
    }
    out
}

/// Where a rollback takes one service.
#[derive(Clone, Debug)]
pub enum RollbackTo {
    /// The last revision marked healthy before the current one.
    LastHealthy,
    Revision(i32),
    Release(String),
}

/// `slipway rollback`: services back to a known-good revision, with the same move and wait as a
/// deploy's rollback.
#[allow(clippy::too_many_arguments)]
pub async fn rollback(
    env: &Environment,
    clients: &Clients,
    live: &Live,
    services: &[String],
    to: &RollbackTo,
    timeout: Option<Duration>,
    progress: &dyn Progress,
    interrupt: &Interrupt,
) -> Report {
    let started = Instant::now();
    let mut report = Report::new(&env.name);
    let busy = in_progress(live, services);
    if !busy.is_empty() {
        report.problems = busy;
        report.status = Status::Refused;
        return report;
    }
    progress.step(&format!("rollback {}", env.name));
    let mut moves = Vec::new();
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
        let family = crate::naming::family_of(&current).to_string();
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
                outcome.rolled_back_to = Some(arn.clone());
                moves.push((name.clone(), arn));
            }
            Ok(None) => report.problems.push(match to {
                RollbackTo::Release(tag) => format!("{name}: no revision of {family} was deployed with image tag {tag}"),
                _ => format!("{name}: no revision of {family} before {} is marked healthy; pass --to REVISION", short_arn(&current)),
            }),
            Err(e) => report.problems.push(format!("{name}: {e}")),
        }
        report.services.push(outcome);
    }
    if !moves.is_empty() {
        progress.step("wait for the services to settle");
    }
    let settled = point_and_wait(env, clients, &moves, timeout, progress, (interrupt, 0)).await;
    for (name, moved) in settled {
        report.problems.extend(moved.problem);
        if let Some(o) = report.services.iter_mut().find(|s| s.service == name) {
            o.updated = moved.updated;
            o.rollback = Some(moved.settled);
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

/// Whether the service deploys with blue/green, canary or linear (its wait follows the service
/// deployment).
fn shifts_traffic(env: &Environment, service: &str) -> bool {
    env.services
        .iter()
        .find(|s| s.name.v == service)
        .is_some_and(|s| s.deployment.strategy.v.shifts_traffic())
}

/// For each blue/green, canary or linear service of `names`: how to find the service deployment
/// its update starts. The newest one of the last day is known before the update; the update's
/// is the newest created since 30 s before now (a local clock ahead of AWS's) that is not it.
async fn follows(
    env: &Environment,
    clients: &Clients,
    names: &[String],
) -> BTreeMap<String, wait::Follow> {
    let now = ecs::epoch_now();
    let mut out = BTreeMap::new();
    for name in names.iter().filter(|n| shifts_traffic(env, n)) {
        // A failed read leaves nothing known: the wait then takes the newest since.
        let known =
            ecs::latest_service_deployment(&clients.ecs, &env.cluster.v, env.ecs_name(name))
                .await
                .ok()
                .flatten();
        out.insert(
            name.clone(),
            wait::Follow {
                since: now - 30.0,
                known,
            },
        );
    }
    out
}
