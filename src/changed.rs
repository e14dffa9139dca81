//! Which services a change touches: the services whose `paths` globs match a changed file, and
//! the services an edit of an environment file reaches. What changed comes from git
//! ([`crate::git::changes`]); this module only decides, so the rules can be tested on their own.
//!
//! An environment file's change selects the services whose `service "<name>"` block holds a
//! changed line (in the file as it is, or as it was for removed lines). A change anywhere else
//! in the file (top-level settings, `alb`, `approval`, ...) selects every service of that
//! environment; in `_shared.hcl`, every service of every environment. Files outside the
//! environments directory select only through `paths`: a change to docs or tests alone selects
//! nothing.

use std::collections::BTreeMap;

use globset::{GlobSet, GlobSetBuilder};

use crate::git::FileChange;

/// One environment as selection sees it: its services and their `paths` globs.
#[derive(Clone, Debug)]
pub struct EnvPaths {
    pub name: String,
    pub services: Vec<(String, Vec<String>)>,
}

/// The services selected, per environment, each with why.
pub type Selection = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// A changed file's text at HEAD and at the base (either absent when the file is).
pub type Texts = (Option<String>, Option<String>);

/// Each service's name, its `paths` matcher, and the patterns (to say which matched).
type Matchers<'a> = Vec<(&'a str, GlobSet, &'a [String])>;

/// An environment file's text now and at the base, to place changed lines in service blocks.
pub struct EnvFileTexts<'a> {
    pub new: Option<&'a str>,
    pub old: Option<&'a str>,
}

/// What a changed environment file touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Touched {
    /// Only these services' blocks.
    Services(Vec<String>),
    /// Something outside any service block: the whole environment.
    Everything,
}

/// Which service blocks of an environment file a change's lines fall in.
pub fn touched(change: &FileChange, texts: &EnvFileTexts<'_>) -> Touched {
    let mut services = Vec::new();
    for (text, lines) in [
        (texts.new, &change.new_lines),
        (texts.old, &change.old_lines),
    ] {
        if lines.is_empty() {
            continue;
        }
        // A file that does not parse (or is gone) cannot be placed: assume all of it changed.
        let Some(blocks) = text.and_then(|t| crate::env::block_lines(t, "service")) else {
            return Touched::Everything;
        };
        for line in lines {
            match blocks.iter().find(|(_, a, b)| a <= line && line <= b) {
                Some((label, _, _)) => services.push(label.clone()),
                None => return Touched::Everything,
            }
        }
    }
    services.sort();
    services.dedup();
    Touched::Services(services)
}

fn globs(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("`{p}` is not a glob: {e}"))?;
        b.add(g);
    }
    b.build().map_err(|e| e.to_string())
}

