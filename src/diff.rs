//! The ECS half of a plan: what `render` produced against what runs, normalised so that only
//! real differences remain.
//!
//! Both sides are compared in the API's input shape (live state is converted to it by the ECS
//! adapter, which already drops what AWS fills in: revision, status, ARNs, registeredAt/By,
//! requiresAttributes, compatibilities, container cpu 0). Normalisation then sorts what AWS does
//! not keep in order, drops defaults that mean "unset", drops the per-revision tags slipway
//! writes itself, and canonicalises units. Secret references are compared as references (their
//! values are never read); values of plain variables whose names look secret are masked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::render::ecs::{ServiceSettings, TaskDefinition};

/// Tags slipway writes on each revision it registers: they differ on every deploy by design and
/// are not configuration.
pub const REVISION_TAGS: &[&str] = crate::naming::revision_tag::ALL;

/// What a plan will do to one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not running yet: a deploy creates it.
    Create,
    /// Running, and the rendered state differs.
    Update,
    /// Running exactly as rendered.
    Unchanged,
    /// Running but not in the environment file: reported, never deleted.
    Orphan,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "no change",
            Action::Orphan => "not in file",
        }
    }
}

/// One difference, at a readable path (`containerDefinitions[api].environment[LOG_LEVEL].value`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    /// added, removed or changed
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceDiff {
    pub service: String,
    pub action: Action,
    /// The task definition the service runs now.
    pub live_task_definition: Option<String>,
    pub live_revision: Option<i32>,
    pub image_live: Option<String>,
    pub image_new: Option<String>,
    pub changes: Vec<Change>,
    /// Unified diff of the normalised documents (live → rendered); empty when unchanged.
    pub diff: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ServiceDiff {
    pub fn has_changes(&self) -> bool {
        matches!(self.action, Action::Create | Action::Update)
    }
}

/// What one service looks like live, in input shape.
#[derive(Clone, Debug)]
pub struct LiveEntry<'a> {
    pub task_definition_arn: &'a str,
    pub task_definition: &'a TaskDefinition,
    pub settings: &'a ServiceSettings,
}

/// Per-service knowledge normalisation needs from the environment.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Autoscaling bounds: a live desired count within them is the autoscaler's, not drift.
    pub autoscaling: Option<(i64, i64)>,
    /// The main container's name, when it is not the service's.
    pub container: Option<String>,
}

/// Compares one service. `rendered` is None for a service that runs but is not in the file.
pub fn service(
    name: &str,
    rendered: Option<(&TaskDefinition, &ServiceSettings)>,
    live: Option<LiveEntry<'_>>,
    ctx: Context,
) -> ServiceDiff {
    let main = ctx.container.as_deref().unwrap_or(name);
    let image_new = rendered.map(|(td, _)| main_image(td, main));
    let image_live = live.as_ref().map(|l| main_image(l.task_definition, main));
    let live_revision = live
        .as_ref()
        .and_then(|l| crate::naming::revision_number(l.task_definition_arn));
    let live_arn = live.as_ref().map(|l| l.task_definition_arn.to_string());
    let (old, new, action) = match (&live, rendered) {
        (None, None) => (Value::Null, Value::Null, Action::Unchanged),
        (Some(l), None) => (
            document(l.task_definition, l.settings),
            Value::Null,
            Action::Orphan,
        ),
        (None, Some((td, ss))) => (Value::Null, document(td, ss), Action::Create),
        (Some(l), Some((td, ss))) => {
            let mut old = document(l.task_definition, l.settings);
            let mut new = document(td, ss);
            if let Some((min, max)) = ctx.autoscaling {
                let live_desired = old["service"]["desiredCount"].as_i64().unwrap_or(-1);
                if (min..=max).contains(&live_desired) {
                    old["service"]["desiredCount"] = new["service"]["desiredCount"].clone();
                }
            }
            mask_pairwise(&mut old, &mut new);
            let action = if old == new {
                Action::Unchanged
            } else {
                Action::Update
            };
            (old, new, action)
        }
    };
    let (old, new) = match action {
        Action::Create => (old, mask_all(new)),
        Action::Orphan => (mask_all(old), new),
        _ => (old, new),
    };
    let mut changes = Vec::new();
    if action == Action::Update {
        walk("", &keyed(&old), &keyed(&new), &mut changes);
    }
    let diff = if action == Action::Unchanged {
        String::new()
    } else {
        unified(&old, &new, name)
    };
    ServiceDiff {
        service: name.to_string(),
        action,
        live_task_definition: live_arn,
        live_revision,
        image_live,
        image_new,
        changes,
        diff,
        note: None,
    }
}

