//! The Terraform plan summary as a terminal table and as a Markdown section.

use std::fmt::Write;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::terraform::plan::{Action, PlanSummary, ResourceLine};

/// How many resources a listing shows before saying how many more there are.
const LIST_LIMIT: usize = 50;

fn counts_rows(s: &PlanSummary) -> Vec<(&'static str, usize)> {
    let c = &s.counts;
    let mut rows = vec![
        ("create", c.create),
        ("update", c.update),
        ("replace", c.replace),
        ("delete", c.delete),
        ("read", c.read),
        ("no-op", c.no_op),
    ];
    if c.forget > 0 {
        rows.push(("forget", c.forget));
    }
    rows.push(("moved", s.moved));
    rows.push(("imported", s.imported));
    rows
}

fn warning(r: &ResourceLine) -> String {
    let what = if r.action == Action::Replace {
        "replaced"
    } else {
        "deleted"
    };
    if r.stateful {
        format!(
            "DANGER: {} ({}) will be {what}: it holds data or others depend on it",
            r.address, r.kind
        )
    } else {
        format!("warning: {} will be {what}", r.address)
    }
}

pub fn text(s: &PlanSummary) -> String {
    let mut out = String::new();
    if s.errored {
        out.push_str("error: Terraform stopped on an error; this plan is incomplete\n");
    }
    for r in s.destructive() {
        let _ = writeln!(out, "{}", warning(r));
    }
    let mut b = Builder::default();
    b.push_record(["change", "count"]);
    for (k, v) in counts_rows(s) {
        b.push_record([k.to_string(), v.to_string()]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    let _ = writeln!(out, "{t}");
    if !s.resources.is_empty() {
        let mut b = Builder::default();
        b.push_record(["action", "resource", "note"]);
        for r in s.resources.iter().take(LIST_LIMIT) {
            b.push_record([r.action.word().to_string(), r.address.clone(), note(r)]);
        }
        let mut t = b.build();
        t.with(Style::rounded());
        let _ = writeln!(out, "{t}");
        if s.resources.len() > LIST_LIMIT {
            let _ = writeln!(
                out,
                "… and {} more (use --format json for all)",
                s.resources.len() - LIST_LIMIT
            );
        }
    }
    if !s.drift.is_empty() {
        let _ = writeln!(out, "Changed outside Terraform (drift): {}", s.drift.len());
        for r in s.drift.iter().take(LIST_LIMIT) {
            let _ = writeln!(out, "  {} {}", r.action.symbol(), r.address);
        }
    }
    let changed = s.changed_outputs();
    if !changed.is_empty() {
        let _ = writeln!(out, "Output changes:");
        for o in changed {
            let _ = writeln!(
                out,
                "  {} {}{}",
                o.action.symbol(),
                o.name,
                if o.sensitive { " (sensitive)" } else { "" }
            );
        }
    }
    let _ = writeln!(out, "{}", verdict(s));
    out
}

fn note(r: &ResourceLine) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &r.previous_address {
        parts.push(format!("moved from {p}"));
    }
    if r.imported {
        parts.push("imported".to_string());
    }
    if r.stateful {
        parts.push("stateful".to_string());
    }
    if let Some(reason) = &r.reason {
        parts.push(reason.replace('_', " "));
    }
    parts.join("; ")
}

pub fn verdict(s: &PlanSummary) -> String {
    let c = &s.counts;
    if !s.has_changes() {
        return "No changes. Infrastructure matches the configuration.".to_string();
    }
    format!(
        "Plan: {} to add, {} to change, {} to replace, {} to destroy{}{}.",
        c.create,
        c.update,
        c.replace,
        c.delete,
        if s.moved > 0 {
            format!(", {} moved", s.moved)
        } else {
            String::new()
        },
        if s.imported > 0 {
            format!(", {} imported", s.imported)
        } else {
            String::new()
        },
    )
}

/// Markdown for PR comments and step summaries. Never contains values, only addresses.
pub fn markdown(s: &PlanSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Terraform\n");
    if s.errored {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> Terraform stopped on an error: this plan is incomplete.\n"
        );
    }
    let destructive = s.destructive();
    let stateful: Vec<_> = destructive.iter().filter(|r| r.stateful).collect();
    if !stateful.is_empty() {
        let _ = writeln!(out, "> [!CAUTION]\n> **Stateful resources will be deleted or replaced** (data loss or outage):");
        for r in &stateful {
            let _ = writeln!(
                out,
                "> - `{}` ({}) — {}",
                r.address,
                r.kind,
                r.action.word()
            );
        }
        out.push('\n');
    }
    let others: Vec<_> = destructive.iter().filter(|r| !r.stateful).collect();
    if !others.is_empty() {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> Resources will be deleted or replaced:"
        );
        for r in &others {
            let _ = writeln!(out, "> - `{}` — {}", r.address, r.action.word());
        }
        out.push('\n');
    }
    let _ = writeln!(out, "**{}**\n", verdict(s));
    let _ = writeln!(out, "| change | count |\n| --- | ---: |");
    for (k, v) in counts_rows(s) {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    if !s.resources.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} resource change{}</summary>\n",
            s.resources.len(),
            if s.resources.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(out, "| action | resource | note |\n| --- | --- | --- |");
        for r in s.resources.iter().take(LIST_LIMIT * 4) {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                r.action.word(),
                r.address,
                note(r)
            );
        }
        if s.resources.len() > LIST_LIMIT * 4 {
            let _ = writeln!(out, "\n… and {} more.", s.resources.len() - LIST_LIMIT * 4);
        }
        let _ = writeln!(out, "\n</details>");
    }
    if !s.drift.is_empty() {
        let _ = writeln!(
            out,
            "\n**Changed outside Terraform (drift):** {}\n",
            s.drift.len()
        );
        for r in s.drift.iter().take(LIST_LIMIT) {
            let _ = writeln!(out, "- `{}` — {}", r.address, r.action.word());
        }
    }
    let changed = s.changed_outputs();
    if !changed.is_empty() {
        let _ = writeln!(
            out,
            "\n**Output changes:** {}",
            changed
                .iter()
                .map(|o| format!(
                    "`{}` ({}{})",
                    o.name,
                    o.action.word(),
                    if o.sensitive { ", sensitive" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}
