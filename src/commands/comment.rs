//! `slipway comment`: the plan as one pull request comment per environment, created once and
//! updated in place (found by its hidden marker), and appended to the job summary.

use std::path::Path;

use serde_json::json;

use crate::cli::{CommentArgs, Format, GitHubArgs};
use crate::exit::Exit;
use crate::github::{self, GitHub};
use crate::output::Printer;
use crate::planfile::PlanFile;
use crate::report::comment;

pub async fn run(s: &crate::settings::Settings, args: &CommentArgs, p: &Printer) -> Exit {
    let plan = match PlanFile::read(&args.plan) {
        Ok(plan) => plan,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    if args.dry_run {
        p.line(comment::render(
            &plan,
            &apply_hint(&plan, &args.plan, &args.github),
        ));
        return Exit::Ok;
    }
    post(s, &plan, &args.plan, &args.github, p).await
}

/// What the comment tells reviewers to run.
pub fn apply_hint(plan: &PlanFile, plan_path: &Path, gh: &GitHubArgs) -> String {
    if let Some(h) = &gh.apply_hint {
        return h.clone();
    }
    format!(
        "`slipway apply --env {} --plan {} --fingerprint {}`",
        plan.environment,
        plan_path.display(),
        plan.short_fingerprint()
    )
}

pub async fn post(
    s: &crate::settings::Settings,
    plan: &PlanFile,
    plan_path: &Path,
    gh: &GitHubArgs,
    p: &Printer,
) -> Exit {
    let body = comment::render(plan, &apply_hint(plan, plan_path, gh));
    match github::append_step_summary(s.actions.step_summary.as_deref(), &body) {
        Ok(true) => p.note("appended the plan to the job summary (GITHUB_STEP_SUMMARY)"),
        Ok(false) => {}
        Err(e) => p.note(format!(
            "warning: cannot append to GITHUB_STEP_SUMMARY: {e}"
        )),
    }
    let result = async {
        let number = match gh.pr {
            Some(n) => n,
            None => github::pr_from_event(s.actions.event_path.as_deref())?,
        };
        let client = GitHub::from_settings(&s.actions, gh.repository.as_deref())?;
        let posted = client
            .upsert_comment(number, &comment::marker(&plan.environment), &body)
            .await?;
        Ok::<_, github::GitHubError>((client.repository, number, posted))
    }
    .await;
    match result {
        Ok((repo, number, posted)) => {
            match p.format {
                Format::Json => p.json(&json!({
                    "repository": repo,
                    "pr": number,
                    "comment_id": posted.id,
                    "created": posted.created,
                    "url": posted.url,
                    "characters": body.chars().count(),
                })),
                Format::Text => p.note(format!(
                    "{} the plan comment on {repo}#{number}{}",
                    if posted.created { "created" } else { "updated" },
                    posted.url.map_or_else(String::new, |u| format!(": {u}"))
                )),
            }
            Exit::Ok
        }
        Err(e) => {
            p.error(e);
            Exit::Error
        }
    }
}
