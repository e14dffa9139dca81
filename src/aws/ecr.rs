//! ECR adapter: images by tag (digest, scan findings) and re-tagging by manifest.

use std::collections::BTreeMap;

use aws_sdk_ecr::types as t;
use aws_sdk_ecr::Client;

use super::AwsError;

const SERVICE: &str = "ecr";

/// An image found by tag.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Image {
    pub repository: String,
    pub tag: String,
    pub digest: String,
    pub pushed_at: Option<i64>,
    /// Scan findings by severity (CRITICAL, HIGH, ...) when the image was scanned.
    pub findings: Option<BTreeMap<String, i32>>,
    pub scan_status: Option<String>,
}

/// DescribeImages for one tag: `Ok(None)` when the repository has no such tag.
pub async fn image(
    client: &Client,
    registry: Option<&str>,
    repository: &str,
    tag: &str,
) -> Result<Option<Image>, AwsError> {
    let out = client
        .describe_images()
        .set_registry_id(registry.map(str::to_string))
        .repository_name(repository)
        .image_ids(t::ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            let err = AwsError::from_sdk(SERVICE, "DescribeImages", e);
            if err.is_code("ImageNotFoundException") {
                return Ok(None);
            }
            return Err(err);
        }
    };
    Ok(out.image_details().first().map(|d| Image {
        repository: repository.to_string(),
        tag: tag.to_string(),
        digest: d.image_digest().unwrap_or_default().to_string(),
        pushed_at: d
            .image_pushed_at()
            .map(aws_sdk_ecr::primitives::DateTime::secs),
        findings: d.image_scan_findings_summary().map(|s| {
            s.finding_severity_counts()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.as_str().to_string(), *v))
                        .collect()
                })
                .unwrap_or_default()
        }),
        scan_status: d
            .image_scan_status()
            .and_then(|s| s.status())
            .map(|s| s.as_str().to_string()),
    }))
}

/// An image manifest, as BatchGetImage returns it.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub digest: String,
    pub media_type: Option<String>,
    pub body: String,
}

/// BatchGetImage for one tag: the manifest exactly as stored (`Ok(None)` if the tag is absent).
pub async fn manifest(
    client: &Client,
    registry: Option<&str>,
    repository: &str,
    tag: &str,
) -> Result<Option<Manifest>, AwsError> {
    let out = client
        .batch_get_image()
        .set_registry_id(registry.map(str::to_string))
        .repository_name(repository)
        .image_ids(t::ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "BatchGetImage", e))?;
    if let Some(f) = out.failures().first() {
        if f.failure_code() == Some(&t::ImageFailureCode::ImageTagDoesNotMatchDigest)
            || f.failure_code() == Some(&t::ImageFailureCode::ImageNotFound)
        {
            return Ok(None);
        }
        return Err(AwsError::invalid(
            SERVICE,
            "BatchGetImage",
            format!(
                "{repository}:{tag}: {}",
                f.failure_reason().unwrap_or("unknown failure")
            ),
        ));
    }
    Ok(out.images().first().map(|i| Manifest {
        digest: i
            .image_id()
            .and_then(|id| id.image_digest())
            .unwrap_or_default()
            .to_string(),
        media_type: i.image_manifest_media_type().map(str::to_string),
        body: i.image_manifest().unwrap_or_default().to_string(),
    }))
}

/// PutImage: points `tag` at the given manifest (no bytes move; the digest stays the same).
/// Returns the digest ECR stored.
pub async fn put_tag(
    client: &Client,
    registry: Option<&str>,
    repository: &str,
    tag: &str,
    manifest: &Manifest,
) -> Result<String, AwsError> {
    let out = client
        .put_image()
        .set_registry_id(registry.map(str::to_string))
        .repository_name(repository)
        .image_tag(tag)
        .image_manifest(&manifest.body)
        .set_image_manifest_media_type(manifest.media_type.clone())
        .image_digest(&manifest.digest)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "PutImage", e))?;
    Ok(out
        .image()
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .unwrap_or_default()
        .to_string())
}

/// An ECR image reference split up: `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EcrRef {
    pub registry: String,
    pub region: String,
    pub repository: String,
    pub tag: String,
}

impl EcrRef {
    /// None for images that are not in ECR (public images, digests).
    pub fn parse(image: &str) -> Option<EcrRef> {
        let (host, rest) = image.split_once('/')?;
        let mut h = host.split('.');
        let registry = h.next()?;
        if h.next()? != "dkr" || h.next()? != "ecr" {
            return None;
        }
        let region = h.next()?.to_string();
        if image.contains('@') {
            return None;
        }
        let (repository, tag) = rest.rsplit_once(':')?;
        Some(EcrRef {
            registry: registry.to_string(),
            region,
            repository: repository.to_string(),
            tag: tag.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ecr_references_are_parsed() {
        let r =
            super::EcrRef::parse("111111111111.dkr.ecr.eu-west-1.amazonaws.com/scr/api:4f2a9c1")
                .unwrap();
        assert_eq!(
            (
                r.registry.as_str(),
                r.region.as_str(),
                r.repository.as_str(),
                r.tag.as_str()
            ),
            ("111111111111", "eu-west-1", "scr/api", "4f2a9c1")
        );
        assert!(super::EcrRef::parse("public.ecr.aws/nginx/nginx:1.27").is_none());
        assert!(super::EcrRef::parse("datadog/agent:7").is_none());
    }
}
