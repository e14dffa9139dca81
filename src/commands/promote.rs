//! `slipway promote`: the image a source environment tested, re-tagged by manifest for the target
//! environment (BatchGetImage → PutImage with the same manifest: no rebuild, the same bytes and
//! digest), then deployed to the target with the same engine as `deploy`.

//!
//! Gates, before the re-tag: approval and lock of the target environment, and the account of
//! both.

use crate::cli::{PromoteArgs, TfOutputsArgs};
use crate::exit::Exit;
use crate::gate::approval::Scope;
use crate::output::Printer;
use crate::render;
use crate::rollout::interrupt::Interrupt;
use crate::rollout::promote::{self, Retagged};
use crate::settings::Settings;

pub async fn run(s: &Settings, args: &PromoteArgs, p: &Printer) -> Exit {
    let interrupt = Interrupt::install();
    let target_tag = args
        .as_tag
        .clone()
        .unwrap_or_else(|| args.image_tag.clone());
    let source_tf = TfOutputsArgs {
        tf_outputs: args.from_tf_outputs.clone(),
        root: args.tf.root.clone(),
    };
    let source = match super::ready(s, &args.from, &source_tf, Some(&args.image_tag), p).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut target = match super::ready(s, &args.to, &args.tf, Some(&target_tag), p).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    match super::narrow(s, &mut target.loaded.envs[0], &args.rollout, p) {
        Ok(true) => {}
        Ok(false) => return Exit::Ok,
        Err(code) => return code,
    }
    let render_with = |ready: &super::Ready, tag: &str| {
        render::render_ecs(
            ready.env(),
            &ready.outputs,
            &render::Inputs {
                image_tag: Some(tag.to_string()),
                ..Default::default()
            },
        )
    };
    let (src, dst) = match (
        render_with(&source, &args.image_tag),
        render_with(&target, &target_tag),
    ) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(diags), _) => return super::diff::render_failed(&diags, &source.loaded.sources, p),
        (_, Err(diags)) => return super::diff::render_failed(&diags, &target.loaded.sources, p),
    };
    let pairs = match promote::pairs(&src, &dst, &args.from, &args.to) {
        Ok(pairs) => pairs,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    let src_clients = super::clients(s, source.env(), &args.aws).await;
    let dst_clients = super::clients(s, target.env(), &args.aws).await;
    // The source is only read, but it must be the account its environment says.
    if let Err(e) =
        crate::gate::account::check(&src_clients.sts, &args.from, &source.env().account_id.v).await
    {
        return super::stopped(p, &args.from, e);
    }
    let spec = super::GateSpec {
        command: "promote",
        scope: Scope::Full,
        args: &args.gate,
        lock: &args.lock,
        fingerprint: None,
        commit: s.git.as_ref().map(|g| g.sha.as_str()),
        migrations: Some(&args.migrations),
    };
    let gated = match super::gated(s, p, target.env(), &dst_clients, &spec).await {
        Ok(g) => g,
        Err(code) => return code,
    };
    let exit = retag_and_roll_out(
        s,
        args,
        &pairs,
        &target,
        &target_tag,
        &src_clients,
        &dst_clients,
        &gated,
        &interrupt,
        p,
    )
    .await;
    gated.release(p).await;
    exit
}

#[allow(clippy::too_many_arguments)]
async fn retag_and_roll_out(
    s: &Settings,
    args: &PromoteArgs,
    pairs: &[(crate::aws::ecr::EcrRef, crate::aws::ecr::EcrRef)],
    target: &super::Ready,
    target_tag: &str,
    src_clients: &crate::aws::Clients,
    dst_clients: &crate::aws::Clients,
    gated: &super::Gated,
    interrupt: &Interrupt,
    p: &Printer,
) -> Exit {
    for (from, to) in pairs {
        let what = format!(
            "{}:{} → {}:{}",
            from.repository, from.tag, to.repository, to.tag
        );
        match promote::retag(&src_clients.ecr, &dst_clients.ecr, from, to, &args.from).await {
            Ok(Retagged::Shared { digest }) => p.note(format!(
                "{what}: the environments share the image; nothing to re-tag ({digest})"
            )),
            Ok(Retagged::AlreadyThere { digest }) => {
                p.note(format!("{what}: already points at {digest}"))
            }
            Ok(Retagged::Retagged { digest }) => {
                p.note(format!("{what}: re-tagged {digest} (no rebuild)"))
            }
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        }
    }
    let progress = crate::rollout::progress::new(
        p.format == crate::cli::Format::Text && p.stderr_is_terminal(),
    );
    let (rendered, verified) = match super::deploy::render_and_verify(
        s,
        target,
        dst_clients,
        &gated.identity.account,
        target_tag,
        "promote",
        progress.as_ref(),
        p,
    )
    .await
    {
        Ok(r) => r,
        Err(code) => return code,
    };
    super::deploy::roll_out(
        s,
        target,
        dst_clients,
        &rendered,
        verified,
        gated.lock.as_ref(),
        target_tag,
        &args.rollout,
        "promote",
        &[],
        interrupt,
        progress.as_ref(),
        p,
    )
    .await
}
