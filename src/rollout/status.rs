//! Which version runs where: for each environment's services, the image tag, commit, revision,
//! tasks, rollout state and last healthy revision, read from ECS and the revision tags.

use serde::Serialize;

use crate::aws::{bounded, ecs, AwsError, Clients, CONCURRENCY};
use crate::rollout::history;

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub environment: String,
    pub service: String,
    /// `running`, or `not created` (declared in the file, absent from the cluster).
    pub state: String,
    pub image_tag: Option<String>,
    pub git_sha: Option<String>,
    /// The revision's `slipway:version` (from the git tags when it was deployed).
    pub version: Option<String>,
    pub revision: Option<String>,
    pub running: Option<i32>,
    pub desired: Option<i32>,
    pub rollout: Option<String>,
    /// Blue/green, canary or linear (absent for rolling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Their newest service deployment: its status, and its lifecycle stage while in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    pub deployments: Option<usize>,
    pub last_healthy: Option<String>,
    pub updated_at: Option<String>,
}

impl Row {
    /// A row that says only its state.
    fn bare(environment: &str, service: String, state: &str) -> Row {
        Row {
            environment: environment.to_string(),
            service,
            state: state.to_string(),
            image_tag: None,
            git_sha: None,
            version: None,
            revision: None,
            running: None,
            desired: None,
            rollout: None,
            strategy: None,
            stage: None,
            deployments: None,
            last_healthy: None,
            updated_at: None,
        }
    }
}

/// One row per static site: its live release (`current.json`), the commit it was published
/// from, and the last release marked healthy.
pub async fn site_rows(
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
) -> Result<Vec<Row>, crate::aws::AwsError> {
    let mut out = Vec::new();
    for site in &env.sites {
        let mut row = Row::bare(&env.name, format!("site:{}", site.name.v), "not published");
        if site.bucket.v.contains("${") {
            row.state = "bucket unknown (a Terraform output)".to_string();
            out.push(row);
            continue;
        }
        let t = crate::site::release::Target {
            clients,
            site,
            account: &env.account_id.v,
        };
        let current = t.manifest(crate::site::CURRENT).await?;
        let healthy = t.manifest(crate::site::HEALTHY).await?;
        if let Some(c) = &current {
            row.state = format!("published ({} files)", c.files.len());
            row.revision = Some(c.release.clone());
            row.git_sha = c.git_sha.as_ref().map(|g| g[..g.len().min(12)].to_string());
            row.updated_at = Some(c.created_at.clone());
            row.rollout = Some(
                if healthy.as_ref().is_some_and(|h| h.release == c.release) {
                    "healthy"
                } else {
                    "not marked healthy"
                }
                .to_string(),
            );
        }
        row.last_healthy = healthy.map(|h| h.release);
        out.push(row);
    }
    Ok(out)
}

