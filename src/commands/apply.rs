//! `slipway apply`: the reviewed plan, applied only through its gates, then rolled out.
//!
//! The runbook, one call per step into the module that owns it:
//! 1. the plan file, and its integrity (`gate::fingerprint::load`);
//! 2. the fingerprint reviewers saw (`gate::fingerprint`);
//! 3. nothing moved since: environment files, HEAD, the saved Terraform plan and Terraform's
//!    state (`gate::stale`);
//! 4. approval (`gate::approval`), then the migrations the plan recorded: a finding at or above
//!    `migration.block_on` refuses unless overridden (`gate::migrations`);
//! 5. the account (`gate::account`), then the live ECS state, read now (`gate::stale::live`);
//! 6. the lock (`gate::lock`), and the live state once more under it;
//! 7. the migrations the plan's revisions need, `terraform apply` of the saved plan (streamed),
//!    then the rollout of exactly the documents the plan recorded: update, wait, smoke, and
//!    the same automatic rollback as `deploy` (`rollout::engine`);
//! 8. the report: the PR comment's "Applied" section, the job summary, Slack, text or JSON.
//!
//! Every refusal exits 3 before the first mutating AWS call (the lock's own re-check of the
//! live state excepted: it releases the lock again).

use std::time::Instant;

use crate::cli::{ApplyArgs, Format};
use crate::exit::Exit;
use crate::gate::approval::Scope;
use crate::gate::{fingerprint, stale, Passed, Refusal, Stop};
use crate::output::Printer;
use crate::planfile::{self, PlanFile};
use crate::report::apply::{LockInfo, Outcome, Report, TerraformApplied};
use crate::rollout::engine::{self, Deploy};
use crate::rollout::interrupt::Interrupt;
use crate::rollout::{history, notify, progress};
use crate::settings::Settings;
use crate::terraform::Terraform;

