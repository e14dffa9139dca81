//! Promotion: an image a source environment tested, re-tagged by manifest for the target
//! (BatchGetImage → PutImage with the same manifest), so the target runs the same bytes.

use std::collections::BTreeMap;

use crate::aws::ecr::{self, EcrRef};
use crate::render::{Ecs, TaskDefinition};

/// What one image needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Retagged {
    /// Source and target are the same image reference: nothing to do.
    Shared { digest: String },
    /// The target tag already points at the same manifest.
    AlreadyThere { digest: String },
    /// PutImage added the target tag.
    Retagged { digest: String },
}

/// Each target service's main image with the source image of the same service, once per
/// distinct target image. A target service with an ECR image but no source image is an error.
pub fn pairs(
    source: &Ecs,
    target: &Ecs,
    source_env: &str,
    target_env: &str,
) -> Result<Vec<(EcrRef, EcrRef)>, String> {
    let mut out: BTreeMap<EcrRef, EcrRef> = BTreeMap::new();
    for (name, td) in &target.task_definitions {
        // Rendered task definitions hold the main container first.
        let main = |t: &TaskDefinition| {
            t.container_definitions
                .first()
                .and_then(|c| EcrRef::parse(&c.image))
        };
        let Some(to) = main(td) else { continue };
        let Some(from) = source.task_definitions.get(name).and_then(main) else {
            return Err(format!(
                "service `{name}` of \"{target_env}\" has no ECR image in \"{source_env}\" to promote from"
            ));
        };
        out.insert(to, from);
    }
    Ok(out.into_iter().map(|(to, from)| (from, to)).collect())
}

/// Puts `to` on the manifest `from` points at, or says why it cannot. Never rebuilds, never
/// moves a tag that points at other bytes.
pub async fn retag(
    source: &aws_sdk_ecr::Client,
    target: &aws_sdk_ecr::Client,
    from: &EcrRef,
    to: &EcrRef,
    source_env: &str,
) -> Result<Retagged, String> {
    let what = format!(
        "{}:{} → {}:{}",
        from.repository, from.tag, to.repository, to.tag
    );
    let manifest = ecr::manifest(source, Some(&from.registry), &from.repository, &from.tag)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "{}:{} does not exist in \"{source_env}\" (registry {}): only images that were built and tested there can be promoted",
                from.repository, from.tag, from.registry
            )
        })?;
    if from == to {
        return Ok(Retagged::Shared {
            digest: manifest.digest,
        });
    }
    match ecr::manifest(target, Some(&to.registry), &to.repository, &to.tag).await {
        Ok(Some(existing)) if existing.digest == manifest.digest => {
            return Ok(Retagged::AlreadyThere {
                digest: manifest.digest,
            })
        }
        Ok(Some(existing)) => {
            return Err(format!(
                "{what}: the target tag already points at another image ({} instead of {}): promote under another tag with --as",
                existing.digest, manifest.digest
            ))
        }
        Ok(None) => {}
        Err(e) => return Err(e.to_string()),
    }
    match ecr::put_tag(target, Some(&to.registry), &to.repository, &to.tag, &manifest).await {
        Ok(digest) if digest == manifest.digest || digest.is_empty() => Ok(Retagged::Retagged {
            digest: manifest.digest,
        }),
        Ok(digest) => Err(format!(
            "{what}: ECR stored digest {digest}, not {}: the bytes differ, refusing to deploy",
            manifest.digest
        )),
        Err(e) if e.is_code("ImageTagAlreadyExistsException") => Err(format!(
            "{what}: the repository's tags are immutable and the tag exists: promote under another tag with --as ({e})"
        )),
        Err(e) if e.is_code("LayersNotFoundException") || e.is_code("ReferencedImagesNotFoundException") => Err(format!(
            "{what}: the target repository does not hold the image's layers (another registry): replicate the repository (ECR replication) first ({e})"
        )),
        Err(e) => Err(e.to_string()),
    }
}
