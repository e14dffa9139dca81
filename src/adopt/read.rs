//! Reading what runs in a cluster for adoption. Only reads: ListServices, DescribeServices,
//! DescribeTaskDefinition (as the API's JSON), DescribeTargetGroups, DescribeListeners,
//! DescribeRules, DescribeScalableTargets, DescribeScalingPolicies, DescribeRepositories,
//! GetLifecyclePolicy and GetCallerIdentity. Calls are bounded in concurrency; listeners and
//! rules are read once per load balancer and listener.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Cluster, Found, Repository, Rule, Scaling, TargetGroup};
use crate::aws::{bounded, ecs, elbv2, AwsError, Clients, CONCURRENCY};

/// What `init --from-cluster` asked for.
pub struct Request<'a> {
    pub cluster: &'a str,
    pub region: &'a str,
    /// Only these services (their ECS names); all when empty.
    pub services: &'a [String],
}

/// Reads the cluster. A service that is not on Fargate's networking (awsvpc) is skipped with a
/// note: slipway renders Fargate services only.
pub async fn cluster(
    clients: &Clients,
    req: &Request<'_>,
) -> Result<(Cluster, Vec<String>), AwsError> {
    let mut notes = Vec::new();
    let account = crate::aws::sts::caller(&clients.sts).await?.account;
    let names = if req.services.is_empty() {
        ecs::list_services(&clients.ecs, req.cluster).await?
    } else {
        req.services.to_vec()
    };
    let described = ecs::describe_services(&clients.ecs, req.cluster, &names).await?;
    if !described.missing.is_empty() {
        return Err(AwsError::invalid(
            "ecs",
            "DescribeServices",
            format!(
                "cluster {} has no active service {}",
                req.cluster,
                described.missing.join(", ")
            ),
        ));
    }
    let tds = bounded(described.found.clone(), CONCURRENCY, |s| async move {
        ecs::describe_task_definition(&clients.ecs, &s.task_definition)
            .await
            .map(|(_, td)| (s, td))
    })
    .await;
    let mut pairs = Vec::new();
    for r in tds {
        let (s, td) = r?;
        if td.network_mode != "awsvpc" {
            notes.push(format!(
                "{}: network mode {} is not awsvpc: slipway adopts Fargate services only; left out",
                s.name,
                if td.network_mode.is_empty() {
                    "bridge"
                } else {
                    &td.network_mode
                }
            ));
            continue;
        }
        pairs.push((s, td));
    }

    // Target groups and the listener rules that forward to them.
    let tg_arns: BTreeSet<String> = pairs
        .iter()
        .filter_map(|(s, _)| s.settings.load_balancers.first())
        .map(|lb| lb.target_group_arn.clone())
        .collect();
    let groups = bounded(tg_arns, CONCURRENCY, |arn| async move {
        elbv2::target_group(&clients.elbv2, &arn)
            .await
            .map(|g| (arn, g))
    })
    .await;
    let mut target_groups: BTreeMap<String, elbv2::TargetGroup> = BTreeMap::new();
    for g in groups {
        let (arn, found) = g?;
        match found {
            Some(tg) => {
                target_groups.insert(arn, tg);
            }
            None => notes.push(format!("target group {arn} does not exist")),
        }
    }
    let lbs: BTreeSet<String> = target_groups
        .values()
        .flat_map(|g| g.load_balancers.iter().cloned())
        .collect();
    let listeners = bounded(lbs, CONCURRENCY, |lb| async move {
        elbv2::listeners(&clients.elbv2, &lb).await
    })
    .await;
    let mut listener_arns = BTreeSet::new();
    for l in listeners {
        listener_arns.extend(l?);
    }
    let rules = bounded(listener_arns, CONCURRENCY, |l| async move {
        elbv2::rules(&clients.elbv2, &l).await
    })
    .await;
    let mut by_target: BTreeMap<String, Rule> = BTreeMap::new();
    for r in rules {
        for rule in r? {
            let Ok(priority) = rule.priority.parse::<i64>() else {
                continue; // the listener's default rule
            };
            for tg in &rule.target_groups {
                // The rule evaluated first wins, as the load balancer would.
                let better = by_target.get(tg).is_none_or(|r| priority < r.priority);
                if better {
                    by_target.insert(
                        tg.clone(),
                        Rule {
                            priority,
                            path_patterns: rule.path_patterns.clone(),
                            hosts: rule.hosts.clone(),
                        },
                    );
                }
            }
        }
    }

    // Autoscaling of the services, in one call for all (then their policies).
    let resource_ids: Vec<String> = pairs
        .iter()
        .map(|(s, _)| format!("service/{}/{}", req.cluster, s.name))
        .collect();
    let scaling = scaling(&clients.autoscaling, &resource_ids).await?;

    // The ECR repositories of this account and region the images come from.
    let mut repo_names: BTreeSet<String> = BTreeSet::new();
    for (_, td) in &pairs {
        for c in &td.container_definitions {
            if let Some(r) = crate::aws::ecr::EcrRef::parse(&c.image) {
                if r.registry == account && r.region == req.region {
                    repo_names.insert(r.repository);
                }
            }
        }
    }
    let repos = bounded(repo_names, CONCURRENCY, |name| async move {
        repository(&clients.ecr, &name).await.map(|r| (name, r))
    })
    .await;
    let mut repositories = BTreeMap::new();
    for r in repos {
        let (name, repo) = r?;
        match repo {
            Some(repo) => {
                repositories.insert(name, repo);
            }
            None => notes.push(format!("ECR repository {name} does not exist")),
        }
    }

    let services = pairs
        .into_iter()
        .map(|(s, td)| {
            let target_group = s.settings.load_balancers.first().map(|lb| {
                let found = target_groups.get(&lb.target_group_arn);
                TargetGroup {
                    arn: lb.target_group_arn.clone(),
                    health_check_path: found.and_then(|g| g.health_check_path.clone()),
                    matcher: found.and_then(|g| g.matcher.clone()),
                    rule: by_target.get(&lb.target_group_arn).cloned(),
                }
            });
            let id = format!("service/{}/{}", req.cluster, s.name);
            Found {
                scaling: scaling.get(&id).cloned(),
                target_group,
                task_definition: td,
                live: s,
            }
        })
        .collect();
    Ok((
        Cluster {
            name: req.cluster.to_string(),
            region: req.region.to_string(),
            account,
            services,
            repositories,
        },
        notes,
    ))
}

