//! `slipway bootstrap` with the real Terraform against built-in-only roots (the AWS provider
//! cannot be installed offline): tests/fixtures/tf-root for the environment, and
//! tests/fixtures/bootstrap-backend for the state bucket's root. The OIDC roles are in the
//! emulator (seed.py makes them from the tfvars, as Terraform would).

use std::path::Path;

use serde_json::{json, Value};

use crate::support::{fixtures, mutations, mutations_besides_the_lock, terraform, Stage};

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn serial(root: &Path, env: &str) -> u64 {
    let state = root
        .join("terraform.tfstate.d")
        .join(env)
        .join("terraform.tfstate");
    let v: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    v["serial"].as_u64().unwrap()
}

fn bootstrap(stage: &Stage, root: &Path, extra: &[&str]) -> (i32, Value, String) {
    bootstrap_as(stage, root, extra, &[])
}

fn bootstrap_as(
    stage: &Stage,
    root: &Path,
    extra: &[&str],
    vars: &[(&str, &str)],
) -> (i32, Value, String) {
    let out = stage
        .slipway()
        .envs(vars.iter().copied())
        .env("SLIPWAY_TERRAFORM", terraform())
        .args(["--format", "json", "bootstrap", "--env", &stage.env])
        .arg("--terraform-dir")
        .arg(root)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_applies_second_changes_nothing_and_roles_are_held_to_the_file() {
    let stage = Stage::up("envs", "staging").await;
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let backend = work.path().join("backend");
    copy(&fixtures().join("tf-root"), &root);
    copy(&fixtures().join("bootstrap-backend"), &backend);

    // First run: the backend root, then the environment's, applied; the roles check out.
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let backend_dir = backend.display().to_string();
    let (code, v, stderr) = bootstrap(&stage, &root, &["--backend", "--backend-dir", &backend_dir]);
    assert_eq!(code, 0, "{stderr}\n{v:#}");
    assert_eq!(v["terraform"], "applied", "{v:#}");
    assert!(v["changes"].as_u64().unwrap() > 0, "{v:#}");
    let tfbackend = std::fs::read_to_string(root.join("staging.s3.tfbackend")).unwrap();
    assert!(
        tfbackend.contains("bucket       = \"scr-terraform-state\""),
        "{tfbackend}"
    );
    assert!(tfbackend.contains("use_lockfile = true"), "{tfbackend}");
    let roles: Vec<(&str, usize)> = v["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap(),
                r["problems"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(roles, [("deploy", 0), ("terraform", 0)], "{v:#}");
    let needs: Vec<String> = v["github"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{} {}",
                n["kind"].as_str().unwrap(),
                n["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        needs,
        [
            "environment staging",
            "variable SLIPWAY_GIT_URL",
            "variable STAGING_DEPLOY_ROLE_ARN",
            "variable STAGING_TERRAFORM_ROLE_ARN",
        ]
    );
    // The apply held the lock; nothing else in AWS changed (the roots are built-in only).
    let calls = stage.emu.calls().await;
    assert_eq!(
        mutations_besides_the_lock(&calls),
        Vec::<String>::new(),
        "{calls:?}"
    );
    assert!(calls.contains_key("S3.PutObject"), "{calls:?}");
    let applied = serial(&root, "staging");

    // Second run: nothing to change, said; no AWS call changes anything, no state is written.
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let (code, v, stderr) = bootstrap(&stage, &root, &["--backend", "--backend-dir", &backend_dir]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["terraform"], "unchanged", "{v:#}");
    assert_eq!(v["changes"], 0);
    assert!(stderr.contains("nothing to change"), "{stderr}");
    let calls = stage.emu.calls().await;
    assert_eq!(mutations(&calls), Vec::<String>::new(), "{calls:?}");
    assert_eq!(serial(&root, "staging"), applied);

    // A role that trusts more than the file names fails the check (exit 1).
    let config = stage.emu.sdk_config("eu-west-1").await;
    let iam = aws_sdk_iam::Client::new(&config);
    let loose = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": "repo:scr-platform/*"
            }}
        }]
    });
    iam.update_assume_role_policy()
        .role_name("scr-staging-github-deploy")
        .policy_document(loose.to_string())
        .send()
        .await
        .unwrap();
    let (code, v, _) = bootstrap(&stage, &root, &[]);
    assert_eq!(code, 1, "{v:#}");
    let problems = v["roles"][0]["problems"].to_string();
    assert!(
        problems.contains("not pinned to scr-platform/scr-platform"),
        "{problems}"
    );
    iam.delete_role_policy()
        .role_name("scr-staging-github-terraform")
        .policy_name("slipway")
        .send()
        .await
        .unwrap();
    iam.delete_role()
        .role_name("scr-staging-github-terraform")
        .send()
        .await
        .unwrap();
    let (code, v, _) = bootstrap(&stage, &root, &[]);
    assert_eq!(code, 1);
    assert!(
        v["roles"][1]["problems"]
            .to_string()
            .contains("does not exist"),
        "{v:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apply_waits_for_the_confirmation_word() {
    let stage = Stage::up("envs", "production").await;
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    copy(&fixtures().join("tf-root"), &root);
    // From a dispatched workflow (production takes no change from a terminal).
    let dispatch = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "workflow_dispatch"),
        ("GITHUB_ACTOR", "octocat"),
    ];
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let (code, v, stderr) = bootstrap_as(&stage, &root, &[], &dispatch);
    assert_eq!(code, 3, "exit {code}: {stderr}");
    assert_eq!(v["status"], "refused", "{v:#}");
    assert!(v.to_string().contains("confirmation word"), "{v:#}");
    assert_eq!(mutations(&stage.emu.calls().await), Vec::<String>::new());
    assert!(
        !root
            .join("terraform.tfstate.d/production/terraform.tfstate")
            .exists()
            || serial(&root, "production") == 0
    );
    let (code, v, stderr) = bootstrap_as(&stage, &root, &["--confirm", "DEPLOY"], &dispatch);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["terraform"], "applied");
}

#[test]
fn an_environment_that_does_not_validate_is_refused_before_terraform() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("envs")).unwrap();
    std::fs::write(
        dir.path().join("envs/dev.hcl"),
        "account_id = \"123456789012\"\nregion = \"eu-west-1\"\ncluster = \"dev\"\nservice \"api\" {\n  image = \"nginx\"\n  cpu = 300\n  memory = 512\n}\n",
    )
    .unwrap();
    let a = crate::support::slipway()
        .current_dir(dir.path())
        .env("SLIPWAY_TERRAFORM", "/nonexistent/terraform")
        .args(["bootstrap", "--env", "dev"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("fargate-size") && err.contains("bootstrap refused"),
        "{err}"
    );
}