/// Whether the live service settings differ from the rendered ones (what a deploy converges
/// besides the task definition). A live desired count inside the autoscaling range is the
/// autoscaler's and does not count.
pub fn settings_differ(
    rendered: &ServiceSettings,
    live: &ServiceSettings,
    autoscaling: Option<(i64, i64)>,
) -> bool {
    let mut live = live.clone();
    if let Some((min, max)) = autoscaling {
        if (min..=max).contains(&i64::from(live.desired_count)) {
            live.desired_count = rendered.desired_count;
        }
    }
    normalise_service(rendered) != normalise_service(&live)
}

/// The main container's image (the container named after the service, else the first).
fn main_image(td: &TaskDefinition, service: &str) -> String {
    td.container_definitions
        .iter()
        .find(|c| c.name == service)
        .or_else(|| td.container_definitions.first())
        .map(|c| c.image.clone())
        .unwrap_or_default()
}

/// The normalised document compared for one service: its task definition and settings.
pub fn document(td: &TaskDefinition, ss: &ServiceSettings) -> Value {
    json!({
        "taskDefinition": normalise_task_definition(td),
        "service": normalise_service(ss),
    })
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("API shapes serialise")
}

/// Tags a diff does not count: the revision tags and the environment tag slipway writes, and
/// AWS's own (`aws:` keys are reserved: nobody can set them, e.g. `aws:cloudformation:stack-name`).
fn bookkeeping(tag: &str) -> bool {
    REVISION_TAGS.contains(&tag) || tag == crate::naming::ENVIRONMENT_TAG || tag.starts_with("aws:")
}

pub fn normalise_task_definition(td: &TaskDefinition) -> Value {
    let mut td = td.clone();
    td.tags.retain(|t| !bookkeeping(&t.key));
    td.tags.sort();
    td.cpu = canonical_cpu(&td.cpu);
    td.memory = canonical_memory(&td.memory);
    let awsvpc = td.network_mode == "awsvpc";
    // What Fargate runs a task definition without a runtime platform (or half of one) on.
    let platform = td
        .runtime_platform
        .get_or_insert_with(|| crate::render::ecs::RuntimePlatform {
            cpu_architecture: String::new(),
            operating_system_family: String::new(),
        });
    if platform.cpu_architecture.is_empty() {
        platform.cpu_architecture = "X86_64".to_string();
    }
    if platform.operating_system_family.is_empty() {
        platform.operating_system_family = "LINUX".to_string();
    }
    td.container_definitions.sort_by(|a, b| a.name.cmp(&b.name));
    for c in &mut td.container_definitions {
        c.environment.sort();
        c.secrets.sort();
        for p in &mut c.port_mappings {
            // awsvpc: the host port is the container port whether or not it was given.
            if awsvpc && p.host_port == Some(p.container_port) {
                p.host_port = None;
            }
            defaults(&mut p.extra, &[]);
        }
        c.port_mappings.sort_by_key(|p| {
            (
                p.container_port,
                p.protocol.clone(),
                p.name.clone(),
                Value::Object(p.extra.clone()).to_string(),
            )
        });
        if c.cpu == Some(0) {
            c.cpu = None;
        }
        if let Some(l) = &mut c.log_configuration {
            l.secret_options.sort();
        }
        defaults(&mut c.extra, CONTAINER_DEFAULTS);
        sort_sets(&mut c.extra, CONTAINER_SETS);
    }
    defaults(&mut td.extra, TASK_DEFAULTS);
    sort_sets(&mut td.extra, TASK_SETS);
    to_value(&td)
}

/// Values that mean what leaving the field out means, by JSON pointer below a container
/// definition (`*` for every element of a list). AWS echoes some of them on its own.
const CONTAINER_DEFAULTS: &[(&str, Value)] = &[
    ("/interactive", Value::Bool(false)),
    ("/pseudoTerminal", Value::Bool(false)),
    ("/privileged", Value::Bool(false)),
    ("/disableNetworking", Value::Bool(false)),
    ("/linuxParameters/initProcessEnabled", Value::Bool(false)),
    ("/mountPoints/*/readOnly", Value::Bool(false)),
    ("/volumesFrom/*/readOnly", Value::Bool(false)),
];

