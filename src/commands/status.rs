//! `slipway status`: which version runs where (rows from `rollout::status`, table from
//! `report::status`).

use crate::cli::{Format, StatusArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::report;
use crate::rollout::status;
use crate::settings::Settings;

/// Every environment's rows, or the first error: a table with some environments missing would
/// look like "nothing runs there", so an error prints alone and exits 1.
pub async fn run(s: &Settings, args: &StatusArgs, p: &Printer) -> Exit {
    let names: Vec<String> = if args.envs.is_empty() {
        match crate::env::discover(&s.envs_dir) {
            Ok(found) => found.into_iter().map(|(n, _)| n).collect(),
            Err(e) => {
                p.error(format!("cannot read {}: {e}", s.envs_dir.display()));
                return Exit::Error;
            }
        }
    } else {
        args.envs.clone()
    };
    let mut rows = Vec::new();
    for name in &names {
        let ready = match super::load_plain(s, name, p) {
            Ok(r) => r,
            Err(code) => return code,
        };
        let env = ready.env();
        let clients = super::clients(s, env, &args.aws).await;
        match status::rows(env, &clients).await {
            Ok(r) => rows.extend(r),
            Err(e) => {
                p.error(crate::output::In(name, &e));
                return Exit::Error;
            }
        }
        match status::site_rows(env, &clients).await {
            Ok(r) => rows.extend(r),
            Err(e) => {
                p.error(crate::output::In(name, &e));
                return Exit::Error;
            }
        }
    }
    match p.format {
        Format::Json => p.json(&rows),
        Format::Text => p.line(report::status::table(&rows)),
    }
    Exit::Ok
}
