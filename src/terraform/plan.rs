//! `terraform show -json` of a saved plan: what will change, counted and classified.
//!
//! The document is parsed as a stream (serde over a reader) into only the fields a summary
//! needs; resource values (`before`, `after`, planned values, state, configuration) are skipped
//! without being held, so memory stays bounded by the number of resources, not the file size.
//! Values are never kept, so a sensitive value cannot be printed.

use std::collections::BTreeMap;
use std::io::Read;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// Resource types whose deletion loses data or breaks what depends on them.
pub const STATEFUL_TYPES: &[&str] = &[
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_rds_cluster_instance",
    "aws_ecr_repository",
    "aws_s3_bucket",
    "aws_secretsmanager_secret",
    "aws_iam_openid_connect_provider",
    "aws_lb",
    "aws_alb",
    "aws_cloudwatch_log_group",
    "aws_dynamodb_table",
    "aws_efs_file_system",
    "aws_elasticache_replication_group",
    "aws_kms_key",
];

#[derive(Deserialize)]
struct RawPlan {
    format_version: String,
    #[serde(default)]
    terraform_version: Option<String>,
    #[serde(default)]
    resource_changes: Vec<RawResourceChange>,
    #[serde(default)]
    resource_drift: Vec<RawResourceChange>,
    #[serde(default)]
    output_changes: BTreeMap<String, RawOutputChange>,
    #[serde(default)]
    errored: bool,
}

