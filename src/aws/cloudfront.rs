//! CloudFront adapter: a distribution's account, and invalidations waited for.

use std::time::{Duration, Instant};

use aws_sdk_cloudfront::Client;

use super::AwsError;

const SERVICE: &str = "cloudfront";

/// The account a distribution belongs to, from its ARN (`arn:aws:cloudfront::<account>:...`).
pub async fn distribution_account(client: &Client, id: &str) -> Result<String, AwsError> {
    let d = client
        .get_distribution()
        .id(id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "GetDistribution", e))?;
    let arn = d.distribution().map(|d| d.arn()).unwrap_or_default();
    Ok(arn.split(':').nth(4).unwrap_or_default().to_string())
}

/// Invalidates `paths` of distribution `id` and waits until CloudFront says Completed, polling
/// from 1 s doubling to 10 s, for at most `timeout`. Returns the invalidation's id.
pub async fn invalidate(
    client: &Client,
    id: &str,
    paths: &[String],
    reference: &str,
    timeout: Duration,
) -> Result<String, AwsError> {
    use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
    let invalid = |e: aws_sdk_cloudfront::error::BuildError| {
        AwsError::invalid(SERVICE, "CreateInvalidation", e.to_string())
    };
    let batch = InvalidationBatch::builder()
        .paths(
            Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.to_vec()))
                .build()
                .map_err(invalid)?,
        )
        .caller_reference(reference)
        .build()
        .map_err(invalid)?;
    let created = client
        .create_invalidation()
        .distribution_id(id)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "CreateInvalidation", e))?;
    let inv = created
        .invalidation()
        .map(|i| i.id().to_string())
        .unwrap_or_default();
    let until = Instant::now() + timeout;
    let mut wait = Duration::from_secs(1);
    loop {
        let got = client
            .get_invalidation()
            .distribution_id(id)
            .id(&inv)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "GetInvalidation", e))?;
        if got.invalidation().map(|i| i.status()) == Some("Completed") {
            return Ok(inv);
        }
        if Instant::now() + wait > until {
            return Err(AwsError::invalid(
                SERVICE,
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
