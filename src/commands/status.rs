//! `slipway status`: which version runs where (rows from `rollout::status`, table from
//! `report::status`).

use std::path::Path;

use crate::cli::{Format, StatusArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::report;
use crate::rollout::status;

pub async fn run(envs_dir: &Path, args: &StatusArgs, p: &Printer) -> Exit {
    let names: Vec<String> = if args.envs.is_empty() {
        match crate::env::discover(envs_dir) {
            Ok(found) => found.into_iter().map(|(n, _)| n).collect(),
            Err(e) => {
                p.error(format!("cannot read {}: {e}", envs_dir.display()));
                return Exit::Error;
            }
        }
    } else {
        args.envs.clone()
    };
    let mut rows = Vec::new();
    let mut failed = false;
    for name in &names {
        let ready = match super::load_plain(envs_dir, name, p) {
            Ok(r) => r,
            Err(code) => return code,
        };
        let env = ready.env();
        let clients = super::clients(env, &args.aws).await;
        match status::rows(env, &clients).await {
            Ok(r) => rows.extend(r),
            Err(e) => {
                failed = true;
                p.error(format!("{name}: {e}"));
            }
        }
    }
    match p.format {
        Format::Json => p.json(&rows),
        Format::Text => p.line(report::status::table(&rows)),
    }
    if failed {
        Exit::Error
    } else {
        Exit::Ok
    }
}
