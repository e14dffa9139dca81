//! Secrets Manager adapter: whether a referenced secret exists, and (for notification webhooks
//! only) a secret's value, which is never printed.

use aws_sdk_secretsmanager::Client;

use super::AwsError;

const SERVICE: &str = "secretsmanager";

/// The secret's id in an ECS `valueFrom` ARN (`arn:…:secret:NAME[:json-key:version-stage:version-id]`).
pub fn secret_id(value_from: &str) -> &str {
    let parts: Vec<&str> = value_from.splitn(8, ':').collect();
    if parts.len() >= 7 && parts[2] == "secretsmanager" {
        parts[6]
    } else {
        value_from
    }
}

/// DescribeSecret: whether it exists (a secret scheduled for deletion does not count).
pub async fn exists(client: &Client, id: &str) -> Result<bool, AwsError> {
    match client.describe_secret().secret_id(id).send().await {
        Ok(out) => Ok(out.deleted_date().is_none()),
        Err(e) => {
            let err = AwsError::from_sdk(SERVICE, "DescribeSecret", e);
            if err.is_code("ResourceNotFoundException") {
                Ok(false)
            } else {
                Err(err)
            }
        }
    }
}

/// GetSecretValue as a string. The value must never be printed or logged.
pub async fn value(client: &Client, id: &str) -> Result<String, AwsError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "GetSecretValue", e))?;
    out.secret_string().map(str::to_string).ok_or_else(|| {
        AwsError::invalid(
            SERVICE,
            "GetSecretValue",
            format!("secret {id} has no string value"),
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_ids_come_out_of_value_from() {
        assert_eq!(
            super::secret_id(
                "arn:aws:secretsmanager:us-west-2:1:secret:staging/db-credentials:username::"
            ),
            "staging/db-credentials"
        );
        assert_eq!(
            super::secret_id("arn:aws:secretsmanager:eu-west-1:1:secret:scr/staging/redis-url"),
            "scr/staging/redis-url"
        );
    }
}
