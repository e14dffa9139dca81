//! `slipway status`: which version runs where.

use std::path::Path;

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::aws::{bounded, ecs, AwsError, Clients, CONCURRENCY};
use crate::cli::{Format, StatusArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::rollout::history;

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub environment: String,
    pub service: String,
    /// `running`, `missing` (declared, not created), or the error reading it.
    pub state: String,
    pub image_tag: Option<String>,
    pub git_sha: Option<String>,
    pub revision: Option<String>,
    pub running: Option<i32>,
    pub desired: Option<i32>,
    pub rollout: Option<String>,
    pub deployments: Option<usize>,
    pub last_healthy: Option<String>,
    pub updated_at: Option<String>,
}

pub async fn run(envs_dir: &Path, args: &StatusArgs, p: &Printer) -> Exit {
    let names: Vec<String> = if args.envs.is_empty() {
        match crate::env::discover(envs_dir) {
            Ok(found) => found.into_iter().map(|(n, _)| n).collect(),
            Err(e) => {
                p.error(format!("cannot read {}: {e}", envs_dir.display()));
                return Exit::Error;
            }
        }
    } else {
        args.envs.clone()
    };
    let mut rows = Vec::new();
    let mut failed = false;
    for name in &names {
        let ready = match super::load_plain(envs_dir, name, p) {
            Ok(r) => r,
            Err(code) => return code,
        };
        let env = ready.env();
        let clients = super::clients(env, &args.aws).await;
        match env_rows(env, &clients).await {
            Ok(r) => rows.extend(r),
            Err(e) => {
                failed = true;
                p.error(format!("{name}: {e}"));
            }
        }
    }
    match p.format {
        Format::Json => p.json(&rows),
        Format::Text => {
            let mut b = Builder::default();
            b.push_record([
                "env",
                "service",
                "image tag",
                "commit",
                "revision",
                "tasks",
                "rollout",
                "last healthy",
                "updated",
            ]);
            for r in &rows {
                let dash = || "–".to_string();
                b.push_record([
                    r.environment.clone(),
                    r.service.clone(),
                    r.image_tag.clone().unwrap_or_else(dash),
                    r.git_sha
                        .as_deref()
                        .map_or_else(dash, |s| s[..s.len().min(7)].to_string()),
                    r.revision.clone().unwrap_or_else(|| r.state.clone()),
                    match (r.running, r.desired) {
                        (Some(a), Some(b)) => format!("{a}/{b}"),
                        _ => dash(),
                    },
                    r.rollout.clone().unwrap_or_else(dash),
                    r.last_healthy.clone().unwrap_or_else(dash),
                    r.updated_at.clone().unwrap_or_else(dash),
                ]);
            }
            let mut t = b.build();
            t.with(Style::rounded());
            p.line(t.to_string());
        }
    }
    if failed {
        Exit::Error
    } else {
        Exit::Ok
    }
}

async fn env_rows(
    env: &crate::env::model::Environment,
    clients: &Clients,
) -> Result<Vec<Row>, AwsError> {
    let names: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    let described = match ecs::describe_services(&clients.ecs, &env.cluster.v, &names).await {
        Ok(d) => d,
        Err(e) if e.is_code("ClusterNotFoundException") => ecs::Described {
            found: Vec::new(),
            missing: names.clone(),
        },
        Err(e) => return Err(e),
    };
    let rows = bounded(described.found, CONCURRENCY, |s| async move {
        let (_, td) = ecs::describe_task_definition(&clients.ecs, &s.task_definition).await?;
        let family = ecs::family_of(&s.task_definition).to_string();
        let healthy = history::last_healthy(&clients.ecs, &family, &[]).await?;
        let tag = |k: &str| td.tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        let image = td
            .container_definitions
            .iter()
            .find(|c| c.name == s.name)
            .or_else(|| td.container_definitions.first())
            .map(|c| c.image.clone())
            .unwrap_or_default();
        let primary = s.primary().cloned();
        Ok::<_, AwsError>(Row {
            environment: env.name.clone(),
            service: s.name.clone(),
            state: "running".into(),
            image_tag: crate::live::image_tag(&image).map(str::to_string),
            git_sha: tag(history::GIT_SHA),
            revision: Some(crate::rollout::engine::short_arn(&s.task_definition).to_string()),
            running: Some(s.running_count),
            desired: Some(s.desired_count),
            rollout: primary.as_ref().and_then(|d| d.rollout_state.clone()),
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
        out.push(Row {
            environment: env.name.clone(),
            service: name,
            state: "not created".into(),
            image_tag: None,
            git_sha: None,
            revision: None,
            running: None,
            desired: None,
            rollout: None,
            deployments: None,
            last_healthy: None,
            updated_at: None,
        });
    }
    // In the environment file's order.
    out.sort_by_key(|r| names.iter().position(|n| *n == r.service));
    Ok(out)
}