const AAS: &str = "application-autoscaling";

/// Scalable targets and CPU target-tracking policies of `resource_ids`, by resource id.
async fn scaling(
    client: &aws_sdk_applicationautoscaling::Client,
    resource_ids: &[String],
) -> Result<BTreeMap<String, Scaling>, AwsError> {
    use aws_sdk_applicationautoscaling::types::{MetricType, ServiceNamespace};
    let mut out = BTreeMap::new();
    // DescribeScalableTargets takes at most 50 resource ids per call.
    for chunk in resource_ids.chunks(50) {
        let mut token = None;
        for _ in 0..100 {
            let resp = client
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .set_resource_ids(Some(chunk.to_vec()))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(AAS, "DescribeScalableTargets", e))?;
            for t in resp.scalable_targets() {
                out.insert(
                    t.resource_id().to_string(),
                    Scaling {
                        min: i64::from(t.min_capacity()),
                        max: i64::from(t.max_capacity()),
                        cpu_target: None,
                    },
                );
            }
            token = resp.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    let ids: Vec<String> = out.keys().cloned().collect();
    let policies = bounded(ids, CONCURRENCY, |id| async move {
        client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&id)
            .send()
            .await
            .map(|r| (id, r))
            .map_err(|e| AwsError::from_sdk(AAS, "DescribeScalingPolicies", e))
    })
    .await;
    for p in policies {
        let (id, resp) = p?;
        let cpu = resp.scaling_policies().iter().find_map(|p| {
            let c = p.target_tracking_scaling_policy_configuration()?;
            let metric = c.predefined_metric_specification()?;
            (metric.predefined_metric_type() == &MetricType::EcsServiceAverageCpuUtilization)
                .then(|| c.target_value().round() as i64)
        });
        if let Some(s) = out.get_mut(&id) {
            s.cpu_target = cpu;
        }
    }
    Ok(out)
}

/// An ECR repository's settings and lifecycle policy; `None` when it does not exist.
async fn repository(
    client: &aws_sdk_ecr::Client,
    name: &str,
) -> Result<Option<Repository>, AwsError> {
    let resp = match client
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let err = AwsError::from_sdk("ecr", "DescribeRepositories", e);
            return if err.is_code("RepositoryNotFoundException") {
                Ok(None)
            } else {
                Err(err)
            };
        }
    };
    let Some(r) = resp.repositories().first() else {
        return Ok(None);
    };
    let policy = match client
        .get_lifecycle_policy()
        .repository_name(name)
        .send()
        .await
    {
        Ok(p) => p
            .lifecycle_policy_text()
            .and_then(|t| serde_json::from_str::<Value>(t).ok()),
        Err(e) => {
            let err = AwsError::from_sdk("ecr", "GetLifecyclePolicy", e);
            if err.is_code("LifecyclePolicyNotFoundException") {
                None
            } else {
                return Err(err);
            }
        }
    };
    let lifecycle = policy.as_ref().and_then(super::lifecycle_of);
    Ok(Some(Repository {
        scan_on_push: r
            .image_scanning_configuration()
            .is_some_and(|c| c.scan_on_push()),
        tag_mutability: r
            .image_tag_mutability()
            .map_or_else(|| "MUTABLE".to_string(), |m| m.as_str().to_string()),
        foreign_lifecycle: policy.is_some() && lifecycle.is_none(),
        lifecycle,
    }))
}
