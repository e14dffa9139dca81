//! The variables file for the Terraform root in `terraform/` (`-var-file`, JSON).
//!
//! This is the interface between slipway and Terraform: every key here is a variable the root
//! declares (a contract test parses `terraform/variables.tf` to hold both sides to it). Types
//! are stable: optional objects are `null`, never absent, and policies travel as JSON strings
//! because that is what `aws_iam_role` and `aws_ecr_lifecycle_policy` take.

use serde_json::{json, Value};

use crate::env::model::Environment;
use crate::render::{iam, lifecycle, Names};

/// Every top-level variable the rendered file sets.
pub const VARIABLES: &[&str] = &[
    "environment",
    "aws_account_id",
    "aws_region",
    "cluster_name",
    "tags",
    "log_retention_days",
    "github_repository",
    "oidc_roles",
    "ecr_repositories",
    "services",
    "alb",
    "sites",
];

pub fn render(env: &Environment) -> Value {
    let cluster = &env.cluster.v;
    let tags: serde_json::Map<String, Value> = env
        .tags
        .iter()
        .map(|(k, v)| (k.v.clone(), json!(v.v)))
        .collect();
    let roles: serde_json::Map<String, Value> = env
        .github
        .iter()
        .flat_map(|gh| {
            gh.roles.iter().map(move |r| {
                let p = iam::role(env, gh, r);
                (
                    r.label.v.clone(),
                    json!({
                        "name": p.name,
                        "trust_policy": p.trust_policy.to_string(),
                        "policy": p.permission_policy.to_string(),
                        "managed_policy_arns": p.managed_policy_arns,
                    }),
                )
            })
        })
        .collect();
    let repos: serde_json::Map<String, Value> = env
        .repositories
        .iter()
        .map(|r| {
            (
                r.name.v.clone(),
                json!({
                    "image_tag_mutability": r.tag_mutability.v,
                    "scan_on_push": r.scan_on_push,
                    // ECR rejects a policy without rules: no lifecycle means no policy.
                    "lifecycle_policy": lifecycle::policy(&r.lifecycle).map(|p| p.to_string()),
                }),
            )
        })
        .collect();
    let services: serde_json::Map<String, Value> = env
        .services
        .iter()
        .map(|s| {
            let name = &s.name.v;
            let mut secret_arns: Vec<String> = s
                .secret_references()
                .into_iter()
                .filter_map(|v| crate::naming::secret_arn(&v.v, &env.region.v, &env.account_id.v).ok())
                // The execution role's policy needs IAM resource ARNs, not `valueFrom` ones.
                .map(|arn| crate::naming::secret_policy_resource(&arn))
                .collect();
            secret_arns.sort();
            secret_arns.dedup();
            let d = &s.deployment;
            (
                name.clone(),
                json!({
                    "service_name": s.service_name.as_ref().map(|n| n.v.clone()),
                    "container_name": s.container(),
                    "container_port": s
                        .load_balancer
                        .as_ref()
                        .and_then(|lb| lb.container_port.as_ref())
                        .or(s.port.as_ref())
                        .or(s.container.port_mappings.first().map(|p| &p.container_port))
                        .map(|p| p.v),
                    "cpu": s.cpu.v,
                    "memory": s.memory.v,
                    "desired_count": s.autoscaling.as_ref().map_or(s.desired_count.v, |a| s.desired_count.v.max(a.min.v)),
                    "family": s.family,
                    "repository": s.repository.as_ref().map(|r| r.v.clone()),
                    // Terraform's first task definition: an image on the deploy's tag gets the
                    // bootstrap tag when the environment was loaded without one.
                    "image": s.image.as_ref().map(|i| {
                        i.v.replace(crate::naming::LIVE_IMAGE_TAG, crate::naming::BOOTSTRAP_TAG)
                    }),
                    "execution_role_name": Names::execution_role(cluster, name),
                    "task_role_name": Names::task_role(cluster, name),
                    "log_group_name": Names::log_group(cluster, name),
                    "secret_arns": secret_arns,
                    "load_balancer": s.load_balancer.as_ref().map(|lb| json!({
                        "target_group_arn": lb.target_group_arn.as_ref().map(|a| a.v.clone()),
                        "path_patterns": lb.path_patterns.iter().map(|p| p.v.clone()).collect::<Vec<_>>(),
                        "hosts": lb.hosts.iter().map(|h| h.v.clone()).collect::<Vec<_>>(),
                        "priority": lb.priority.v,
                        "health_check_path": lb.health_check_path.v,
                        "health_check_matcher": lb.health_check_matcher,
                        "health_check_grace_period_seconds": lb.grace_period.as_secs(),
                    })),
                    "autoscaling": s.autoscaling.as_ref().map(|a| json!({
                        "min": a.min.v, "max": a.max.v, "cpu_target": a.cpu_target.v,
                    })),
                    "platform_version": s.platform_version.as_ref().map_or("LATEST", |p| p.v.as_str()),
                    "propagate_tags": s.propagate_tags.as_ref().map_or("SERVICE", |p| p.v.as_str()),
                    "enable_ecs_managed_tags": s.ecs_managed_tags,
                    "enable_execute_command": s.enable_execute_command,
                    "capacity_provider_strategy": s.capacity_providers.iter().map(|c| json!({
                        "capacity_provider": c.name.v, "weight": c.weight, "base": c.base,
                    })).collect::<Vec<_>>(),
                    "deployment": deployment(d),
                }),
            )
        })
        .collect();
    // Only the sites that name no bucket: the root creates those from modules/static-site.
    let sites: serde_json::Map<String, Value> = env
        .sites
        .iter()
        .filter_map(|site| {
            let t = site.terraform.as_ref()?;
            Some((
                site.name.v.clone(),
                json!({
                    "name": Names::site(cluster, &site.name.v),
                    "aliases": t.aliases.iter().map(|a| a.v.clone()).collect::<Vec<_>>(),
                    "certificate_arn": t.certificate_arn.as_ref().map(|c| c.v.clone()),
                    "spa": t.spa,
                }),
            ))
        })
        .collect();
    json!({
        "environment": env.name,
        "aws_account_id": env.account_id.v,
        "aws_region": env.region.v,
        "cluster_name": cluster,
        "tags": tags,
        "log_retention_days": env.log_retention_days.v,
        "github_repository": env.github.as_ref().map(|g| g.repository.v.clone()),
        "oidc_roles": roles,
        "ecr_repositories": repos,
        "services": services,
        "alb": env.alb.as_ref().map(|a| json!({
            "certificate_arn": a.certificate_arn.as_ref().map(|c| c.v.clone()),
            "ssl_policy": a.ssl_policy.v,
            "redirect_http": a.redirect_http,
            "test_listener_port": a.test_listener_port.as_ref().map(|p| p.v),
        })),
        "sites": sites,
    })
}

