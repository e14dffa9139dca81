//! `slipway version`: the version the git tags give HEAD, as `git.version` and the revisions'
//! `slipway:version` tag see it.

use crate::cli::{Format, VersionArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::settings::Settings;

pub fn run(s: &Settings, args: &VersionArgs, p: &Printer) -> Exit {
    let prefix = match &args.env {
        Some(env) => {
            if let Err(code) = super::known_env(s, env, p) {
                return code;
            }
            crate::env::tag_prefix(&s.envs_dir, env)
        }
        None => "v".to_string(),
    };
    match crate::git::version(&s.envs_dir, &prefix) {
        Ok(v) => {
            match p.format {
                Format::Json => p.json(&serde_json::json!({
                    "version": v.to_string(),
                    "semver": v.version,
                    "tag": v.tag,
                    "commits_since": v.commits_since,
                    "commit": v.short_sha,
                    "tag_prefix": prefix,
                })),
                Format::Text => p.line(v.to_string()),
            }
            Exit::Ok
        }
        Err(e) => {
            p.error(e);
            Exit::Error
        }
    }
}
