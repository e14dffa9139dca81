//! One file per command. Each reads like the runbook it replaces: resolve inputs, call the module
//! that owns each step, print, return an exit code.

pub mod apply;
pub mod bootstrap;
pub mod changed;
pub mod comment;
pub mod deploy;
pub mod diff;
pub mod init;
pub mod lint_migrations;
pub mod migrate;
pub mod plan;
pub mod promote;
pub mod render;
pub mod rollback;
pub mod status;
pub mod tf_summary;
pub mod unlock;
pub mod validate;
pub mod version;
pub mod workflows;

use crate::cli::TfOutputsArgs;
use crate::env::{GitVars, Scope};
use crate::gate;
use crate::settings::Settings;
use crate::terraform::{Outputs, Terraform, TerraformError};

/// Terraform outputs for one environment: from `--tf-outputs`, or `terraform output -json` in the
/// root's workspace for the environment.
pub async fn tf_outputs(
    s: &Settings,
    args: &TfOutputsArgs,
    env: &str,
) -> Result<Outputs, TerraformError> {
    match &args.tf_outputs {
        Some(file) => Ok(Outputs::from_file(file)?),
        None => {
            Terraform::new(&s.terraform, &args.root.terraform_dir, env)?
                .outputs()
                .await
        }
    }
}

/// The engine's options from the command line's.
pub fn engine_options(o: &crate::cli::RolloutOpts) -> crate::rollout::engine::Options {
    crate::rollout::engine::Options {
        timeout: o.timeout,
        rollback: !o.no_rollback,
        smoke: !o.no_smoke,
        smoke_base_url: o.smoke_base_url.clone(),
        smoke_test_base_url: o.smoke_test_base_url.clone(),
        smoke_deadline: o.smoke_timeout,
    }
}

/// The environment named on the command line must exist, checked before anything runs for it
/// (Terraform, AWS): a typo is "no environment `stagin` (did you mean `staging`?)".
pub fn known_env(
    s: &Settings,
    env: &str,
    p: &crate::output::Printer,
) -> Result<(), crate::exit::Exit> {
    crate::env::check_name(&s.envs_dir, env).map_err(|e| {
        p.error(e);
        crate::exit::Exit::Error
    })
}

/// The git facts an environment's expressions see: HEAD, and `git.version` from the tags with
/// the environment's `deploy.tag_prefix`.
pub fn git_for(s: &Settings, env: &str) -> Option<GitVars> {
    let mut git = s.git.clone()?;
    let prefix = crate::env::tag_prefix(&s.envs_dir, env);
    git.version = crate::git::version(&s.envs_dir, &prefix)
        .ok()
        .map(|v| v.to_string());
    Some(git)
}

/// The evaluation scope shared by the commands. `git` is read once by the caller, not per
/// environment.
pub fn scope(
    env: &str,
    outputs: Option<&Outputs>,
    image_tag: Option<&str>,
    git: Option<&GitVars>,
    allow_unknown: bool,
) -> Scope {
    Scope {
        tf: outputs.map(|o| o.values().clone()),
        tf_sensitive: outputs.map(|o| o.sensitive().to_vec()).unwrap_or_default(),
        // Without a tag (and when the loader must know every value), `image_tag` is each
        // service's live tag, which `render` puts in per service.
        image_tag: image_tag
            .map(str::to_string)
            .or_else(|| (!allow_unknown).then(|| crate::naming::LIVE_IMAGE_TAG.to_string())),
        git: git.cloned(),
        env_name: env.to_string(),
        allow_unknown,
    }
}

/// One environment, loaded and validated with Terraform's outputs in scope, ready to render.
pub struct Ready {
    pub loaded: crate::env::Loaded,
    pub outputs: Outputs,
}

impl Ready {
    pub fn env(&self) -> &crate::env::model::Environment {
        &self.loaded.envs[0]
    }
}

