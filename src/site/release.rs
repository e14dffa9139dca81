//! A site's releases in its bucket: publishing one (uploads, manifest, deletes, invalidation),
//! restoring an earlier one from its object versions, marking one healthy. The calls themselves
//! are the AWS layer's (`aws::s3::Bucket`, held to the environment's account as expected owner,
//! and `aws::cloudfront`).

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;

use super::{Changes, FileEntry, LocalFile, Manifest, CURRENT, HEALTHY, PREFIX, RELEASES};
use crate::aws::s3::{Bucket, Headers};
use crate::aws::{AwsError, Clients};
use crate::env::model::Site;

/// The site's bucket and distribution, with the account that must own them.
pub struct Target<'a> {
    pub clients: &'a Clients,
    pub site: &'a Site,
    pub account: &'a str,
}

impl Target<'_> {
    fn bucket(&self) -> Bucket<'_> {
        Bucket {
            client: &self.clients.s3,
            name: &self.site.bucket.v,
            owner: self.account,
        }
    }

    /// Every key of the bucket (manifests excluded) and its size.
    pub async fn listing(&self) -> Result<BTreeMap<String, u64>, AwsError> {
        Ok(self
            .bucket()
            .sizes(None)
            .await?
            .into_iter()
            .filter(|(k, _)| !k.starts_with(PREFIX))
            .collect())
    }

    /// Versioning must be on: a restore copies earlier versions back.
    pub async fn versioned(&self) -> Result<bool, AwsError> {
        self.bucket().versioning_enabled().await
    }

    /// The distribution's account, from its ARN.
    pub async fn distribution_account(&self, id: &str) -> Result<String, AwsError> {
        crate::aws::cloudfront::distribution_account(&self.clients.cloudfront, id).await
    }

    pub async fn manifest(&self, key: &str) -> Result<Option<Manifest>, AwsError> {
        let Some(bytes) = self.bucket().get(key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            AwsError::invalid(
                "s3",
                "GetObject",
                format!("{key} is not a slipway manifest: {e}"),
            )
        })
    }

    pub async fn put_manifest(&self, key: &str, m: &Manifest) -> Result<(), AwsError> {
        let body = serde_json::to_vec_pretty(m).expect("a manifest serialises");
        let headers = Headers {
            content_type: Some("application/json"),
            cache_control: Some("no-store"),
            metadata: &[],
        };
        self.bucket()
            .put(key, ByteStream::from(body), &headers)
            .await
            .map(|_| ())
    }

    /// Uploads one file with its content type, Cache-Control and sha256; returns its version.
    pub async fn upload(&self, key: &str, f: &LocalFile) -> Result<Option<String>, AwsError> {
        let headers = Headers {
            content_type: Some(&f.entry.content_type),
            cache_control: f.entry.cache_control.as_deref(),
            metadata: &[("sha256", &f.entry.sha256)],
        };
        self.bucket().put_file(key, &f.path, &headers).await
    }

    /// Puts the version a manifest recorded back as `key`'s current one; returns the new version.
    pub async fn copy_back(&self, key: &str, e: &FileEntry) -> Result<Option<String>, AwsError> {
        let version = e.version_id.as_deref().ok_or_else(|| {
            AwsError::invalid(
                "s3",
                "CopyObject",
                format!("{key}: the manifest records no version to restore"),
            )
        })?;
        self.bucket()
            .copy_back(key, &super::encode_path(key), version)
            .await
    }

    pub async fn delete(&self, keys: &[String]) -> Result<(), AwsError> {
        self.bucket().delete_keys(keys).await
    }

    /// Invalidates `paths` and waits for CloudFront, within the site's timeout.
    async fn invalidate(
        &self,
        id: &str,
        paths: &[String],
        reference: &str,
    ) -> Result<String, AwsError> {
        crate::aws::cloudfront::invalidate(
            &self.clients.cloudfront,
            id,
            paths,
            reference,
            self.site.timeout,
        )
        .await
    }

    /// The ids of every release whose manifest the bucket keeps, oldest first.
    pub async fn release_ids(&self) -> Result<Vec<String>, AwsError> {
        let mut ids: Vec<String> = self
            .bucket()
            .sizes(Some(RELEASES))
            .await?
            .into_iter()
            .filter(|(k, _)| k != CURRENT && k != HEALTHY)
            .filter_map(|(k, _)| {
                k.strip_prefix(RELEASES)
                    .and_then(|k| k.strip_suffix(".json"))
                    .map(str::to_string)
            })
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// What a publish did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Published {
    pub site: String,
    pub release: String,
    pub uploaded: Vec<String>,
    pub deleted: Vec<String>,
    pub invalidated: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalidation_id: Option<String>,
}

