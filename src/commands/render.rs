//! `slipway render`: the documents Terraform and ECS take, for one environment.
//!
//! Steps: load + validate the environment → (only if ECS artefacts are wanted) read Terraform
//! outputs → render → print one JSON document, or write one file per artefact.

use serde_json::{json, Value};

use crate::cli::{Artefact, Format, RenderArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::render;
use crate::settings::Settings;

pub async fn run(s: &Settings, args: &RenderArgs, p: &Printer) -> Exit {
    if let Err(code) = super::known_env(s, &args.env, p) {
        return code;
    }
    let wanted = |a: Artefact| args.only.is_empty() || args.only.contains(&a);
    let needs_outputs = wanted(Artefact::TaskDefinitions) || wanted(Artefact::Services);
    let outputs = if needs_outputs {
        match super::tf_outputs(s, &args.tf, &args.env).await {
            Ok(o) => Some(o),
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        }
    } else {
        None
    };
    let git = super::git_for(s, &args.env);
    // Terraform alone (no ECS artefacts): an image that takes the deploy's tag gets the tag of
    // the task definition Terraform bootstraps the service with.
    let image_tag = args
        .image_tag
        .as_deref()
        .or((!needs_outputs).then_some(crate::naming::BOOTSTRAP_TAG));
    let scope = super::scope(
        &args.env,
        outputs.as_ref(),
        image_tag,
        git.as_ref(),
        !needs_outputs,
    );
    let loaded = match crate::env::load(&s.envs_dir, std::slice::from_ref(&args.env), &|_| {
        scope.clone()
    }) {
        Ok(l) => l,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    if loaded.has_errors(args.strict) {
        p.diagnostics(&loaded.sources, &loaded.diagnostics, args.strict);
        p.note("render refused: fix the problems above (`slipway validate` lists them all)");
        return Exit::Error;
    }
    p.diagnostics(&loaded.sources, &loaded.diagnostics, false);
    let env = &loaded.envs[0];

    let statics = render::render_static(env);
    if wanted(Artefact::Tfvars) {
        let unresolved = render::tfvars::unresolved(&statics.tfvars);
        if !unresolved.is_empty() {
            p.error(format!(
                "the Terraform variables would contain {}: what Terraform needs cannot come from Terraform's own outputs or from deploy inputs; write these values in the environment file",
                unresolved.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
            ));
            return Exit::Error;
        }
    }
    let ecs = match &outputs {
        Some(o) => {
            let inputs = render::Inputs {
                image_tag: args.image_tag.clone(),
                ..Default::default()
            };
            match render::render_ecs(env, o, &inputs) {
                Ok(e) => Some(e),
                Err(diags) => {
                    p.diagnostics(&loaded.sources, &diags, false);
                    p.note("render failed: the Terraform outputs do not provide what the environment needs");
                    return Exit::Error;
                }
            }
        }
        None => None,
    };

    let selection = render::artefacts::Selection {
        tfvars: wanted(Artefact::Tfvars),
        task_definitions: wanted(Artefact::TaskDefinitions),
        services: wanted(Artefact::Services),
        lifecycle: wanted(Artefact::Lifecycle),
        iam: wanted(Artefact::Iam),
    };
    let doc = render::artefacts::document(
        &env.name,
        args.image_tag.as_deref(),
        statics,
        ecs,
        selection,
    );

    let Some(dir) = &args.out else {
        p.json(&doc);
        return Exit::Ok;
    };
    let files = render::artefacts::files(&doc);
    for (rel, file) in &files {
        let path = dir.join(rel);
        let write = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, pretty(file) + "\n"));
        if let Err(e) = write {
            p.error(format!("cannot write {}: {e}", path.display()));
            return Exit::Error;
        }
    }
    match p.format {
        Format::Json => p.json(&json!({ "environment": env.name, "out": dir, "files": files.keys().collect::<Vec<_>>() })),
        Format::Text => {
            for rel in files.keys() {
                p.line(dir.join(rel).display().to_string());
            }
            p.note(format!("rendered {} artefacts for {} into {}", files.len(), env.name, dir.display()));
        }
    }
    Exit::Ok
}

/// Pretty JSON. `serde_json::Value` keeps object keys sorted (its default map), so the same
/// input always gives the same bytes.
fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("a Value serialises")
}
