//! The PR comment for one environment's plan: Markdown, under GitHub's 65,536-character limit.
//!
//! Order: the hidden marker (so re-runs find and update the same comment), a one-line verdict,
//! counts, delete/replace warnings, Terraform changes, one collapsible diff per service, then the
//! fingerprint and how to apply. When the whole does not fit, diffs are shortened, then dropped,
//! then the Terraform resource list; the summary always stays and the comment says what was cut.

use std::fmt::Write;

use crate::diff::{Action, ServiceDiff};
use crate::planfile::PlanFile;
use crate::report;

/// GitHub's limit on a comment body, in characters.
pub const GITHUB_LIMIT: usize = 65_536;

/// The hidden marker that identifies an environment's comment.
pub fn marker(env: &str) -> String {
    format!("<!-- slipway:plan env={env} -->")
}

/// What the comment's hidden second line records, so that `apply` can tell which plan the
/// reviewers saw: the full fingerprint and the commit it was made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentMeta {
    pub fingerprint: String,
    pub commit: Option<String>,
}

const META: &str = "<!-- slipway:plan-meta";

fn meta_line(plan: &PlanFile) -> String {
    let commit = plan
        .git
        .as_ref()
        .map_or_else(String::new, |g| format!(" commit={}", g.sha));
    format!("{META} fingerprint={}{commit} -->", plan.fingerprint)
}

/// The metadata of a slipway plan comment's body, if it has any.
pub fn meta(body: &str) -> Option<CommentMeta> {
    let line = body.lines().find(|l| l.trim_start().starts_with(META))?;
    let inner = line.trim().strip_prefix(META)?.strip_suffix("-->")?;
    let mut fingerprint = None;
    let mut commit = None;
    for field in inner.split_whitespace() {
        match field.split_once('=') {
            Some(("fingerprint", v)) => fingerprint = Some(v.to_string()),
            Some(("commit", v)) => commit = Some(v.to_string()),
            _ => {}
        }
    }
    Some(CommentMeta {
        fingerprint: fingerprint.filter(|f| !f.is_empty())?,
        commit,
    })
}

/// Where the section an `apply` adds starts; a later apply replaces it.
const APPLIED: &str = "<!-- slipway:applied -->";

/// The comment `body` with `section` (what an apply did) in place of any earlier one. When the
/// result would pass GitHub's limit, the plan is rendered again with less detail to make room.
pub fn with_applied(body: &str, section: &str, plan: &PlanFile, apply_hint: &str) -> String {
    let keep = body.find(APPLIED).map_or(body, |i| &body[..i]).trim_end();
    let tail = format!("\n\n{APPLIED}\n{}\n", section.trim_end());
    let joined = format!("{keep}{tail}");
    if joined.chars().count() <= GITHUB_LIMIT {
        return joined;
    }
    let room = GITHUB_LIMIT.saturating_sub(tail.chars().count());
    format!("{}{tail}", render_within(plan, apply_hint, room).trim_end())
}

/// How much detail a rendering carries; each step down is smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Detail {
    Full,
    /// Each diff cut to this many lines.
    Diffs(usize),
    /// No diffs: each service's changed paths only.
    Paths,
    /// No per-service detail and no Terraform resource list.
    Summary,
}

/// The comment body. `apply_hint` is the exact command or workflow that applies the plan.
pub fn render(plan: &PlanFile, apply_hint: &str) -> String {
    render_within(plan, apply_hint, GITHUB_LIMIT)
}

