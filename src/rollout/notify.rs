//! Telling people how a rollout went: a Slack message (Block Kit) when the environment names a
//! webhook, and the GitHub job summary when running in Actions. A notification that cannot be
//! sent is a warning, never a failed deploy. The webhook URL is a secret: never printed.

use std::time::Duration;

use serde_json::{json, Value};

use crate::aws::Clients;
use crate::env::model::Environment;
use crate::settings::Settings;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub environment: String,
    /// deploy, rollback, promote
    pub action: String,
    /// succeeded, rolled back, rollback failed, refused, failed
    pub result: String,
    pub image_tag: Option<String>,
    pub git_sha: Option<String>,
    pub duration_secs: f64,
    pub services: Vec<ServiceLine>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ServiceLine {
    pub service: String,
    pub revision: String,
    pub state: String,
}

impl Report {
    /// The notification for a finished rollout: per service, the revision in place now.
    pub fn from_rollout(
        action: &str,
        r: &crate::rollout::engine::Report,
        image_tag: Option<&str>,
        git_sha: Option<String>,
    ) -> Report {
        Report {
            environment: r.environment.clone(),
            action: action.to_string(),
            result: r.status.word().to_string(),
            image_tag: image_tag.map(str::to_string),
            git_sha,
            duration_secs: r.duration_secs,
            services: r
                .services
                .iter()
                .map(|s| ServiceLine {
                    service: s.service.clone(),
                    revision: s
                        .rolled_back_to
                        .as_deref()
                        .or(s.deployed.as_deref())
                        .map_or("–", crate::rollout::engine::short_arn)
                        .to_string(),
                    state: s.state(),
                })
                .collect(),
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "## slipway {} · `{}` — {}\n\n",
            self.action, self.environment, self.result
        );
        if let Some(t) = &self.image_tag {
            out.push_str(&format!("Image tag `{t}`"));
            if let Some(sha) = &self.git_sha {
                out.push_str(&format!(" · commit `{}`", &sha[..sha.len().min(12)]));
            }
            out.push_str(&format!(" · {:.0}s\n\n", self.duration_secs));
        }
        out.push_str("| service | revision | state |\n| --- | --- | --- |\n");
        for s in &self.services {
            out.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                s.service, s.revision, s.state
            ));
        }
        out
    }

    pub fn slack(&self) -> Value {
        let icon = match self.result.as_str() {
            "succeeded" => ":white_check_mark:",
            "rolled back" => ":leftwards_arrow_with_hook:",
            _ => ":x:",
        };
        let services: String = self
            .services
            .iter()
            .map(|s| format!("• `{}` {} — {}", s.service, s.revision, s.state))
            .collect::<Vec<_>>()
            .join("\n");
        json!({
            "text": format!("slipway {} {}: {}", self.action, self.environment, self.result),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": format!("{} {} · {}", self.action, self.environment, self.result)}},
                {"type": "section", "fields": [
                    {"type": "mrkdwn", "text": format!("*Environment*\n{}", self.environment)},
                    {"type": "mrkdwn", "text": format!("*Result*\n{icon} {}", self.result)},
                    {"type": "mrkdwn", "text": format!("*Image*\n`{}`", self.image_tag.as_deref().unwrap_or("-"))},
                    {"type": "mrkdwn", "text": format!("*Commit*\n`{}`", self.git_sha.as_deref().map_or("-", |s| &s[..s.len().min(12)]))},
                    {"type": "mrkdwn", "text": format!("*Duration*\n{:.0}s", self.duration_secs)},
                ]},
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Services*\n{services}")}},
            ]
        })
    }
}

/// The webhook, from the environment variable or the secret the environment names.
async fn webhook(
    s: &Settings,
    env: &Environment,
    clients: &Clients,
) -> Result<Option<String>, String> {
    let Some(n) = &env.notifications else {
        return Ok(None);
    };
    if let Some(var) = &n.slack_webhook_env {
        if let Some(url) = s.var(&var.v) {
            return Ok(Some(url.to_string()));
        }
    }
    if let Some(secret) = &n.slack_webhook_secret {
        return crate::aws::secrets::value(&clients.secrets, &secret.v)
            .await
            .map(Some)
            .map_err(|e| format!("cannot read the Slack webhook secret {}: {e}", secret.v));
    }
    Ok(None)
}

/// Sends the report wherever the environment wants it; returns warnings.
pub async fn send(
    s: &Settings,
    env: &Environment,
    clients: &Clients,
    report: &Report,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Err(e) =
        crate::github::append_step_summary(s.actions.step_summary.as_deref(), &report.markdown())
    {
        warnings.push(format!("cannot append to GITHUB_STEP_SUMMARY: {e}"));
    }
    match webhook(s, env, clients).await {
        Ok(None) => {}
        Ok(Some(url)) => {
            let sent = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| e.to_string());
            let result = match sent {
                Ok(c) => c
                    .post(&url)
                    .json(&report.slack())
                    .send()
                    .await
                    .map_err(|e| e.without_url().to_string())
                    .and_then(|r| {
                        if r.status().is_success() {
                            Ok(())
                        } else {
                            Err(format!("Slack answered {}", r.status()))
                        }
                    }),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                warnings.push(format!("the Slack notification was not sent: {e}"));
            }
        }
        Err(e) => warnings.push(e),
    }
    warnings
}
