//! `slipway rollback`: services back to a known-good revision (by default the last one a deploy
//! marked healthy), with the same wait and report as a deploy.

use std::path::Path;

use crate::cli::{Format, RollbackArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::report;
use crate::rollout::engine::{self, RollbackTo};
use crate::rollout::{notify, progress};

pub async fn run(envs_dir: &Path, args: &RollbackArgs, p: &Printer) -> Exit {
    let mut ready = match super::load_plain(envs_dir, &args.env, p) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Err(e) = super::select_services(&mut ready.loaded.envs[0], &args.services) {
        p.error(e);
        return Exit::Error;
    }
    let env = ready.env();
    let clients = super::clients(env, &args.aws).await;
    // The same account gate as deploy: never roll back services in the wrong account.
    match crate::aws::sts::caller(&clients.sts).await {
        Ok(who) if who.account == env.account_id.v => {}
        Ok(who) => {
            p.error(format!(
                "the credentials are for account {} ({}), but environment \"{}\" is account {}: refusing to touch the wrong account",
                who.account, who.arn, env.name, env.account_id.v
            ));
            return Exit::Refused;
        }
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    }
    let names: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    let live = match super::live_state(env, &clients, p).await {
        Ok(l) => l,
        Err(code) => return code,
    };
    let to = match (&args.to, &args.to_release) {
        (Some(r), _) => RollbackTo::Revision(*r),
        (None, Some(tag)) => RollbackTo::Release(tag.clone()),
        (None, None) => RollbackTo::LastHealthy,
    };
    let progress = progress::new(p.format == Format::Text && p.stderr_is_terminal());
    let report = engine::rollback(
        env,
        &clients,
        &live,
        &names,
        &to,
        args.timeout,
        progress.as_ref(),
    )
    .await;
    match p.format {
        Format::Json => p.json(&report),
        Format::Text => p.line(report::rollout::text("rollback", &report).trim_end()),
    }
    let summary = notify::Report::from_rollout("rollback", &report, None, None);
    for w in notify::send(env, &clients, &summary).await {
        p.note(format!("warning: {w}"));
    }
    report.status.exit()
}
