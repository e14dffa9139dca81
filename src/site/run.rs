//! A deploy's site half: prepared (verified, compared; reads only) before anything changes, then
//! published after the services' rollout succeeded, smoke-checked, and restored on failure.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::release::{self, Published, Target};
use super::{Changes, LocalFile, Manifest};
use crate::aws::Clients;
use crate::env::model::{Environment, Site};
use crate::rollout::smoke::CheckResult;

/// One site, verified and compared.
pub struct Prepared<'a> {
    pub site: &'a Site,
    pub local: BTreeMap<String, LocalFile>,
    pub current: Option<Manifest>,
    pub healthy: Option<Manifest>,
    pub changes: Changes,
}

/// Reads what each site needs and checks it; every problem, or the prepared sites.
pub async fn prepare<'a>(
    env: &'a Environment,
    clients: &Clients,
    account: &str,
    root: &Path,
) -> Result<Vec<Prepared<'a>>, Vec<String>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for site in &env.sites {
        match prepare_one(site, clients, account, root).await {
            Ok(p) => out.push(p),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

async fn prepare_one<'a>(
    site: &'a Site,
    clients: &Clients,
    account: &str,
    root: &Path,
) -> Result<Prepared<'a>, String> {
    let name = &site.name.v;
    if site.bucket.v.contains("${") {
        return Err(format!(
            "site \"{name}\": bucket {} is not known (Terraform's outputs?)",
            site.bucket.v
        ));
    }
    let local = super::scan(root, site)?;
    let t = Target {
        clients,
        site,
        account,
    };
    // The first call to the bucket, with the environment's account as its expected owner.
    let versioned = t.versioned().await.map_err(|e| {
        if e.is_access_denied() {
            format!(
                "site \"{name}\": S3 refused bucket {} for the environment's account {account}: it belongs to another account, or the caller may not read it ({e})",
                site.bucket.v
            )
        } else {
            format!("site \"{name}\": {e}")
        }
    })?;
    if !versioned {
        return Err(format!(
            "site \"{name}\": bucket {} does not keep versions, and slipway restores a release from them: enable versioning (the static-site module does)",
            site.bucket.v
        ));
    }
    if let Some(id) = &site.distribution_id {
        let owner = t
            .distribution_account(&id.v)
            .await
            .map_err(|e| format!("site \"{name}\": {e}"))?;
        if owner != account {
            return Err(format!(
                "site \"{name}\": distribution {} belongs to account {owner}, not the environment's {account}",
                id.v
            ));
        }
    }
    let current = t
        .manifest(super::CURRENT)
        .await
        .map_err(|e| format!("site \"{name}\": {e}"))?;
    let healthy = t
        .manifest(super::HEALTHY)
        .await
        .map_err(|e| format!("site \"{name}\": {e}"))?;
    let listing = t
        .listing()
        .await
        .map_err(|e| format!("site \"{name}\": {e}"))?;
    let changes = super::compare(name, &local, current.as_ref(), &listing);
    Ok(Prepared {
        site,
        local,
        current,
        healthy,
        changes,
    })
}

/// What `diff` and `plan` show of a site: the changes, and a digest of the local files (which
/// `apply` checks again before it publishes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Planned {
    pub site: String,
    pub upload: Vec<String>,
    pub delete: Vec<String>,
    pub unchanged: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_release: Option<String>,
    /// sha256 over every local key and its content's sha256.
    pub local_digest: String,
}

impl Planned {
    pub fn of(p: &Prepared<'_>) -> Planned {
        Planned {
            site: p.site.name.v.clone(),
            upload: p.changes.upload.clone(),
            delete: p.changes.delete.clone(),
            unchanged: p.changes.unchanged,
            current_release: p.changes.current_release.clone(),
            local_digest: digest(&p.local),
        }
    }

    pub fn has_changes(&self) -> bool {
        !self.upload.is_empty() || !self.delete.is_empty()
    }
}

/// sha256 over the local files: each key and its content's sha256, in order.
pub fn digest(local: &BTreeMap<String, LocalFile>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, f) in local {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(f.entry.sha256.as_bytes());
        h.update([b'\n']);
    }
    crate::diff::hex(&h.finalize())
}

