//! `slipway unlock`: force-releases an environment's lock, for a holder that is gone for good
//! (its lease would end it too, later). Checks the account first, like every command that
//! writes; says whose lock it was.

use crate::cli::UnlockArgs;
use crate::exit::Exit;
use crate::gate::{self, lock};
use crate::output::Printer;
use crate::settings::Settings;

pub async fn run(s: &Settings, args: &UnlockArgs, p: &Printer) -> Exit {
    let ready = match super::load_plain(s, &args.env, p) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let env = ready.env();
    let Some(bucket) = env
        .deploy
        .lock_bucket
        .as_ref()
        .filter(|b| !b.v.contains("${"))
    else {
        p.error(format!(
            "environment \"{}\" has no deploy.lock_bucket (written as a bucket name): there is no lock to release",
            env.name
        ));
        return Exit::Error;
    };
    let clients = super::clients(s, env, &args.aws).await;
    if let Err(e) = gate::account::check(&clients.sts, &env.name, &env.account_id.v).await {
        return super::stopped(p, &env.name, e);
    }
    let place = lock::Place::new(&clients.s3, &bucket.v, &env.name);
    let at = format!("s3://{}/{}", bucket.v, place.key);
    let was = match lock::force_release(&place).await {
        Ok(w) => w,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    let (whose, record) = match &was {
        None => ("nobody: it was not locked".to_string(), None),
        Some(Ok(r)) => (
            format!("{} since {}", r.holder.describe(), r.acquired_at),
            Some(r),
        ),
        Some(Err(why)) => (format!("unknown (not a slipway lock record: {why})"), None),
    };
    match p.format {
        crate::cli::Format::Json => p.json(&serde_json::json!({
            "environment": env.name,
            "lock": at,
            "released": was.is_some(),
            "was": record,
            "by": s.deployer,
            "reason": args.reason,
        })),
        crate::cli::Format::Text => {
            if was.is_some() {
                p.line(format!(
                    "unlocked \"{}\" ({at}): it was held by {whose}; released by {} because: {}",
                    env.name, s.deployer, args.reason
                ));
            } else {
                p.line(format!("\"{}\" was not locked ({at})", env.name));
            }
        }
    }
    Exit::Ok
}