/// Reads outputs, loads and validates `env`; on failure prints why and returns the exit code.
pub async fn ready(
    s: &Settings,
    env: &str,
    tf: &TfOutputsArgs,
    image_tag: Option<&str>,
    p: &crate::output::Printer,
) -> Result<Ready, crate::exit::Exit> {
    known_env(s, env, p)?;
    let outputs = tf_outputs(s, tf, env).await.map_err(|e| {
        p.error(e);
        crate::exit::Exit::Error
    })?;
    load_ready(s, env, outputs, image_tag, false, p)
}

/// Loads and validates environments of `dir`; on a problem prints the diagnostics and `refusal`.
pub fn load_valid(
    dir: &std::path::Path,
    names: &[String],
    scope_for: &dyn Fn(&str) -> Scope,
    p: &crate::output::Printer,
    refusal: &str,
) -> Result<crate::env::Loaded, crate::exit::Exit> {
    let loaded = crate::env::load(dir, names, scope_for).map_err(|e| {
        p.error(e);
        crate::exit::Exit::Error
    })?;
    if loaded.has_errors(false) {
        p.diagnostics(&loaded.sources, &loaded.diagnostics, false);
        p.note(refusal);
        return Err(crate::exit::Exit::Error);
    }
    Ok(loaded)
}

pub fn load_ready(
    s: &Settings,
    env: &str,
    outputs: Outputs,
    image_tag: Option<&str>,
    allow_unknown: bool,
    p: &crate::output::Printer,
) -> Result<Ready, crate::exit::Exit> {
    use crate::exit::Exit;
    let sc = scope(
        env,
        Some(&outputs),
        image_tag,
        s.git.as_ref(),
        allow_unknown,
    );
    let loaded =
        crate::env::load(&s.envs_dir, &[env.to_string()], &|_| sc.clone()).map_err(|e| {
            p.error(e);
            Exit::Error
        })?;
    if loaded.has_errors(false) {
        p.diagnostics(&loaded.sources, &loaded.diagnostics, false);
        if image_tag.is_none() && !allow_unknown {
            p.note("no --image-tag was given and the services do not all run one tag that could stand in for it: pass --image-tag");
        }
        p.note("refused: fix the problems above (`slipway validate` lists them all)");
        return Err(Exit::Error);
    }
    if !allow_unknown {
        p.diagnostics(&loaded.sources, &loaded.diagnostics, false);
    }
    Ok(Ready { loaded, outputs })
}

/// An environment loaded without Terraform outputs (for commands that only read ECS: status,
/// rollback): references to outputs stay unknown, which is allowed here.
pub fn load_plain(
    s: &Settings,
    env: &str,
    p: &crate::output::Printer,
) -> Result<Ready, crate::exit::Exit> {
    known_env(s, env, p)?;
    load_ready(s, env, Outputs::default(), None, true, p)
}

/// An environment with its live ECS state, for commands that compare (diff, plan).
pub struct Compared {
    pub ready: Ready,
    pub clients: crate::aws::Clients,
    pub live: crate::live::Live,
    /// The tag compared: `--image-tag`, or the one tag every live service runs.
    pub image_tag: Option<String>,
}

