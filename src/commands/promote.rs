//! `slipway promote`: the image a source environment tested, re-tagged by manifest for the target
//! environment (BatchGetImage → PutImage with the same manifest: no rebuild, the same bytes and
//! digest), then deployed to the target with the same engine as `deploy`.

use std::path::Path;

use crate::cli::{PromoteArgs, TfOutputsArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::render;
use crate::rollout::promote::{self, Retagged};

pub async fn run(envs_dir: &Path, args: &PromoteArgs, p: &Printer) -> Exit {
    let target_tag = args
        .as_tag
        .clone()
        .unwrap_or_else(|| args.image_tag.clone());
    let source_tf = TfOutputsArgs {
        tf_outputs: args.from_tf_outputs.clone(),
        root: args.tf.root.clone(),
    };
    let source =
        match super::ready(envs_dir, &args.from, &source_tf, Some(&args.image_tag), p).await {
            Ok(r) => r,
            Err(code) => return code,
        };
    let mut target = match super::ready(envs_dir, &args.to, &args.tf, Some(&target_tag), p).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Err(e) = super::select_services(&mut target.loaded.envs[0], &args.rollout.services) {
        p.error(e);
        return Exit::Error;
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
    let src_clients = super::clients(source.env(), &args.aws).await;
    let dst_clients = super::clients(target.env(), &args.aws).await;
    for (from, to) in &pairs {
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
    super::deploy::rollout(
        envs_dir,
        &target,
        &target_tag,
        &args.rollout,
        &args.aws,
        "promote",
        p,
    )
    .await
}