#[derive(Deserialize)]
struct RawResourceChange {
    address: String,
    #[serde(default)]
    previous_address: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    change: RawChange,
    #[serde(default)]
    action_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawChange {
    actions: Vec<String>,
    #[serde(default)]
    importing: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawOutputChange {
    actions: Vec<String>,
    #[serde(default)]
    after_sensitive: Option<serde_json::Value>,
    #[serde(default)]
    before_sensitive: Option<serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    Read,
    NoOp,
    Forget,
}

impl Action {
    fn from_actions(actions: &[String]) -> Result<Action, String> {
        let a: Vec<&str> = actions.iter().map(String::as_str).collect();
        Ok(match a.as_slice() {
            ["no-op"] => Action::NoOp,
            ["create"] => Action::Create,
            ["read"] => Action::Read,
            ["update"] => Action::Update,
            ["delete"] => Action::Delete,
            ["forget"] => Action::Forget,
            ["delete", "create"] | ["create", "delete"] => Action::Replace,
            other => return Err(format!("unknown action list {other:?}")),
        })
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Read => "<=",
            Action::NoOp => " ",
            Action::Forget => "forget",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Read => "read",
            Action::NoOp => "no-op",
            Action::Forget => "forget",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub read: usize,
    pub no_op: usize,
    pub forget: usize,
}

impl Counts {
    fn add(&mut self, a: Action) {
        match a {
            Action::Create => self.create += 1,
            Action::Update => self.update += 1,
            Action::Replace => self.replace += 1,
            Action::Delete => self.delete += 1,
            Action::Read => self.read += 1,
            Action::NoOp => self.no_op += 1,
            Action::Forget => self.forget += 1,
        }
    }

    /// Changes that `apply` would make (reads and no-ops are not changes).
    pub fn changes(&self) -> usize {
        self.create + self.update + self.replace + self.delete + self.forget
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResourceLine {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    pub imported: bool,
    /// A delete or replace of a type that holds data or that others depend on.
    pub stateful: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutputLine {
    pub name: String,
    pub action: Action,
    pub sensitive: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanSummary {
    pub format_version: String,
    pub terraform_version: Option<String>,
    /// Terraform stopped planning on an error: the plan is incomplete.
    pub errored: bool,
    #[serde(flatten)]
    pub counts: Counts,
    pub moved: usize,
    pub imported: usize,
    /// Every resource that changes (no-ops and reads of data sources are counted, not listed).
    pub resources: Vec<ResourceLine>,
    /// Changes made outside Terraform since the last apply.
    pub drift: Vec<ResourceLine>,
    pub outputs: Vec<OutputLine>,
}

impl PlanSummary {
    pub fn has_changes(&self) -> bool {
        self.counts.changes() > 0
            || self.moved > 0
            || self.imported > 0
            || !self.changed_outputs().is_empty()
    }

    /// Outputs whose value changes.
    pub fn changed_outputs(&self) -> Vec<&OutputLine> {
        self.outputs
            .iter()
            .filter(|o| o.action != Action::NoOp)
            .collect()
    }

    /// Deletes and replacements, stateful ones first.
    pub fn destructive(&self) -> Vec<&ResourceLine> {
        let mut v: Vec<&ResourceLine> = self
            .resources
            .iter()
            .filter(|r| matches!(r.action, Action::Delete | Action::Replace))
            .collect();
        v.sort_by_key(|r| (!r.stateful, r.address.clone()));
        v
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Not JSON, or cut short.
    #[error("{origin} is not valid plan JSON ({source}); was it cut short? Produce it with `terraform show -json PLANFILE`")]
    Json {
        origin: String,
        source: serde_json::Error,
    },
    /// A JSON format slipway does not know.
    #[error("{origin} has plan format version {version}; slipway reads format 1.x (Terraform 1.0 and later)")]
    Version { origin: String, version: String },
    /// Not a plan at all.
    #[error("{origin}: {reason}")]
    Shape { origin: String, reason: String },
}

/// Reads a plan's JSON from a stream.
pub fn summarise(reader: impl Read, origin: &str) -> Result<PlanSummary, PlanError> {
    let reader = std::io::BufReader::with_capacity(1 << 20, reader);
    let raw: RawPlan = serde_json::from_reader(reader).map_err(|source| PlanError::Json {
        origin: origin.to_string(),
        source,
    })?;
    if !raw.format_version.starts_with("1.") {
        return Err(PlanError::Version {
            origin: origin.to_string(),
            version: raw.format_version,
        });
    }
    let shape = |reason: String| PlanError::Shape {
        origin: origin.to_string(),
        reason,
    };
    let mut counts = Counts::default();
    let mut moved = 0;
    let mut imported = 0;
    let mut resources = Vec::new();
    for rc in raw.resource_changes {
        let action = Action::from_actions(&rc.change.actions)
            .map_err(|e| shape(format!("{}: {e}", rc.address)))?;
        counts.add(action);
        let is_moved = rc
            .previous_address
            .as_ref()
            .is_some_and(|p| *p != rc.address);
        let is_imported = rc.change.importing.is_some();
        moved += usize::from(is_moved);
        imported += usize::from(is_imported);
        let listed = !matches!(action, Action::NoOp | Action::Read) || is_moved || is_imported;
        if listed {
            resources.push(line(rc, action, is_moved, is_imported));
        }
    }
    let mut drift = Vec::new();
    for rc in raw.resource_drift {
        let action = Action::from_actions(&rc.change.actions)
            .map_err(|e| shape(format!("{}: {e}", rc.address)))?;
        drift.push(line(rc, action, false, false));
    }
    let outputs = raw
        .output_changes
        .into_iter()
        .map(|(name, oc)| {
            let action = Action::from_actions(&oc.actions)
                .map_err(|e| shape(format!("output {name}: {e}")))?;
            let sensitive = [&oc.after_sensitive, &oc.before_sensitive]
                .iter()
                .any(|s| matches!(s, Some(serde_json::Value::Bool(true))));
            Ok(OutputLine {
                name,
                action,
                sensitive,
            })
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    Ok(PlanSummary {
        format_version: raw.format_version,
        terraform_version: raw.terraform_version,
        errored: raw.errored,
        counts,
        moved,
        imported,
        resources,
        drift,
        outputs,
    })
}

fn line(rc: RawResourceChange, action: Action, moved: bool, imported: bool) -> ResourceLine {
    let data = rc.mode.as_deref() == Some("data");
    ResourceLine {
        stateful: !data
            && matches!(action, Action::Delete | Action::Replace)
            && STATEFUL_TYPES.contains(&rc.kind.as_str()),
        address: rc.address,
        kind: rc.kind,
        action,
        previous_address: rc.previous_address.filter(|_| moved),
        imported,
        reason: rc.action_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_actions_and_never_keeps_values() {
        let json = r#"{
          "format_version": "1.2", "terraform_version": "1.15.5",
          "resource_changes": [
            {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "change": {"actions": ["delete", "create"], "before": {"x": "secret-before"}, "after": {}}, "action_reason": "replace_because_cannot_update"},
            {"address": "aws_iam_role.a", "mode": "managed", "type": "aws_iam_role", "change": {"actions": ["update"]}},
            {"address": "aws_iam_role.b", "previous_address": "aws_iam_role.old", "mode": "managed", "type": "aws_iam_role", "change": {"actions": ["no-op"]}},
            {"address": "data.aws_caller_identity.me", "mode": "data", "type": "aws_caller_identity", "change": {"actions": ["read"]}},
            {"address": "aws_ecr_repository.r", "mode": "managed", "type": "aws_ecr_repository", "change": {"actions": ["delete"]}},
            {"address": "aws_sqs_queue.q", "mode": "managed", "type": "aws_sqs_queue", "change": {"actions": ["create"], "importing": {"id": "q"}}}
          ],
          "output_changes": {"db_password": {"actions": ["update"], "before": "a", "after": "b", "after_sensitive": true}}
        }"#;
        let s = summarise(json.as_bytes(), "t").unwrap();
        assert_eq!(
            s.counts,
            Counts {
                create: 1,
                update: 1,
                replace: 1,
                delete: 1,
                read: 1,
                no_op: 1,
                forget: 0
            }
        );
        assert_eq!((s.moved, s.imported), (1, 1));
        let d = s.destructive();
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|r| r.stateful));
        assert!(s.outputs[0].sensitive);
        let printed = serde_json::to_string(&s).unwrap();
        assert!(!printed.contains("secret-before") && !printed.contains("\"b\""));
    }

    #[test]
    fn rejects_unknown_versions_and_truncation() {
        assert!(matches!(
            summarise(r#"{"format_version": "2.0"}"#.as_bytes(), "t"),
            Err(PlanError::Version { .. })
        ));
        assert!(matches!(
            summarise(
                r#"{"format_version": "1.2", "resource_changes": [{"addr"#.as_bytes(),
                "t"
            ),
            Err(PlanError::Json { .. })
        ));
        assert!(matches!(
            summarise(b"".as_slice(), "t"),
            Err(PlanError::Json { .. })
        ));
        assert!(matches!(
            summarise(r#"{"format_version": "1.2", "resource_changes": [{"address": "a", "type": "t", "change": {"actions": ["explode"]}}]}"#.as_bytes(), "t"),
            Err(PlanError::Shape { .. })
        ));
    }
}
