//! What an apply did: the gates it passed, the lock, Terraform's half, the rollout; as text
//! for a terminal and as the "Applied" section of the pull request comment.

use std::fmt::Write;

use serde::Serialize;

use crate::gate::lock::{Holder, Released};
use crate::gate::{Passed, Refusal};
use crate::rollout::engine;

/// How an apply ended; each maps to one exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Terraform and the rollout both landed (exit 0).
    Applied,
    /// The reviewed plan changes nothing: every gate passed, nothing was done (exit 0).
    NothingToChange,
    /// A gate refused (exit 3).
    Refused,
    /// Terraform's apply failed: ECS was not touched (exit 1).
    TerraformFailed,
    /// Verify found problems, or a migration failed: no service was changed (exit 1).
    NotRolledOut,
    /// The rollout failed and `--no-rollback` left it so (exit 1).
    FailedNoRollback,
    /// The rollout failed and every touched service is back on a known-good revision (exit 4).
    RolledBack,
    /// The rollout failed and so did the rollback (exit 5).
    RollbackFailed,
}

impl Outcome {
    pub fn exit(self) -> crate::exit::Exit {
        use crate::exit::Exit;
        match self {
            Outcome::Applied | Outcome::NothingToChange => Exit::Ok,
            Outcome::Refused => Exit::Refused,
            Outcome::TerraformFailed | Outcome::NotRolledOut | Outcome::FailedNoRollback => {
                Exit::Error
            }
            Outcome::RolledBack => Exit::RolledBack,
            Outcome::RollbackFailed => Exit::RollbackFailed,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::NothingToChange => "nothing to change",
            Outcome::Refused => "refused",
            Outcome::TerraformFailed => "Terraform apply failed",
            Outcome::NotRolledOut => "not rolled out",
            Outcome::FailedNoRollback => "failed (not rolled back)",
            Outcome::RolledBack => "rolled back",
            Outcome::RollbackFailed => "rollback failed",
        }
    }