/// Publishes `changes`: uploads (in their order: assets, then HTML), the new manifest, deletes,
/// then the invalidation. Returns the new release's manifest and what was done.
pub async fn publish(
    t: &Target<'_>,
    local: &BTreeMap<String, LocalFile>,
    current: Option<&Manifest>,
    changes: &Changes,
    release: Manifest,
) -> Result<(Manifest, Published), AwsError> {
    let mut manifest = release;
    let mut versions: BTreeMap<String, Option<String>> = BTreeMap::new();
    for key in &changes.upload {
        let f = &local[key];
        versions.insert(key.clone(), t.upload(key, f).await?);
    }
    manifest.files = local
        .iter()
        .map(|(k, f)| {
            let version_id = match versions.get(k) {
                Some(v) => v.clone(),
                None => current
                    .and_then(|m| m.files.get(k))
                    .and_then(|e| e.version_id.clone()),
            };
            (
                k.clone(),
                FileEntry {
                    version_id,
                    ..f.entry.clone()
                },
            )
        })
        .collect();
    t.put_manifest(&format!("{RELEASES}{}.json", manifest.release), &manifest)
        .await?;
    t.put_manifest(CURRENT, &manifest).await?;
    t.delete(&changes.delete).await?;
    let touched: Vec<&String> = changes.upload.iter().chain(&changes.delete).collect();
    let mut done = Published {
        site: t.site.name.v.clone(),
        release: manifest.release.clone(),
        uploaded: changes.upload.clone(),
        deleted: changes.delete.clone(),
        ..Default::default()
    };
    if let (Some(id), false) = (&t.site.distribution_id, touched.is_empty()) {
        let paths =
            super::invalidation_paths(&touched, t.site.invalidation_threshold.max(1) as usize);
        done.invalidation_id = Some(t.invalidate(&id.v, &paths, &manifest.release).await?);
        done.invalidated = paths;
    }
    Ok((manifest, done))
}

/// Puts `healthy` back: its files copied back from their versions where the bucket now holds
/// something else, keys it did not have deleted, the paths invalidated.
pub async fn restore(
    t: &Target<'_>,
    now: &Manifest,
    healthy: &Manifest,
) -> Result<Published, AwsError> {
    let mut restored = healthy.clone();
    let mut copied = Vec::new();
    for (key, e) in &healthy.files {
        if now.files.get(key).map(|n| &n.sha256) != Some(&e.sha256) {
            if let Some(v) = t.copy_back(key, e).await? {
                if let Some(f) = restored.files.get_mut(key) {
                    // The same content under a new version; the old one stays restorable.
                    f.version_id = Some(v);
                }
            }
            copied.push(key.clone());
        }
    }
    let gone: Vec<String> = now
        .files
        .keys()
        .filter(|k| !healthy.files.contains_key(*k))
        .cloned()
        .collect();
    t.put_manifest(CURRENT, &restored).await?;
    t.delete(&gone).await?;
    let touched: Vec<&String> = copied.iter().chain(&gone).collect();
    let mut done = Published {
        site: t.site.name.v.clone(),
        release: healthy.release.clone(),
        uploaded: copied.clone(),
        deleted: gone.clone(),
        ..Default::default()
    };
    if let (Some(id), false) = (&t.site.distribution_id, touched.is_empty()) {
        let paths =
            super::invalidation_paths(&touched, t.site.invalidation_threshold.max(1) as usize);
        let reference = format!("restore-{}-{}", healthy.release, now.release);
        done.invalidation_id = Some(t.invalidate(&id.v, &paths, &reference).await?);
        done.invalidated = paths;
    }
    Ok(done)
}

/// Marks `m` as the release to come back to: its own manifest says so (for `rollback`), and it
/// becomes `healthy.json` (for a failed publish).
pub async fn mark_healthy(t: &Target<'_>, m: &Manifest) -> Result<(), AwsError> {
    let mut m = m.clone();
    m.healthy_at = Some(crate::planfile::now_rfc3339());
    t.put_manifest(&format!("{RELEASES}{}.json", m.release), &m)
        .await?;
    t.put_manifest(HEALTHY, &m).await
}
