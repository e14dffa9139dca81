//! `slipway rollback`: services back to a known-good revision (by default the last one a deploy
//! marked healthy), with the same wait and report as a deploy; without `--service`, each static
//! site back to the newest release before its current one that passed its smoke checks.
//!
//! Gates: account and lock, plus the `events` and `actors` rules of approval; an emergency does
//! not wait on a confirmation word, a team lookup or a review.

use crate::cli::{Format, GateArgs, RollbackArgs};
use crate::exit::Exit;
use crate::gate::approval::Scope;
use crate::output::Printer;
use crate::report;
use crate::rollout::engine::{self, RollbackTo};
use crate::rollout::interrupt::Interrupt;
use crate::rollout::{notify, progress};
use crate::settings::Settings;

pub async fn run(s: &Settings, args: &RollbackArgs, p: &Printer) -> Exit {
    let interrupt = Interrupt::install();
    let mut ready = match super::load_plain(s, &args.env, p) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Err(e) = super::select_services(&mut ready.loaded.envs[0], &args.services) {
        p.error(e);
        return Exit::Error;
    }
    let env = ready.env();
    let clients = super::clients(s, env, &args.aws).await;
    let no_gate_args = GateArgs::default();
    let spec = super::GateSpec {
        command: "rollback",
        scope: Scope::TriggerAndActor,
        args: &no_gate_args,
        lock: &args.lock,
        fingerprint: None,
        commit: None,
        migrations: None,
    };
    let gated = match super::gated(s, p, env, &clients, &spec).await {
        Ok(g) => g,
        Err(code) => return code,
    };
    let names: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    let live = match super::live_state(env, &clients, p).await {
        Ok(l) => l,
        Err(code) => {
            gated.release(p).await;
            return code;
        }
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
        &interrupt,
    )
    .await;
    let mut report = report;
    // The sites too, unless the rollback is of chosen services.
    if args.services.is_empty() && !env.sites.is_empty() {
        report.sites = crate::site::run::roll_back(env, &clients).await;
    }
    match p.format {
        Format::Json => p.json(&report),
        Format::Text => {
            p.line(report::rollout::text("rollback", &report).trim_end());
            if !report.sites.is_empty() {
                p.line(crate::site::run::text(&report.sites).trim_end());
            }
        }
    }
    let summary = notify::Report::from_rollout("rollback", &report, None, None);
    for w in notify::send(s, env, &clients, &summary).await {
        p.note(format!("warning: {w}"));
    }
    gated.release(p).await;
    match report.status.exit() {
        Exit::Ok if report.sites.iter().any(|o| o.status == "restore_failed") => {
            Exit::RollbackFailed
        }
        other => other,
    }
}
