//! Staleness: nothing the plan was made from may have moved since. Each check is its own
//! refusal and names what moved: the environment files, the commit checked out, the saved
//! Terraform plan, and the live ECS state (re-read now). Terraform's own "saved plan is stale"
//! refusal, which it gives when the state changed under the saved plan, is mapped here too.

use std::collections::BTreeMap;

use super::{Passed, Refusal};
use crate::planfile::{FileDigest, GitRef};
use crate::terraform::StateMeta;

fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

/// The environment files must hash as they did when planned.
pub fn env_files(recorded: &[FileDigest], now: &[FileDigest]) -> Result<Passed, Refusal> {
    let then: BTreeMap<&str, &str> = recorded
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let current: BTreeMap<&str, &str> = now
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let mut moved = Vec::new();
    for (path, sha) in &then {
        match current.get(path) {
            None => moved.push(format!("{path} is gone")),
            Some(now) if now != sha => moved.push(format!(
                "{path} changed (sha256 {} when planned, {} now)",
                short(sha),
                short(now)
            )),
            Some(_) => {}
        }
    }
    for path in current.keys().filter(|p| !then.contains_key(*p)) {
        moved.push(format!("{path} was added"));
    }
    if moved.is_empty() {
        return Ok(Passed::new(
            "stale",
            format!("{} environment file(s) as planned", then.len()),
        ));
    }
    Err(Refusal::new(
        "stale",
        "env-file",
        format!(
            "the environment changed since the plan: {}",
            moved.join("; ")
        ),
    )
    .help("plan again, and have the new plan reviewed"))
}

/// The checkout must be at the plan's commit.
pub fn head(recorded: Option<&GitRef>, now: Option<&str>) -> Result<Passed, Refusal> {
    match (recorded, now) {
        (None, None) => Ok(Passed::new("stale", "not a git checkout, as when planned")),
        (Some(r), Some(now)) if r.sha == now => Ok(Passed::new(
            "stale",
            format!("HEAD is the plan's commit {}", short(now)),
        )),
        (r, now) => Err(Refusal::new(
            "stale",
            "head",
            format!(
                "HEAD is {}, but the plan was made at {}",
                now.map_or("not a commit", short),
                r.map_or("no commit", |r| short(&r.sha))
            ),
        )
        .help("check out the plan's commit (the workflow's `ref:`), or plan again")),
    }
}

/// The saved Terraform plan must still have the bytes that were planned.
pub fn terraform_plan(
    recorded: &str,
    path: &std::path::Path,
    now: Result<String, String>,
) -> Result<Passed, Refusal> {
    match now {
        Ok(sha) if sha == recorded => Ok(Passed::new(
            "stale",
            format!("the saved Terraform plan {} is as planned", path.display()),
        )),
        Ok(sha) => Err(Refusal::new(
            "stale",
            "terraform-plan",
            format!(
                "the saved Terraform plan {} changed since the plan (sha256 {} recorded, {} now)",
                path.display(),
                short(recorded),
                short(&sha)
            ),
        )
        .help("download the saved plan from the same plan run as the plan file, or plan again")),
        Err(e) => Err(Refusal::new(
            "stale",
            "terraform-plan",
            format!("the saved Terraform plan cannot be read: {e}"),
        )
        .help("download the saved plan from the same plan run as the plan file (it is uploaded beside it)")),
    }
}