/// The services each change selects. `envs_dir` is the environments directory relative to the
/// repository root (`envs`); `text_of` gives an environment file's texts.
pub fn select(
    changes: &[FileChange],
    envs_dir: &str,
    envs: &[EnvPaths],
    text_of: &dyn Fn(&FileChange) -> Texts,
) -> Result<Selection, String> {
    let mut out: Selection = BTreeMap::new();
    let mut add = |env: &str, service: &str, why: String| {
        out.entry(env.to_string())
            .or_default()
            .entry(service.to_string())
            .or_default()
            .push(why);
    };
    let prefix = if envs_dir.is_empty() || envs_dir == "." {
        String::new()
    } else {
        format!("{}/", envs_dir.trim_end_matches('/'))
    };
    let matchers: Vec<(&EnvPaths, Matchers)> = envs
        .iter()
        .map(|e| {
            let sets = e
                .services
                .iter()
                .map(|(name, paths)| Ok((name.as_str(), globs(paths)?, paths.as_slice())))
                .collect::<Result<Vec<_>, String>>()?;
            Ok((e, sets))
        })
        .collect::<Result<_, String>>()?;
    for change in changes {
        let env_file = [Some(change.path.as_str()), change.old_path.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|p| p.strip_prefix(&prefix).filter(|f| !f.contains('/')))
            .and_then(|f| f.strip_suffix(".hcl"));
        if let Some(stem) = env_file {
            let (new, old) = text_of(change);
            let t = touched(
                change,
                &EnvFileTexts {
                    new: new.as_deref(),
                    old: old.as_deref(),
                },
            );
            let shared = crate::env::SHARED_FILE.strip_suffix(".hcl") == Some(stem);
            for e in envs.iter().filter(|e| shared || e.name == stem) {
                for (service, _) in &e.services {
                    let hit = match &t {
                        Touched::Everything => {
                            Some(format!("{} changed outside any service block", change.path))
                        }
                        Touched::Services(s) if s.contains(service) => {
                            Some(format!("{} changed in service \"{service}\"", change.path))
                        }
                        Touched::Services(_) => None,
                    };
                    if let Some(why) = hit {
                        add(&e.name, service, why);
                    }
                }
            }
            continue;
        }
        for (e, sets) in &matchers {
            for (service, set, patterns) in sets {
                let matched: Vec<&String> = set
                    .matches(&change.path)
                    .into_iter()
                    .map(|i| &patterns[i])
                    .collect();
                if let Some(p) = matched.first() {
                    add(&e.name, service, format!("{} matches {p}", change.path));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, new_lines: &[u32], old_lines: &[u32]) -> FileChange {
        FileChange {
            path: path.into(),
            old_path: None,
            new_lines: new_lines.to_vec(),
            old_lines: old_lines.to_vec(),
        }
    }

    fn envs() -> Vec<EnvPaths> {
        let svc = |n: &str, p: &[&str]| (n.to_string(), p.iter().map(|s| s.to_string()).collect());
        ["staging", "production"]
            .iter()
            .map(|e| EnvPaths {
                name: e.to_string(),
                services: vec![
                    svc("api", &["apps/api/**", "Dockerfile.api"]),
                    svc("web", &["apps/web/**"]),
                ],
            })
            .collect()
    }

    const STAGING: &str = "account_id = \"1\"\n\nservice \"api\" {\n  cpu = 256\n}\n\nservice \"web\" {\n  cpu = 256\n}\n";

    fn names(s: &Selection) -> Vec<String> {
        s.iter()
            .flat_map(|(e, svcs)| svcs.keys().map(move |k| format!("{e}/{k}")))
            .collect()
    }

    fn texts(_: &FileChange) -> (Option<String>, Option<String>) {
        (Some(STAGING.to_string()), Some(STAGING.to_string()))
    }

    #[test]
    fn docs_and_tests_alone_select_nothing() {
        let s = select(
            &[
                change("docs/x.md", &[1], &[]),
                change("tests/a.rs", &[3], &[]),
            ],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert!(s.is_empty(), "{s:?}");
    }

    #[test]
    fn paths_select_their_service_in_every_environment() {
        let s = select(
            &[change("apps/api/src/main.py", &[1], &[])],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert_eq!(names(&s), ["production/api", "staging/api"]);
        // `*` does not cross directories; `**` does.
        let s = select(
            &[change("apps/api-tools/x", &[1], &[])],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert!(s.is_empty());
        let s = select(
            &[change("Dockerfile.api", &[1], &[])],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert_eq!(names(&s), ["production/api", "staging/api"]);
    }

    #[test]
    fn an_environment_file_selects_the_blocks_it_touches() {
        let s = select(
            &[change("envs/staging.hcl", &[4], &[4])],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert_eq!(names(&s), ["staging/api"]);
        let s = select(
            &[change("envs/staging.hcl", &[1], &[])],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert_eq!(
            names(&s),
            ["staging/api", "staging/web"],
            "a top-level change is the whole env"
        );
        let s = select(
            &[change("envs/_shared.hcl", &[8], &[])],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert_eq!(
            names(&s),
            ["production/web", "staging/web"],
            "the shared file reaches every env"
        );
    }

    #[test]
    fn a_file_that_does_not_parse_touches_everything() {
        let broken = |_: &FileChange| (Some("service \"api\" {".to_string()), None);
        let s = select(
            &[change("envs/staging.hcl", &[1], &[])],
            "envs",
            &envs(),
            &broken,
        )
        .unwrap();
        assert_eq!(names(&s), ["staging/api", "staging/web"]);
    }
}
