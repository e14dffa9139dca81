//! IAM adapter: whether a role exists.

use aws_sdk_iam::Client;

use super::AwsError;

/// GetRole by name or ARN (the name is the ARN's last path segment).
pub async fn role_exists(client: &Client, name_or_arn: &str) -> Result<bool, AwsError> {
    let name = name_or_arn.rsplit('/').next().unwrap_or(name_or_arn);
    match client.get_role().role_name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = AwsError::from_sdk("iam", "GetRole", e);
            if err.is_code("NoSuchEntity") {
                Ok(false)
            } else {
                Err(err)
            }
        }
    }
}
