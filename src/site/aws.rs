//! The site's AWS half: the bucket (listing, uploads, version copies, deletes, manifests) and the
//! distribution (its account, invalidations). Every S3 call names the environment's account as
//! the expected bucket owner, so S3 itself refuses a bucket of another account.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

use super::{Changes, FileEntry, LocalFile, Manifest, CURRENT, HEALTHY, PREFIX, RELEASES};
use crate::aws::{AwsError, Clients};
use crate::env::model::Site;

const S3: &str = "s3";
const CF: &str = "cloudfront";

/// The site's bucket and distribution, with the account that must own them.
pub struct Target<'a> {
    pub clients: &'a Clients,
    pub site: &'a Site,
    pub account: &'a str,
}

impl Target<'_> {
    fn bucket(&self) -> &str {
        &self.site.bucket.v
    }

    /// Every key of the bucket (manifests excluded) and its size, through every page.
    pub async fn listing(&self) -> Result<BTreeMap<String, u64>, AwsError> {
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        // A bound on pages: 100,000 pages of 1,000 keys.
        for _ in 0..100_000 {
            let out_page = self
                .clients
                .s3
                .list_objects_v2()
                .bucket(self.bucket())
                .expected_bucket_owner(self.account)
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(S3, "ListObjectsV2", e))?;
            for o in out_page.contents() {
                if let Some(k) = o.key() {
                    if !k.starts_with(PREFIX) {
                        out.insert(k.to_string(), o.size().unwrap_or(0).max(0) as u64);
                    }
                }
            }
            match out_page.next_continuation_token() {
                Some(t) if out_page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
        Err(AwsError::invalid(
            S3,
            "ListObjectsV2",
            "more than 100,000 pages",
        ))
    }

    /// Versioning must be on: a restore copies earlier versions back.
    pub async fn versioned(&self) -> Result<bool, AwsError> {
        let v = self
            .clients
            .s3
            .get_bucket_versioning()
            .bucket(self.bucket())
            .expected_bucket_owner(self.account)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(S3, "GetBucketVersioning", e))?;
        Ok(v.status() == Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled))
    }

    /// The distribution's account, from its ARN.
    pub async fn distribution_account(&self, id: &str) -> Result<String, AwsError> {
        let d = self
            .clients
            .cloudfront
            .get_distribution()
            .id(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(CF, "GetDistribution", e))?;
        let arn = d.distribution().map(|d| d.arn()).unwrap_or_default();
        Ok(arn.split(':').nth(4).unwrap_or_default().to_string())
    }

    pub async fn manifest(&self, key: &str) -> Result<Option<Manifest>, AwsError> {
        let got = match self
            .clients
            .s3
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .expected_bucket_owner(self.account)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = AwsError::from_sdk(S3, "GetObject", e);
                return if e.is_code("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        let bytes = got
            .body
            .collect()
            .await
            .map_err(|e| AwsError::invalid(S3, "GetObject", format!("reading {key}: {e}")))?
            .into_bytes();
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            AwsError::invalid(
                S3,
                "GetObject",
                format!("{key} is not a slipway manifest: {e}"),
            )
        })
    }

    pub async fn put_manifest(&self, key: &str, m: &Manifest) -> Result<(), AwsError> {
        let body = serde_json::to_vec_pretty(m).expect("a manifest serialises");
        self.clients
            .s3
            .put_object()
            .bucket(self.bucket())
            .key(key)
            .expected_bucket_owner(self.account)
            .content_type("application/json")
            .cache_control("no-store")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(S3, "PutObject", e))?;
        Ok(())
    }

    /// Uploads one file; returns the version S3 gave it.
    pub async fn upload(&self, key: &str, f: &LocalFile) -> Result<Option<String>, AwsError> {
        let body = ByteStream::from_path(&f.path).await.map_err(|e| {
            AwsError::invalid(S3, "PutObject", format!("{}: {e}", f.path.display()))
        })?;
        let out = self
            .clients
            .s3
            .put_object()
            .bucket(self.bucket())
            .key(key)
            .expected_bucket_owner(self.account)
            .content_type(&f.entry.content_type)
            .set_cache_control(f.entry.cache_control.clone())
            .metadata("sha256", &f.entry.sha256)
            .body(body)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(S3, "PutObject", e))?;
        Ok(out.version_id().map(str::to_string))
    }

    /// Puts an earlier version of `key` back as its current one; returns the new version.
    pub async fn copy_back(&self, key: &str, e: &FileEntry) -> Result<Option<String>, AwsError> {
        let version = e.version_id.as_deref().ok_or_else(|| {
            AwsError::invalid(
                S3,
                "CopyObject",
                format!("{key}: the manifest records no version to restore"),
            )
        })?;
        let source = format!(
            "{}/{}?versionId={version}",
            self.bucket(),
            super::encode_path(key)
        );
        let out = self
            .clients
            .s3
            .copy_object()
            .bucket(self.bucket())
            .key(key)
            .copy_source(source)
            .expected_bucket_owner(self.account)
            .expected_source_bucket_owner(self.account)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(S3, "CopyObject", e))?;
        Ok(out.version_id().map(str::to_string))
    }

    /// Deletes `keys`, a thousand per call (S3's limit).
    pub async fn delete(&self, keys: &[String]) -> Result<(), AwsError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| AwsError::invalid(S3, "DeleteObjects", e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| AwsError::invalid(S3, "DeleteObjects", e.to_string()))?;
            let out = self
                .clients
                .s3
                .delete_objects()
                .bucket(self.bucket())
                .expected_bucket_owner(self.account)
                .delete(delete)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(S3, "DeleteObjects", e))?;
            if let Some(err) = out.errors().first() {
                return Err(AwsError::invalid(
                    S3,
                    "DeleteObjects",
                    format!(
                        "{}: {}",
                        err.key().unwrap_or_default(),
                        err.message().unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Invalidates `paths` and waits for CloudFront to finish, within `timeout`.
    pub async fn invalidate(
        &self,
        id: &str,
        paths: &[String],
        reference: &str,
        timeout: Duration,
    ) -> Result<String, AwsError> {
        use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
        let batch = InvalidationBatch::builder()
            .paths(
                Paths::builder()
                    .quantity(paths.len() as i32)
                    .set_items(Some(paths.to_vec()))
                    .build()
                    .map_err(|e| AwsError::invalid(CF, "CreateInvalidation", e.to_string()))?,
            )
            .caller_reference(reference)
            .build()
            .map_err(|e| AwsError::invalid(CF, "CreateInvalidation", e.to_string()))?;
        let created = self
            .clients
            .cloudfront
            .create_invalidation()
            .distribution_id(id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(CF, "CreateInvalidation", e))?;
        let inv = created
            .invalidation()
            .map(|i| i.id().to_string())
            .unwrap_or_default();
        let until = Instant::now() + timeout;
        let mut wait = Duration::from_secs(1);
        loop {
            let got = self
                .clients
                .cloudfront
                .get_invalidation()
                .distribution_id(id)
                .id(&inv)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(CF, "GetInvalidation", e))?;
            if got.invalidation().map(|i| i.status()) == Some("Completed") {
                return Ok(inv);
            }
            if Instant::now() + wait > until {
                return Err(AwsError::invalid(
                    CF,
                    "GetInvalidation",
                    format!(
                        "invalidation {inv} of {id} still in progress after {}s",
                        timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(10));
        }
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
        done.invalidation_id = Some(
            t.invalidate(&id.v, &paths, &manifest.release, t.site.timeout)
                .await?,
        );
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
        done.invalidation_id = Some(
            t.invalidate(&id.v, &paths, &reference, t.site.timeout)
                .await?,
        );
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

impl Target<'_> {
    /// The ids of every release whose manifest the bucket keeps, oldest first.
    pub async fn release_ids(&self) -> Result<Vec<String>, AwsError> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let page = self
                .clients
                .s3
                .list_objects_v2()
                .bucket(self.bucket())
                .prefix(RELEASES)
                .expected_bucket_owner(self.account)
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(S3, "ListObjectsV2", e))?;
            for o in page.contents() {
                let Some(k) = o.key() else { continue };
                if k == CURRENT || k == HEALTHY {
                    continue;
                }
                if let Some(id) = k
                    .strip_prefix(RELEASES)
                    .and_then(|k| k.strip_suffix(".json"))
                {
                    ids.push(id.to_string());
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        ids.sort();
        Ok(ids)
    }
}