/// The status of every service `env` declares (services not created yet included).
pub async fn rows(
    env: &crate::env::model::Environment,
    clients: &Clients,
) -> Result<Vec<Row>, AwsError> {
    let names: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    // ECS name → (label, main container).
    let declared: std::collections::BTreeMap<String, (String, String)> = env
        .services
        .iter()
        .map(|s| {
            (
                s.ecs_name().to_string(),
                (s.name.v.clone(), s.container().to_string()),
            )
        })
        .collect();
    let ecs_names: Vec<String> = declared.keys().cloned().collect();
    let declared = &declared;
    let described = match ecs::describe_services(&clients.ecs, &env.cluster.v, &ecs_names).await {
        Ok(d) => d,
        Err(e) if e.is_code("ClusterNotFoundException") => ecs::Described {
            found: Vec::new(),
            missing: ecs_names.clone(),
        },
        Err(e) => return Err(e),
    };
    let rows = bounded(described.found, CONCURRENCY, |s| async move {
        let (label, container) = declared
            .get(&s.name)
            .cloned()
            .unwrap_or_else(|| (s.name.clone(), s.name.clone()));
        let (_, td) = ecs::describe_task_definition(&clients.ecs, &s.task_definition).await?;
        let family = crate::naming::family_of(&s.task_definition).to_string();
        let healthy = history::last_healthy(&clients.ecs, &family, &[]).await?;
        let tag = |k: &str| td.tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        let image = td
            .container_definitions
            .iter()
            .find(|c| c.name == container)
            .or_else(|| td.container_definitions.first())
            .map(|c| c.image.clone())
            .unwrap_or_default();
        let primary = s.primary().cloned();
        let strategy = s.settings.deployment_configuration.strategy.clone();
        let stage = match &strategy {
            Some(_) => service_deployment_stage(clients, &env.cluster.v, &s.name).await?,
            None => None,
        };
        Ok::<_, AwsError>(Row {
            environment: env.name.clone(),
            service: label,
            state: "running".into(),
            image_tag: crate::live::image_tag(&image).map(str::to_string),
            git_sha: tag(history::GIT_SHA),
            version: tag(history::VERSION),
            revision: Some(crate::rollout::engine::short_arn(&s.task_definition).to_string()),
            running: Some(s.running_count),
            desired: Some(s.desired_count),
            rollout: primary.as_ref().and_then(|d| d.rollout_state.clone()),
            strategy: strategy.map(|st| st.to_lowercase()),
            stage,
            deployments: Some(s.deployments.len()),
            last_healthy: healthy.map(|a| crate::rollout::engine::short_arn(&a).to_string()),
            updated_at: primary
                .and_then(|d| d.updated_at)
                .map(crate::planfile::timestamp),
        })
    })
    .await;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    for name in described.missing {
        out.push(Row::bare(
            &env.name,
            declared.get(&name).map_or(name, |(label, _)| label.clone()),
            "not created",
        ));
    }
    // In the environment file's order.
    out.sort_by_key(|r| names.iter().position(|n| *n == r.service));
    Ok(out)
}

/// The newest service deployment of the last day: `SUCCESSFUL`, `ROLLBACK_SUCCESSFUL`, ..., or
/// `IN_PROGRESS BAKE_TIME` while one is under way.
async fn service_deployment_stage(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Option<String>, AwsError> {
    let Some(arn) = ecs::latest_service_deployment(&clients.ecs, cluster, service).await? else {
        return Ok(None);
    };
    let described = ecs::describe_service_deployments(&clients.ecs, &[arn]).await?;
    Ok(described.first().map(stage_text))
}

/// `IN_PROGRESS BAKE_TIME`, `IN_PROGRESS POST_TEST_TRAFFIC_SHIFT (held by a pause hook)`, or the
/// status alone once it ended.
fn stage_text(d: &ecs::ServiceDeploymentState) -> String {
    let held = if d.awaiting().is_some() {
        " (held by a pause hook)"
    } else {
        ""
    };
    match (d.status.as_str(), &d.stage) {
        ("IN_PROGRESS" | "PENDING", Some(stage)) => format!("{} {stage}{held}", d.status),
        (status, _) => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_held_at_the_pause_hook_says_so() {
        let mut d = ecs::ServiceDeploymentState {
            arn: "arn:sd".into(),
            status: "IN_PROGRESS".into(),
            stage: Some("POST_TEST_TRAFFIC_SHIFT".into()),
            reason: None,
            production_weight: Some(0.0),
            running: 1,
            desired: 1,
            bake_minutes: None,
            alarm_status: None,
            triggered_alarms: Vec::new(),
            hooks: vec![ecs::HookState {
                id: "ecs-pause-1".into(),
                target_type: "PAUSE".into(),
                status: "AWAITING_ACTION".into(),
            }],
        };
        assert_eq!(
            stage_text(&d),
            "IN_PROGRESS POST_TEST_TRAFFIC_SHIFT (held by a pause hook)"
        );
        d.hooks[0].status = "SUCCEEDED".into();
        d.stage = Some("BAKE_TIME".into());
        assert_eq!(stage_text(&d), "IN_PROGRESS BAKE_TIME");
        d.status = "SUCCESSFUL".into();
        assert_eq!(stage_text(&d), "SUCCESSFUL");
    }
}
