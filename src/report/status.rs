//! `slipway status` for a terminal.

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::rollout::status::Row;

pub fn table(rows: &[Row]) -> String {
    let mut b = Builder::default();
    b.push_record([
        "env",
        "service",
        "image tag",
        "commit",
        "version",
        "revision",
        "tasks",
        "rollout",
        "last healthy",
        "updated",
    ]);
    for r in rows {
        let dash = || "–".to_string();
        b.push_record([
            r.environment.clone(),
            r.service.clone(),
            r.image_tag.clone().unwrap_or_else(dash),
            r.git_sha
                .as_deref()
                .map_or_else(dash, |s| s[..s.len().min(7)].to_string()),
            r.version.clone().unwrap_or_else(dash),
            r.revision.clone().unwrap_or_else(|| r.state.clone()),
            match (r.running, r.desired) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                _ => dash(),
            },
            match (&r.strategy, &r.stage) {
                (Some(st), Some(stage)) => format!("{st}: {stage}"),
                (Some(st), None) => st.clone(),
                _ => r.rollout.clone().unwrap_or_else(dash),
            },
            r.last_healthy.clone().unwrap_or_else(dash),
            r.updated_at.clone().unwrap_or_else(dash),
        ]);
    }
    let mut t = b.build();
    t.with(Style::rounded());
    t.to_string()
}
