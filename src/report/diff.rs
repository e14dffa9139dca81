//! The ECS diff for a terminal: a summary table, then each changed service's unified diff
//! (coloured on a terminal).

use std::fmt::Write;

use owo_colors::OwoColorize;
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::diff::{Action, ServiceDiff};

/// `…/scr/api:1a2b3c4` → `api:1a2b3c4`: the part of an image reference people read.
pub fn short_image(image: &str) -> &str {
    image.rsplit('/').next().unwrap_or(image)
}

/// "api:old → api:new", or one image when it does not change.
pub fn image_change(d: &ServiceDiff) -> String {
    match (d.image_live.as_deref(), d.image_new.as_deref()) {
        (Some(a), Some(b)) if a == b => short_image(a).to_string(),
        (Some(a), Some(b)) => format!("{} → {}", short_image(a), short_image(b)),
        (None, Some(b)) => format!("(none) → {}", short_image(b)),
        (Some(a), None) => short_image(a).to_string(),
        (None, None) => String::new(),
    }
}

pub fn change_count(d: &ServiceDiff) -> String {
    match d.action {
        Action::Update => d.changes.len().to_string(),
        Action::Create => "new".to_string(),
        Action::Unchanged => "0".to_string(),
        Action::Orphan => "–".to_string(),
    }
}

/// One line: "2 to update, 1 to create, 3 unchanged".
pub fn verdict(diffs: &[ServiceDiff]) -> String {
    let count = |a: Action| diffs.iter().filter(|d| d.action == a).count();
    let mut parts = Vec::new();
    for (a, word) in [
        (Action::Create, "to create"),
        (Action::Update, "to update"),
        (Action::Unchanged, "unchanged"),
        (Action::Orphan, "not in the environment file"),
    ] {
        let n = count(a);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    if parts.is_empty() {
        return "no services".to_string();
    }
    let head = if diffs.iter().any(ServiceDiff::has_changes) {
        "ECS services"
    } else {
        "No ECS changes. Services"
    };
    format!("{head}: {}", parts.join(", "))
}

pub fn table(diffs: &[ServiceDiff]) -> String {
    let mut b = Builder::default();
    b.push_record(["service", "action", "live revision", "image", "changes"]);
    for d in diffs {
        b.push_record([
            d.service.clone(),
            d.action.word().to_string(),
            d.live_revision
                .map_or_else(|| "–".to_string(), |r| r.to_string()),
            image_change(d),
            change_count(d),
        ]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    t.to_string()
}

fn colour_line(line: &str, color: bool) -> String {
    if !color {
        return line.to_string();
    }
    if line.starts_with("+++") || line.starts_with("---") {
        line.bold().to_string()
    } else if line.starts_with('+') {
        line.green().to_string()
    } else if line.starts_with('-') {
        line.red().to_string()
    } else if line.starts_with("@@") {
        line.cyan().to_string()
    } else {
        line.to_string()
    }
}

/// The whole text report.
pub fn text(env: &str, diffs: &[ServiceDiff], color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{env}: {}", verdict(diffs));
    let _ = writeln!(out, "{}", table(diffs));
    for d in diffs {
        if let Some(note) = &d.note {
            let _ = writeln!(out, "note: {}: {note}", d.service);
        }
    }
    for d in diffs.iter().filter(|d| !d.diff.is_empty()) {
        let title = match d.action {
            Action::Update => format!(
                "{}: {} change{}",
                d.service,
                d.changes.len(),
                if d.changes.len() == 1 { "" } else { "s" }
            ),
            _ => format!("{}: {}", d.service, d.action.word()),
        };
        let _ = writeln!(out, "\n── {title}");
        for c in &d.changes {
            let _ = writeln!(out, "   {} {}", c.kind, c.path);
        }
        for line in d.diff.lines() {
            let _ = writeln!(out, "{}", colour_line(line, color));
        }
    }
    out
}
