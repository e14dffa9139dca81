//! Names and references as AWS spells them: ARN partitions, the ARNs slipway builds and parses,
//! secret references (`secretsmanager:…`, `ssm:…`), task definition families and revisions, and
//! which variable names say they hold a secret.
//!
//! Pure functions only: validation, rendering, diffing and the AWS adapters all need these, and
//! none of them should have to import another's module to get them.

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The IAM resource that grants reading a secret given as an ECS `valueFrom` ARN: Secrets
/// Manager ARNs lose the JSON-key suffix and gain `-*` (the random suffix AWS appends to names).
pub fn secret_policy_resource(value_from: &str) -> String {
    if value_from.contains(":secretsmanager:") {
        let base: Vec<&str> = value_from.splitn(8, ':').take(7).collect();
        let base = base.join(":");
        if base.ends_with("-*") {
            base
        } else {
            format!("{base}-*")
        }
    } else {
        value_from.to_string()
    }
}

/// Resolves a secret reference to the ARN ECS takes in `valueFrom`.
pub fn secret_arn(reference: &str, region: &str, account: &str) -> Result<String, String> {
    if reference.starts_with("${") {
        return Ok(reference.to_string());
    }
    if reference.starts_with("arn:") {
        let parts: Vec<&str> = reference.splitn(6, ':').collect();
        if parts.len() == 6 && ["secretsmanager", "ssm"].contains(&parts[2]) {
            return Ok(reference.to_string());
        }
        return Err(format!(
            "\"{reference}\" is not a Secrets Manager or SSM parameter ARN"
        ));
    }
    if let Some(rest) = reference.strip_prefix("secretsmanager:") {
        let (name, key) = match rest.split_once(':') {
            Some((n, k)) => (n, Some(k)),
            None => (rest, None),
        };
        if name.is_empty() {
            return Err("the secret name is empty".to_string());
        }
        return Ok(match key {
            Some(k) if !k.is_empty() => {
                format!(
                    "arn:{}:secretsmanager:{region}:{account}:secret:{name}:{k}::",
                    partition(region)
                )
            }
            _ => format!(
                "arn:{}:secretsmanager:{region}:{account}:secret:{name}",
                partition(region)
            ),
        });
    }
    if let Some(rest) = reference.strip_prefix("ssm:") {
        let name = rest.trim_start_matches('/');
        if name.is_empty() {
            return Err("the parameter name is empty".to_string());
        }
        return Ok(format!(
            "arn:{}:ssm:{region}:{account}:parameter/{name}",
            partition(region)
        ));
    }
    Err(format!("\"{reference}\" is not a secret reference"))
}

/// Whether a plain variable's name says it holds a secret (its value is then never shown).
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.ends_with("_KEY")
        || n.ends_with("_SECRET")
        || n.contains("PASSWORD")
        || n.ends_with("_TOKEN")
        || n == "DATABASE_URL"
}

/// The family of a task definition ARN (`arn:…:task-definition/api:12` → `api`), or the input
/// itself when it is already a family.
pub fn family_of(arn: &str) -> &str {
    let tail = arn.rsplit('/').next().unwrap_or(arn);
    tail.split(':').next().unwrap_or(tail)
}

/// The revision number of a task definition ARN (`…/api:12` → 12).
pub fn revision_number(arn: &str) -> Option<i32> {
    arn.rsplit(':').next()?.parse().ok()
}

/// The tags slipway writes on each task definition revision it registers: who deployed which
/// commit, image and version, when, and which revisions proved healthy (rollback targets).
/// The image tag of the task definition Terraform registers when it creates a service, before
/// slipway's first deploy replaces it (the Terraform root uses `<repository>:bootstrap`).
/// `render --only tfvars` without `--image-tag` renders `image_tag` as this, so an image such
/// as `ghcr.io/org/api:${image_tag}` can be bootstrapped.
pub const BOOTSTRAP_TAG: &str = "bootstrap";

/// What `image_tag` stands for while an environment is loaded without a tag (diff, plan and
/// init compare with what runs): each service's own live tag, put in by `render` container by
/// container. Nothing else may produce this text.
pub const LIVE_IMAGE_TAG: &str = "@@slipway:live-image-tag@@";

/// The tag slipway puts on every task definition and service it renders: which environment
/// owns it. Bookkeeping, like the revision tags: a diff does not count it.
pub const ENVIRONMENT_TAG: &str = "slipway:environment";

