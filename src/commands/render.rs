//! `slipway render`: the documents Terraform and ECS take, for one environment.
//!
//! Steps: load + validate the environment → (only if ECS artefacts are wanted) read Terraform
//! outputs → render → print one JSON document, or write one file per artefact.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::cli::{Artefact, Format, RenderArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::render;

pub async fn run(envs_dir: &Path, args: &RenderArgs, p: &Printer) -> Exit {
    let wanted = |a: Artefact| args.only.is_empty() || args.only.contains(&a);
    let needs_outputs = wanted(Artefact::TaskDefinitions) || wanted(Artefact::Services);
    let outputs = if needs_outputs {
        match super::tf_outputs(&args.tf, &args.env).await {
            Ok(o) => Some(o),
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        }
    } else {
        None
    };
    let scope = super::scope(
        envs_dir,
        &args.env,
        outputs.as_ref(),
        args.image_tag.as_deref(),
        !needs_outputs,
    );
    let loaded = match crate::env::load(envs_dir, std::slice::from_ref(&args.env), &|_| {
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
                revision_tags: BTreeMap::new(),
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

    // artefact path (relative to --out) → document
    let mut files: BTreeMap<String, Value> = BTreeMap::new();
    if wanted(Artefact::Tfvars) {
        files.insert("tfvars.json".into(), statics.tfvars.clone());
    }
    if let Some(ecs) = &ecs {
        for (name, td) in &ecs.task_definitions {
            if wanted(Artefact::TaskDefinitions) {
                files.insert(
                    format!("task-definitions/{name}.json"),
                    serde_json::to_value(td).expect("serialisable"),
                );
            }
        }
        for (name, s) in &ecs.services {
            if wanted(Artefact::Services) {
                files.insert(
                    format!("services/{name}.json"),
                    serde_json::to_value(s).expect("serialisable"),
                );
            }
        }
    }
    if wanted(Artefact::Lifecycle) {
        for (name, policy) in &statics.lifecycle_policies {
            files.insert(format!("ecr-lifecycle/{name}.json"), policy.clone());
        }
    }
    if wanted(Artefact::Iam) {
        for (label, role) in &statics.iam_roles {
            files.insert(format!("iam/{label}.trust.json"), role.trust_policy.clone());
            files.insert(
                format!("iam/{label}.policy.json"),
                role.permission_policy.clone(),
            );
        }
    }

    if let Some(dir) = &args.out {
        for (rel, doc) in &files {
            let path = dir.join(rel);
            let write = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, canonical(doc) + "\n"));
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
        return Exit::Ok;
    }

    let mut doc = json!({ "environment": env.name, "image_tag": args.image_tag });
    if wanted(Artefact::Tfvars) {
        doc["tfvars"] = statics.tfvars;
    }
    if let Some(ecs) = ecs {
        if wanted(Artefact::TaskDefinitions) {
            doc["task_definitions"] =
                serde_json::to_value(ecs.task_definitions).expect("serialisable");
        }
        if wanted(Artefact::Services) {
            doc["services"] = serde_json::to_value(ecs.services).expect("serialisable");
        }
    }
    if wanted(Artefact::Lifecycle) {
        doc["ecr_lifecycle_policies"] = json!(statics.lifecycle_policies);
    }
    if wanted(Artefact::Iam) {
        doc["iam_roles"] = serde_json::to_value(statics.iam_roles).expect("serialisable");
    }
    match p.format {
        Format::Json => p.json(&doc),
        Format::Text => {
            p.line(canonical(&doc));
        }
    }
    Exit::Ok
}

/// Pretty JSON with every object's keys sorted: the same input always gives the same bytes.
pub fn canonical(v: &Value) -> String {
    let sorted: Value = serde_json::from_value(v.clone()).expect("a Value round-trips");
    serde_json::to_string_pretty(&sorted).expect("serialisable")
}
