//! Which migration files an environment would run, and the environment's verdict on them.
//!
//! Each service's `migration { sql = [...] }` globs name its migration files, relative to the
//! repository root. Files that ran long ago are not the question: what matters is what changed
//! since the commit the service runs now. So the files linted are, per service, those its globs
//! match that changed between a base commit and HEAD:
//! - the base given (`--migrations-base`, `lint-migrations --base`);
//! - else the commit the live revision was deployed from (its `slipway:git-sha` tag);
//! - else, for a service slipway never deployed, every file its globs match.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::{Finding, RuleConfig, Severity};
use crate::env::model::Environment;

/// The linted migrations of one environment: recorded in the plan file (so in its fingerprint)
/// and gated on by apply, deploy and `migrate run`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// How the files were chosen, per service: `changed since <sha>`, `every file`, ...
    pub scope: BTreeMap<String, String>,
    /// Every file linted, repository-relative.
    pub files: Vec<String>,
    /// Worst first, then by file and place.
    pub findings: Vec<Verdict>,
    /// What would let blocking findings through (the refusal and the PR comment say it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub override_text: String,
}

/// A finding, and whether it blocks (at or above the `block_on` of a service that runs it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    #[serde(flatten)]
    pub finding: Finding,
    pub blocking: bool,
    /// The lowest severity that blocks for this file.
    pub block_on: Severity,
}

impl Report {
    pub fn blocking(&self) -> impl Iterator<Item = &Verdict> {
        self.findings.iter().filter(|v| v.blocking)
    }
}

/// Where each service's files are compared from.
#[derive(Clone, Debug)]
pub enum Base {
    /// One commit for every service.
    Given(String),
    /// Per service label: the live revision's commit, or `None` (never deployed by slipway).
    PerService(BTreeMap<String, Option<String>>),
    /// Every file the globs match.
    All,
}

/// The repository root the `sql` globs are relative to: the git working directory holding the
/// environments directory, else its parent.
pub fn repo_root(envs_dir: &Path) -> PathBuf {
    if let Ok(repo) = git2::Repository::discover(envs_dir) {
        if let Some(w) = repo.workdir() {
            return w.to_path_buf();
        }
    }
    let abs = std::fs::canonicalize(envs_dir).unwrap_or_else(|_| envs_dir.to_path_buf());
    abs.parent().map_or(abs.clone(), Path::to_path_buf)
}

pub fn glob_set(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("`{p}` is not a glob: {e}"))?;
        b.add(g);
    }
    b.build().map_err(|e| e.to_string())
}

/// Every file under `root` that `patterns` match, repository-relative and sorted. Only the
/// directories the patterns can reach are walked (their literal prefixes); `.git` never is.
pub fn matching(root: &Path, patterns: &[String]) -> Result<Vec<String>, String> {
    let set = glob_set(patterns)?;
    let mut starts: BTreeSet<PathBuf> = BTreeSet::new();
    for p in patterns {
        let literal: Vec<&str> = p
            .split('/')
            .take_while(|c| !c.contains(['*', '?', '[', '{']))
            .collect();
        // A pattern that is a plain path names a file: walk its directory.
        let dirs = if literal.len() == p.split('/').count() {
            &literal[..literal.len().saturating_sub(1)]
        } else {
            &literal[..]
        };
        starts.insert(dirs.iter().collect());
    }
    let mut out = BTreeSet::new();
    for start in starts {
        walk(root, &root.join(&start), &set, &mut out);
    }
    Ok(out.into_iter().collect())
}

fn walk(root: &Path, dir: &Path, set: &GlobSet, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            if e.file_name() != ".git" {
                walk(root, &path, set, out);
            }
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if set.is_match(&rel) {
                out.insert(rel);
            }
        }
    }
}

/// The environment's rule choices: the `migration` block's `rules`.
pub fn rule_config(env: &Environment) -> RuleConfig {
    RuleConfig {
        overrides: env
            .migrations
            .rules
            .iter()
            .map(|(k, v)| (k.v.clone(), v.v))
            .collect(),
    }
}

