//! Before anything is mutated: does everything the rendered task definitions point at exist?
//! Every problem is collected, none stops the others. (The account was checked before, by the
//! account gate: `account` is the identity it established.)

use std::collections::BTreeSet;

use crate::aws::ecr::EcrRef;
use crate::aws::{
    bounded, cloudwatch, ecr, ecs, elbv2, iam, secrets, AwsError, Clients, CONCURRENCY,
};
use crate::env::model::Environment;
use crate::render::Ecs;

/// Something verify found missing or refused: nothing is changed while any exists.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub message: String,
}

impl Problem {
    fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
        }
    }
}

/// Scanner severities, lowest first.
const SEVERITY_ORDER: &[&str] = &[
    "UNDEFINED",
    "INFORMATIONAL",
    "LOW",
    "MEDIUM",
    "HIGH",
    "CRITICAL",
];

fn rank(s: &str) -> usize {
    SEVERITY_ORDER.iter().position(|x| *x == s).unwrap_or(0)
}

/// What verify checked, for the log.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Checked {
    pub account: String,
    pub images: usize,
    pub secrets: usize,
    pub roles: usize,
    pub target_groups: usize,
    /// CloudWatch alarms the deployments watch.
    pub alarms: usize,
    /// References verify cannot check (SSM parameters): named, not silently passed.
    pub unchecked: Vec<String>,
}

pub async fn verify(
    clients: &Clients,
    env: &Environment,
    rendered: &Ecs,
    services: &[String],
    account: &str,
) -> Result<(Checked, Vec<Problem>), AwsError> {
    let mut problems = Vec::new();
    let mut checked = Checked {
        account: account.to_string(),
        ..Default::default()
    };
    match ecs::cluster_status(&clients.ecs, &env.cluster.v).await? {
        Some(s) if s == "ACTIVE" => {}
        Some(s) => problems.push(Problem::new(format!("cluster {} is {s}", env.cluster.v))),
        None => problems.push(Problem::new(format!(
            "cluster {} does not exist: apply the Terraform root for \"{}\" first",
            env.cluster.v, env.name
        ))),
    }

    let mut images = BTreeSet::new();
    let mut secret_ids = BTreeSet::new();
    let mut roles = BTreeSet::new();
    let mut target_groups = BTreeSet::new();
    let mut alarms: std::collections::BTreeMap<String, String> = Default::default();
    for name in services {
        let Some(td) = rendered.task_definitions.get(name) else {
            continue;
        };
        for c in &td.container_definitions {
            if let Some(r) = EcrRef::parse(&c.image) {
                images.insert((name.clone(), r));
            }
            for s in &c.secrets {
                if s.value_from.contains(":secretsmanager:") {
                    secret_ids.insert(secrets::secret_id(&s.value_from).to_string());
                } else {
                    checked
                        .unchecked
                        .push(format!("{name}: {} ({})", s.name, s.value_from));
                }
            }
        }
        roles.extend(td.execution_role_arn.iter().cloned());
        roles.extend(td.task_role_arn.iter().cloned());
        if let Some(ss) = rendered.services.get(name) {
            for lb in &ss.load_balancers {
                target_groups.insert(lb.target_group_arn.clone());
                // Blue/green, canary, linear: the second target group and ECS's role too.
                if let Some(a) = &lb.advanced_configuration {
                    target_groups.insert(a.alternate_target_group_arn.clone());
                    roles.insert(a.role_arn.clone());
                }
            }
            if let Some(a) = &ss.deployment_configuration.alarms {
                alarms.extend(a.alarm_names.iter().map(|n| (n.clone(), name.clone())));
            }
        }
    }
    checked.images = images.len();
    checked.secrets = secret_ids.len();
    checked.roles = roles.len();
    checked.target_groups = target_groups.len();
    checked.alarms = alarms.len();

    let block = env.deploy.block_on_severity.as_ref().map(|s| s.v.clone());
    let image_results = bounded(images, CONCURRENCY, |(svc, r)| async move {
        let found = ecr::image(&clients.ecr, Some(&r.registry), &r.repository, &r.tag).await;
        (svc, r, found)
    })
    .await;
    for (svc, r, found) in image_results {
        match found? {
            None => problems.push(Problem::new(format!(
                "{svc}: image {}:{} does not exist in ECR (registry {}): push it first, or deploy a tag that exists",
                r.repository, r.tag, r.registry
            ))),
            Some(img) => {
                if let (Some(block), Some(findings)) = (&block, &img.findings) {
                    let blocking: Vec<String> = findings
                        .iter()
                        .filter(|(sev, n)| **n > 0 && rank(sev) >= rank(block))
                        .map(|(sev, n)| format!("{n} {sev}"))
                        .collect();
                    if !blocking.is_empty() {
                        problems.push(Problem::new(format!(
                            "{svc}: image {}:{} has scan findings at or above {block}: {}",
                            r.repository,
                            r.tag,
                            blocking.join(", ")
                        )));
                    }
                }
            }
        }
    }
    let secret_results = bounded(secret_ids, CONCURRENCY, |id| async move {
        let found = secrets::exists(&clients.secrets, &id).await;
        (id, found)
    })
    .await;
    for (id, found) in secret_results {
        if !found? {
            problems.push(Problem::new(format!(
                "secret {id} does not exist in Secrets Manager: create it before deploying"
            )));
        }
    }
    let role_results = bounded(roles, CONCURRENCY, |arn| async move {
        let found = iam::role_exists(&clients.iam, &arn).await;
        (arn, found)
    })
    .await;
    for (arn, found) in role_results {
        if !found? {
            problems.push(Problem::new(format!("IAM role {arn} does not exist")));
        }
    }
    let tg_results = bounded(target_groups, CONCURRENCY, |arn| async move {
        let found = elbv2::target_group(&clients.elbv2, &arn).await;
        (arn, found)
    })
    .await;
    for (arn, found) in tg_results {
        if found?.is_none() {
            problems.push(Problem::new(format!("target group {arn} does not exist")));
        }
    }
    let names: Vec<String> = alarms.keys().cloned().collect();
    if !names.is_empty() {
        for missing in cloudwatch::missing_alarms(&clients.cloudwatch, &names).await? {
            problems.push(Problem::new(format!(
                "{}: CloudWatch alarm {missing} does not exist in {} (deployment.alarms): create it first, or remove it",
                alarms[&missing], env.region.v
            )));
        }
    }
    Ok((checked, problems))
}
