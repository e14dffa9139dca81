//! `slipway validate`: load every (or each named) environment and report all problems at once.

use serde::Serialize;

use crate::cli::{Format, ValidateArgs};
use crate::diag::{JsonDiagnostic, Severity};
use crate::exit::Exit;
use crate::output::Printer;
use crate::terraform::Outputs;

#[derive(Serialize)]
struct Report {
    ok: bool,
    environments: Vec<String>,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic>,
}

pub fn run(s: &crate::settings::Settings, args: &ValidateArgs, p: &Printer) -> Exit {
    let outputs = match &args.tf_outputs {
        Some(f) => match Outputs::from_file(f) {
            Ok(o) => Some(o),
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        },
        None => None,
    };
    let loaded = match crate::env::load(&s.envs_dir, &args.envs, &|name| {
        super::scope(
            name,
            outputs.as_ref(),
            None,
            super::git_for(s, name).as_ref(),
            true,
        )
    }) {
        Ok(l) => l,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    let strict = args.strict;
    let count = |s: Severity| {
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    let (mut errors, mut warnings) = (count(Severity::Error), count(Severity::Warning));
    if strict {
        errors += warnings;
        warnings = 0;
    }
    let ok = errors == 0;
    match p.format {
        Format::Json => p.json(&Report {
            ok,
            environments: loaded.envs.iter().map(|e| e.name.clone()).collect(),
            errors,
            warnings,
            diagnostics: loaded
                .diagnostics
                .iter()
                .map(|d| {
                    let mut j = loaded.sources.to_json(d);
                    if strict {
                        j.severity = Severity::Error;
                    }
                    j
                })
                .collect(),
        }),
        Format::Text => {
            p.diagnostics(&loaded.sources, &loaded.diagnostics, strict);
            let names: Vec<&str> = loaded.envs.iter().map(|e| e.name.as_str()).collect();
            if ok {
                p.line(format!(
                    "ok: {} environment{} valid ({}){}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", "),
                    if warnings > 0 {
                        format!(
                            ", {warnings} warning{}",
                            if warnings == 1 { "" } else { "s" }
                        )
                    } else {
                        String::new()
                    }
                ));
            } else {
                p.note(format!(
                    "validation failed: {errors} error{}, {warnings} warning{}",
                    if errors == 1 { "" } else { "s" },
                    if warnings == 1 { "" } else { "s" }
                ));
            }
        }
    }
    if ok {
        Exit::Ok
    } else {
        Exit::Error
    }
}