/// The comment body in at most `limit` characters.
fn render_within(plan: &PlanFile, apply_hint: &str, limit: usize) -> String {
    let levels = [
        Detail::Full,
        Detail::Diffs(200),
        Detail::Diffs(40),
        Detail::Paths,
        Detail::Summary,
    ];
    for level in levels {
        let body = body(plan, apply_hint, level);
        if body.chars().count() <= limit {
            return body;
        }
    }
    // Even the summary is too long (thousands of services): cut it, and say so.
    let body = body(plan, apply_hint, Detail::Summary);
    let note = "\n\n_… cut here: the summary alone exceeds GitHub's 65,536-character limit; run `slipway plan` locally for the rest._\n";
    let keep = limit.saturating_sub(note.chars().count());
    body.chars().take(keep).collect::<String>() + note
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn verdict(plan: &PlanFile) -> String {
    let tf = plan.terraform.as_ref().map(|t| &t.summary);
    let tf_changes = tf.map_or(0, |s| s.counts.changes());
    let ecs_changes = plan.ecs.diffs.iter().filter(|d| d.has_changes()).count();
    if !plan.has_changes() {
        return "No changes: infrastructure and services match the configuration.".to_string();
    }
    let mut parts = Vec::new();
    if tf_changes > 0 {
        parts.push(format!(
            "Terraform: {}",
            plural(tf_changes, "resource change")
        ));
    } else if tf.is_some_and(|s| s.has_changes()) {
        parts.push("Terraform: moves, imports or output changes only".to_string());
    }
    if ecs_changes > 0 {
        parts.push(format!("ECS: {}", plural(ecs_changes, "service change")));
    }
    parts.join(" · ")
}

fn body(plan: &PlanFile, apply_hint: &str, detail: Detail) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(&plan.environment));
    let _ = writeln!(out, "{}", meta_line(plan));
    let _ = writeln!(out, "## slipway plan · `{}`\n", plan.environment);
    let _ = writeln!(out, "**{}**\n", verdict(plan));

    let count = |a: Action| plan.ecs.diffs.iter().filter(|d| d.action == a).count();
    let _ = writeln!(out, "| | create | update | replace | delete | unchanged |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
    if let Some(tf) = &plan.terraform {
        let c = &tf.summary.counts;
        let _ = writeln!(
            out,
            "| Terraform resources | {} | {} | {} | {} | {} |",
            c.create, c.update, c.replace, c.delete, c.no_op
        );
    }
    let _ = writeln!(
        out,
        "| ECS services | {} | {} | – | – | {} |",
        count(Action::Create),
        count(Action::Update),
        count(Action::Unchanged)
    );
    let orphans = count(Action::Orphan);
    if orphans > 0 {
        let _ = writeln!(
            out,
            "\n> [!NOTE]\n> {} in the cluster but not in the environment file (never deleted by slipway).",
            plural(orphans, "service runs")
        );
    }
    out.push('\n');

    if let Some(tf) = &plan.terraform {
        let mut section = report::plan::markdown(&tf.summary);
        if detail == Detail::Summary {
            // Keep warnings and counts; drop the resource list.
            if let Some(i) = section.find("\n<details>") {
                let end = section[i..]
                    .find("</details>")
                    .map_or(section.len(), |j| i + j + "</details>".len());
                section.replace_range(i..end, "\n_Resource list cut to fit the comment limit._");
            }
        }
        let _ = writeln!(out, "{section}");
    } else {
        let _ = writeln!(out, "### Terraform\n\n_Not planned (`--no-terraform`)._\n");
    }
    if !plan.sites.is_empty() {
        let _ = writeln!(out, "### Sites\n");
        let _ = writeln!(out, "| site | upload | delete | unchanged | live release |");
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | --- |");
        for s in &plan.sites {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                s.site,
                s.upload.len(),
                s.delete.len(),
                s.unchanged,
                s.current_release
                    .as_deref()
                    .map_or("–".to_string(), |r| format!("`{r}`"))
            );
        }
        out.push('\n');
    }
    if let Some(m) = &plan.migrations {
        let budget = match detail {
            Detail::Full => 20_000,
            Detail::Diffs(200) => 12_000,
            Detail::Diffs(_) => 6_000,
            Detail::Paths => 4_000,
            Detail::Summary => 1_500,
        };
        let _ = writeln!(out, "{}", report::migrations::comment_section(m, budget));
    }

    let _ = writeln!(out, "### ECS services\n");
    let _ = writeln!(
        out,
        "| service | action | live revision | image | changes |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | --- | ---: |");
    for d in &plan.ecs.diffs {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | `{}` | {} |",
            d.service,
            d.action.word(),
            d.live_revision
                .map_or_else(|| "–".to_string(), |r| r.to_string()),
            report::diff::image_change(d),
            report::diff::change_count(d)
        );
    }
    out.push('\n');
    let mut cut = Vec::new();
    for d in plan.ecs.diffs.iter().filter(|d| !d.diff.is_empty()) {
        service_section(&mut out, d, detail, &mut cut);
    }
    match detail {
        Detail::Full => {}
        Detail::Diffs(n) => {
            let _ = writeln!(out, "_Cut to fit GitHub's comment limit: diffs longer than {n} lines are shortened ({})._\n", cut.join(", "));
        }
        Detail::Paths => {
            let _ = writeln!(out, "_Cut to fit GitHub's comment limit: diffs are left out and only changed fields are listed; `slipway diff --env {}` shows them._\n", plan.environment);
        }
        Detail::Summary => {
            let _ = writeln!(out, "_Cut to fit GitHub's comment limit: per-service details and the Terraform resource list are left out; `slipway diff --env {}` shows them._\n", plan.environment);
        }
    }

    let _ = writeln!(out, "---");
    let git = plan.git.as_ref().map_or_else(String::new, |g| {
        format!(
            " at `{}`{}",
            &g.sha[..g.sha.len().min(12)],
            g.branch
                .as_ref()
                .map_or_else(String::new, |b| format!(" ({b})"))
        )
    });
    let _ = writeln!(
        out,
        "Plan fingerprint `{}`{git} · account `{}` · {} · slipway {}\n",
        plan.short_fingerprint(),
        plan.account_id,
        plan.region,
        plan.slipway_version
    );
    let _ = writeln!(out, "**Apply:** {apply_hint}");
    out
}

