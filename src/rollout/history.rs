//! What slipway remembers on the revisions it registers, as task definition tags: who deployed
//! which commit and image, and which revisions proved healthy (the rollback targets).

use std::collections::BTreeMap;

use crate::aws::ecs;
use crate::aws::AwsError;

pub use crate::naming::revision_tag::{
    DEPLOYED_AT, DEPLOYER, GIT_SHA, HEALTHY, IMAGE_TAG, VERSION,
};

/// How far back rollback and status look for a healthy revision.
const LOOKBACK: usize = 50;

/// The tags a new revision carries.
pub fn revision_tags(
    git: Option<&crate::env::GitVars>,
    image_tag: Option<&str>,
    deployer: &str,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if let Some(g) = git {
        tags.insert(GIT_SHA.to_string(), g.sha.clone());
        if let Some(v) = &g.version {
            tags.insert(VERSION.to_string(), v.clone());
        }
    }
    if let Some(tag) = image_tag {
        tags.insert(IMAGE_TAG.to_string(), tag.to_string());
    }
    tags.insert(DEPLOYER.to_string(), deployer.to_string());
    tags.insert(DEPLOYED_AT.to_string(), crate::planfile::now_rfc3339());
    tags
}

pub async fn mark_healthy(client: &aws_sdk_ecs::Client, arn: &str) -> Result<(), AwsError> {
    let value = format!("{} {}", revision_name(arn), crate::planfile::now_rfc3339());
    ecs::tag(client, arn, &[(HEALTHY.to_string(), value)]).await
}

/// `family:revision` of a task definition ARN.
fn revision_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Whether the healthy tag `value` found on `arn` was written for `arn` itself.
pub fn healthy_for(arn: &str, value: &str) -> bool {
    value.split_whitespace().next() == Some(revision_name(arn))
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
        if ecs::tags_of(client, &arn)
            .await?
            .get(HEALTHY)
            .is_some_and(|v| healthy_for(&arn, v))
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_mark_counts_for_its_own_revision_only() {
        let one = "arn:aws:ecs:eu-west-1:111111111111:task-definition/scr-staging-api:1";
        let two = "arn:aws:ecs:eu-west-1:111111111111:task-definition/scr-staging-api:2";
        let mark = "scr-staging-api:1 2026-12-02T00:00:00Z";
        assert!(healthy_for(one, mark));
        // Registered from a copy of :1, tags and all: not proven healthy.
        assert!(!healthy_for(two, mark));
        assert!(!healthy_for(one, "2026-12-02T00:00:00Z"));
    }
}
