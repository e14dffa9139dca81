//! `slipway plan` and the outputs people read: the plan file and its fingerprint, the real
//! Terraform half, and snapshots of the diff (text, JSON) and the PR comment (Markdown).

use serde_json::Value;

use crate::support::{fixtures, Stage};

const TAG: &str = "4f2a9c1";

/// Snapshot filters for what the emulator and git make different on every run.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"subnet-[0-9a-f]+", "subnet-[ID]"),
        (r"sg-[0-9a-f]+", "sg-[ID]"),
        (r"targetgroup/([^/]+)/[0-9a-f]+", "targetgroup/$1/[ID]"),
        (r"\b[0-9a-f]{64}\b", "[SHA256]"),
        (r"fingerprint `[0-9a-f]{12}`", "fingerprint `[FP]`"),
        (r"\(plan `[0-9a-f]{12}`\)", "(plan `[FP]`)"),
        (r"--fingerprint [0-9a-f]{12}", "--fingerprint [FP]"),
        (r"commit=[0-9a-f]{40}", "commit=[GIT]"),
        (r"at `[0-9a-f]{12}`( \([^)]*\))?", "at `[GIT]`"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
        (r"/tmp/[^ `]+", "[TMP]"),
    ]
}

async fn staged(envs_dir: &str) -> Stage {
    let stage = Stage::up(envs_dir, "staging").await;
    stage.create_services(TAG, &stage.service_names()).await;
    stage
}

/// Changes the first plain variable of `service` live (a new revision, service pointed at it).
async fn change_variable(stage: &Stage, service: &str) {
    let ecs = &stage.clients.ecs;
    let live = slipway::aws::ecs::describe_services(ecs, &stage.cluster(), &[service.to_string()])
        .await
        .unwrap();
    let (_, mut td) =
        slipway::aws::ecs::describe_task_definition(ecs, &live.found[0].task_definition)
            .await
            .unwrap();
    td.container_definitions[0].environment[0].value = "changed-live".into();
    let rev = slipway::aws::ecs::register_task_definition(ecs, &td)
        .await
        .unwrap();
    slipway::aws::ecs::update_service(ecs, &stage.cluster(), service, &rev.arn)
        .await
        .unwrap();
}

fn plan(stage: &Stage, out: &std::path::Path, extra: &[&str]) -> (i32, Value) {
    let o = stage
        .slipway()
        .args([
            "plan",
            "--env",
            &stage.env,
            "--image-tag",
            TAG,
            "--detailed-exitcode",
        ])
        .arg("--tf-outputs")
        .arg(&stage.outputs)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    assert!(
        code == 0 || code == 2,
        "plan failed ({code}): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        code,
        serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_file_fingerprint_binds_inputs_and_live_state() {
    let stage = staged("envs").await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.json");
    let second = dir.path().join("b.json");
    let (code, a) = plan(&stage, &first, &["--no-terraform"]);
    assert_eq!(code, 0, "{a:#}");
    let (_, b) = plan(&stage, &second, &["--no-terraform"]);
    assert_eq!(
        a["fingerprint"], b["fingerprint"],
        "the same inputs against the same live state plan the same"
    );
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 64);
    for key in [
        "environment",
        "env_files",
        "git",
        "slipway_version",
        "created_at",
        "ecs",
    ] {
        assert!(!a[key].is_null(), "plan file lacks {key}");
    }
    assert_eq!(
        a["env_files"].as_array().unwrap().len(),
        2,
        "{}",
        a["env_files"]
    );
    assert_eq!(
        a["ecs"]["rendered"]["task_definitions"]
            .as_object()
            .unwrap()
            .len(),
        3
    );

    // Live state moves: another fingerprint and another live digest.
    change_variable(&stage, "api").await;
    let (code, c) = plan(&stage, &second, &["--no-terraform"]);
    assert_eq!(code, 2);
    assert_ne!(a["fingerprint"], c["fingerprint"]);
    assert_ne!(a["ecs"]["live_digest"], c["ecs"]["live_digest"]);

    // A plan file edited after planning is refused.
    let mut edited = c.clone();
    edited["image_tag"] = Value::from("evil");
    std::fs::write(&second, serde_json::to_string(&edited).unwrap()).unwrap();
    let o = stage
        .slipway()
        .args(["comment", "--dry-run", "--plan"])
        .arg(&second)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("was changed after it was planned"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_runs_terraform_and_binds_its_plan() {
    let stage = staged("envs").await;
    let root = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("tf-root/main.tf"),
        root.path().join("main.tf"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("staging.json");
    let (code, p) = plan(
        &stage,
        &out,
        &["--terraform-dir", root.path().to_str().unwrap()],
    );
    assert_eq!(code, 2, "a fresh workspace has resources to create");
    let tf = &p["terraform"];
    assert_eq!(tf["workspace"], "staging");
    assert!(tf["summary"]["create"].as_u64().unwrap() > 0, "{tf:#}");
    let saved = dir.path().join(tf["plan_file"].as_str().unwrap());
    assert_eq!(
        tf["plan_sha256"].as_str().unwrap(),
        slipway::planfile::file_sha256(&saved).unwrap(),
        "the plan file records the digest of the saved Terraform plan"
    );
    assert!(dir.path().join("staging.tfvars.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_and_comment_snapshots() {
    let stage = staged("envs").await;
    change_variable(&stage, "api").await;
    let text = stage
        .slipway()
        .args(["diff", "--env", "staging", "--image-tag", "5b6c7d8"])
        .arg("--tf-outputs")
        .arg(&stage.outputs)
        .output()
        .unwrap();
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let json = stage
        .slipway()
        .args([
            "diff",
            "--env",
            "staging",
            "--service",
            "api",
            "--format",
            "json",
        ])
        .arg("--tf-outputs")
        .arg(&stage.outputs)
        .output()
        .unwrap();
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("staging.json");
    plan(&stage, &out, &["--no-terraform"]);
    let md = stage
        .slipway()
        .args(["comment", "--dry-run", "--plan"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        md.status.success(),
        "{}",
        String::from_utf8_lossy(&md.stderr)
    );
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("diff_text", String::from_utf8_lossy(&text.stdout));
        insta::assert_snapshot!("diff_json", String::from_utf8_lossy(&json.stdout));
        insta::assert_snapshot!("comment_markdown", String::from_utf8_lossy(&md.stdout));
    });
}