pub async fn run(s: &Settings, args: &ApplyArgs, p: &Printer) -> Exit {
    let interrupt = Interrupt::install();
    let started = Instant::now();

    // 1. The plan file the plan job uploaded, and its integrity.
    let plan = match fingerprint::load(&args.plan) {
        Ok(plan) => plan,
        Err(e) => return super::stopped(p, &args.env, e),
    };
    if plan.environment != args.env {
        p.error(format!(
            "{} is a plan for environment \"{}\", not \"{}\"",
            args.plan.display(),
            plan.environment,
            args.env
        ));
        return Exit::Error;
    }
    let mut report = Report {
        environment: plan.environment.clone(),
        fingerprint: plan.fingerprint.clone(),
        status: Outcome::Refused,
        actor: s.deployer.clone(),
        applied_at: planfile::now_rfc3339(),
        run_url: s.actions.run_url.clone(),
        gates: Vec::new(),
        refusal: None,
        problems: Vec::new(),
        lock: None,
        terraform: None,
        rollout: None,
        duration_secs: 0.0,
    };
    // Terraform first when the plan has a Terraform half: a fresh runner needs `init` before
    // outputs can be read and the saved plan applied.
    let tf = match &plan.terraform {
        None => None,
        Some(part) => match prepare_terraform(s, args, &part.workspace, p).await {
            Ok(tf) => Some(tf),
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        },
    };
    let outputs = match (&args.tf.tf_outputs, &tf) {
        (None, Some(tf)) => tf.outputs().await.map_err(|e| e.to_string()),
        _ => super::tf_outputs(s, &args.tf, &plan.environment)
            .await
            .map_err(|e| e.to_string()),
    };
    let outputs = match outputs {
        Ok(o) => o,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    if let Err(code) = super::known_env(s, &plan.environment, p) {
        return code;
    }
    let ready = match super::load_ready(
        s,
        &plan.environment,
        outputs,
        plan.image_tag.as_deref(),
        plan.image_tag.is_none(),
        p,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let env = ready.env();
    let spec = super::GateSpec {
        command: "apply",
        scope: Scope::Full,
        args: &args.gate,
        lock: &args.lock,
        fingerprint: Some(&plan.fingerprint),
        commit: plan.git.as_ref().map(|g| g.sha.as_str()),
        migrations: None,
    };

    // 2-5. The gates that change nothing.
    let clients = super::clients(s, env, &args.aws).await;
    let checked = async {
        let mut github = None;
        // 2. The fingerprint that counts is the one reviewers saw.
        let reviewed = fingerprint::reviewed(
            s,
            &plan,
            args.fingerprint.as_deref(),
            super::pull_request(s, args.gate.pr),
            &mut github,
        )
        .await?;
        report.gates.push(fingerprint::decide(
            &plan,
            &reviewed,
            env.approval.required,
        )?);
        // 3. Nothing the plan was made from moved.
        report
            .gates
            .extend(unmoved(&plan, &ready, tf.as_ref(), args, s).await?);
        report.gates.extend(sites_unmoved(&plan, env, s)?);
        // 4. Approval.
        report
            .gates
            .extend(super::approve(s, env, &spec, &mut github).await?);
        // 4b. The migrations the plan recorded (what reviewers saw), with their override.
        report.gates.extend(
            super::migration_gate(
                s,
                env,
                plan.migrations.as_ref(),
                args.allow_destructive_migration,
                &spec,
                &mut github,
            )
            .await?,
        );
        // 5. The account, then the live state, read now.
        let (identity, ok) =
            crate::gate::account::check(&clients.sts, &env.name, &plan.account_id).await?;
        report.gates.push(ok);
        report.gates.push(live_unmoved(&plan, env, &clients).await?);
        Ok::<_, Stop>(identity)
    };
    let identity = match checked.await {
        Ok(i) => i,
        Err(stop) => return refused(p, &mut report, stop, started),
    };

    // A reviewed plan that changes nothing: every gate passed, nothing to do.
    if !plan.has_changes() {
        report.status = Outcome::NothingToChange;
        report.duration_secs = started.elapsed().as_secs_f64();
        let pr = super::pull_request(s, args.gate.pr);
        publish(s, &plan, &args.plan, pr, env, &clients, &report, p).await;
        return Exit::Ok;
    }
    // Exactly the reviewed documents (not re-rendered), with this run's revision tags; verify
    // reads only, so it comes before the lock.
    let rendered = plan
        .ecs
        .rendered
        .clone()
        .with_revision_tags(&history::revision_tags(
            // HEAD is the plan's commit (the head gate): its git facts are the plan's.
            super::git_for(s, &env.name).as_ref(),
            plan.image_tag.as_deref(),
            &s.deployer,
        ));
    let services: Vec<String> = env
        .services
        .iter()
        .map(|svc| svc.name.v.clone())
        .filter(|n| rendered.task_definitions.contains_key(n))
        .collect();
    let progress = progress::new(p.format == Format::Text && p.stderr_is_terminal());
    let verified = match engine::verify(
        env,
        &clients,
        &rendered,
        &services,
        &identity.account,
        progress.as_ref(),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    if !verified.ok() {
        progress.finish();
        report.status = Outcome::NotRolledOut;
        report.problems.clone_from(&verified.problems);
        report.rollout = Some(verified.refused(env, &services));
        report.duration_secs = started.elapsed().as_secs_f64();
        match p.format {
            Format::Json => p.json(&report),
            Format::Text => p.line(crate::report::apply::text(&report).trim_end()),
        }
        return Exit::Error;
    }

    // The sites the plan publishes, read and checked now (reads only).
    let sites = if plan.sites.is_empty() {
        Vec::new()
    } else {
        let root = crate::migrations::pending::repo_root(&s.envs_dir);
        match crate::site::run::prepare(env, &clients, &identity.account, &root).await {
            Ok(sites) => sites,
            Err(problems) => {
                for problem in problems {
                    p.error(problem);
                }
                return Exit::Error;
            }
        }
    };
    // 6. The lock, and the live state once more now that nobody else can move it.
    let lock = match super::take_lock(s, p, env, &clients, &spec).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    report.lock = lock.as_ref().map(|l| LockInfo {
        at: format!(
            "s3://{}/{}",
            env.deploy.lock_bucket.as_ref().map_or("", |b| b.v.as_str()),
            crate::naming::lock_key(&env.name)
        ),
        acquired_in_ms: l.acquired_in_ms,
        took_over_from: l.took_over.as_ref().map(|r| r.holder.clone()),
        released: None,
        released_in_ms: None,
    });
    let live = match live_unmoved(&plan, env, &clients).await {
        Ok(_) => super::live_state(env, &clients, p).await,
        Err(stop) => {
            let exit = refused(p, &mut report, stop, started);
            super::release(lock, p).await;
            return exit;
        }
    };
    let exit = match live {
        Ok(live) => {
            // 7. Apply: migrations, Terraform, the rollout.
            let deploy = Deploy {
                env,
                clients: &clients,
                rendered: &rendered,
                live: &live,
                services,
            };
            let lost = || lock.as_ref().and_then(|l| l.lost());
            apply(
                &plan,
                &deploy,
                verified,
                tf.as_ref(),
                args,
                &interrupt,
                &lost,
                progress.as_ref(),
                &mut report,
            )
            .await;
            // Then the sites, once the services are in place.
            if report.status == Outcome::Applied && !sites.is_empty() {
                let outcomes = super::publish_sites(
                    s,
                    env,
                    &clients,
                    &identity.account,
                    &sites,
                    &args.rollout,
                )
                .await;
                report.status = match crate::site::run::exit(&outcomes) {
                    Exit::RolledBack => Outcome::RolledBack,
                    Exit::RollbackFailed => Outcome::RollbackFailed,
                    Exit::Error => Outcome::FailedNoRollback,
                    _ => Outcome::Applied,
                };
                if let Some(r) = report.rollout.as_mut() {
                    r.sites = outcomes;
                }
            }
            report.status.exit()
        }
        Err(code) => code,
    };
    if let Some(l) = lock {
        let t = Instant::now();
        let expires = l.record().expires_at;
        let released = l.release().await;
        if let Some(info) = report.lock.as_mut() {
            info.released_in_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
            info.released = released.as_ref().ok().cloned();
        }
        if let Err(e) = released {
            p.note(format!(
                "warning: the lock was not released ({e}); it ends with its lease at {expires}"
            ));
        }
    }

    // 8. Report.
    report.duration_secs = started.elapsed().as_secs_f64();
    let pr = super::pull_request(s, args.gate.pr);
    publish(s, &plan, &args.plan, pr, env, &clients, &report, p).await;
    exit
}

/// Step 3, for the sites: the built files must be the ones the plan compared.
fn sites_unmoved(
    plan: &PlanFile,
    env: &crate::env::model::Environment,
    s: &Settings,
) -> Result<Vec<Passed>, Stop> {
    let root = crate::migrations::pending::repo_root(&s.envs_dir);
    let mut passed = Vec::new();
    for planned in &plan.sites {
        let Some(site) = env.sites.iter().find(|x| x.name.v == planned.site) else {
            return Err(Refusal::new(
                "stale",
                "site-files",
                format!(
                    "site \"{}\" is in the plan but no longer in the environment",
                    planned.site
                ),
            )
            .into());
        };
        let local = crate::site::scan(&root, site).map_err(crate::gate::GateError::Input)?;
        let now = crate::site::run::digest(&local);
        if now != planned.local_digest {
            return Err(Refusal::new(
                "stale",
                "site-files",
                format!(
                    "site \"{}\": the files in {} are not the ones the plan compared (built again since?)",
                    planned.site, site.dir.v
                ),
            )
            .help("apply where the plan's build is, or plan again")
            .into());
        }
        passed.push(Passed::new(
            "stale",
            format!("site {}: the planned files", planned.site),
        ));
    }
    Ok(passed)
}

/// Step 3: the environment files, HEAD, the saved Terraform plan and its state.
async fn unmoved(
    plan: &PlanFile,
    ready: &super::Ready,
    tf: Option<&Terraform>,
    args: &ApplyArgs,
    s: &Settings,
) -> Result<Vec<Passed>, Stop> {
    let mut passed = vec![
        stale::env_files(
            &plan.env_files,
            &planfile::env_file_digests(&ready.loaded.sources),
        )?,
        stale::head(plan.git.as_ref(), s.git.as_ref().map(|g| g.sha.as_str()))?,
    ];
    if let (Some(part), Some(tf)) = (&plan.terraform, tf) {
        let path = plan
            .terraform_plan_path(&args.plan)
            .expect("a plan with a Terraform half has a saved plan");
        passed.push(stale::terraform_plan(
            &part.plan_sha256,
            &path,
            planfile::file_sha256(&path).map_err(|e| format!("{}: {e}", path.display())),
        )?);
        let planned = crate::terraform::saved_plan_state(&path)
            .map_err(|e| crate::gate::GateError::Input(format!("{}: {e}", path.display())))?;
        let now = tf
            .state()
            .await
            .map_err(|e| crate::gate::GateError::Input(e.to_string()))?;
        passed.push(stale::terraform_state(
            &part.workspace,
            planned.as_ref(),
            now.as_ref(),
        )?);
    }
    Ok(passed)
}

/// The live ECS state, read now, against the plan's digest.
async fn live_unmoved(
    plan: &PlanFile,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
) -> Result<Passed, Stop> {
    // The services the plan covers (all, or those changed since a base: `--changed-since`).
    let all: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    let names: Vec<String> = all
        .iter()
        .filter(|n| plan.ecs.rendered.task_definitions.contains_key(*n))
        .cloned()
        .collect();
    let live =
        crate::live::fetch(&clients.ecs, &env.cluster.v, &crate::live::declared(env)).await?;
    let now = crate::live::digests(&names, &live);
    Ok(stale::live(
        &plan.ecs.live_digest,
        &now.digest,
        &plan.ecs.live_services,
        &now.services,
    )?)
}

/// Step 7. Registers and migrates (nothing else changes yet), applies the saved Terraform plan,
/// then rolls out the plan's own documents.
#[allow(clippy::too_many_arguments)]
async fn apply(
    plan: &PlanFile,
    deploy: &Deploy<'_>,
    verified: engine::Verified,
    tf: Option<&Terraform>,
    args: &ApplyArgs,
    interrupt: &Interrupt,
    lost: engine::LockWatch<'_>,
    progress: &dyn crate::rollout::progress::Progress,
    report: &mut Report,
) {
    let opts = super::engine_options(&args.rollout);
    let mut run = engine::Rollout::new(deploy, verified, &opts, progress, interrupt);
    run.lock = Some(lost);
    if run.prepare().await {
        if let (Some(tf), Some(part)) = (tf, &plan.terraform) {
            let path = plan
                .terraform_plan_path(&args.plan)
                .expect("a plan with a Terraform half has a saved plan");
            progress.step(&format!("terraform apply {}", path.display()));
            let t = Instant::now();
            let applied = terraform_apply(tf, &path, part.workspace.as_str()).await;
            let ok = applied.as_ref().is_ok_and(|a| a.applied);
            report.terraform = Some(match applied {
                Ok(mut a) | Err(Stopped::Failed(mut a)) => {
                    a.secs = t.elapsed().as_secs_f64();
                    a
                }
                Err(Stopped::Refused(r, mut a)) => {
                    a.secs = t.elapsed().as_secs_f64();
                    report.refusal = Some(*r);
                    a
                }
            });
            if !ok {
                report.status = if report.refusal.is_some() {
                    Outcome::Refused
                } else {
                    Outcome::TerraformFailed
                };
                report.problems.push(
                    "stopped before changing any ECS service: Terraform's apply did not complete"
                        .into(),
                );
                report.rollout = Some(run.finish());
                return;
            }
            if interrupt.count() > 0 {
                // Terraform ran to its end; nothing of the ECS half has changed yet.
                report.status = Outcome::NotRolledOut;
                report.problems.push(
                    "interrupted during Terraform's apply: stopped before changing any ECS service; Terraform's changes stay".into(),
                );
                report.rollout = Some(run.finish());
                return;
            }
        }
        run.roll_out().await;
    }
    let r = run.finish();
    report.status = Outcome::of_rollout(r.status);
    report.rollout = Some(r);
}

enum Stopped {
    /// Terraform refused the saved plan as stale.
    Refused(Box<Refusal>, TerraformApplied),
    Failed(TerraformApplied),
}

async fn terraform_apply(
    tf: &Terraform,
    plan: &std::path::Path,
    workspace: &str,
) -> Result<TerraformApplied, Stopped> {
    match tf.apply(plan).await {
        Ok(out) => {
            let mut a = TerraformApplied::from_output(&out.stdout);
            a.applied = true;
            Ok(a)
        }
        Err(crate::terraform::TerraformError::Failed { stderr, stdout, .. }) => {
            let mut a = TerraformApplied::from_output(&stdout);
            a.error = Some(stderr.clone());
            match stale::terraform_refused(&stderr) {
                Some(r) => Err(Stopped::Refused(Box::new(r), a)),
                None => Err(Stopped::Failed(a)),
            }
        }
        Err(e) => Err(Stopped::Failed(TerraformApplied {
            error: Some(format!("{e} (workspace {workspace})")),
            ..Default::default()
        })),
    }
}

async fn prepare_terraform(
    s: &Settings,
    args: &ApplyArgs,
    workspace: &str,
    p: &Printer,
) -> Result<Terraform, String> {
    let mut tf = Terraform::new(&s.terraform, &args.tf.root.terraform_dir, workspace)
        .map_err(|e| e.to_string())?;
    tf.stream = true;
    p.note(format!(
        "terraform: init in {} (workspace {workspace})",
        tf.dir.display()
    ));
    tf.init(&args.backend_config)
        .await
        .map_err(|e| e.to_string())?;
    Ok(tf)
}

/// A gate stopped the apply: say why, and exit 3 (a refusal) or 1 (facts could not be had).
fn refused(p: &Printer, report: &mut Report, stop: Stop, started: Instant) -> Exit {
    report.duration_secs = started.elapsed().as_secs_f64();
    match stop {
        Stop::Refused(r) => {
            report.status = Outcome::Refused;
            report.problems.push(r.message.clone());
            report.refusal = Some(*r);
            match p.format {
                Format::Json => p.json(&report),
                Format::Text => {
                    p.error(report.refusal.as_ref().expect("set above"));
                }
            }
            Exit::Refused
        }
        other => super::stopped(p, &report.environment, other),
    }
}

/// Step 8: the terminal (or JSON), the job summary and Slack, and the PR comment's "Applied"
/// section (when a pull request is known). Failures to notify are warnings.
#[allow(clippy::too_many_arguments)]
async fn publish(
    s: &Settings,
    plan: &PlanFile,
    plan_path: &std::path::Path,
    pr: Option<u64>,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    report: &Report,
    p: &Printer,
) {
    match p.format {
        Format::Json => p.json(report),
        Format::Text => p.line(crate::report::apply::text(report).trim_end()),
    }
    let summary = notify::Report {
        environment: report.environment.clone(),
        action: "apply".into(),
        result: report.status.word().to_string(),
        image_tag: plan.image_tag.clone(),
        git_sha: plan.git.as_ref().map(|g| g.sha.clone()),
        duration_secs: report.duration_secs,
        services: report
            .rollout
            .as_ref()
            .map(|r| notify::Report::from_rollout("apply", r, None, None).services)
            .unwrap_or_default(),
    };
    for w in notify::send(s, env, clients, &summary).await {
        p.note(format!("warning: {w}"));
    }
    let Some(pr) = pr else {
        return;
    };
    let section = crate::report::apply::section(report);
    let updated = async {
        let gh = crate::github::GitHub::from_settings(&s.actions, None)?;
        let marker = crate::report::comment::marker(&plan.environment);
        let hint = super::comment::apply_hint(
            plan,
            plan_path,
            &crate::cli::GitHubArgs {
                pr: Some(pr),
                repository: None,
                apply_hint: None,
            },
        );
        match gh.find_comment(pr, &marker).await? {
            Some(c) => {
                let body = crate::report::comment::with_applied(&c.body, &section, plan, &hint);
                gh.update_comment(c.id, &body).await
            }
            None => {
                let plan_body = crate::report::comment::render(plan, &hint);
                let body = crate::report::comment::with_applied(&plan_body, &section, plan, &hint);
                gh.upsert_comment(pr, &marker, &body).await
            }
        }
    }
    .await;
    match updated {
        Ok(posted) => p.note(format!(
            "recorded the apply in the plan comment on #{pr}{}",
            posted.url.map_or_else(String::new, |u| format!(": {u}"))
        )),
        Err(e) => p.note(format!("warning: the PR comment was not updated: {e}")),
    }
}
