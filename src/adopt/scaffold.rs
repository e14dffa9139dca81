//! A new environment's files (`slipway init --env NAME` without `--from-cluster`): what the
//! environment shares with the others in `_shared.hcl` (region, repositories, services) and
//! what is its own in `<NAME>.hcl` (account, cluster, GitHub roles, load balancer, approval,
//! lock), each block with a comment saying what it does. Pure: answers in, files out.

use super::hcl::{Body, Value};
use serde_json::json;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewService {
    pub name: String,
    pub port: Option<u16>,
}

#[derive(Clone, Debug)]
pub struct Answers {
    pub account: String,
    pub region: String,
    pub cluster: String,
    pub github_repo: Option<String>,
    pub services: Vec<NewService>,
}

/// The S3 bucket a new environment's Terraform state and slipway lock live in (created by
/// `slipway bootstrap --backend`): bucket names are global, so it carries the account and region.
pub fn state_bucket(account: &str, region: &str) -> String {
    format!("slipway-state-{account}-{region}")
}

/// Whether an environment of this name is a production one (stricter approval by default).
fn is_production(env: &str) -> bool {
    let e = env.to_ascii_lowercase();
    e == "prod" || e.starts_with("prod-") || e.starts_with("production") || e.ends_with("-prod")
}

/// What an existing `_shared.hcl` says that the new environment's own file depends on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shared {
    /// Some service has a `load_balancer` (the environment needs an `alb` block).
    pub routed: bool,
}

impl Shared {
    /// Read from `_shared.hcl`'s text: whether a `service` block holds a `load_balancer`.
    pub fn of(text: &str) -> Shared {
        let routed = hcl::from_str::<hcl::Body>(text).is_ok_and(|body| {
            body.blocks()
                .filter(|b| b.identifier() == "service")
                .any(|b| {
                    b.body()
                        .blocks()
                        .any(|inner| inner.identifier() == "load_balancer")
                })
        });
        Shared { routed }
    }
}

/// The files, by name: `_shared.hcl` first unless one exists (`shared`: then the services
/// come from it, and the environment file holds only what is its own).
pub fn files(env: &str, a: &Answers, shared: Option<Shared>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let routed = match shared {
        Some(s) => s.routed,
        None => {
            out.push((crate::env::SHARED_FILE.to_string(), shared_file(a)));
            a.services.iter().any(|s| s.port.is_some())
        }
    };
    out.push((format!("{env}.hcl"), own(env, a, routed)));
    out
}

fn shared_file(a: &Answers) -> String {
    let mut b = Body::new();
    b.comment(
        "What every environment shares; each envs/<environment>.hcl is merged over this file\n(its values win). Written by `slipway init`; docs/environments.md lists every attribute.",
    )
    .blank()
    .attr("region", a.region.as_str())
    .blank()
    .comment("Tags on everything Terraform and slipway create.")
    .attr("tags", json!({ "managed-by": "slipway" }));
    let mut priority = 10;
    let routed: Vec<&NewService> = a.services.iter().filter(|s| s.port.is_some()).collect();
    for s in &a.services {
        let mut repo = Body::new();
        let mut lifecycle = Body::new();
        lifecycle
            .attr("keep_tagged", 50)
            .attr("expire_untagged_days", 7);
        repo.block("lifecycle", &[], &lifecycle);
        b.blank()
            .comment(&format!(
                "The ECR repository {}'s images are pushed to (tagged with the git sha), keeping the\nlast 50 tagged images and expiring untagged ones after a week.",
                s.name
            ))
            .block("repository", &[&s.name], &repo);

        let mut svc = Body::new();
        svc.attr("repository", s.name.as_str())
            .attr("cpu", 256)
            .attr("memory", 512);
        if let Some(port) = s.port {
            svc.attr("port", i64::from(port));
        }
        svc.comment("Repository paths whose changes touch this service (`slipway changed`).")
            .attr("paths", json!([format!("{}/**", s.name)]));
        if let Some(port) = s.port {
            // The first routed service takes every path; the others their own prefix, tried
            // first (lower priority).
            let (patterns, prio) = if routed.len() == 1 || routed[0].name == s.name {
                (json!(["/*"]), 100)
            } else {
                let p = priority;
                priority += 10;
                (json!([format!("/{}/*", s.name)]), p)
            };
            let mut lb = Body::new();
            lb.attr("path_patterns", patterns)
                .attr("priority", prio)
                .attr("health_check_path", "/");
            svc.blank()
                .comment(&format!(
                    "Traffic from the environment's load balancer to port {port}; the target group checks\nhealth_check_path."
                ))
                .block("load_balancer", &[], &lb);
        }
        let mut d = Body::new();
        d.attr("circuit_breaker", true)
            .attr("rollback", true)
            .attr("timeout", "10m");
        svc.blank()
            .comment("Rolling deploys: a failing one is stopped by ECS and rolled back by slipway.")
            .block("deployment", &[], &d);
        b.blank().block("service", &[&s.name], &svc);
    }
    b.render(0)
}