/// Text lines for `diff` and `plan`: counts, then up to 50 files each way.
pub fn planned_text(sites: &[Planned]) -> String {
    let mut s = String::new();
    for p in sites {
        s.push_str(&format!(
            "site {}: {} to upload, {} to delete, {} unchanged{}\n",
            p.site,
            p.upload.len(),
            p.delete.len(),
            p.unchanged,
            p.current_release.as_ref().map_or_else(
                || " (no release published by slipway yet)".to_string(),
                |r| format!(" (live release {r})")
            )
        ));
        for k in p.upload.iter().take(50) {
            s.push_str(&format!("  + {k}\n"));
        }
        if p.upload.len() > 50 {
            s.push_str(&format!("  … and {} more to upload\n", p.upload.len() - 50));
        }
        for k in p.delete.iter().take(50) {
            s.push_str(&format!("  - {k}\n"));
        }
        if p.delete.len() > 50 {
            s.push_str(&format!("  … and {} more to delete\n", p.delete.len() - 50));
        }
    }
    s
}

/// How one site's publish ended.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub site: String,
    /// `unchanged`, `published`, `restored` (smoke checks failed; the last healthy release is
    /// back), `failed` (publish failed), `restore_failed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<Published>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smoke: Vec<CheckResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Publishes each prepared site, runs its smoke checks, and restores the last healthy release
