//! `slipway deploy`: roll an image tag out to an environment.
//!
//! Steps: load + validate (with Terraform's outputs) → gates: approval, account → render with
//! revision tags → verify (reads only) → the lock → live ECS state → the rollout engine
//! (migrate, register, update, wait, smoke, roll back) → report → notify (Slack, job summary) →
//! release the lock → exit code from the outcome.

use crate::cli::{DeployArgs, Format, RolloutArgs};
use crate::exit::Exit;
use crate::gate::approval::Scope;
use crate::gate::lock::Held;
use crate::output::Printer;
use crate::render::Ecs;
use crate::rollout::engine::{self, Deploy, Verified};
use crate::rollout::interrupt::Interrupt;
use crate::rollout::progress::Progress;
use crate::rollout::{history, notify, progress};
use crate::settings::Settings;
use crate::{render, report};

pub async fn run(s: &Settings, args: &DeployArgs, p: &Printer) -> Exit {
    let interrupt = Interrupt::install();
    let mut ready = match super::ready(s, &args.env, &args.tf, Some(&args.image_tag), p).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    match super::narrow(s, &mut ready.loaded.envs[0], &args.rollout, p) {
        Ok(true) => {}
        Ok(false) => return Exit::Ok,
        Err(code) => return code,
    }
    let env = ready.env();
    let clients = super::clients(s, env, &args.aws).await;
    let spec = super::GateSpec {
        command: "deploy",
        scope: Scope::Full,
        args: &args.gate,
        lock: &args.lock,
        fingerprint: None,
        commit: s.git.as_ref().map(|g| g.sha.as_str()),
        migrations: Some(&args.migrations),
    };
    let (identity, _) = match super::approved_account(s, p, env, &clients, &spec).await {
        Ok(g) => g,
        Err(code) => return code,
    };
    let progress = progress::new(p.format == Format::Text && p.stderr_is_terminal());
    let (rendered, verified) = match render_and_verify(
        s,
        &ready,
        &clients,
        &identity.account,
        &args.image_tag,
        "deploy",
        progress.as_ref(),
        p,
    )
    .await
    {
        Ok(r) => r,
        Err(code) => return code,
    };
    // The sites: verified and compared before anything changes (reads only).
    let root = crate::migrations::pending::repo_root(&s.envs_dir);
    let sites = match crate::site::run::prepare(env, &clients, &identity.account, &root).await {
        Ok(sites) => sites,
        Err(problems) => {
            for problem in problems {
                p.error(problem);
            }
            return Exit::Error;
        }
    };
    let lock = match super::take_lock(s, p, env, &clients, &spec).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let exit = roll_out(
        s,
        &ready,
        &clients,
        &rendered,
        verified,
        lock.as_ref(),
        &args.image_tag,
        &args.rollout,
        "deploy",
        &sites,
        &interrupt,
        progress.as_ref(),
        p,
    )
    .await;
    super::release(lock, p).await;
    exit
}

/// Renders `image_tag` (with this run's revision tags) and verifies what the documents name.
/// Problems are printed as the rollout's report, and end the command (exit 1): nothing has
/// changed in AWS, the lock included.
#[allow(clippy::too_many_arguments)]
pub async fn render_and_verify(
    s: &Settings,
    ready: &super::Ready,
    clients: &crate::aws::Clients,
    account: &str,
    image_tag: &str,
    action: &str,
    progress: &dyn Progress,
    p: &Printer,
) -> Result<(Ecs, Verified), Exit> {
    let env = ready.env();
    let inputs = render::Inputs {
        image_tag: Some(image_tag.to_string()),
        revision_tags: history::revision_tags(
            super::git_for(s, &env.name).as_ref(),
            Some(image_tag),
            &s.deployer,
        ),
        ..Default::default()
    };
    let rendered = render::render_ecs(env, &ready.outputs, &inputs)
        .map_err(|diags| super::diff::render_failed(&diags, &ready.loaded.sources, p))?;
    let names: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    let verified = engine::verify(env, clients, &rendered, &names, account, progress)
        .await
        .map_err(|e| {
            p.error(e);
            Exit::Error
        })?;
    if verified.ok() {
        return Ok((rendered, verified));
    }
    progress.finish();
    let report = verified.refused(env, &names);
    Err(finish(s, env, clients, action, &report, Some(image_tag), p).await)
}

/// The rollout of rendered documents that verify passed, under the lock (if any): live ECS
/// state, then the engine; shared by deploy and promote.
#[allow(clippy::too_many_arguments)]
pub async fn roll_out(
    s: &Settings,
    ready: &super::Ready,
    clients: &crate::aws::Clients,
    rendered: &Ecs,
    verified: Verified,
    lock: Option<&Held>,
    image_tag: &str,
    args: &RolloutArgs,
    action: &str,
    sites: &[crate::site::run::Prepared<'_>],
    interrupt: &Interrupt,
    progress: &dyn Progress,
    p: &Printer,
) -> Exit {
    let env = ready.env();
    let names: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    // Read under the lock: what it shows cannot move under this rollout any more.
    let live = match super::live_state(env, clients, p).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let deploy = Deploy {
        env,
        clients,
        rendered,
        live: &live,
        services: names,
    };
    let opts = super::engine_options(&args.opts);
    let lost = || lock.and_then(Held::lost);
    let mut report = deploy
        .run(verified, &opts, progress, interrupt, Some(&lost))
        .await;
    // Then the sites, once the services are in place.
    if report.status == engine::Status::Succeeded && !sites.is_empty() {
        progress.step("publish sites");
        report.sites =
            super::publish_sites(s, env, clients, &env.account_id.v, sites, &args.opts).await;
    }
    finish(s, env, clients, action, &report, Some(image_tag), p).await
}

/// Prints the rollout's report, sends its notifications, and returns its exit code.
pub async fn finish(
    s: &Settings,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    action: &str,
    report: &engine::Report,
    image_tag: Option<&str>,
    p: &Printer,
) -> Exit {
    match p.format {
        Format::Json => p.json(report),
        Format::Text => {
            p.line(report::rollout::text(action, report).trim_end());
            if !report.sites.is_empty() {
                p.line(crate::site::run::text(&report.sites).trim_end());
            }
        }
    }
    let git_sha = s.git.as_ref().map(|g| g.sha.clone());
    let summary = notify::Report::from_rollout(action, report, image_tag, git_sha);
    for w in notify::send(s, env, clients, &summary).await {
        p.note(format!("warning: {w}"));
    }
    match report.status.exit() {
        Exit::Ok => crate::site::run::exit(&report.sites),
        other => other,
    }
}
