//! Migrations as one-off tasks: RunTask on the new revision with the command replaced, wait until
//! it stops, and require every essential container to exit 0.

use std::time::{Duration, Instant};

use crate::aws::{ecs, AwsError};
use crate::env::model::Migration;
use crate::render::ecs::{ServiceSettings, TaskDefinition};
use crate::rollout::progress::Progress;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MigrationResult {
    pub service: String,
    pub task: String,
    pub task_definition: String,
    pub passed: bool,
    /// Exit codes by container (None: it never ran).
    pub exit_codes: Vec<(String, Option<i32>)>,
    pub stop_reason: Option<String>,
    pub detail: String,
}

/// Runs `migration` of `service` on the registered revision `task_definition` (rendered as
/// `td`) and waits for it to stop.
pub async fn run(
    client: &aws_sdk_ecs::Client,
    service: &str,
    migration: &Migration,
    task_definition: &str,
    td: &TaskDefinition,
    settings: &ServiceSettings,
    progress: &dyn Progress,
) -> Result<MigrationResult, AwsError> {
    let essential: Vec<&str> = td
        .container_definitions
        .iter()
        .filter(|c| c.essential)
        .map(|c| c.name.as_str())
        .collect();
    let command: Vec<String> = migration.command.iter().map(|c| c.v.clone()).collect();
    let cluster = &settings.cluster;
    let task = ecs::run_task(
        client,
        &ecs::OneOff {
            cluster,
            task_definition_arn: task_definition,
            // The rendered task definition's first container is the main one.
            container: td
                .container_definitions
                .first()
                .map_or(service, |c| c.name.as_str()),
            command: &command,
            network: &settings.network_configuration.awsvpc_configuration,
            started_by: "slipway-migrate",
        },
    )
    .await?;
    progress.info(&format!(
        "{service}: migration task {task} started: {}",
        command.join(" ")
    ));
    let started = Instant::now();
    let mut interval = Duration::from_millis(250);
    loop {
        let states = ecs::describe_tasks(client, cluster, std::slice::from_ref(&task)).await?;
        let Some(state) = states.first() else {
            return Err(AwsError::invalid(
                "ecs",
                "DescribeTasks",
                format!("task {task} is not known"),
            ));
        };
        progress.service(&format!("{service} (migration)"), &state.last_status);
        if state.last_status == "STOPPED" {
            let exit_codes: Vec<(String, Option<i32>)> = state
                .containers
                .iter()
                .map(|c| (c.name.clone(), c.exit_code))
                .collect();
            let failed: Vec<String> = state
                .containers
                .iter()
                .filter(|c| essential.contains(&c.name.as_str()) && c.exit_code != Some(0))
                .map(|c| match c.exit_code {
                    Some(code) => format!("{} exited {code}", c.name),
                    None => format!(
                        "{} did not run ({})",
                        c.name,
                        c.reason.as_deref().unwrap_or("no exit code")
                    ),
                })
                .collect();
            let passed = failed.is_empty();
            return Ok(MigrationResult {
                service: service.to_string(),
                task: task.clone(),
                task_definition: task_definition.to_string(),
                passed,
                exit_codes,
                stop_reason: state.stopped_reason.clone(),
                detail: if passed {
                    "every essential container exited 0".to_string()
                } else {
                    format!(
                        "{}; stop reason: {}",
                        failed.join(", "),
                        state.stopped_reason.as_deref().unwrap_or("none given")
                    )
                },
            });
        }
        if started.elapsed() >= migration.timeout {
            return Ok(MigrationResult {
                service: service.to_string(),
                task: task.clone(),
                task_definition: task_definition.to_string(),
                passed: false,
                exit_codes: Vec::new(),
                stop_reason: None,
                detail: format!(
                    "still {} after the migration timeout of {}s (the task was left running: stop it with `aws ecs stop-task --cluster {cluster} --task {task}` if it is stuck)",
                    state.last_status,
                    migration.timeout.as_secs()
                ),
            });
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_secs(10));
    }
}