/// Loads `env` (only `services` when given), reads its live state once, and settles the image
/// tag: without `--image-tag`, a tag that every live service runs stands in for it, so that a
/// diff of configuration alone needs no tag.
pub async fn compared(
    s: &Settings,
    env: &str,
    tf: &TfOutputsArgs,
    image_tag: Option<&str>,
    services: &[String],
    aws: &crate::cli::AwsArgs,
    p: &crate::output::Printer,
) -> Result<Compared, crate::exit::Exit> {
    use crate::exit::Exit;
    known_env(s, env, p)?;
    let outputs = tf_outputs(s, tf, env).await.map_err(|e| {
        p.error(e);
        Exit::Error
    })?;
    let mut ready = load_ready(s, env, outputs, image_tag, image_tag.is_none(), p)?;
    select_services(&mut ready.loaded.envs[0], services).map_err(|e| {
        p.error(e);
        Exit::Error
    })?;
    let clients = clients(s, ready.env(), aws).await;
    let names: Vec<String> = ready
        .env()
        .services
        .iter()
        .map(|s| s.name.v.clone())
        .collect();
    let live = live_state(ready.env(), &clients, p).await?;
    let mut tag = image_tag.map(str::to_string);
    if tag.is_none() {
        // Only the declared services count: an orphan's tag says nothing about this file.
        let tags: std::collections::BTreeSet<String> = live
            .image_tags()
            .into_iter()
            .filter(|(service, _)| names.contains(service))
            .map(|(_, tag)| tag)
            .collect();
        tag = (tags.len() == 1).then(|| tags.into_iter().next().expect("one tag"));
        ready = load_ready(s, env, ready.outputs, tag.as_deref(), false, p)?;
        select_services(&mut ready.loaded.envs[0], services).map_err(|e| {
            p.error(e);
            Exit::Error
        })?;
    }
    Ok(Compared {
        ready,
        clients,
        live,
        image_tag: tag,
    })
}

/// Narrows the environment to `--service`, or to the services changed since `--changed-since`.
/// Returns false when a change selection left nothing (there is nothing to do).
pub fn narrow(
    s: &Settings,
    env: &mut crate::env::model::Environment,
    args: &crate::cli::RolloutArgs,
    p: &crate::output::Printer,
) -> Result<bool, crate::exit::Exit> {
    let err = |e: String| {
        p.error(e);
        crate::exit::Exit::Error
    };
    let Some(base) = &args.changed_since else {
        select_services(env, &args.services).map_err(err)?;
        return Ok(true);
    };
    let changed = changed::selected_in(s, base, &env.name).map_err(err)?;
    if changed.is_empty() {
        p.note(format!(
            "nothing \"{}\" declares changed since {base}: nothing to do",
            env.name
        ));
        return Ok(false);
    }
    p.note(format!("changed since {base}: {}", describe(&changed)));
    env.services
        .retain(|svc| changed.services.contains_key(&svc.name.v));
    env.sites
        .retain(|site| changed.sites.contains_key(&site.name.v));
    Ok(true)
}

/// The services and sites a change selected, as one line ("api, web, site:frontend").
pub fn describe(selected: &crate::changed::Selected) -> String {
    let mut names: Vec<String> = selected.services.keys().cloned().collect();
    names.extend(selected.sites.keys().map(|k| format!("site:{k}")));
    if names.is_empty() {
        "no service or site".to_string()
    } else {
        names.join(", ")
    }
}

/// Keeps only the named services (all when `names` is empty); an unknown name is an error.
pub fn select_services(
    env: &mut crate::env::model::Environment,
    names: &[String],
) -> Result<(), String> {
    if names.is_empty() {
        return Ok(());
    }
    let known: Vec<&str> = env.services.iter().map(|s| s.name.v.as_str()).collect();
    for n in names {
        if !known.contains(&n.as_str()) {
            let hint = crate::suggest::did_you_mean(n, known.iter().copied())
                .map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"));
            return Err(format!(
                "environment \"{}\" has no service `{n}`{hint}; services: {}",
                env.name,
                known.join(", ")
            ));
        }
    }
    env.services.retain(|s| names.contains(&s.name.v));
    Ok(())
}

/// The live ECS state of an environment's services; on failure prints why.
pub async fn live_state(
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    p: &crate::output::Printer,
) -> Result<crate::live::Live, crate::exit::Exit> {
    crate::live::fetch(&clients.ecs, &env.cluster.v, &crate::live::declared(env))
        .await
        .map_err(|e| {
            p.error(e);
            crate::exit::Exit::Error
        })
}