/// The same for a task definition.
const TASK_DEFAULTS: &[(&str, Value)] = &[("/enableFaultInjection", Value::Bool(false))];

/// String defaults, which cannot be `const` `Value`s.
const STRING_DEFAULTS: &[(&str, &str)] = &[
    ("/versionConsistency", "enabled"),
    ("/volumes/*/efsVolumeConfiguration/rootDirectory", "/"),
    (
        "/volumes/*/efsVolumeConfiguration/transitEncryption",
        "DISABLED",
    ),
    (
        "/volumes/*/efsVolumeConfiguration/authorizationConfig/iam",
        "DISABLED",
    ),
    ("/environmentFiles/*/type", "s3"),
];

/// Lists whose order means nothing (compared sorted), below a container definition.
const CONTAINER_SETS: &[&str] = &[
    "/mountPoints",
    "/volumesFrom",
    "/ulimits",
    "/dependsOn",
    "/environmentFiles",
    "/systemControls",
    "/extraHosts",
    "/resourceRequirements",
    "/linuxParameters/capabilities/add",
    "/linuxParameters/capabilities/drop",
];

/// The same for a task definition.
const TASK_SETS: &[&str] = &[
    "/volumes",
    "/placementConstraints",
    "/inferenceAccelerators",
];

/// Removes default values (and, everywhere below, nulls and empty lists and objects: the API
/// treats them as absent and AWS echoes several of them).
fn defaults(extra: &mut Map<String, Value>, defaults: &[(&str, Value)]) {
    let mut doc = Value::Object(std::mem::take(extra));
    for (pointer, value) in defaults {
        remove_matching(&mut doc, pointer, &|v| v == value);
    }
    for (pointer, value) in STRING_DEFAULTS {
        remove_matching(&mut doc, pointer, &|v| v.as_str() == Some(value));
    }
    prune(&mut doc);
    if let Value::Object(m) = doc {
        *extra = m;
    }
}

/// Removes the field at `pointer` (`*` matching every list element) where `matches` says so.
fn remove_matching(doc: &mut Value, pointer: &str, matches: &dyn Fn(&Value) -> bool) {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    fn walk(v: &mut Value, parts: &[&str], matches: &dyn Fn(&Value) -> bool) {
        match parts {
            [] => {}
            ["*", rest @ ..] => {
                if let Value::Array(items) = v {
                    for item in items {
                        walk(item, rest, matches);
                    }
                }
            }
            [last] => {
                if let Value::Object(m) = v {
                    if m.get(*last).is_some_and(matches) {
                        m.remove(*last);
                    }
                }
            }
            [key, rest @ ..] => {
                if let Some(next) = v.get_mut(*key) {
                    walk(next, rest, matches);
                }
            }
        }
    }
    walk(doc, &parts, matches);
}