fn service_section(out: &mut String, d: &ServiceDiff, detail: Detail, cut: &mut Vec<String>) {
    if detail == Detail::Summary {
        return;
    }
    let what = match d.action {
        Action::Update => plural(d.changes.len(), "change"),
        _ => d.action.word().to_string(),
    };
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code> — {what}</summary>\n",
        d.service
    );
    if let Some(note) = &d.note {
        let _ = writeln!(out, "_{note}_\n");
    }
    if !d.changes.is_empty() {
        for c in d.changes.iter().take(50) {
            let _ = writeln!(out, "- {} `{}`", c.kind, c.path);
        }
        if d.changes.len() > 50 {
            let _ = writeln!(out, "- … and {} more", d.changes.len() - 50);
        }
        out.push('\n');
    }
    if detail != Detail::Paths {
        let lines: Vec<&str> = d.diff.lines().collect();
        let limit = match detail {
            Detail::Diffs(n) => n,
            _ => usize::MAX,
        };
        // A diff containing ``` would close the fence: use a longer one.
        let fence = if d.diff.contains("```") {
            "````"
        } else {
            "```"
        };
        let _ = writeln!(out, "{fence}diff");
        for l in lines.iter().take(limit) {
            let _ = writeln!(out, "{l}");
        }
        if lines.len() > limit {
            let _ = writeln!(out, "… {} more lines cut", lines.len() - limit);
            cut.push(format!(
                "`{}` {} of {} lines",
                d.service,
                limit,
                lines.len()
            ));
        }
        let _ = writeln!(out, "{fence}");
    }
    let _ = writeln!(out, "\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanFile {
        crate::planfile::sample("staging")
    }

    #[test]
    fn the_comment_records_what_apply_checks() {
        let p = plan();
        let body = render(&p, "hint");
        let m = meta(&body).expect("the comment has its hidden line");
        assert_eq!(m.fingerprint, p.fingerprint);
        assert_eq!(
            m.commit.as_deref(),
            Some("c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00")
        );
        assert_eq!(meta("<!-- slipway:plan env=staging -->\nno meta"), None);
        assert_eq!(meta("<!-- slipway:plan-meta commit=abc -->"), None);
    }

    #[test]
    fn an_apply_section_replaces_the_last_one_and_keeps_within_the_limit() {
        let p = plan();
        let body = render(&p, "hint");
        let once = with_applied(&body, "### Applied: first", &p, "hint");
        let twice = with_applied(&once, "### Applied: second", &p, "hint");
        assert!(
            twice.contains("second") && !twice.contains("first"),
            "{twice}"
        );
        assert!(twice.starts_with(&marker("staging")));
        let huge = "x".repeat(GITHUB_LIMIT);
        let cut = with_applied(&huge, "### Applied: third", &p, "hint");
        assert!(cut.chars().count() <= GITHUB_LIMIT);
        assert!(
            cut.contains("third") && meta(&cut).is_some(),
            "the plan is rendered again to fit"
        );
    }
}