/// The AWS clients for an environment: its region, the caller's credentials.
pub async fn clients(
    s: &Settings,
    env: &crate::env::model::Environment,
    aws: &crate::cli::AwsArgs,
) -> crate::aws::Clients {
    let timeouts = crate::aws::Timeouts {
        operation: std::time::Duration::from_secs(aws.aws_timeout.max(1)),
        attempt: std::time::Duration::from_secs(aws.aws_timeout.clamp(1, 10)),
        ..Default::default()
    };
    let config = crate::aws::sdk_config(&crate::aws::AwsOptions {
        region: Some(env.region.v.clone()),
        profile: aws.profile.clone(),
        endpoint_url: s.aws_endpoint_url.clone(),
        timeouts,
    })
    .await;
    crate::aws::Clients::new(&config)
}

/// Prints why a gate stopped the command (a refusal, or facts that could not be gathered) and
/// returns its exit code: 3 for a refusal, 1 otherwise. In JSON the document says
/// `"status": "refused"` with the refusal's gate, rule, message and help.
pub fn stopped(p: &crate::output::Printer, env: &str, stop: gate::Stop) -> crate::exit::Exit {
    let code = stop.exit();
    match (&stop, p.format) {
        (gate::Stop::Refused(r), crate::cli::Format::Json) => p.json(&serde_json::json!({
            "environment": env,
            "status": "refused",
            "refusal": r,
            "problems": [r.message],
        })),
        _ => p.error(stop),
    }
    code
}

/// What a command's gates established: who the caller is, what passed, and the lock (released
/// with [`Gated::release`]).
pub struct Gated {
    pub identity: crate::aws::sts::Identity,
    pub passed: Vec<gate::Passed>,
    pub lock: Option<gate::lock::Held>,
}

/// What a command is, for its gates.
pub struct GateSpec<'a> {
    /// Recorded in the lock: `deploy`, `rollback`, `promote`, `migrate run`, `apply`.
    pub command: &'a str,
    pub scope: gate::approval::Scope,
    pub args: &'a crate::cli::GateArgs,
    pub lock: &'a crate::cli::LockArgs,
    /// The plan being applied (recorded in the lock).
    pub fingerprint: Option<&'a str>,
    /// The commit pull request approvals must be for.
    pub commit: Option<&'a str>,
    /// Lint the migrations this run would apply and gate on them (deploy, promote, migrate
    /// run); apply gates on the plan's findings itself, rollback runs no migration.
    pub migrations: Option<&'a crate::cli::MigrationArgs>,
}

/// The pull request the approval gate reads: `--pr`, else the event's in Actions.
pub fn pull_request(s: &Settings, pr: Option<u64>) -> Option<u64> {
    pr.or_else(|| {
        s.actions
            .running
            .then(|| crate::github::pr_from_event(s.actions.event_path.as_deref()).ok())
            .flatten()
    })
}

/// The approval gate: gathers what the rules need (GitHub only when a rule asks), then decides.
pub async fn approve(
    s: &Settings,
    env: &crate::env::model::Environment,
    spec: &GateSpec<'_>,
    github: &mut Option<crate::github::GitHub>,
) -> Result<Vec<gate::Passed>, gate::Stop> {
    let pr = pull_request(s, spec.args.pr);
    let facts = gate::approval::facts(
        s,
        &env.approval,
        spec.scope,
        spec.args.confirm.as_deref(),
        pr,
        spec.commit,
        github,
    )
    .await?;
    Ok(gate::approval::decide(
        &env.name,
        &env.approval,
        &facts,
        spec.scope,
    )?)
}