/// Drops nulls and empty lists and objects, recursively.
fn prune(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for x in m.values_mut() {
                prune(x);
            }
            m.retain(|_, x| !is_empty(x));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Sorts the lists at `pointers` by each element's JSON (objects serialise with sorted keys).
fn sort_sets(extra: &mut Map<String, Value>, pointers: &[&str]) {
    let mut doc = Value::Object(std::mem::take(extra));
    for p in pointers {
        if let Some(Value::Array(items)) = doc.pointer_mut(p) {
            items.sort_by_cached_key(Value::to_string);
        }
    }
    if let Value::Object(m) = doc {
        *extra = m;
    }
}

pub fn normalise_service(ss: &ServiceSettings) -> Value {
    let mut ss = ss.clone();
    ss.task_definition = crate::naming::family_of(&ss.task_definition).to_string();
    ss.tags.retain(|t| !bookkeeping(&t.key));
    ss.capacity_provider_strategy.sort();
    ss.tags.sort();
    let vpc = &mut ss.network_configuration.awsvpc_configuration;
    vpc.subnets.sort();
    vpc.security_groups.sort();
    ss.load_balancers.sort_by(|a, b| {
        (&a.target_group_arn, &a.container_name, a.container_port).cmp(&(
            &b.target_group_arn,
            &b.container_name,
            b.container_port,
        ))
    });
    if ss.health_check_grace_period_seconds == Some(0) {
        ss.health_check_grace_period_seconds = None;
    }
    to_value(&ss)
}

/// Task cpu in CPU units: "1 vCPU" → "1024", "0.25 vcpu" → "256"; numbers stay as they are.
pub fn canonical_cpu(s: &str) -> String {
    let t = s.trim().to_ascii_lowercase();
    match t.strip_suffix("vcpu").map(str::trim) {
        Some(n) => n.parse::<f64>().map_or_else(
            |_| s.to_string(),
            |v| ((v * 1024.0).round() as i64).to_string(),
        ),
        None => t,
    }
}

/// Task memory in MiB: "2 GB" / "2GB" → "2048", "512 MiB" → "512"; numbers stay as they are.
pub fn canonical_memory(s: &str) -> String {
    let t = s.trim().to_ascii_lowercase();
    let (num, factor) = if let Some(n) = t.strip_suffix("gb").or_else(|| t.strip_suffix("gib")) {
        (n.trim(), 1024.0)
    } else if let Some(n) = t.strip_suffix("mb").or_else(|| t.strip_suffix("mib")) {
        (n.trim(), 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    num.parse::<f64>().map_or_else(
        |_| s.to_string(),
        |v| ((v * factor).round() as i64).to_string(),
    )
}

const MASK: &str = "(masked)";
const MASK_CHANGED: &str = "(masked, changed)";

/// Each container's plain environment, with the container's name.
fn env_lists(doc: &mut Value) -> Vec<(String, &mut Vec<Value>)> {
    let mut out = Vec::new();
    if let Some(cs) = doc
        .pointer_mut("/taskDefinition/containerDefinitions")
        .and_then(Value::as_array_mut)
    {
        for c in cs {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            if let Some(env) = c.get_mut("environment").and_then(Value::as_array_mut) {
                out.push((name, env));
            }
        }
    }
    out
}

fn secret_entry(e: &Value) -> Option<(String, String)> {
    let name = e["name"].as_str()?;
    crate::naming::looks_secret(name).then(|| {
        (
            name.to_string(),
            e["value"].as_str().unwrap_or_default().to_string(),
        )
    })
}

/// Masks secret-looking plain values on both sides; a changed value stays visible as a change.
fn mask_pairwise(old: &mut Value, new: &mut Value) {
    // Compared container by container: the same name in two containers is two variables.
    let old_values: BTreeMap<(String, String), String> = env_lists(old)
        .into_iter()
        .flat_map(|(c, l)| {
            l.iter()
                .filter_map(secret_entry)
                .map(|(n, v)| ((c.clone(), n), v))
                .collect::<Vec<_>>()
        })
        .collect();
    for (container, list) in env_lists(new) {
        for e in list.iter_mut() {
            if let Some((name, value)) = secret_entry(e) {
                let same = old_values
                    .get(&(container.clone(), name))
                    .is_none_or(|v| *v == value);
                e["value"] = Value::from(if same { MASK } else { MASK_CHANGED });
            }
        }
    }
    for (_, list) in env_lists(old) {
        for e in list.iter_mut() {
            if secret_entry(e).is_some() {
                e["value"] = Value::from(MASK);
            }
        }
    }
}

fn mask_all(mut doc: Value) -> Value {
    for (_, list) in env_lists(&mut doc) {
        for e in list.iter_mut() {
            if secret_entry(e).is_some() {
                e["value"] = Value::from(MASK);
            }
        }
    }
    doc
}

/// Lists whose entries have identity: compared by key, so paths name the entry.
const KEYS: &[(&str, &str)] = &[
    ("containerDefinitions", "name"),
    ("environment", "name"),
    ("secrets", "name"),
    ("tags", "key"),
    ("portMappings", "containerPort"),
    ("loadBalancers", "targetGroupArn"),
];

/// Turns keyed lists into maps (`environment: [{name: A, ...}]` → `environment: {A: {...}}`).
fn keyed(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let key_field = KEYS.iter().find(|(list, _)| list == k).map(|(_, f)| *f);
                    let v = match (key_field, v) {
                        (Some(f), Value::Array(items)) => {
                            let mut map = Map::new();
                            for item in items {
                                let key = match &item[f] {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                map.insert(key, keyed(item));
                            }
                            Value::Object(map)
                        }
                        _ => keyed(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(keyed).collect()),
        other => other.clone(),
    }
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    let join = |k: &str, parent_is_keyed: bool| {
        if path.is_empty() {
            k.to_string()
        } else if parent_is_keyed {
            format!("{path}[{k}]")
        } else {
            format!("{path}.{k}")
        }
    };
    let parent_keyed = KEYS
        .iter()
        .any(|(list, _)| path.ends_with(list) && !path.ends_with(']'));
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = join(k, parent_keyed);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (None, Some(_)) => out.push(Change {
                        path: p,
                        kind: "added".into(),
                    }),
                    (Some(_), None) => out.push(Change {
                        path: p,
                        kind: "removed".into(),
                    }),
                    (None, None) => {}
                }
            }
        }
        _ => out.push(Change {
            path: path.to_string(),
            kind: "changed".into(),
        }),
    }
}

