//! `slipway lint-migrations`: lints SQL migrations with squawk's parser and rules, at slipway's
//! severities. The files are those given, or those the environments' `migration { sql = [...] }`
//! globs match (changed since `--base` when it is given). Text (file:line:col, severity, rule,
//! the statement, the advice), `--format json`, and in GitHub Actions `::error`/`::warning`
//! annotations. Exit 1 when a finding blocks (at or above `block_on`), 0 otherwise.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{Format, LintMigrationsArgs};
use crate::exit::Exit;
use crate::migrations::pending::{self, Base, Report};
use crate::migrations::{RuleConfig, Severity};
use crate::output::Printer;
use crate::settings::Settings;

#[derive(Serialize)]
struct Out<'a> {
    /// Per environment (or `files` for files given on the command line).
    reports: &'a BTreeMap<String, Report>,
    blocking: usize,
}

pub fn run(s: &Settings, args: &LintMigrationsArgs, p: &Printer) -> Exit {
    let reports = match reports(s, args, p) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let blocking: usize = reports.values().map(|r| r.blocking().count()).sum();
    match p.format {
        Format::Json => p.json(&Out {
            reports: &reports,
            blocking,
        }),
        Format::Text => {
            let many = reports.len() > 1;
            for (name, r) in &reports {
                let title = many.then(|| format!("{name}:"));
                p.line(crate::report::migrations::text(title.as_deref(), r).trim_end());
                if s.actions.running {
                    let a = crate::report::migrations::annotations(r);
                    if !a.is_empty() {
                        p.line(a.trim_end());
                    }
                }
            }
        }
    }
    if blocking > 0 {
        Exit::Error
    } else {
        Exit::Ok
    }
}

fn reports(
    s: &Settings,
    args: &LintMigrationsArgs,
    p: &Printer,
) -> Result<BTreeMap<String, Report>, Exit> {
    let fail = |e: String| {
        p.error(e);
        Exit::Error
    };
    let names: Vec<String> = args.env.iter().cloned().collect();
    // Files given and no environment: the default rules; nothing to load.
    let loaded = if args.files.is_empty() || args.env.is_some() {
        Some(super::load_valid(
            &s.envs_dir,
            &names,
            &|name| super::scope(name, None, None, s.git.as_ref(), true),
            p,
            "refused: fix the problems above (`slipway validate` lists them all)",
        )?)
    } else {
        None
    };
    let mut out = BTreeMap::new();
    if !args.files.is_empty() {
        let env = loaded.as_ref().and_then(|l| l.envs.first());
        let config = env
            .map(pending::rule_config)
            .unwrap_or_else(RuleConfig::default);
        let block = env.map_or(Severity::High, |e| e.migrations.block_on.v);
        let mut files = Vec::new();
        for f in &args.files {
            let bytes = std::fs::read(f).map_err(|e| fail(format!("{}: {e}", f.display())))?;
            files.push((
                f.display().to_string(),
                block,
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        let findings = pending::lint_many(&files, &config);
        out.insert(
            env.map_or("files".to_string(), |e| e.name.clone()),
            Report {
                scope: BTreeMap::new(),
                files: files.into_iter().map(|(f, _, _)| f).collect(),
                findings,
                override_text: env
                    .map(crate::gate::migrations::override_text)
                    .unwrap_or_default(),
            },
        );
        return Ok(out);
    }
    let loaded = loaded.expect("loaded when no files are given");
    let root = pending::repo_root(&s.envs_dir);
    let base = args.base.clone().map_or(Base::All, Base::Given);
    for env in &loaded.envs {
        if !pending::has_sql(env) {
            if args.env.is_some() {
                p.note(format!(
                    "environment \"{}\" names no migration files (migration {{ sql = [...] }})",
                    env.name
                ));
            }
            continue;
        }
        let r = pending::report(&root, env, &base).map_err(fail)?;
        out.insert(env.name.clone(), r);
    }
    if out.is_empty() && args.env.is_none() {
        p.note("no environment names migration files (migration { sql = [...] } in a service)");
    }
    Ok(out)
}
