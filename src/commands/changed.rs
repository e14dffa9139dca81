//! `slipway changed`: the services and sites a change since a base touches (their `paths`, a
//! service's migration `sql` files, or their blocks in the environment files), per environment,
//! as text or as a job matrix. `plan` and `deploy` use the same selection for `--changed-since`.

use serde_json::json;

use crate::changed::{self, EnvPaths, Selected, Selection};
use crate::cli::{ChangedArgs, Format};
use crate::exit::Exit;
use crate::git::Changes;
use crate::output::Printer;
use crate::settings::Settings;

/// What changed since `base`, and the services of `envs` (all when empty) it selects.
pub fn selection(
    s: &Settings,
    base: &str,
    envs: &[String],
) -> Result<(Changes, Selection), String> {
    let changes = crate::git::changes(&s.envs_dir, base).map_err(|e| e.to_string())?;
    let envs_dir =
        std::fs::canonicalize(&s.envs_dir).map_err(|e| format!("{}: {e}", s.envs_dir.display()))?;
    let root = std::fs::canonicalize(&changes.root).unwrap_or_else(|_| changes.root.clone());
    let rel = envs_dir
        .strip_prefix(&root)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|_| {
            format!(
                "{} is outside the git repository {}",
                s.envs_dir.display(),
                root.display()
            )
        })?;
    let loaded = crate::env::load(&s.envs_dir, envs, &|name| {
        super::scope(name, None, None, s.git.as_ref(), true)
    })
    .map_err(|e| e.to_string())?;
    let paths: Vec<EnvPaths> = loaded
        .envs
        .iter()
        .map(|e| EnvPaths {
            name: e.name.clone(),
            services: e
                .services
                .iter()
                .map(|svc| {
                    (
                        svc.name.v.clone(),
                        // A service's migration files are its files too.
                        svc.paths
                            .iter()
                            .chain(svc.migration.iter().flat_map(|m| m.sql.iter()))
                            .map(|p| p.v.clone())
                            .collect(),
                    )
                })
                .collect(),
            sites: e
                .sites
                .iter()
                .map(|site| {
                    let paths = site.paths.iter().map(|p| p.v.clone()).collect();
                    (site.name.v.clone(), paths)
                })
                .collect(),
        })
        .collect();
    let text_of = |c: &crate::git::FileChange| {
        (
            changes.head_text(&c.path),
            changes.base_text(c.old_path.as_deref().unwrap_or(&c.path)),
        )
    };
    let selected = changed::select(&changes.files, &rel, &paths, &text_of)?;
    Ok((changes, selected))
}

/// The services and sites of `env` changed since `base` (for `--changed-since`).
pub fn selected_in(s: &Settings, base: &str, env: &str) -> Result<Selected, String> {
    let (_, mut selected) = selection(s, base, &[env.to_string()])?;
    Ok(selected.remove(env).unwrap_or_default())
}

pub fn run(s: &Settings, args: &ChangedArgs, p: &Printer) -> Exit {
    for e in &args.envs {
        if let Err(code) = super::known_env(s, e, p) {
            return code;
        }
    }
    let (changes, selected) = match selection(s, &args.base, &args.envs) {
        Ok(r) => r,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    match p.format {
        Format::Json => {
            let include: Vec<_> = selected
                .iter()
                .map(|(env, sel)| {
                    json!({
                        "environment": env,
                        "services": sel.services.keys().collect::<Vec<_>>(),
                        "sites": sel.sites.keys().collect::<Vec<_>>(),
                    })
                })
                .collect();
            p.json(&json!({
                "base": changes.base,
                "head": changes.head,
                "files": changes.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
                "environments": selected,
                "matrix": {"include": include},
                "any": !selected.is_empty(),
            }))
        }
        Format::Text => {
            if selected.is_empty() {
                p.line(format!(
                    "{} file(s) changed since {}; none is a service's or site's `paths` or an environment file: nothing to plan or deploy",
                    changes.files.len(),
                    &changes.base[..12]
                ));
            }
            for (env, sel) in &selected {
                let mut names: Vec<String> = sel.services.keys().cloned().collect();
                names.extend(sel.sites.keys().map(|k| format!("site:{k}")));
                p.line(format!("{env}: {}", names.join(", ")));
                let services = sel.services.iter().map(|(n, w)| (n.clone(), w));
                let sites = sel.sites.iter().map(|(n, w)| (format!("site:{n}"), w));
                for (name, why) in services.chain(sites) {
                    for w in why {
                        p.line(format!("  {name}: {w}"));
                    }
                }
            }
        }
    }
    Exit::Ok
}
