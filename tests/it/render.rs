//! Rendering both example systems from Terraform output fixtures.

use crate::support::{fixtures, repo, slipway};

fn render(system_dir: &str, system: &str, env: &str) -> serde_json::Value {
    let outputs = fixtures().join(format!("terraform-outputs/{system}/{env}.json"));
    let out = slipway()
        .current_dir(repo())
        .args([
            "--envs-dir",
            system_dir,
            "render",
            "--env",
            env,
            "--image-tag",
            "3f2c1a9",
            "--format",
            "json",
        ])
        .arg("--tf-outputs")
        .arg(&outputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{system}/{env}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn scr_platform_renders() {
    for env in ["staging", "production"] {
        let doc = render("envs", "scr-platform", env);
        insta::with_settings!({ snapshot_suffix => format!("scr-platform-{env}"), prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("render", doc);
        });
    }
}

#[test]
fn specboard_renders() {
    for env in ["staging", "production"] {
        let doc = render("examples/specboard/envs", "specboard", env);
        insta::with_settings!({ snapshot_suffix => format!("specboard-{env}"), prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("render", doc);
        });
    }
}

/// What the seed asks for, checked as facts rather than only by snapshot.
#[test]
fn scr_production_matches_the_runbook() {
    let doc = render("envs", "scr-platform", "production");
    let api = &doc["task_definitions"]["api"];
    assert_eq!(
        api["requiresCompatibilities"],
        serde_json::json!(["FARGATE"])
    );
    assert_eq!(api["networkMode"], "awsvpc");
    let c = &api["containerDefinitions"][0];
    assert!(c["image"].as_str().unwrap().ends_with("/scr-api:3f2c1a9"));
    assert_eq!(c["portMappings"][0]["containerPort"], 8000);
    let secrets = c["secrets"].as_array().unwrap();
    assert!(secrets.iter().all(|s| s["valueFrom"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:secretsmanager:eu-west-1:222222222222:secret:scr/production/")));
    let tf = &doc["tfvars"]["services"];
    assert_eq!(
        tf["api"]["autoscaling"],
        serde_json::json!({"min": 2, "max": 10, "cpu_target": 70})
    );
    assert_eq!(tf["web"]["desired_count"], 2);
    assert_eq!(
        tf["api"]["load_balancer"]["path_patterns"],
        serde_json::json!(["/api/*"])
    );
    let svc = &doc["services"]["api"];
    assert_eq!(
        svc["deploymentConfiguration"]["deploymentCircuitBreaker"],
        serde_json::json!({"enable": true, "rollback": true})
    );
    assert_eq!(svc["desiredCount"], 2);
    let lifecycle = &doc["ecr_lifecycle_policies"]["scr-api"]["rules"];
    assert_eq!(lifecycle[0]["selection"]["countNumber"], 1);
    assert_eq!(lifecycle[0]["selection"]["tagStatus"], "untagged");
    assert_eq!(lifecycle[1]["selection"]["countNumber"], 20);
    let trust = &doc["iam_roles"]["deploy"]["trust_policy"]["Statement"][0]["Condition"];
    assert_eq!(
        trust["StringEquals"]["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    let subs = trust["StringLike"]["token.actions.githubusercontent.com:sub"]
        .as_array()
        .unwrap();
    assert!(subs.iter().all(|s| s
        .as_str()
        .unwrap()
        .starts_with("repo:scr-platform/scr-platform:")));
}

#[test]
fn render_is_deterministic_and_writes_one_file_per_artefact() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for dir in [a.path(), b.path()] {
        slipway()
            .current_dir(repo())
            .args(["render", "--env", "staging", "--image-tag", "abc", "--out"])
            .arg(dir)
            .arg("--tf-outputs")
            .arg(fixtures().join("terraform-outputs/scr-platform/staging.json"))
            .assert()
            .success();
    }
    let mut files = Vec::new();
    for entry in walk(a.path()) {
        let rel = entry.strip_prefix(a.path()).unwrap().to_path_buf();
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            std::fs::read(b.path().join(&rel)).unwrap(),
            "{rel:?} differs between runs"
        );
        files.push(rel.display().to_string());
    }
    files.sort();
    for expected in [
        "tfvars.json",
        "task-definitions/api.json",
        "services/web.json",
        "ecr-lifecycle/scr-api.json",
        "iam/deploy.trust.json",
        "iam/deploy.policy.json",
    ] {
        assert!(
            files.contains(&expected.to_string()),
            "{expected} not in {files:?}"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn missing_output_names_the_outputs_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs.json");
    std::fs::write(&outputs, r#"{"private_subnet_ids":{"sensitive":false,"type":["list","string"],"value":["subnet-1"]},"db_password":{"sensitive":true,"type":"string","value":"hunter2-secret"}}"#).unwrap();
    let out = slipway()
        .current_dir(repo())
        .args([
            "render",
            "--env",
            "staging",
            "--image-tag",
            "x",
            "--tf-outputs",
        ])
        .arg(&outputs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Terraform output `ecr_repository_urls` does not exist"),
        "{err}"
    );
    assert!(err.contains("db_password, private_subnet_ids"), "{err}");
    assert_eq!(
        err.matches("`ecr_repository_urls` does not exist").count(),
        1,
        "reported once, not per service: {err}"
    );
    assert!(
        !err.contains("hunter2-secret")
            && !String::from_utf8_lossy(&out.stdout).contains("hunter2-secret")
    );
}

#[test]
fn expression_reference_to_a_missing_output_points_at_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dev.hcl"),
        "account_id = \"123456789012\"\nregion = \"eu-west-1\"\ncluster = \"dev\"\nservice \"api\" {\n  image = \"nginx:1\"\n  cpu = 256\n  memory = 512\n  task_role_arn = tf.task_rol_arn\n}\n",
    )
    .unwrap();
    let outputs = dir.path().join("outputs.json");
    std::fs::write(&outputs, r#"{"task_role_arn":{"sensitive":false,"type":"string","value":"arn:aws:iam::123456789012:role/x"}}"#).unwrap();
    let out = slipway()
        .arg("--envs-dir")
        .arg(dir.path())
        .args(["render", "--env", "dev", "--format", "json", "--tf-outputs"])
        .arg(&outputs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Terraform output `task_rol_arn` does not exist"),
        "{err}"
    );
    assert!(err.contains("dev.hcl:8:19"), "{err}");
    assert!(err.contains("did you mean `tf.task_role_arn`"), "{err}");
}

#[test]
fn tfvars_need_no_terraform_outputs() {
    let out = slipway()
        .current_dir(repo())
        .args([
            "render",
            "--env",
            "production",
            "--only",
            "tfvars",
            "--format",
            "json",
        ])
        .env("SLIPWAY_TERRAFORM", "/nonexistent")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tfvars"]["cluster_name"], "scr-production");
}

#[test]
fn no_terraform_binary_says_how_to_get_one() {
    let out = slipway()
        .current_dir(repo())
        .args(["render", "--env", "staging", "--image-tag", "x"])
        .env("SLIPWAY_TERRAFORM", "/nonexistent/terraform")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLIPWAY_TERRAFORM"));
}

#[test]
fn sensitive_outputs_cannot_become_plain_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dev.hcl"),
        "account_id = \"123456789012\"\nregion = \"eu-west-1\"\ncluster = \"dev\"\nservice \"api\" {\n  image = \"nginx:1\"\n  cpu = 256\n  memory = 512\n  environment = { DB_PASS = tf.db_password }\n}\n",
    )
    .unwrap();
    let outputs = dir.path().join("outputs.json");
    std::fs::write(
        &outputs,
        r#"{"db_password":{"sensitive":true,"type":"string","value":"hunter2-secret"}}"#,
    )
    .unwrap();
    for args in [
        vec!["validate", "--tf-outputs"],
        vec!["render", "--env", "dev", "--tf-outputs"],
    ] {
        let out = slipway()
            .arg("--envs-dir")
            .arg(dir.path())
            .args(&args)
            .arg(&outputs)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains("`db_password` is sensitive"), "{all}");
        assert!(!all.contains("hunter2-secret"), "{all}");
    }
}

/// Terraform cannot be fed its own outputs: a tfvars value that needs one is refused.
#[test]
fn tfvars_refuse_values_that_need_terraform_outputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dev.hcl"),
        "account_id = \"123456789012\"\nregion = \"eu-west-1\"\ncluster = \"dev\"\nalb {\n  certificate_arn = tf.certificate_arn\n}\n",
    )
    .unwrap();
    let out = slipway()
        .arg("--envs-dir")
        .arg(dir.path())
        .args(["render", "--env", "dev", "--only", "tfvars"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`${tf.certificate_arn}`"), "{err}");
}