/// Lints what `env` would run, chosen by `base`. `Err` is a problem with the inputs (a glob, a
/// base commit this clone lacks, an unreadable file): exit 1, nothing linted.
pub fn report(root: &Path, env: &Environment, base: &Base) -> Result<Report, String> {
    let config = rule_config(env);
    let default_block = env.migrations.block_on.v;
    // file → the strictest block_on of the services that run it.
    let mut files: BTreeMap<String, Severity> = BTreeMap::new();
    let mut scope = BTreeMap::new();
    let mut changed_cache: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for svc in &env.services {
        let Some(m) = &svc.migration else { continue };
        if m.sql.is_empty() {
            continue;
        }
        let patterns: Vec<String> = m.sql.iter().map(|s| s.v.clone()).collect();
        let all = matching(root, &patterns)?;
        let base_of = match base {
            Base::Given(b) => Some(b.clone()),
            Base::PerService(map) => map.get(&svc.name.v).cloned().flatten(),
            Base::All => None,
        };
        let chosen: Vec<String> = match &base_of {
            None => {
                scope.insert(
                    svc.name.v.clone(),
                    match base {
                        Base::All => "every file the globs match".to_string(),
                        _ => "every file the globs match (no revision deployed by slipway)"
                            .to_string(),
                    },
                );
                all
            }
            Some(b) => {
                if !changed_cache.contains_key(b) {
                    let changes = crate::git::changes(root, b).map_err(|e| e.to_string())?;
                    changed_cache.insert(
                        b.clone(),
                        changes.files.into_iter().map(|f| f.path).collect(),
                    );
                }
                let changed = &changed_cache[b];
                scope.insert(
                    svc.name.v.clone(),
                    format!("changed since {}", &b[..b.len().min(12)]),
                );
                all.into_iter().filter(|f| changed.contains(f)).collect()
            }
        };
        let block = m.block_on.as_ref().map_or(default_block, |b| b.v);
        for f in chosen {
            let e = files.entry(f).or_insert(block);
            *e = (*e).min(block);
        }
    }
    let texts: Vec<(String, Severity, String)> = files
        .into_iter()
        .map(|(f, block)| {
            let text = std::fs::read(root.join(&f))
                .map_err(|e| format!("{f}: {e}"))
                .map(|b| String::from_utf8_lossy(&b).into_owned())?;
            Ok((f, block, text))
        })
        .collect::<Result<_, String>>()?;
    let findings = lint_many(&texts, &config);
    Ok(Report {
        scope,
        files: texts.iter().map(|(f, _, _)| f.clone()).collect(),
        findings,
        override_text: crate::gate::migrations::override_text(env),
    })
}

/// Lints files on every core, and returns the verdicts worst first.
pub fn lint_many(files: &[(String, Severity, String)], config: &RuleConfig) -> Vec<Verdict> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Vec<Verdict>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((name, block, text)) = files.get(i) else {
                            break;
                        };
                        let verdicts = super::lint(name, text, config)
                            .into_iter()
                            .map(|f| Verdict {
                                blocking: f.severity >= *block,
                                block_on: *block,
                                finding: f,
                            })
                            .collect();
                        mine.push((i, verdicts));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    let mut all: Vec<Verdict> = results.into_iter().flat_map(|(_, v)| v).collect();
    all.sort_by(|a, b| b.finding.severity.cmp(&a.finding.severity));
    all
}

/// The commit each service's live revision was deployed from (`slipway:git-sha`), by label.
pub fn live_bases(env: &Environment, live: &crate::live::Live) -> BTreeMap<String, Option<String>> {
    env.services
        .iter()
        .filter(|s| s.migration.as_ref().is_some_and(|m| !m.sql.is_empty()))
        .map(|s| {
            let sha = live.task_definition_of(&s.name.v).and_then(|(_, td)| {
                td.tags
                    .iter()
                    .find(|t| t.key == crate::naming::revision_tag::GIT_SHA)
                    .map(|t| t.value.clone())
            });
            (s.name.v.clone(), sha)
        })
        .collect()
}

/// Does any service of `env` name migration files?
pub fn has_sql(env: &Environment) -> bool {
    env.services
        .iter()
        .any(|s| s.migration.as_ref().is_some_and(|m| !m.sql.is_empty()))
}
