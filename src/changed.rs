//! What a change touches: the services and sites whose `paths` globs match a changed file, and
//! the blocks an edit of an environment file reaches. What changed comes from git
//! ([`crate::git::changes`]); this module only decides, so the rules can be tested on their own.
//!
//! An environment file's change selects the services and sites whose `service "<name>"` or
//! `site "<name>"` block holds a changed line (in the file as it is, or as it was for removed
//! lines). A change anywhere else in the file (top-level settings, `alb`, `approval`, ...)
//! selects every service and site of that environment; in `_shared.hcl`, of every environment.
//! Files outside the environments directory select only through `paths`: a change to docs or
//! tests alone selects nothing.

use std::collections::BTreeMap;

use globset::{GlobSet, GlobSetBuilder};

use crate::git::FileChange;

/// One environment as selection sees it: its services and sites, each with its `paths` globs.
#[derive(Clone, Debug, Default)]
pub struct EnvPaths {
    pub name: String,
    pub services: Vec<(String, Vec<String>)>,
    pub sites: Vec<(String, Vec<String>)>,
}

/// What a change selects in one environment: services and sites, each with why.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Selected {
    pub services: BTreeMap<String, Vec<String>>,
    pub sites: BTreeMap<String, Vec<String>>,
}

impl Selected {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.sites.is_empty()
    }
}

/// What is selected, per environment (environments with nothing selected are absent).
pub type Selection = BTreeMap<String, Selected>;

/// A changed file's text at HEAD and at the base (either absent when the file is).
pub type Texts = (Option<String>, Option<String>);

/// A block of an environment file that selection knows: `service "<name>"` or `site "<name>"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Service,
    Site,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Service, Kind::Site];

    fn ident(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Site => "site",
        }
    }
}

/// An environment file's text now and at the base, to place changed lines in blocks.
pub struct EnvFileTexts<'a> {
    pub new: Option<&'a str>,
    pub old: Option<&'a str>,
}

/// What a changed environment file touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Touched {
    /// Only these blocks.
    Blocks(Vec<(Kind, String)>),
    /// Something outside any service or site block: the whole environment.
    Everything,
}

/// Which service and site blocks of an environment file a change's lines fall in.
pub fn touched(change: &FileChange, texts: &EnvFileTexts<'_>) -> Touched {
    let mut blocks = Vec::new();
    for (text, lines) in [
        (texts.new, &change.new_lines),
        (texts.old, &change.old_lines),
    ] {
        if lines.is_empty() {
            continue;
        }
        // A file that does not parse (or is gone) cannot be placed: assume all of it changed.
        let mut spans = Vec::new();
        for kind in Kind::ALL {
            let Some(found) = text.and_then(|t| crate::env::block_lines(t, kind.ident())) else {
                return Touched::Everything;
            };
            spans.extend(found.into_iter().map(|(label, a, b)| (kind, label, a, b)));
        }
        for line in lines {
            match spans.iter().find(|(_, _, a, b)| a <= line && line <= b) {
                Some((kind, label, _, _)) => blocks.push((*kind, label.clone())),
                None => return Touched::Everything,
            }
        }
    }
    blocks.sort_by(|a, b| (a.0 as u8, &a.1).cmp(&(b.0 as u8, &b.1)));
    blocks.dedup();
    Touched::Blocks(blocks)
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

/// One selectable thing of an environment: its kind, name, `paths` matcher and patterns.
struct Unit<'a> {
    kind: Kind,
    name: &'a str,
    set: GlobSet,
    patterns: &'a [String],
}

/// What each change selects. `envs_dir` is the environments directory relative to the
/// repository root (`envs`); `text_of` gives an environment file's texts.
pub fn select(
    changes: &[FileChange],
    envs_dir: &str,
    envs: &[EnvPaths],
    text_of: &dyn Fn(&FileChange) -> Texts,
) -> Result<Selection, String> {
    let mut out: Selection = BTreeMap::new();
    let mut add = |env: &str, kind: Kind, name: &str, why: String| {
        let e = out.entry(env.to_string()).or_default();
        let map = match kind {
            Kind::Service => &mut e.services,
            Kind::Site => &mut e.sites,
        };
        map.entry(name.to_string()).or_default().push(why);
    };
    let prefix = if envs_dir.is_empty() || envs_dir == "." {
        String::new()
    } else {
        format!("{}/", envs_dir.trim_end_matches('/'))
    };
    let units: Vec<(&EnvPaths, Vec<Unit>)> = envs
        .iter()
        .map(|e| {
            let services = e.services.iter().map(|u| (Kind::Service, u));
            let sites = e.sites.iter().map(|u| (Kind::Site, u));
            let units = services
                .chain(sites)
                .map(|(kind, (name, paths))| {
                    Ok(Unit {
                        kind,
                        name: name.as_str(),
                        set: globs(paths)?,
                        patterns: paths.as_slice(),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok((e, units))
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
            for (e, units) in units.iter().filter(|(e, _)| shared || e.name == stem) {
                for u in units {
                    let hit = match &t {
                        Touched::Everything => Some(format!(
                            "{} changed outside any service or site block",
                            change.path
                        )),
                        Touched::Blocks(b) if b.contains(&(u.kind, u.name.to_string())) => {
                            Some(format!(
                                "{} changed in {} \"{}\"",
                                change.path,
                                u.kind.ident(),
                                u.name
                            ))
                        }
                        Touched::Blocks(_) => None,
                    };
                    if let Some(why) = hit {
                        add(&e.name, u.kind, u.name, why);
                    }
                }
            }
            continue;
        }
        for (e, units) in &units {
            for u in units {
                if let Some(i) = u.set.matches(&change.path).first() {
                    let why = format!("{} matches {}", change.path, u.patterns[*i]);
                    add(&e.name, u.kind, u.name, why);
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
                sites: vec![svc("frontend", &["frontend/**"])],
            })
            .collect()
    }

    const STAGING: &str = "account_id = \"1\"\n\nservice \"api\" {\n  cpu = 256\n}\n\nservice \"web\" {\n  cpu = 256\n}\n\nsite \"frontend\" {\n  dir = \"frontend/dist\"\n}\n";

    /// `env/service` and `env/site:name`, sorted by environment.
    fn names(s: &Selection) -> Vec<String> {
        s.iter()
            .flat_map(|(e, sel)| {
                let services = sel.services.keys().map(move |k| format!("{e}/{k}"));
                let sites = sel.sites.keys().map(move |k| format!("{e}/site:{k}"));
                services.chain(sites)
            })
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
            ["staging/api", "staging/web", "staging/site:frontend"],
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
        assert_eq!(
            names(&s),
            ["staging/api", "staging/web", "staging/site:frontend"]
        );
    }

    #[test]
    fn sites_are_selected_by_their_paths_and_their_block() {
        let s = select(
            &[change("frontend/src/App.tsx", &[1], &[])],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert_eq!(
            names(&s),
            ["production/site:frontend", "staging/site:frontend"]
        );
        // Line 12 is inside `site "frontend"`: the site alone, no service.
        let s = select(
            &[change("envs/staging.hcl", &[12], &[])],
            "envs",
            &envs(),
            &texts,
        )
        .unwrap();
        assert_eq!(names(&s), ["staging/site:frontend"]);
    }
}
