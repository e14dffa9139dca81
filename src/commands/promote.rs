//! `slipway promote`: the image a source environment tested, re-tagged by manifest for the target
//! environment (BatchGetImage → PutImage with the same manifest: no rebuild, the same bytes and
//! digest), then deployed to the target with the same engine as `deploy`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::aws::ecr::{self, EcrRef};
use crate::cli::{PromoteArgs, TfOutputsArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::render;

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
    // Each target image, and the source image of the same service.
    let mut pairs: BTreeMap<String, (EcrRef, EcrRef)> = BTreeMap::new();
    for (name, td) in &dst.task_definitions {
        let main = |t: &render::TaskDefinition| {
            t.container_definitions
                .iter()
                .find(|c| &c.name == name)
                .and_then(|c| EcrRef::parse(&c.image))
        };
        let Some(to) = main(td) else { continue };
        let Some(from) = src.task_definitions.get(name).and_then(main) else {
            p.error(format!(
                "service `{name}` of \"{}\" has no ECR image in \"{}\" to promote from",
                args.to, args.from
            ));
            return Exit::Error;
        };
        pairs.insert(
            format!("{}/{}:{}", to.registry, to.repository, to.tag),
            (from, to),
        );
    }
    let src_clients = super::clients(source.env(), &args.aws).await;
    let dst_clients = super::clients(target.env(), &args.aws).await;
    for (from, to) in pairs.values() {
        let what = format!(
            "{}:{} → {}:{}",
            from.repository, from.tag, to.repository, to.tag
        );
        let manifest = match ecr::manifest(
            &src_clients.ecr,
            Some(&from.registry),
            &from.repository,
            &from.tag,
        )
        .await
        {
            Ok(Some(m)) => m,
            Ok(None) => {
                p.error(format!(
                    "{}:{} does not exist in \"{}\" (registry {}): only images that were built and tested there can be promoted",
                    from.repository, from.tag, args.from, from.registry
                ));
                return Exit::Error;
            }
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        };
        if from == to {
            p.note(format!(
                "{what}: the environments share the image; nothing to re-tag ({})",
                manifest.digest
            ));
            continue;
        }
        match ecr::manifest(
            &dst_clients.ecr,
            Some(&to.registry),
            &to.repository,
            &to.tag,
        )
        .await
        {
            Ok(Some(existing)) if existing.digest == manifest.digest => {
                p.note(format!("{what}: already points at {}", manifest.digest));
                continue;
            }
            Ok(Some(existing)) => {
                p.error(format!(
                    "{what}: the target tag already points at another image ({} instead of {}): promote under another tag with --as",
                    existing.digest, manifest.digest
                ));
                return Exit::Error;
            }
            Ok(None) => {}
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        }
        match ecr::put_tag(
            &dst_clients.ecr,
            Some(&to.registry),
            &to.repository,
            &to.tag,
            &manifest,
        )
        .await
        {
            Ok(digest) if digest == manifest.digest || digest.is_empty() => {
                p.note(format!(
                    "{what}: re-tagged {} (no rebuild)",
                    manifest.digest
                ));
            }
            Ok(digest) => {
                p.error(format!("{what}: ECR stored digest {digest}, not {}: the bytes differ, refusing to deploy", manifest.digest));
                return Exit::Error;
            }
            Err(e) if e.is_code("ImageTagAlreadyExistsException") => {
                p.error(format!("{what}: the repository's tags are immutable and the tag exists: promote under another tag with --as ({e})"));
                return Exit::Error;
            }
            Err(e)
                if e.is_code("LayersNotFoundException")
                    || e.is_code("ReferencedImagesNotFoundException") =>
            {
                p.error(format!("{what}: the target repository does not hold the image's layers (another registry): replicate the repository (ECR replication) first ({e})"));
                return Exit::Error;
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
