//! The rendered artefacts as one JSON document, and the file layout `render --out` writes.
//!
//! The document is the single source: the files are derived from it, so the two forms cannot
//! disagree about what was rendered.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Ecs, Static};

/// Which artefacts to include.
#[derive(Clone, Copy, Debug)]
pub struct Selection {
    pub tfvars: bool,
    pub task_definitions: bool,
    pub services: bool,
    pub lifecycle: bool,
    pub iam: bool,
}

pub fn document(
    environment: &str,
    image_tag: Option<&str>,
    statics: Static,
    ecs: Option<Ecs>,
    sel: Selection,
) -> Value {
    let mut doc = json!({ "environment": environment, "image_tag": image_tag });
    if sel.tfvars {
        doc["tfvars"] = statics.tfvars;
    }
    if let Some(ecs) = ecs {
        if sel.task_definitions {
            doc["task_definitions"] = json!(ecs.task_definitions);
        }
        if sel.services {
            doc["services"] = json!(ecs.services);
        }
    }
    if sel.lifecycle {
        doc["ecr_lifecycle_policies"] = json!(statics.lifecycle_policies);
    }
    if sel.iam {
        doc["iam_roles"] = json!(statics.iam_roles);
    }
    doc
}

/// Path (relative to the output directory) → document, one file per artefact.
pub fn files(doc: &Value) -> BTreeMap<String, Value> {
    let mut files = BTreeMap::new();
    if let Some(v) = doc.get("tfvars") {
        files.insert("tfvars.json".to_string(), v.clone());
    }
    let each = |key: &str| {
        doc.get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
    };
    for (name, td) in each("task_definitions") {
        files.insert(format!("task-definitions/{name}.json"), td.clone());
    }
    for (name, s) in each("services") {
        files.insert(format!("services/{name}.json"), s.clone());
    }
    for (name, policy) in each("ecr_lifecycle_policies") {
        files.insert(format!("ecr-lifecycle/{name}.json"), policy.clone());
    }
    for (label, role) in each("iam_roles") {
        files.insert(
            format!("iam/{label}.trust.json"),
            role["trust_policy"].clone(),
        );
        files.insert(
            format!("iam/{label}.policy.json"),
            role["permission_policy"].clone(),
        );
    }
    files
}