pub mod revision_tag {
    pub const GIT_SHA: &str = "slipway:git-sha";
    pub const IMAGE_TAG: &str = "slipway:image-tag";
    pub const DEPLOYER: &str = "slipway:deployer";
    pub const DEPLOYED_AT: &str = "slipway:deployed-at";
    /// The version the git tags gave the commit (`1.4.2+3.gabc1234`).
    pub const VERSION: &str = "slipway:version";
    /// Set when a deploy of the revision succeeded (smoke checks included). Its value names the
    /// revision itself (`family:revision`) and when, so that a tag copied onto another revision
    /// with the rest of a task definition does not make that one a rollback target.
    pub const HEALTHY: &str = "slipway:healthy";

    /// All of them: they differ on every deploy by design and are not configuration.
    pub const ALL: &[&str] = &[GIT_SHA, IMAGE_TAG, DEPLOYER, DEPLOYED_AT, VERSION, HEALTHY];
}

/// Why `name` is not a valid ECR repository name, if it is not: 2 to 256 characters of
/// `/`-separated parts, each lowercase letters and digits joined by single `.`, `_` or `-`
/// (ECR's pattern `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`).
pub fn ecr_name_problem(name: &str) -> Option<&'static str> {
    if !(2..=256).contains(&name.len()) {
        return Some("it must be 2 to 256 characters long");
    }
    for part in name.split('/') {
        if part.is_empty() {
            return Some("a `/` must separate two non-empty parts");
        }
        let mut previous_separator = true;
        for c in part.chars() {
            let separator = matches!(c, '.' | '_' | '-');
            if !(separator || c.is_ascii_lowercase() || c.is_ascii_digit()) {
                return Some("only lowercase letters, digits, `/`, `.`, `_` and `-` are allowed");
            }
            if separator && previous_separator {
                return Some("each part starts with a letter or digit, with one `.`, `_` or `-` between them");
            }
            previous_separator = separator;
        }
        if previous_separator {
            return Some("each part ends with a letter or digit");
        }
    }
    None
}

/// Why `name` is not a valid S3 general purpose bucket name, if it is not (AWS's naming rules).
pub fn bucket_name_problem(name: &str) -> Option<&'static str> {
    let len = name.len();
    if !(3..=63).contains(&len) {
        return Some("it must be 3 to 63 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Some("only lower-case letters, digits, `.` and `-` are allowed");
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Some("it must start and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("two dots may not follow each other");
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("it must not look like an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.ends_with("-s3alias") {
        return Some("that prefix or suffix is reserved by AWS");
    }
    None
}

/// The lock object of an environment: one per environment, in its lock bucket.
pub fn lock_key(env: &str) -> String {
    format!("slipway/locks/{env}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references() {
        let arn = |r| secret_arn(r, "eu-west-1", "123456789012");
        assert_eq!(
            arn("secretsmanager:scr/db").unwrap(),
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scr/db"
        );
        assert_eq!(
            arn("secretsmanager:scr/db:password").unwrap(),
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scr/db:password::"
        );
        assert_eq!(
            arn("ssm:/scr/key").unwrap(),
            "arn:aws:ssm:eu-west-1:123456789012:parameter/scr/key"
        );
        assert!(arn("vault:thing").is_err());
        assert!(arn("arn:aws:s3:::bucket/x").is_err());
    }

    #[test]
    fn secret_looking_names() {
        for n in [
            "STRIPE_SECRET_KEY",
            "API_KEY",
            "DB_PASSWORD",
            "GITHUB_TOKEN",
            "DATABASE_URL",
            "client_secret",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in ["APP_ENV", "LOG_LEVEL", "KEYCLOAK_URL", "REDIS_URL"] {
            assert!(!looks_secret(n), "{n}");
        }
    }

    #[test]
    fn families_and_revisions() {
        let arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/scr-staging-api:12";
        assert_eq!(family_of(arn), "scr-staging-api");
        assert_eq!(family_of("scr-staging-api"), "scr-staging-api");
        assert_eq!(revision_number(arn), Some(12));
        assert_eq!(revision_number("scr-staging-api"), None);
    }

    #[test]
    fn partitions() {
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn bucket_names() {
        assert_eq!(bucket_name_problem("scr-terraform-state"), None);
        assert_eq!(bucket_name_problem("a.b-c.1"), None);
        assert!(bucket_name_problem("ab").is_some());
        assert!(bucket_name_problem("Upper").is_some());
        assert!(bucket_name_problem("-dash").is_some());
        assert!(bucket_name_problem("a..b").is_some());
        assert!(bucket_name_problem("192.168.5.4").is_some());
        assert!(bucket_name_problem("under_score").is_some());
    }
}
