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
