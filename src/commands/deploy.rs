//! `slipway deploy`: roll an image tag out to an environment.
//!
//! Steps: Terraform outputs → load + validate → live ECS state → render with revision tags →
//! the rollout engine (verify, migrate, register, update, wait, smoke, roll back) → report →
//! notify (Slack, job summary) → exit code from the outcome.

use std::path::Path;

use crate::cli::{DeployArgs, Format, RolloutArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::rollout::engine::{self, Deploy};
use crate::rollout::{history, notify, progress};
use crate::{render, report};

pub async fn run(envs_dir: &Path, args: &DeployArgs, p: &Printer) -> Exit {
    let mut ready =
        match super::ready(envs_dir, &args.env, &args.tf, Some(&args.image_tag), p).await {
            Ok(r) => r,
            Err(code) => return code,
        };
    if let Err(e) = super::select_services(&mut ready.loaded.envs[0], &args.rollout.services) {
        p.error(e);
        return Exit::Error;
    }
    rollout(
        envs_dir,
        &ready,
        &args.image_tag,
        &args.rollout,
        &args.aws,
        "deploy",
        p,
    )
    .await
}

/// The rollout of `image_tag` to a loaded environment; shared by deploy and promote.
pub async fn rollout(
    envs_dir: &Path,
    ready: &super::Ready,
    image_tag: &str,
    args: &RolloutArgs,
    aws: &crate::cli::AwsArgs,
    action: &str,
    p: &Printer,
) -> Exit {
    let env = ready.env();
    let clients = super::clients(env, aws).await;
    let names: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    let live = match super::live_state(env, &clients, p).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let git = crate::git::head(envs_dir);
    let inputs = render::Inputs {
        image_tag: Some(image_tag.to_string()),
        revision_tags: history::revision_tags(
            git.as_ref().map(|g| g.sha.as_str()),
            Some(image_tag),
            &history::deployer(),
        ),
        ..Default::default()
    };
    let rendered = match render::render_ecs(env, &ready.outputs, &inputs) {
        Ok(r) => r,
        Err(diags) => return super::diff::render_failed(&diags, &ready.loaded.sources, p),
    };
    let progress = progress::new(p.format == Format::Text && p.stderr_is_terminal());
    let deploy = Deploy {
        env,
        clients: &clients,
        rendered: &rendered,
        live: &live,
        services: names,
    };
    let opts = engine::Options {
        timeout: args.timeout,
        rollback: !args.no_rollback,
        smoke: !args.no_smoke,
        smoke_base_url: args.smoke_base_url.clone(),
        smoke_deadline: args.smoke_timeout,
    };
    let report = deploy.run(&opts, progress.as_ref()).await;
    match p.format {
        Format::Json => p.json(&report),
        Format::Text => p.line(report::rollout::text(action, &report).trim_end()),
    }
    let summary =
        notify::Report::from_rollout(action, &report, Some(image_tag), git.map(|g| g.sha));
    for w in notify::send(env, &clients, &summary).await {
        p.note(format!("warning: {w}"));
    }
    report.status.exit()
}