fn own(env: &str, a: &Answers, routed: bool) -> String {
    let production = is_production(env);
    let bucket = state_bucket(&a.account, &a.region);
    let mut b = Body::new();
    b.comment(&format!(
        "Environment {env}: its account, cluster, who may change it and how. Written by `slipway init`."
    ))
    .blank()
    .attr("account_id", a.account.as_str())
    .attr("cluster", a.cluster.as_str());
    if let Some(repo) = &a.github_repo {
        let mut gh = Body::new();
        gh.attr("repository", repo.as_str());
        let mut deploy = Body::new();
        if production {
            deploy.attr("environments", json!([env]));
        } else {
            deploy
                .attr("branches", json!(["main"]))
                .attr("environments", json!([env]));
        }
        deploy
            .attr(
                "permissions",
                json!([
                    "ecr_push",
                    "ecs_deploy",
                    "logs_read",
                    "secrets_read",
                    "terraform_apply"
                ]),
            )
            .attr("terraform_state_bucket", bucket.as_str());
        let mut plan = Body::new();
        plan.attr("pull_requests", true)
            .attr("permissions", json!(["terraform_apply"]))
            .attr(
                "managed_policy_arns",
                json!(["arn:aws:iam::aws:policy/ReadOnlyAccess"]),
            )
            .attr("terraform_state_bucket", bucket.as_str());
        gh.comment(&format!(
            "Deploys and applies reviewed plans{}; the GitHub environment \"{env}\" holds its\nprotection rules.",
            if production { "" } else { " (and deploys each push to main)" }
        ))
        .block("role", &["deploy"], &deploy)
        .blank()
        .comment("Plans every pull request: reads everything, writes only Terraform's state lock.")
        .block("role", &["plan"], &plan);
        b.blank()
            .comment("GitHub Actions reach AWS through these OIDC roles (Terraform creates them; `slipway\nworkflows` writes the workflows that assume them).")
            .block("github", &[], &gh);
    }
    if routed {
        let mut alb = Body::new();
        alb.comment(
            "certificate_arn = \"arn:aws:acm:...\" serves HTTPS (with HTTP redirected to it).",
        );
        b.blank()
            .comment("The environment's Application Load Balancer, in front of the services with a port.")
            .block("alb", &[], &alb);
    }
    let mut approval = Body::new();
    if production {
        approval
            .attr("required", true)
            .attr("confirmation", "DEPLOY")
            .attr("events", json!(["workflow_dispatch", "release", "local"]));
        b.blank().comment(
            "Changes need the confirmation word (`--confirm DEPLOY`), from a dispatched workflow, a\nrelease or a terminal; add `pull_request_approved = true` to require reviews of the plan.",
        );
    } else {
        approval
            .attr("required", false)
            .attr("events", json!(["push", "workflow_dispatch", "local"]));
        b.blank().comment(
            "Anyone may deploy: on a push to main, from the Actions tab or from a terminal.",
        );
    }
    b.block("approval", &[], &approval);
    let mut deploy = Body::new();
    deploy.attr("lock_bucket", Value::from(bucket.as_str()));
    b.blank()
        .comment(&format!(
            "One change at a time: the lock is an object in the Terraform state bucket\n(slipway/locks/{env}.json); `slipway bootstrap --backend` creates the bucket."
        ))
        .block("deploy", &[], &deploy);
    b.render(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> Answers {
        Answers {
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            cluster: "shop-staging".into(),
            github_repo: Some("acme/shop".into()),
            services: vec![
                NewService {
                    name: "web".into(),
                    port: Some(3000),
                },
                NewService {
                    name: "api".into(),
                    port: Some(8080),
                },
                NewService {
                    name: "worker".into(),
                    port: None,
                },
            ],
        }
    }

    #[test]
    fn the_first_routed_service_takes_every_path() {
        let f = files("staging", &answers(), None);
        let shared = &f[0].1;
        assert!(shared.contains("path_patterns     = [\"/*\"]"), "{shared}");
        assert!(
            shared.contains("path_patterns     = [\"/api/*\"]"),
            "{shared}"
        );
        assert!(!f[1].1.contains("confirmation"), "{}", f[1].1);
    }

    #[test]
    fn production_needs_the_confirmation_word() {
        let f = files("production", &answers(), Some(Shared { routed: true }));
        assert_eq!(f.len(), 1);
        assert!(f[0].1.contains("alb {"), "{}", f[0].1);
        assert!(f[0].1.contains("confirmation = \"DEPLOY\""), "{}", f[0].1);
        assert!(!f[0].1.contains("branches"), "{}", f[0].1);
    }
}
