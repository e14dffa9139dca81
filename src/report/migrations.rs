//! How migration findings are shown: text for a terminal or a log, GitHub Actions annotations,
//! and the "Migrations" section of the pull request comment.

use std::fmt::Write;

use crate::migrations::pending::{Report, Verdict};
use crate::migrations::{counts, Severity};

/// `3 findings in 2 files: 1 critical, 1 high, 1 medium; 2 block`.
pub fn summary(files: usize, findings: &[Verdict]) -> String {
    let f: Vec<_> = findings.iter().map(|v| v.finding.clone()).collect();
    let by: Vec<String> = counts(&f)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let blocking = findings.iter().filter(|v| v.blocking).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    if findings.is_empty() {
        return format!("no findings in {}", plural(files, "file"));
    }
    format!(
        "{} in {}: {}; {} block",
        plural(findings.len(), "finding"),
        plural(files, "file"),
        by.join(", "),
        blocking
    )
}

/// One finding for a log: place, severity, rule, message, the statement, the advice.
pub fn finding_text(v: &Verdict) -> String {
    let f = &v.finding;
    let mut s = format!(
        "{}:{}:{}: {} {}{}\n  {}\n  | {}",
        f.file,
        f.line,
        f.column,
        f.severity,
        f.rule,
        if v.blocking { " (blocking)" } else { "" },
        f.message,
        f.statement
    );
    if let Some(h) = &f.help {
        let _ = write!(s, "\n  help: {h}");
    }
    s
}

pub fn text(title: Option<&str>, r: &Report) -> String {
    let mut out = String::new();
    if let Some(t) = title {
        let _ = writeln!(out, "{t}");
    }
    for (service, scope) in &r.scope {
        let _ = writeln!(out, "  {service}: {scope}");
    }
    for v in &r.findings {
        let _ = writeln!(out, "{}", finding_text(v));
    }
    let _ = writeln!(out, "{}", summary(r.files.len(), &r.findings));
    out
}

/// GitHub Actions workflow commands: `::error` for blocking findings, `::warning` otherwise.
pub fn annotations(r: &Report) -> String {
    // https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn prop(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for v in &r.findings {
        let f = &v.finding;
        let level = if v.blocking { "error" } else { "warning" };
        let mut message = f.message.clone();
        if let Some(h) = &f.help {
            message.push('\n');
            message.push_str(h);
        }
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            prop(&f.file),
            f.line,
            f.column,
            f.end_line,
            f.end_column,
            prop(&format!("{} {}", f.severity, f.rule)),
            data(&message)
        );
    }
    out
}

fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🔴",
        Severity::High => "🟠",
        Severity::Medium => "🟡",
        Severity::Low => "⚪",
    }
}

/// The pull request comment's "Migrations" section, within `budget` characters: the counts,
/// then each finding (worst first) until the budget is spent, then how many were left out.
pub fn comment_section(r: &Report, budget: usize) -> String {
    let mut out = String::from("### Migrations\n\n");
    if r.files.is_empty() {
        out.push_str("No migration files to lint.\n");
        return out;
    }
    let f: Vec<_> = r.findings.iter().map(|v| v.finding.clone()).collect();
    let _ = writeln!(
        out,
        "{} linted. | {} |\n",
        if r.files.len() == 1 {
            "1 file".to_string()
        } else {
            format!("{} files", r.files.len())
        },
        counts(&f)
            .iter()
            .map(|(s, n)| format!("{} {s}: {n}", icon(*s)))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let blocking = r.blocking().count();
    if blocking > 0 {
        let _ = writeln!(
            out,
            "**{blocking} blocking:** apply, deploy and `migrate run` refuse them until {}.\n",
            if r.override_text.is_empty() {
                "they are overridden"
            } else {
                r.override_text.as_str()
            }
        );
    }
    let mut left = 0;
    for v in &r.findings {
        let fi = &v.finding;
        let mut item = format!(
            "- {} **{}** `{}` `{}:{}`{}: {}\n  ```sql\n  {}\n  ```\n",
            icon(fi.severity),
            fi.severity,
            fi.rule,
            fi.file,
            fi.line,
            if v.blocking { " (blocking)" } else { "" },
            fi.message,
            fi.statement.replace("```", "` ` `")
        );
        if let Some(h) = &fi.help {
            let _ = writeln!(item, "  _{h}_");
        }
        if left > 0 || out.len() + item.len() + 200 > budget {
            left += 1;
            continue;
        }
        out.push_str(&item);
    }
    if left > 0 {
        let _ = writeln!(
            out,
            "\n…and {left} more (the plan file and `slipway lint-migrations` list them all)."
        );
    }
    out
}