/// Approval, then the account: the gates that need nothing but reads. On a stop, prints why.
pub async fn approved_account(
    s: &Settings,
    p: &crate::output::Printer,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    spec: &GateSpec<'_>,
) -> Result<(crate::aws::sts::Identity, Vec<gate::Passed>), crate::exit::Exit> {
    let stop = |e: gate::Stop| stopped(p, &env.name, e);
    let mut github = None;
    let mut passed = approve(s, env, spec, &mut github).await.map_err(stop)?;
    let (identity, ok) = gate::account::check(&clients.sts, &env.name, &env.account_id.v)
        .await
        .map_err(stop)?;
    passed.push(ok);
    if let Some(m) = spec.migrations {
        let report = pending_migrations(s, env, clients, m.migrations_base.as_deref())
            .await
            .map_err(stop)?;
        passed.extend(
            migration_gate(
                s,
                env,
                report.as_ref(),
                m.allow_destructive_migration,
                spec,
                &mut github,
            )
            .await
            .map_err(stop)?,
        );
    }
    Ok((identity, passed))
}

/// Publishes the prepared sites (after the services' rollout succeeded), with the rollout's
/// smoke and rollback options.
pub async fn publish_sites(
    s: &Settings,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    account: &str,
    sites: &[crate::site::run::Prepared<'_>],
    o: &crate::cli::RolloutOpts,
) -> Vec<crate::site::run::Outcome> {
    crate::site::run::publish(
        env,
        clients,
        account,
        sites,
        git_for(s, &env.name).as_ref(),
        &s.deployer,
        o.smoke_base_url.as_deref(),
        o.smoke_timeout,
        !o.no_smoke,
        !o.no_rollback,
    )
    .await
}

/// What a deploy would do to each of the environment's sites (reads only); problems (no dir, an
/// unversioned bucket, a distribution of another account) exit 1.
pub async fn planned_sites(
    s: &Settings,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    p: &crate::output::Printer,
) -> Result<Vec<crate::site::run::Planned>, crate::exit::Exit> {
    if env.sites.is_empty() {
        return Ok(Vec::new());
    }
    let root = crate::migrations::pending::repo_root(&s.envs_dir);
    match crate::site::run::prepare(env, clients, &env.account_id.v, &root).await {
        Ok(prepared) => Ok(prepared.iter().map(crate::site::run::Planned::of).collect()),
        Err(problems) => {
            for problem in problems {
                p.error(problem);
            }
            Err(crate::exit::Exit::Error)
        }
    }
}

/// The migration gate over `report` (`None`: no migration files, nothing to decide).
pub async fn migration_gate(
    s: &Settings,
    env: &crate::env::model::Environment,
    report: Option<&crate::migrations::pending::Report>,
    allow_flag: bool,
    spec: &GateSpec<'_>,
    github: &mut Option<crate::github::GitHub>,
) -> Result<Vec<gate::Passed>, gate::Stop> {
    let Some(report) = report else {
        return Ok(Vec::new());
    };
    let given = gate::migrations::Facts {
        allow_flag,
        confirm: spec.args.confirm.clone(),
        pull: None,
    };
    let facts = gate::migrations::facts(
        s,
        env,
        report,
        given,
        pull_request(s, spec.args.pr),
        spec.commit,
        github,
    )
    .await?;
    Ok(gate::migrations::decide(env, report, &facts)?)
}

/// The migrations a run would apply, linted now: the files changed since `base`, or since the
/// commit each service's live revision was deployed from (a read of the live state). `None`
/// when no service names migration files.
pub async fn pending_migrations(
    s: &Settings,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    base: Option<&str>,
) -> Result<Option<crate::migrations::pending::Report>, gate::Stop> {
    use crate::migrations::pending;
    if !pending::has_sql(env) {
        return Ok(None);
    }
    let base = match base {
        Some(b) => pending::Base::Given(b.to_string()),
        None => {
            let live =
                crate::live::fetch(&clients.ecs, &env.cluster.v, &crate::live::declared(env))
                    .await?;
            pending::Base::PerService(pending::live_bases(env, &live))
        }
    };
    pending::report(&pending::repo_root(&s.envs_dir), env, &base)
        .map(Some)
        .map_err(|e| gate::GateError::Input(e).into())
}

/// Approval, account, lock, in that order, for promote, rollback and migrate run: every
/// refusal comes before the first mutating AWS call. On a stop, prints why.
pub async fn gated(
    s: &Settings,
    p: &crate::output::Printer,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    spec: &GateSpec<'_>,
) -> Result<Gated, crate::exit::Exit> {
    let (identity, passed) = approved_account(s, p, env, clients, spec).await?;
    let lock = take_lock(s, p, env, clients, spec).await?;
    Ok(Gated {
        identity,
        passed,
        lock,
    })
}

/// Takes the environment's lock (`deploy.lock_bucket`); without one, warns and runs unlocked.
pub async fn take_lock(
    s: &Settings,
    p: &crate::output::Printer,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    spec: &GateSpec<'_>,
) -> Result<Option<gate::lock::Held>, crate::exit::Exit> {
    let Some(bucket) = &env.deploy.lock_bucket else {
        p.note(format!(
            "warning: environment \"{}\" has no deploy.lock_bucket, so nothing stops two runs from changing it at once (their rollouts would interleave); set it to the Terraform state bucket",
            env.name
        ));
        return Ok(None);
    };
    if bucket.v.contains("${") {
        p.error(format!(
            "deploy.lock_bucket of \"{}\" refers to a Terraform output, which this command does not read: write the bucket's name in the environment file",
            env.name
        ));
        return Err(crate::exit::Exit::Error);
    }
    let place = gate::lock::Place::new(&clients.s3, &bucket.v, &env.name);
    let holder = gate::lock::Holder {
        actor: s.deployer.clone(),
        run_url: s.actions.run_url.clone(),
        host: s.host.clone(),
        pid: std::process::id(),
        command: spec.command.to_string(),
        fingerprint: spec.fingerprint.map(str::to_string),
    };
    let id = format!(
        "{}-{}-{}",
        s.host,
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let opts = gate::lock::Options {
        lease: spec.lock.lock_lease,
        wait: spec.lock.lock_timeout,
    };
    let acquire = gate::lock::acquire(&place, &id, holder, opts);
    let held = if opts.wait.is_zero() {
        acquire.await
    } else {
        // Waiting for another holder (--lock-timeout) stops at Ctrl-C.
        let interrupt = crate::rollout::interrupt::Interrupt::install();
        tokio::select! {
            r = acquire => r,
            () = interrupt.beyond(0) => Err(gate::GateError::Input(format!(
                "interrupted while waiting for the lock of \"{}\": nothing was changed",
                env.name
            ))
            .into()),
        }
    }
    .map_err(|e| stopped(p, &env.name, e))?;
    if let Some(old) = &held.took_over {
        p.note(format!(
            "took over the lock of {} (held since {}): its lease ran out at {} without a renewal",
            old.holder.describe(),
            old.acquired_at,
            old.expires_at
        ));
    }
    p.note(format!(
        "locked \"{}\" (s3://{}/{}, lease {:.0}s)",
        env.name,
        bucket.v,
        crate::naming::lock_key(&env.name),
        spec.lock.lock_lease.as_secs_f64()
    ));
    Ok(Some(held))
}

impl Gated {
    /// Releases the lock, if one was taken; a release that fails is a warning (the lease ends it).
    pub async fn release(self, p: &crate::output::Printer) {
        release(self.lock, p).await;
    }
}

pub async fn release(lock: Option<gate::lock::Held>, p: &crate::output::Printer) {
    let Some(held) = lock else { return };
    let expires = held.record().expires_at;
    match held.release().await {
        Ok(gate::lock::Released::Released) => {}
        Ok(gate::lock::Released::NotOurs { detail }) => p.note(format!(
            "warning: the lock was no longer this run's ({detail}); left it as it is"
        )),
        Err(e) => p.note(format!(
            "warning: the lock was not released ({e}); it ends with its lease at {expires}"
        )),
    }
}
