//! `slipway diff`: what a deploy would change in ECS, service by service. Reads only.
//!
//! Steps: Terraform outputs → load + validate the environment → read live ECS state → render
//! (with the given tag, or each service's live tag) → normalise both → compare → print.

use serde_json::json;

use crate::cli::{DiffArgs, Format};
use crate::exit::Exit;
use crate::live;
use crate::output::Printer;
use crate::report;

pub async fn run(s: &crate::settings::Settings, args: &DiffArgs, p: &Printer) -> Exit {
    let c = match super::compared(
        s,
        &args.env,
        &args.tf,
        args.image_tag.as_deref(),
        &args.services,
        &args.aws,
        p,
    )
    .await
    {
        Ok(c) => c,
        Err(code) => return code,
    };
    let env = c.ready.env();
    let plan = match live::plan(env, &c.ready.outputs, c.image_tag.as_deref(), &c.live) {
        Ok(plan) => plan,
        Err(diags) => return render_failed(&diags, &c.ready.loaded.sources, p),
    };
    // The sites (reads only): what a deploy would upload and delete.
    let sites = match super::planned_sites(s, env, &c.clients, p).await {
        Ok(sites) => sites,
        Err(code) => return code,
    };
    // A --service selection compares only those: services outside it are not orphans.
    let diffs: Vec<_> = plan
        .diffs
        .iter()
        .filter(|d| args.services.is_empty() || args.services.contains(&d.service))
        .cloned()
        .collect();
    let changes = diffs.iter().any(|d| d.has_changes()) || sites.iter().any(|s| s.has_changes());
    match p.format {
        Format::Json => p.json(&json!({
            "environment": env.name,
            "cluster": env.cluster.v,
            "image_tag": c.image_tag,
            "changes": changes,
            "services": diffs,
            "sites": sites,
            "live_digest": plan.live.digest,
        })),
        Format::Text => {
            p.line(report::diff::text(&env.name, &diffs, p.color_stdout()).trim_end());
            if !sites.is_empty() {
                p.line(crate::site::run::planned_text(&sites).trim_end());
            }
        }
    }
    if args.detailed_exitcode && changes {
        Exit::Changes
    } else {
        Exit::Ok
    }
}

/// Prints why the environment could not be rendered against its outputs.
pub fn render_failed(
    diags: &[crate::diag::Diagnostic],
    sources: &crate::diag::SourceMap,
    p: &Printer,
) -> Exit {
    p.diagnostics(sources, diags, false);
    p.note("cannot render the environment: see above");
    Exit::Error
}