/// A service's `deployment` for modules/ecs-service: the strategy as ECS names it, with the
/// values render sends ECS (so that Terraform and a deploy agree).
fn deployment(d: &crate::env::model::Deployment) -> Value {
    json!({
        "minimum_healthy_percent": d.minimum_healthy_percent.v,
        "maximum_percent": d.maximum_percent.v,
        "circuit_breaker": d.circuit_breaker,
        "rollback": d.circuit_breaker && d.rollback,
        "strategy": d.strategy.v.api(),
        "bake_time_in_minutes": d.bake_time_minutes(),
        "canary": d.canary().map(|(percent, minutes)| json!({
            "percent": percent,
            "bake_in_minutes": minutes,
        })),
        "linear": d.linear().map(|(step, minutes)| json!({
            "step_percent": step,
            "step_bake_in_minutes": minutes,
        })),
        "alarms": (!d.alarms.is_empty()).then(|| json!({
            "names": d.alarms.iter().map(|a| a.v.clone()).collect::<Vec<_>>(),
            "rollback": d.alarm_rollback,
        })),
    })
}

/// References left unresolved in rendered variables (placeholders such as `${tf.x}` that the
/// loader keeps for values it could not know).
pub fn unresolved(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(v, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            for root in crate::env::tree::ROOTS {
                let marker = format!("${{{root}");
                if let Some(start) = s.find(&marker) {
                    let end = s[start..].find('}').map_or(s.len(), |e| start + e + 1);
                    out.push(s[start..end].to_string());
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}
