//! The account guard: the credentials must be for the environment's account, before anything
//! else touches AWS (the lock included: it lives in that account).

use super::{Passed, Refusal, Stop};
use crate::aws::sts::{self, Identity};

/// Whether `who` may act on an environment in `account`.
pub fn decide(env: &str, account: &str, who: &Identity) -> Result<Passed, Refusal> {
    if who.account == account {
        return Ok(Passed::new(
            "account",
            format!("{} is account {account}", who.arn),
        ));
    }
    Err(Refusal::new(
        "account",
        "wrong-account",
        format!(
            "the credentials are for account {} ({}), but environment \"{env}\" is account {account}: refusing to touch the wrong account",
            who.account, who.arn
        ),
    )
    .help(format!(
        "use credentials for account {account} (AWS_PROFILE, or the environment's role in Actions)"
    )))
}

/// STS GetCallerIdentity, then [`decide`]. Returns the identity for the report.
pub async fn check(
    client: &aws_sdk_sts::Client,
    env: &str,
    account: &str,
) -> Result<(Identity, Passed), Stop> {
    let who = sts::caller(client).await?;
    let passed = decide(env, account, &who)?;
    Ok((who, passed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(account: &str) -> Identity {
        Identity {
            account: account.into(),
            arn: format!("arn:aws:sts::{account}:assumed-role/deploy/ci"),
        }
    }

    #[test]
    fn only_the_environments_account_passes() {
        assert!(decide("staging", "111111111111", &who("111111111111")).is_ok());
        let r = decide("staging", "111111111111", &who("999999999999")).unwrap_err();
        assert_eq!(r.rule, "wrong-account");
        assert!(r.message.contains("999999999999"), "{r}");
        assert!(r.message.contains("refusing to touch the wrong account"));
    }
}
