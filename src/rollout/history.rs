//! What slipway remembers on the revisions it registers, as task definition tags: who deployed
//! which commit and image, and which revisions proved healthy (the rollback targets).

use std::collections::BTreeMap;

use crate::aws::ecs;
use crate::aws::AwsError;

pub const GIT_SHA: &str = "slipway:git-sha";
pub const IMAGE_TAG: &str = "slipway:image-tag";
pub const DEPLOYER: &str = "slipway:deployer";
pub const DEPLOYED_AT: &str = "slipway:deployed-at";
/// Set when a deploy of the revision succeeded (smoke checks included); value: when.
pub const HEALTHY: &str = "slipway:healthy";

/// How far back rollback and status look for a healthy revision.
const LOOKBACK: usize = 50;

/// The tags a new revision carries.
pub fn revision_tags(
    git_sha: Option<&str>,
    image_tag: Option<&str>,
    deployer: &str,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if let Some(sha) = git_sha {
        tags.insert(GIT_SHA.to_string(), sha.to_string());
    }
    if let Some(tag) = image_tag {
        tags.insert(IMAGE_TAG.to_string(), tag.to_string());
    }
    tags.insert(DEPLOYER.to_string(), deployer.to_string());
    tags.insert(DEPLOYED_AT.to_string(), crate::planfile::now_rfc3339());
    tags
}

/// Who is deploying: the GitHub actor in Actions, else the local user.
pub fn deployer() -> String {
    ["GITHUB_ACTOR", "USER", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

pub async fn mark_healthy(client: &aws_sdk_ecs::Client, arn: &str) -> Result<(), AwsError> {
    ecs::tag(
        client,
        arn,
        &[(HEALTHY.to_string(), crate::planfile::now_rfc3339())],
    )
    .await
}

/// The newest revision of `family` marked healthy, other than those in `excluding`.
pub async fn last_healthy(
    client: &aws_sdk_ecs::Client,
    family: &str,
    excluding: &[&str],
) -> Result<Option<String>, AwsError> {
    for arn in ecs::list_task_definitions(client, family, LOOKBACK).await? {
        if excluding.contains(&arn.as_str()) {
            continue;
        }
        if ecs::tags_of(client, &arn).await?.contains_key(HEALTHY) {
            return Ok(Some(arn));
        }
    }
    Ok(None)
}

/// The newest revision of `family` deployed with image tag `release`.
pub async fn revision_for_release(
    client: &aws_sdk_ecs::Client,
    family: &str,
    release: &str,
) -> Result<Option<String>, AwsError> {
    for arn in ecs::list_task_definitions(client, family, LOOKBACK).await? {
        if ecs::tags_of(client, &arn)
            .await?
            .get(IMAGE_TAG)
            .map(String::as_str)
            == Some(release)
        {
            return Ok(Some(arn));
        }
    }
    Ok(None)
}
