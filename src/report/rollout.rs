//! Rollout results for a terminal.

use std::fmt::Write;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::rollout::engine::{short_arn, Report};

pub fn text(action: &str, r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{action} {}: {} in {:.1}s",
        r.environment,
        r.status.word(),
        r.duration_secs
    );
    for p in &r.problems {
        let _ = writeln!(out, "  - {p}");
    }
    if !r.services.is_empty() {
        let mut b = Builder::default();
        b.push_record(["service", "before", "deployed", "state"]);
        for s in &r.services {
            b.push_record([
                s.service.clone(),
                s.previous.as_deref().map_or("–", short_arn).to_string(),
                s.deployed.as_deref().map_or("–", short_arn).to_string(),
                s.state(),
            ]);
        }
        let mut t = b.build();
        t.with(Style::rounded());
        let _ = writeln!(out, "{t}");
    }
    for m in &r.migrations {
        let _ = writeln!(
            out,
            "migration {}: {} ({})",
            m.service,
            if m.passed { "passed" } else { "FAILED" },
            m.detail
        );
    }
    for s in &r.smoke {
        let _ = writeln!(
            out,
            "smoke {} {} {}: {} after {} attempt(s): {}",
            s.service,
            s.check,
            s.url,
            if s.passed { "passed" } else { "FAILED" },
            s.attempts,
            s.detail
        );
    }
    if let Some(secs) = r.rollback_started_after_secs {
        let _ = writeln!(
            out,
            "rollback started {:.2}s after the failure was noticed",
            secs
        );
    }
    out
}
