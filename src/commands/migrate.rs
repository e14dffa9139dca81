//! `slipway migrate run`: the deploy's migrate step alone, for every service that declares a
//! migration: on the revision `--image-tag` renders to (registered only if it differs from the
//! live one), or on the live revision. Behind the same gates as deploy: approval, account, lock.

use crate::cli::{Format, MigrateArgs};
use crate::exit::Exit;
use crate::gate::approval::Scope;
use crate::output::Printer;
use crate::render;
use crate::rollout::{engine, history, migrate, progress};
use crate::settings::Settings;

pub async fn run(s: &Settings, args: &MigrateArgs, p: &Printer) -> Exit {
    let c = match super::compared(
        s,
        &args.env,
        &args.tf,
        args.image_tag.as_deref(),
        &[],
        &args.aws,
        p,
    )
    .await
    {
        Ok(c) => c,
        Err(code) => return code,
    };
    let env = c.ready.env();
    let inputs = render::Inputs {
        image_tag: c.image_tag.clone(),
        live_image_tags: c.live.image_tags(),
        revision_tags: history::revision_tags(
            super::git_for(s, &env.name).as_ref(),
            c.image_tag.as_deref(),
            &s.deployer,
        ),
    };
    let rendered = match render::render_ecs(env, &c.ready.outputs, &inputs) {
        Ok(r) => r,
        Err(diags) => return super::diff::render_failed(&diags, &c.ready.loaded.sources, p),
    };
    let with_migrations: Vec<_> = env
        .services
        .iter()
        .filter(|s| s.migration.as_ref().is_some_and(|m| !m.command.is_empty()))
        .collect();
    if with_migrations.is_empty() {
        p.note(format!(
            "environment \"{}\" declares no migration",
            env.name
        ));
        return Exit::Ok;
    }
    let spec = super::GateSpec {
        command: "migrate run",
        scope: Scope::Full,
        args: &args.gate,
        lock: &args.lock,
        fingerprint: None,
        commit: s.git.as_ref().map(|g| g.sha.as_str()),
        migrations: Some(&args.migrations),
    };
    let gated = match super::gated(s, p, env, &c.clients, &spec).await {
        Ok(g) => g,
        Err(code) => return code,
    };
    let exit = run_migrations(&c, &rendered, &with_migrations, p).await;
    gated.release(p).await;
    exit
}

async fn run_migrations(
    c: &super::Compared,
    rendered: &render::Ecs,
    with_migrations: &[&crate::env::model::Service],
    p: &Printer,
) -> Exit {
    let progress = progress::new(p.format == Format::Text && p.stderr_is_terminal());
    let mut results = Vec::new();
    for svc in with_migrations.iter().copied() {
        let name = &svc.name.v;
        let td = &rendered.task_definitions[name];
        let arn = match engine::revision_for(&c.clients.ecs, &c.live, name, td, progress.as_ref())
            .await
        {
            Ok((arn, _)) => arn,
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        };
        progress.step(&format!("migrate ({name})"));
        let m = svc.migration.as_ref().expect("filtered");
        match migrate::run(
            &c.clients.ecs,
            name,
            m,
            &arn,
            td,
            &rendered.services[name],
            progress.as_ref(),
        )
        .await
        {
            Ok(r) => results.push(r),
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        }
    }
    progress.finish();
    match p.format {
        Format::Json => p.json(&results),
        Format::Text => {
            for r in &results {
                p.line(format!(
                    "migration {}: {} — {} (task {})",
                    r.service,
                    if r.passed { "passed" } else { "FAILED" },
                    r.detail,
                    r.task
                ));
            }
        }
    }
    if results.iter().all(|r| r.passed) {
        Exit::Ok
    } else {
        Exit::Error
    }
}
