//! The environment model: loading `envs/*.hcl` into validated [`Environment`]s.
//!
//! `envs/<name>.hcl` is one environment. Files whose name starts with `_` are not environments:
//! `_shared.hcl` holds what every environment shares (services, repositories, roles) and each
//! environment file is merged over it (see [`tree::merge`]). Loading never touches the network;
//! Terraform outputs and deploy inputs arrive through the [`Scope`].

pub mod decode;
pub mod model;
pub mod schema;
pub mod tree;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Severity, Sink, SourceMap};

pub use model::Environment;
pub use tree::{block_lines, GitVars, Scope};

pub const SHARED_FILE: &str = "_shared.hcl";

/// Environment files found in a directory, sorted by name.
pub fn discover(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("hcl") {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if stem.starts_with('_') {
            continue;
        }
        found.push((stem.to_string(), path));
    }
    found.sort();
    Ok(found)
}

/// The prefix of the git tags that version environment `name` (`deploy.tag_prefix`: the
/// environment file's, else the shared file's, else `v`), read before evaluation.
pub fn tag_prefix(dir: &Path, name: &str) -> String {
    [format!("{name}.hcl"), SHARED_FILE.to_string()]
        .iter()
        .find_map(|f| {
            let text = std::fs::read_to_string(dir.join(f)).ok()?;
            tree::literal_in_block(&text, "deploy", "tag_prefix")
        })
        .unwrap_or_else(|| "v".to_string())
}

/// Checks that `name` is an environment of `dir`, before anything is run for it.
pub fn check_name(dir: &Path, name: &str) -> Result<(), LoadError> {
    let available = discover(dir).map_err(|source| LoadError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    if available.iter().any(|(a, _)| a == name) {
        return Ok(());
    }
    Err(LoadError::UnknownEnvironment {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        available: available.into_iter().map(|(a, _)| a).collect(),
    })
}

/// What a load produced: the environments that decoded cleanly and every diagnostic.
pub struct Loaded {
    pub sources: SourceMap,
    pub envs: Vec<Environment>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn has_errors(&self, strict: bool) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error || (strict && d.severity == Severity::Warning))
    }
}

/// Loads, evaluates, decodes and validates the named environments (all when `names` is empty).
/// `scope_for` supplies each environment's evaluation scope (its Terraform outputs differ).
pub fn load(
    dir: &Path,
    names: &[String],
    scope_for: &dyn Fn(&str) -> Scope,
) -> Result<Loaded, LoadError> {
    let available = discover(dir).map_err(|source| LoadError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let selected: Vec<(String, PathBuf)> = if names.is_empty() {
        if available.is_empty() {
            return Err(LoadError::NoEnvironments(dir.to_path_buf()));
        }
        available.clone()
    } else {
        let mut out = Vec::new();
        for n in names {
            match available.iter().find(|(a, _)| a == n) {
                Some(found) => out.push(found.clone()),
                None => {
                    return Err(LoadError::UnknownEnvironment {
                        name: n.clone(),
                        dir: dir.to_path_buf(),
                        available: available.iter().map(|(a, _)| a.clone()).collect(),
                    })
                }
            }
        }
        out
    };

    let mut sources = SourceMap::default();
    let sink = Sink::default();
    let shared_path = dir.join(SHARED_FILE);
    let shared_text = match std::fs::read_to_string(&shared_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(LoadError::Read {
                path: shared_path,
                source,
            })
        }
    };
    let shared_file = shared_text.map(|t| sources.add(shared_path.clone(), t));

    let mut envs = Vec::new();
    for (name, path) in selected {
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let file = sources.add(path, text);
        let scope = scope_for(&name);
        // The shared file is evaluated once per environment: `env.name` and the Terraform
        // outputs differ between environments.
        let base = match shared_file {
            Some(sf) => match tree::parse_file(sources.text(sf), sf, &scope, &sink) {
                Some(b) => Some(b),
                None => continue,
            },
            None => None,
        };
        let Some(body) = tree::parse_file(sources.text(file), file, &scope, &sink) else {
            continue;
        };
        let merged = match base {
            Some(b) => {
                for (block, meant) in tree::near_misses(&b, &body) {
                    let (label, loc) = &block.labels[0];
                    sink.push(
                        Diagnostic::warning(
                            "new-block",
                            format!("{} \"{label}\" overlays nothing in {SHARED_FILE}: it declares a new {}", block.ident, block.ident),
                        )
                        .at(loc)
                        .help(format!("did you mean to override {} \"{meant}\"?", block.ident)),
                    );
                }
                tree::merge(b, body)
            }
            None => body,
        };
        if let Some(mut env) = schema::decode(&name, file, &merged, &sink) {
            schema::fill_managed_sites(&mut env, &scope, &sink);
            validate::validate(&env, &sink);
            envs.push(env);
        }
    }
    let mut diagnostics = sink.into_vec();
    dedup(&mut diagnostics);
    Ok(Loaded {
        sources,
        envs,
        diagnostics,
    })
}

/// The shared file is checked once per environment; report each of its problems once.
fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| {
        seen.insert((
            d.code,
            d.message.clone(),
            d.loc.as_ref().map(|l| (l.file, l.span.start, l.span.end)),
        ))
    });
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The environments directory cannot be listed.
    #[error("cannot read environments directory {}: {source}", dir.display())]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// A file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--env NAME` names no file.
    #[error("no environment `{name}` in {}{}; environments there: {}", dir.display(), crate::suggest::did_you_mean(name, available.iter().map(String::as_str)).map_or_else(String::new, |s| format!(" (did you mean `{s}`?)")), if available.is_empty() { "(none)".to_string() } else { available.join(", ") })]
    UnknownEnvironment {
        name: String,
        dir: PathBuf,
        available: Vec<String>,
    },
    /// The directory has no `*.hcl` environment files.
    #[error("no environment files (*.hcl) in {}", .0.display())]
    NoEnvironments(PathBuf),
}
