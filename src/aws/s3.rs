//! S3 adapter: one small JSON object read and written with conditions, which is all the lock
//! needs. `If-None-Match: *` creates it only if absent; `If-Match: <etag>` replaces or deletes it
//! only if nobody changed it since it was read (the mechanism of Terraform's own S3 lockfile).
//! S3 answers a failed condition with 412 PreconditionFailed, or 409 ConditionalRequestConflict
//! while a competing conditional write is in flight; both are [`Conditional::Conflict`].

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::AwsError;

const SERVICE: &str = "s3";

/// An object's bytes and the ETag that identifies this version of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    pub etag: String,
}

/// The outcome of a conditional write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conditional {
    /// Written; the new ETag.
    Written(String),
    /// The condition did not hold: someone else wrote (or deleted) the object first.
    Conflict,
}

fn is_conflict(e: &AwsError) -> bool {
    e.is_code("PreconditionFailed") || e.is_code("ConditionalRequestConflict")
}

/// The object at `key`, or None when there is none.
pub async fn get(client: &Client, bucket: &str, key: &str) -> Result<Option<Object>, AwsError> {
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from_sdk(SERVICE, "GetObject", e);
            return if e.is_code("NoSuchKey") {
                Ok(None)
            } else {
                Err(e)
            };
        }
    };
    let etag = out.e_tag().unwrap_or_default().to_string();
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| AwsError::invalid(SERVICE, "GetObject", format!("reading the body: {e}")))?
        .into_bytes()
        .to_vec();
    Ok(Some(Object { body, etag }))
}

/// Writes `body` at `key` only if no object is there.
pub async fn create(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<Conditional, AwsError> {
    put(client, bucket, key, body, None).await
}

/// Replaces the object at `key` only if it still has `etag`.
pub async fn replace(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    etag: &str,
) -> Result<Conditional, AwsError> {
    put(client, bucket, key, body, Some(etag)).await
}

async fn put(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    if_match: Option<&str>,
) -> Result<Conditional, AwsError> {
    let req = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body));
    let req = match if_match {
        Some(etag) => req.if_match(etag),
        None => req.if_none_match("*"),
    };
    match req.send().await {
        Ok(out) => Ok(Conditional::Written(
            out.e_tag().unwrap_or_default().to_string(),
        )),
        Err(e) => {
            let e = AwsError::from_sdk(SERVICE, "PutObject", e);
            if is_conflict(&e) {
                Ok(Conditional::Conflict)
            } else {
                Err(e)
            }
        }
    }
}

/// Deletes the object at `key` only if it still has `etag`. `Written("")` when it was deleted
/// (or was already gone), `Conflict` when it changed.
pub async fn delete(
    client: &Client,
    bucket: &str,
    key: &str,
    etag: &str,
) -> Result<Conditional, AwsError> {
    match client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .if_match(etag)
        .send()
        .await
    {
        Ok(_) => Ok(Conditional::Written(String::new())),
        Err(e) => {
            let e = AwsError::from_sdk(SERVICE, "DeleteObject", e);
            if is_conflict(&e) {
                Ok(Conditional::Conflict)
            } else if e.is_code("NoSuchKey") {
                Ok(Conditional::Written(String::new()))
            } else {
                Err(e)
            }
        }
    }
}

/// A bucket held to its expected owner: every call sends `ExpectedBucketOwner`, so S3 itself
/// refuses a bucket of another account. What static sites need: listings, versioning, objects
/// read and written with their headers, earlier versions copied back, batch deletes.
pub struct Bucket<'a> {
    pub client: &'a Client,
    pub name: &'a str,
    pub owner: &'a str,
}

/// What a put writes besides the body.
#[derive(Default)]
pub struct Headers<'a> {
    pub content_type: Option<&'a str>,
    pub cache_control: Option<&'a str>,
    pub metadata: &'a [(&'a str, &'a str)],
}

impl Bucket<'_> {
    /// Every key under `prefix` and its size, through every page (at most 100,000 of them).
    pub async fn sizes(&self, prefix: Option<&str>) -> Result<Vec<(String, u64)>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..100_000 {
            let page = self
                .client
                .list_objects_v2()
                .bucket(self.name)
                .expected_bucket_owner(self.owner)
                .set_prefix(prefix.map(str::to_string))
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "ListObjectsV2", e))?;
            out.extend(page.contents().iter().filter_map(|o| {
                o.key()
                    .map(|k| (k.to_string(), o.size().unwrap_or(0).max(0) as u64))
            }));
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
        Err(AwsError::invalid(
            SERVICE,
            "ListObjectsV2",
            "more than 100,000 pages",
        ))
    }

    pub async fn versioning_enabled(&self) -> Result<bool, AwsError> {
        let v = self
            .client
            .get_bucket_versioning()
            .bucket(self.name)
            .expected_bucket_owner(self.owner)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "GetBucketVersioning", e))?;
        Ok(v.status() == Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled))
    }

    /// The object's bytes, or None when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        let got = match self
            .client
            .get_object()
            .bucket(self.name)
            .key(key)
            .expected_bucket_owner(self.owner)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = AwsError::from_sdk(SERVICE, "GetObject", e);
                return if e.is_code("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        let bytes =
            got.body.collect().await.map_err(|e| {
                AwsError::invalid(SERVICE, "GetObject", format!("reading {key}: {e}"))
            })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// Writes `body` at `key`; returns the version S3 gave it (on a versioned bucket).
    pub async fn put(
        &self,
        key: &str,
        body: ByteStream,
        h: &Headers<'_>,
    ) -> Result<Option<String>, AwsError> {
        let mut req = self
            .client
            .put_object()
            .bucket(self.name)
            .key(key)
            .expected_bucket_owner(self.owner)
            .set_content_type(h.content_type.map(str::to_string))
            .set_cache_control(h.cache_control.map(str::to_string))
            .body(body);
        for (k, v) in h.metadata {
            req = req.metadata(*k, *v);
        }
        let out = req
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "PutObject", e))?;
        Ok(out.version_id().map(str::to_string))
    }

    /// Writes the file at `path` at `key`.
    pub async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        h: &Headers<'_>,
    ) -> Result<Option<String>, AwsError> {
        let body = ByteStream::from_path(path).await.map_err(|e| {
            AwsError::invalid(SERVICE, "PutObject", format!("{}: {e}", path.display()))
        })?;
        self.put(key, body, h).await
    }

    /// Makes `version` of `key` its current one again (a copy onto itself); the new version.
    /// `encoded_key` is `key` URL-encoded (`/` kept), as CopyObject's source wants it.
    pub async fn copy_back(
        &self,
        key: &str,
        encoded_key: &str,
        version: &str,
    ) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .copy_object()
            .bucket(self.name)
            .key(key)
            .copy_source(format!("{}/{encoded_key}?versionId={version}", self.name))
            .expected_bucket_owner(self.owner)
            .expected_source_bucket_owner(self.owner)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "CopyObject", e))?;
        Ok(out.version_id().map(str::to_string))
    }

    /// Deletes `keys`, a thousand per call (S3's limit); the first key S3 could not delete is
    /// an error.
    pub async fn delete_keys(&self, keys: &[String]) -> Result<(), AwsError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| AwsError::invalid(SERVICE, "DeleteObjects", e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| AwsError::invalid(SERVICE, "DeleteObjects", e.to_string()))?;
            let out = self
                .client
                .delete_objects()
                .bucket(self.name)
                .expected_bucket_owner(self.owner)
                .delete(delete)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "DeleteObjects", e))?;
            if let Some(err) = out.errors().first() {
                return Err(AwsError::invalid(
                    SERVICE,
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
}
