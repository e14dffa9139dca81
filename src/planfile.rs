//! The plan file: what a reviewer saw, bound by a fingerprint, so that a gated apply can insist
//! on exactly that plan and on nothing having changed since.
//!
//! The fingerprint is sha256 over the canonical JSON (sorted keys, no whitespace) of the whole
//! file except `fingerprint` itself, `created_at`, and the Terraform plan's local path: the same
//! inputs against the same live state give the same fingerprint wherever they are planned; any
//! change to the environment files, the rendered documents, the live state, the Terraform plan's
//! bytes, the commit or the slipway version gives another.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::diff::{hex, ServiceDiff};
use crate::render::Ecs;
use crate::terraform::plan::PlanSummary;

pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanFile {
    pub format: u32,
    pub environment: String,
    pub account_id: String,
    pub region: String,
    pub cluster: String,
    /// Every file the environment was read from, with its sha256.
    pub env_files: Vec<FileDigest>,
    pub git: Option<GitRef>,
    pub slipway_version: String,
    pub image_tag: Option<String>,
    pub terraform: Option<TerraformPart>,
    pub ecs: EcsPart,
    /// The migrations the apply would run, linted (absent when no service names `sql` files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrations: Option<crate::migrations::pending::Report>,
    /// What the apply would publish of each static site.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<crate::site::run::Planned>,
    pub created_at: String,
    pub fingerprint: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    pub path: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRef {
    pub sha: String,
    pub branch: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TerraformPart {
    /// The saved binary plan (`terraform plan -out`), relative to the plan file when beside it.
    pub plan_file: PathBuf,
    pub plan_sha256: String,
    pub workspace: String,
    pub summary: PlanSummary,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EcsPart {
    /// What will be registered and applied, exactly.
    pub rendered: Ecs,
    pub diffs: Vec<ServiceDiff>,
    /// Digest of the live state the diff was made against.
    pub live_digest: String,
    /// The same, per service: names what moved when `live_digest` no longer matches.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub live_services: std::collections::BTreeMap<String, String>,
}

impl PlanFile {
    pub fn has_changes(&self) -> bool {
        self.ecs.diffs.iter().any(ServiceDiff::has_changes)
            || self
                .sites
                .iter()
                .any(crate::site::run::Planned::has_changes)
            || self
                .terraform
                .as_ref()
                .is_some_and(|t| t.summary.has_changes())
    }

    /// The fingerprint the content has (not necessarily the one recorded).
    pub fn compute_fingerprint(&self) -> String {
        let mut v = serde_json::to_value(self).expect("a plan serialises");
        if let Value::Object(m) = &mut v {
            m.remove("fingerprint");
            m.remove("created_at");
            if let Some(Value::Object(tf)) = m.get_mut("terraform") {
                tf.remove("plan_file");
            }
        }
        let canonical = serde_json::to_string(&v).expect("a Value serialises");
        hex(&Sha256::digest(canonical.as_bytes()))
    }

    pub fn seal(mut self) -> PlanFile {
        self.fingerprint = self.compute_fingerprint();
        self
    }

    /// Short form for people: the first 12 hex digits.
    pub fn short_fingerprint(&self) -> &str {
        &self.fingerprint[..self.fingerprint.len().min(12)]
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let v = serde_json::to_value(self).expect("a plan serialises");
        let text = serde_json::to_string_pretty(&v).expect("a Value serialises") + "\n";
        // Write beside and rename, so a reader never sees half a plan.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a plan file and checks its fingerprint (a hand-edited plan is refused).
    pub fn read(path: &Path) -> Result<PlanFile, PlanFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| PlanFileError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        let plan: PlanFile = serde_json::from_str(&text).map_err(|e| PlanFileError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if plan.format != FORMAT {
            return Err(PlanFileError::Format {
                path: path.to_path_buf(),
                found: plan.format,
            });
        }
        let actual = plan.compute_fingerprint();
        if actual != plan.fingerprint {
            return Err(PlanFileError::Tampered {
                path: path.to_path_buf(),
                recorded: plan.fingerprint.clone(),
                actual,
            });
        }
        Ok(plan)
    }

    /// The Terraform plan's path, resolved against the plan file's directory.
    pub fn terraform_plan_path(&self, plan_file: &Path) -> Option<PathBuf> {
        let tf = self.terraform.as_ref()?;
        Some(if tf.plan_file.is_absolute() {
            tf.plan_file.clone()
        } else {
            plan_file
                .parent()
                .unwrap_or(Path::new("."))
                .join(&tf.plan_file)
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a slipway plan file: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{} has plan format {found}; this slipway reads format {FORMAT}: plan again with this version", path.display())]
    Format { path: PathBuf, found: u32 },
    #[error("{} was changed after it was planned (fingerprint {recorded} recorded, content hashes to {actual}): plan again", path.display())]
    Tampered {
        path: PathBuf,
        recorded: String,
        actual: String,
    },
}

/// sha256 of a file's bytes.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Digests of the files an environment was read from (as read, so exactly what was planned).
pub fn env_file_digests(sources: &crate::diag::SourceMap) -> Vec<FileDigest> {
    let mut out: Vec<FileDigest> = sources
        .files()
        .map(|(path, text)| FileDigest {
            // The name within the environments directory: where the checkout lives must not
            // change the fingerprint.
            path: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into(),
            ),
            sha256: hex(&Sha256::digest(text.as_bytes())),
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Now, as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn timestamp(secs: i64) -> String {
    aws_sdk_ecs::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_ecs::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// A small sealed plan (no Terraform half, no services), for the unit tests of what reads plans.
#[cfg(test)]
pub(crate) fn sample(environment: &str) -> PlanFile {
    serde_json::from_value::<PlanFile>(serde_json::json!({
        "format": FORMAT,
        "environment": environment,
        "account_id": "111111111111",
        "region": "eu-west-1",
        "cluster": format!("scr-{environment}"),
        "env_files": [],
        "git": {"sha": "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00", "branch": "main"},
        "slipway_version": "0.1.0",
        "image_tag": "v1",
        "terraform": null,
        "ecs": {"rendered": {"task_definitions": {}, "services": {}}, "diffs": [], "live_digest": "d"},
        "created_at": "2026-12-01T00:00:00Z",
        "fingerprint": ""
    }))
    .expect("the sample is a plan")
    .seal()
}