    /// The apply's outcome once the rollout ran.
    pub fn of_rollout(status: engine::Status) -> Outcome {
        use engine::Status as S;
        match status {
            S::Succeeded => Outcome::Applied,
            S::Refused => Outcome::Refused,
            S::Invalid | S::MigrationFailed => Outcome::NotRolledOut,
            S::FailedNoRollback => Outcome::FailedNoRollback,
            S::RolledBack => Outcome::RolledBack,
            S::RollbackFailed => Outcome::RollbackFailed,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct TerraformApplied {
    /// Whether `terraform apply` of the saved plan ran to its end.
    pub applied: bool,
    /// Terraform's own last word ("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.").
    pub summary: Option<String>,
    /// The resources it reported done, in order ("terraform_data.x: Creation complete after 0s").
    pub done: Vec<String>,
    pub error: Option<String>,
    pub secs: f64,
}

impl TerraformApplied {
    /// What Terraform's output says it did.
    pub fn from_output(stdout: &str) -> TerraformApplied {
        const DONE: &[&str] = &[
            ": Creation complete",
            ": Modifications complete",
            ": Destruction complete",
            ": Import complete",
            ": Still destroying",
        ];
        TerraformApplied {
            done: stdout
                .lines()
                .map(str::trim)
                .filter(|l| DONE.iter().any(|d| l.contains(d)))
                .map(str::to_string)
                .collect(),
            summary: stdout
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("Apply complete!"))
                .map(str::to_string),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LockInfo {
    /// `s3://bucket/slipway/locks/<env>.json`
    pub at: String,
    pub acquired_in_ms: f64,
    pub took_over_from: Option<Holder>,
    pub released: Option<Released>,
    pub released_in_ms: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub environment: String,
    pub fingerprint: String,
    pub status: Outcome,
    /// Who applied, and when (RFC 3339).
    pub actor: String,
    pub applied_at: String,
    pub run_url: Option<String>,
    pub gates: Vec<Passed>,
    pub refusal: Option<Refusal>,
    pub problems: Vec<String>,
    pub lock: Option<LockInfo>,
    pub terraform: Option<TerraformApplied>,
    pub rollout: Option<engine::Report>,
    pub duration_secs: f64,
}

impl Report {
    fn short(&self) -> &str {
        &self.fingerprint[..self.fingerprint.len().min(12)]
    }

    /// Whether Terraform changed something that the outcome leaves in place.
    fn terraform_stays(&self) -> bool {
        self.terraform
            .as_ref()
            .is_some_and(|t| t.applied || !t.done.is_empty())
            && !matches!(self.status, Outcome::Applied | Outcome::NothingToChange)
    }
}

pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "apply {} (plan {}): {} in {:.1}s",
        r.environment,
        r.short(),
        r.status.word(),
        r.duration_secs
    );
    if let Some(refusal) = &r.refusal {
        let _ = writeln!(out, "  {refusal}");
    }
    for g in &r.gates {
        let _ = writeln!(out, "  ✓ {}: {}", g.gate, g.detail);
    }
    if let Some(l) = &r.lock {
        let _ = writeln!(
            out,
            "  lock {} taken in {:.0} ms{}",
            l.at,
            l.acquired_in_ms,
            l.took_over_from
                .as_ref()
                .map_or_else(String::new, |h| format!(
                    ", taken over from {}",
                    h.describe()
                ))
        );
    }
    if let Some(t) = &r.terraform {
        match (&t.summary, &t.error) {
            (Some(s), _) => {
                let _ = writeln!(out, "  terraform: {s}");
            }
            (None, Some(e)) => {
                let _ = writeln!(
                    out,
                    "  terraform failed: {}",
                    e.lines().next().unwrap_or("")
                );
                if t.done.is_empty() {
                    let _ = writeln!(out, "  terraform applied nothing before it failed");
                } else {
                    let _ = writeln!(out, "  terraform applied before it failed:");
                    for d in &t.done {
                        let _ = writeln!(out, "    {d}");
                    }
                }
            }
            (None, None) => {}
        }
    }
    if r.terraform_stays() {
        let _ = writeln!(
            out,
            "  note: Terraform's changes are not undone; the services are where the outcome says"
        );
    }
    for p in &r.problems {
        let _ = writeln!(out, "  - {p}");
    }
    if let Some(ro) = &r.rollout {
        let _ = write!(out, "{}", crate::report::rollout::text("rollout", ro));
    }
    out
}

/// The "Applied" section of the PR comment.
pub fn section(r: &Report) -> String {
    let mut out = String::new();
    let icon = match r.status {
        Outcome::Applied | Outcome::NothingToChange => "✅",
        Outcome::RolledBack => "↩️",
        _ => "❌",
    };
    let by = match &r.run_url {
        Some(u) => format!("[@{}]({u})", r.actor),
        None => format!("@{}", r.actor),
    };
    let _ = writeln!(
        out,
        "### {icon} Applied by {by} at {} from fingerprint `{}`: {}\n",
        r.applied_at,
        r.short(),
        r.status.word()
    );
    if let Some(t) = &r.terraform {
        let what = t
            .summary
            .clone()
            .or_else(|| {
                t.error
                    .as_ref()
                    .map(|_| format!("failed after {} resource(s)", t.done.len()))
            })
            .unwrap_or_else(|| "not run".into());
        let _ = writeln!(out, "- Terraform: {what}");
    }
    if let Some(ro) = &r.rollout {
        for s in &ro.services {
            let rev = s
                .rolled_back_to
                .as_deref()
                .or(s.deployed.as_deref())
                .map_or("–", engine::short_arn);
            let _ = writeln!(out, "- `{}` `{rev}`: {}", s.service, s.state());
        }
    }
    if r.terraform_stays() {
        let _ = writeln!(out, "\n_Terraform's changes are not undone._");
    }
    for p in r.problems.iter().take(10) {
        let _ = writeln!(out, "- {p}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_output_says_what_it_did() {
        let out = "terraform_data.a: Creating...\nterraform_data.a: Creation complete after 0s [id=1]\nterraform_data.b: Destroying... [id=2]\nterraform_data.b: Destruction complete after 0s\n\nApply complete! Resources: 1 added, 0 changed, 1 destroyed.\n";
        let t = TerraformApplied::from_output(out);
        assert_eq!(t.done.len(), 2);
        assert_eq!(
            t.summary.as_deref(),
            Some("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.")
        );
    }

    #[test]
    fn every_outcome_has_its_exit_code() {
        use crate::exit::Exit;
        assert_eq!(Outcome::NothingToChange.exit(), Exit::Ok);
        assert_eq!(Outcome::Refused.exit(), Exit::Refused);
        assert_eq!(Outcome::TerraformFailed.exit(), Exit::Error);
        assert_eq!(Outcome::RolledBack.exit(), Exit::RolledBack);
        assert_eq!(
            Outcome::of_rollout(engine::Status::RollbackFailed),
            Outcome::RollbackFailed
        );
    }
}