/// The live ECS state must be what the plan was compared against. `then` and `now` are the
/// per-service digests (an absent service has none), used to name what moved.
pub fn live(
    recorded: &str,
    now: &str,
    then: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> Result<Passed, Refusal> {
    if recorded == now {
        return Ok(Passed::new(
            "stale",
            "the live ECS state is what the plan was made against",
        ));
    }
    let mut moved: Vec<String> = Vec::new();
    for (name, digest) in then {
        match current.get(name) {
            None => moved.push(format!("{name} no longer runs")),
            Some(d) if d != digest => moved.push(format!("{name} changed")),
            Some(_) => {}
        }
    }
    for name in current.keys().filter(|n| !then.contains_key(*n)) {
        moved.push(format!("{name} appeared"));
    }
    let what = if moved.is_empty() {
        "the services' live state".to_string()
    } else {
        moved.join(", ")
    };
    Err(Refusal::new(
        "stale",
        "live-state",
        format!("the live ECS state moved since the plan: {what}"),
    )
    .help(
        "plan again (someone deployed, or ECS changed a service), and have the new plan reviewed",
    ))
}

/// The workspace's state must be the one the saved plan was made against: Terraform's own
/// "saved plan is stale" check (same lineage, same serial), made before anything is changed.
pub fn terraform_state(
    workspace: &str,
    planned: Option<&StateMeta>,
    now: Option<&StateMeta>,
) -> Result<Passed, Refusal> {
    if planned == now {
        return Ok(Passed::new(
            "stale",
            format!(
                "workspace {workspace}'s state is the one planned against ({})",
                now.map_or_else(
                    || "none yet".to_string(),
                    |m| format!("serial {}", m.serial)
                )
            ),
        ));
    }
    let show = |m: Option<&StateMeta>| {
        m.map_or_else(
            || "no state".to_string(),
            |m| format!("serial {} of lineage {}", m.serial, short(&m.lineage)),
        )
    };
    Err(Refusal::new(
        "stale",
        "terraform-state",
        format!(
            "workspace {workspace}'s Terraform state changed since the plan ({} planned, {} now): the saved plan is stale",
            show(planned),
            show(now)
        ),
    )
    .help("someone applied in between: plan again, and have the new plan reviewed"))
}

/// Terraform's refusal to apply a saved plan whose state moved on, as a refusal of ours.
pub fn terraform_refused(stderr: &str) -> Option<Refusal> {
    stderr.contains("Saved plan is stale").then(|| {
        Refusal::new(
            "stale",
            "terraform-state",
            "Terraform refused the saved plan: the state changed since it was planned (\"Saved plan is stale\")",
        )
        .help("plan again, and have the new plan reviewed")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, sha: &str) -> FileDigest {
        FileDigest {
            path: path.into(),
            sha256: sha.into(),
        }
    }

    #[test]
    fn env_files_name_what_moved() {
        let then = [f("_shared.hcl", "aa"), f("staging.hcl", "bb")];
        assert!(env_files(&then, &then).is_ok());
        let r = env_files(&then, &[f("_shared.hcl", "aa"), f("staging.hcl", "cc")]).unwrap_err();
        assert_eq!(r.rule, "env-file");
        assert!(r.message.contains("staging.hcl changed"), "{r}");
        let r = env_files(&then[1..], &then).unwrap_err();
        assert!(r.message.contains("_shared.hcl was added"), "{r}");
        let r = env_files(&then, &then[1..]).unwrap_err();
        assert!(r.message.contains("_shared.hcl is gone"), "{r}");
    }

    #[test]
    fn head_must_be_the_plans_commit() {
        let r = GitRef {
            sha: "abc".into(),
            branch: None,
        };
        assert!(head(Some(&r), Some("abc")).is_ok());
        assert_eq!(head(Some(&r), Some("def")).unwrap_err().rule, "head");
        assert_eq!(head(Some(&r), None).unwrap_err().rule, "head");
        assert!(head(None, None).is_ok());
    }

    #[test]
    fn the_saved_plan_must_have_its_bytes() {
        let p = std::path::Path::new("staging.tfplan");
        assert!(terraform_plan("aa", p, Ok("aa".into())).is_ok());
        assert_eq!(
            terraform_plan("aa", p, Ok("bb".into())).unwrap_err().rule,
            "terraform-plan"
        );
        assert_eq!(
            terraform_plan("aa", p, Err("no such file".into()))
                .unwrap_err()
                .rule,
            "terraform-plan"
        );
    }

    #[test]
    fn live_state_names_the_services_that_moved() {
        let then: BTreeMap<String, String> =
            [("api".into(), "1".into()), ("web".into(), "2".into())].into();
        let mut now = then.clone();
        assert!(live("x", "x", &then, &now).is_ok());
        now.insert("api".into(), "9".into());
        now.insert("worker".into(), "3".into());
        now.remove("web");
        let r = live("x", "y", &then, &now).unwrap_err();
        assert_eq!(r.rule, "live-state");
        assert!(r.message.contains("api changed"), "{r}");
        assert!(r.message.contains("web no longer runs"), "{r}");
        assert!(r.message.contains("worker appeared"), "{r}");
    }

    #[test]
    fn the_state_must_be_the_planned_one() {
        let m = |serial| StateMeta {
            lineage: "73a7331f".into(),
            serial,
        };
        assert!(terraform_state("staging", Some(&m(6)), Some(&m(6))).is_ok());
        assert!(terraform_state("staging", None, None).is_ok());
        let r = terraform_state("staging", Some(&m(6)), Some(&m(7))).unwrap_err();
        assert_eq!(r.rule, "terraform-state");
        assert!(r.message.contains("serial 6"), "{r}");
        assert!(terraform_state("staging", None, Some(&m(1))).is_err());
    }

    #[test]
    fn terraforms_stale_plan_is_a_refusal() {
        let stderr = "Error: Saved plan is stale\n\nThe given plan file can no longer be applied because the state was changed by another operation after the plan was created.";
        assert_eq!(terraform_refused(stderr).unwrap().rule, "terraform-state");
        assert!(terraform_refused("Error: something else").is_none());
    }
}