/// of a site whose checks fail.
#[allow(clippy::too_many_arguments)]
pub async fn publish(
    env: &Environment,
    clients: &Clients,
    account: &str,
    prepared: &[Prepared<'_>],
    git: Option<&crate::env::GitVars>,
    deployer: &str,
    smoke_base_url: Option<&str>,
    smoke_timeout: Duration,
    run_smoke: bool,
    restore: bool,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    for p in prepared {
        let t = Target {
            clients,
            site: p.site,
            account,
        };
        let mut o = Outcome {
            site: p.site.name.v.clone(),
            status: "unchanged",
            published: None,
            restored: None,
            smoke: Vec::new(),
            problem: None,
        };
        let release = Manifest {
            site: p.site.name.v.clone(),
            release: super::release_id(git.map(|g| g.short_sha.as_str())),
            git_sha: git.map(|g| g.sha.clone()),
            deployer: deployer.to_string(),
            created_at: crate::planfile::now_rfc3339(),
            healthy_at: None,
            files: BTreeMap::new(),
        };
        let manifest = if p.changes.is_empty() && p.current.is_some() {
            p.current.clone()
        } else {
            match release::publish(&t, &p.local, p.current.as_ref(), &p.changes, release).await {
                Ok((m, done)) => {
                    o.status = "published";
                    o.published = Some(done);
                    Some(m)
                }
                Err(e) => {
                    o.status = "failed";
                    o.problem = Some(e.to_string());
                    out.push(o);
                    continue;
                }
            }
        };
        let base = p
            .site
            .url
            .as_ref()
            .map(|u| u.v.as_str())
            .or(smoke_base_url)
            .or(env.smoke_base_url.as_ref().map(|u| u.v.as_str()));
        if run_smoke && !p.site.smoke.is_empty() {
            if let Some(base) = base {
                let checks: Vec<(&str, &crate::env::model::SmokeCheck)> = p
                    .site
                    .smoke
                    .iter()
                    .map(|c| (p.site.name.v.as_str(), c))
                    .collect();
                o.smoke = crate::rollout::smoke::run_checks(&checks, base, smoke_timeout).await;
            }
        }
        let Some(manifest) = manifest else {
            out.push(o);
            continue;
        };
        if o.smoke.iter().all(|c| c.passed) {
            if let Err(e) = release::mark_healthy(&t, &manifest).await {
                o.problem = Some(format!(
                    "the release is live but could not be marked healthy: {e}"
                ));
            }
        } else if !restore {
            o.status = "failed";
            o.problem =
                Some("the smoke checks failed; --no-rollback leaves the release in place".into());
        } else {
            match &p.healthy {
                Some(h) => match release::restore(&t, &manifest, h).await {
                    Ok(done) => {
                        o.status = "restored";
                        o.restored = Some(done);
                    }
                    Err(e) => {
                        o.status = "restore_failed";
                        o.problem = Some(format!("restoring release {}: {e}", h.release));
                    }
                },
                None => {
                    o.status = "restore_failed";
                    o.problem = Some(
                        "the smoke checks failed and no earlier release is marked healthy".into(),
                    );
                }
            }
        }
        out.push(o);
    }
    out
}

/// `rollback`: each site back to the newest release before its current one that passed its
/// smoke checks. A site whose bucket is a Terraform output is skipped (rollback reads none).
pub async fn roll_back(env: &Environment, clients: &Clients) -> Vec<Outcome> {
    let mut out = Vec::new();
    for site in &env.sites {
        let mut o = Outcome {
            site: site.name.v.clone(),
            status: "unchanged",
            published: None,
            restored: None,
            smoke: Vec::new(),
            problem: None,
        };
        if site.bucket.v.contains("${") {
            o.status = "skipped";
            o.problem = Some("its bucket is a Terraform output, which rollback does not read: write the bucket's name in the site block".into());
            out.push(o);
            continue;
        }
        let t = Target {
            clients,
            site,
            account: &env.account_id.v,
        };
        let result = async {
            let Some(current) = t.manifest(super::CURRENT).await? else {
                return Ok::<_, crate::aws::AwsError>(None);
            };
            let ids = t.release_ids().await?;
            for id in ids.iter().rev().filter(|id| **id < current.release) {
                let key = format!("{}{id}.json", super::RELEASES);
                if let Some(m) = t.manifest(&key).await? {
                    if m.healthy_at.is_some() {
                        return Ok(Some(release::restore(&t, &current, &m).await?));
                    }
                }
            }
            Ok(None)
        }
        .await;
        match result {
            Ok(Some(done)) => {
                o.status = "restored";
                o.restored = Some(done);
            }
            Ok(None) => {
                o.problem = Some("no earlier release marked healthy: left as it is".into());
            }
            Err(e) => {
                o.status = "restore_failed";
                o.problem = Some(e.to_string());
            }
        }
        out.push(o);
    }
    out
}

/// Text lines for a deploy's report.
pub fn text(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    for o in outcomes {
        let line = match (&o.published, &o.restored) {
            (None, Some(r)) => format!(
                "site {}: back on release {} ({} file(s) put back, {} removed)",
                o.site,
                r.release,
                r.uploaded.len(),
                r.deleted.len()
            ),
            (Some(_), Some(r)) => format!(
                "site {}: smoke checks failed; release {} restored ({} file(s) put back, {} removed)",
                o.site,
                r.release,
                r.uploaded.len(),
                r.deleted.len()
            ),
            (Some(p), None) => format!(
                "site {}: release {} published: {} uploaded, {} deleted, {} path(s) invalidated",
                o.site,
                p.release,
                p.uploaded.len(),
                p.deleted.len(),
                p.invalidated.len()
            ),
            (None, None) => format!("site {}: {}", o.site, o.status),
        };
        s.push_str(&line);
        s.push('\n');
        for c in o.smoke.iter().filter(|c| !c.passed) {
            s.push_str(&format!("  smoke {} {}: {}\n", c.check, c.url, c.detail));
        }
        if let Some(p) = &o.problem {
            s.push_str(&format!("  problem: {p}\n"));
        }
    }
    s
}

/// The exit code the sites give: 0, 4 (restored), 5 (a restore failed) or 1 (a publish failed).
pub fn exit(outcomes: &[Outcome]) -> crate::exit::Exit {
    use crate::exit::Exit;
    if outcomes.iter().any(|o| o.status == "restore_failed") {
        Exit::RollbackFailed
    } else if outcomes.iter().any(|o| o.status == "restored") {
        Exit::RolledBack
    } else if outcomes.iter().any(|o| o.status == "failed") {
        Exit::Error
    } else {
        Exit::Ok
    }
}