fn pretty(v: &Value) -> String {
    if v.is_null() {
        return String::new();
    }
    serde_json::to_string_pretty(v).expect("a Value serialises") + "\n"
}

/// A unified diff (live → rendered) with three lines of context.
fn unified(old: &Value, new: &Value, name: &str) -> String {
    let (a, b) = (pretty(old), pretty(new));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{name}"), &format!("rendered/{name}"))
        .to_string()
}

/// A digest of the live state a plan was made against: the same digest at apply time means
/// nothing changed since.
pub fn live_digest(entries: &BTreeMap<String, Option<Value>>) -> String {
    let canonical = serde_json::to_string(entries).expect("a Value serialises");
    hex(&Sha256::digest(canonical.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_canonicalised() {
        assert_eq!(canonical_cpu("1 vCPU"), "1024");
        assert_eq!(canonical_cpu("0.25 vcpu"), "256");
        assert_eq!(canonical_cpu("512"), "512");
        assert_eq!(canonical_memory("2 GB"), "2048");
        assert_eq!(canonical_memory("0.5GB"), "512");
        assert_eq!(canonical_memory("512 MiB"), "512");
        assert_eq!(canonical_memory("3072"), "3072");
    }

    #[test]
    fn keyed_paths_name_the_entry() {
        let old = json!({"taskDefinition": {"containerDefinitions": [
            {"name": "api", "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
        ]}});
        let new = json!({"taskDefinition": {"containerDefinitions": [
            {"name": "api", "environment": [{"name": "A", "value": "9"}, {"name": "C", "value": "3"}]}
        ]}});
        let mut out = Vec::new();
        walk("", &keyed(&old), &keyed(&new), &mut out);
        let got: Vec<String> = out
            .iter()
            .map(|c| format!("{} {}", c.kind, c.path))
            .collect();
        assert_eq!(
            got,
            [
                "changed taskDefinition.containerDefinitions[api].environment[A].value",
                "removed taskDefinition.containerDefinitions[api].environment[B]",
                "added taskDefinition.containerDefinitions[api].environment[C]",
            ]
        );
    }

    #[test]
    fn secret_looking_values_are_masked_but_changes_show() {
        let mut old = json!({"taskDefinition": {"containerDefinitions": [
            {"name": "api", "environment": [{"name": "API_KEY", "value": "old-secret"}]}]}});
        let mut new = json!({"taskDefinition": {"containerDefinitions": [
            {"name": "api", "environment": [{"name": "API_KEY", "value": "new-secret"}]}]}});
        mask_pairwise(&mut old, &mut new);
        let text = format!("{old}{new}");
        assert!(!text.contains("secret\""), "{text}");
        assert_ne!(old, new, "a changed secret-looking value is still a change");
    }

    #[test]
    fn masking_compares_container_by_container() {
        let doc = json!({"taskDefinition": {"containerDefinitions": [
            {"name": "api", "environment": [{"name": "API_KEY", "value": "one"}]},
            {"name": "worker", "environment": [{"name": "API_KEY", "value": "two"}]}]}});
        let (mut old, mut new) = (doc.clone(), doc);
        mask_pairwise(&mut old, &mut new);
        assert_eq!(
            old, new,
            "nothing changed, though the two containers' values differ"
        );
        assert!(!new.to_string().contains("one") && !new.to_string().contains("two"));
    }
}
