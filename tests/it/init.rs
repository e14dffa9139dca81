//! `slipway init`: adopting services another tool created (tests/harness/foreign.py, boto3 on
//! the emulator), the task-definition corpus (tests/fixtures/taskdefs), and scaffolding a new
//! environment from flags.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::{fixtures, mutations, python, repo, slipway, Emulator};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn foreign(emu: &Emulator, cluster: &str, args: &[&str]) -> Value {
    let out = Command::new(python())
        .current_dir(repo().join("tests/harness"))
        .arg("foreign.py")
        .args([
            "--endpoint",
            &emu.url,
            "--account",
            ACCOUNT,
            "--region",
            REGION,
        ])
        .args(["--cluster", cluster])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "foreign.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// slipway in `dir`, against the emulator.
fn at(dir: &Path, emu: &Emulator) -> assert_cmd::Command {
    let mut c = slipway();
    c.current_dir(dir).env("AWS_ENDPOINT_URL", &emu.url);
    c
}

fn no_outputs(dir: &Path) -> PathBuf {
    let p = dir.join("no-outputs.json");
    std::fs::write(&p, "{}").unwrap();
    p
}

/// `slipway diff --format json` of `env` in `dir`: (exit code, document).
fn diff(dir: &Path, emu: &Emulator, env: &str, extra: &[&str]) -> (i32, Value) {
    let out = at(dir, emu)
        .args([
            "--format",
            "json",
            "diff",
            "--env",
            env,
            "--detailed-exitcode",
        ])
        .arg("--tf-outputs")
        .arg(no_outputs(dir))
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("diff: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

fn changes(v: &Value) -> Vec<String> {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let name = s["service"].as_str().unwrap().to_string();
            s["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |c| {
                    format!(
                        "{name}: {} {}",
                        c["kind"].as_str().unwrap(),
                        c["path"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_what_another_tool_created_and_renders_it_back() {
    let emu = Emulator::start(ACCOUNT);
    emu.control(
        "/_slipway/config",
        json!({"rollout_seconds": 0.3, "task_seconds": 0.2}),
    )
    .await;
    foreign(&emu, "invapp-dev", &["system"]);
    let dir = tempfile::tempdir().unwrap();
    emu.control("/_slipway/calls/reset", json!({})).await;
    let out = at(dir.path(), &emu)
        .args([
            "--format",
            "json",
            "init",
            "--env",
            "dev",
            "--from-cluster",
            "invapp-dev",
            "--region",
            REGION,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    // Adoption reads and changes nothing.
    let calls = emu.calls().await;
    assert_eq!(mutations(&calls), Vec::<String>::new(), "{calls:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<(String, String, String)> = summary["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["label"].as_str().unwrap().to_string(),
                s["service_name"].as_str().unwrap().to_string(),
                s["container"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("internal-api".into(), "internal-api".into(), "api".into()),
            (
                "app".into(),
                "invapp-dev-app-service".into(),
                "invapp-dev-app".into()
            ),
            (
                "worker".into(),
                "invapp-dev-worker-service".into(),
                "worker".into()
            ),
        ]
    );
    let file = std::fs::read_to_string(dir.path().join("envs/dev.hcl")).unwrap();
    for expected in [
        "service_name   = \"invapp-dev-app-service\"",
        "container_name = \"invapp-dev-app\"",
        "image          = \"ghcr.io/invapp/app:${image_tag}\"",
        "repository \"doc-platform/worker\"",
        "dkr.ecr.us-east-1.amazonaws.com/doc-platform/worker:${image_tag}",
        "DATABASE_URL = \"arn:aws:ssm:us-east-1:123456789012:parameter/invapp/dev/database-url\"",
        "cpu_target = 60",
        "name = \"FARGATE_SPOT\"",
        "tf.services[\"app\"]",
    ] {
        assert!(file.contains(expected), "no {expected:?} in\n{file}");
    }

    // The file validates and renders exactly what runs.
    at(dir.path(), &emu)
        .args(["validate", "--strict"])
        .assert()
        .success();
    let (code, v) = diff(dir.path(), &emu, "dev", &[]);
    assert_eq!(code, 0, "{:#?}", changes(&v));

    // A second init refuses to overwrite, before any AWS call; --force overwrites.
    emu.control("/_slipway/calls/reset", json!({})).await;
    let again = at(dir.path(), &emu)
        .args([
            "init",
            "--env",
            "dev",
            "--from-cluster",
            "invapp-dev",
            "--region",
            REGION,
        ])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&again.get_output().stderr).to_string();
    assert!(err.contains("already exists: pass --force"), "{err}");
    assert!(emu.calls().await.is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("envs/dev.hcl")).unwrap(),
        file
    );
    at(dir.path(), &emu)
        .args([
            "init",
            "--env",
            "dev",
            "--from-cluster",
            "invapp-dev",
            "--region",
            REGION,
            "--force",
        ])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("envs/dev.hcl")).unwrap(),
        file
    );

    // A deploy of a new tag changes only the image (rollouts are short since the start: the
    // deploy would be refused while the foreign services' first rollouts are under way).
    let describe = |name: &'static str| {
        let emu_url = emu.url.clone();
        async move {
            let config = slipway::aws::sdk_config(&slipway::aws::AwsOptions {
                region: Some(REGION.into()),
                endpoint_url: Some(emu_url),
                ..Default::default()
            })
            .await;
            let ecs = aws_sdk_ecs::Client::new(&config);
            let s = ecs
                .describe_services()
                .cluster("invapp-dev")
                .services(name)
                .send()
                .await
                .unwrap();
            let arn = s.services()[0].task_definition().unwrap().to_string();
            let (_, td) = slipway::aws::ecs::describe_task_definition(&ecs, &arn)
                .await
                .unwrap();
            slipway::diff::normalise_task_definition(&td)
        }
    };
    let before = describe("invapp-dev-app-service").await;
    let out = at(dir.path(), &emu)
        .args([
            "deploy",
            "--env",
            "dev",
            "--service",
            "app",
            "--image-tag",
            "2024.12.0",
        ])
        .arg("--tf-outputs")
        .arg(no_outputs(dir.path()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let after = describe("invapp-dev-app-service").await;
    let mut expected = before.clone();
    expected["containerDefinitions"][0]["image"] = json!("ghcr.io/invapp/app:2024.12.0");
    let strip_tags = |mut v: Value| {
        v.as_object_mut().unwrap().remove("tags");
        v
    };
    assert_eq!(
        strip_tags(after),
        strip_tags(expected),
        "the deploy changed more than the image"
    );
    let (code, v) = diff(dir.path(), &emu, "dev", &[]);
    assert_eq!(code, 0, "{:#?}", changes(&v));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_definition_of_the_corpus_round_trips() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("taskdefs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_name().is_some_and(|n| n != "features.json")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{} task definitions", files.len());
    let emu = Emulator::start(ACCOUNT);
    let mut args = vec!["corpus".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let created = foreign(&emu, "corpus", &args);
    let dir = tempfile::tempdir().unwrap();
    let out = at(dir.path(), &emu)
        .args([
            "--format",
            "json",
            "init",
            "--env",
            "corpus",
            "--from-cluster",
            "corpus",
            "--region",
            REGION,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["services"].as_array().unwrap().len(),
        created["services"].as_array().unwrap().len(),
        "{stderr}"
    );
    let (code, v) = diff(dir.path(), &emu, "corpus", &[]);
    // The one plain variable whose name looks secret is withheld from the file (its value is
    // not written), so the diff shows it going away: nothing else differs.
    let found = changes(&v);
    let withheld = "removed taskDefinition.containerDefinitions[gotty].environment[AQUA_TOKEN]";
    let unexpected: Vec<&String> = found.iter().filter(|c| !c.ends_with(withheld)).collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!((code, found.len()), (2, 1), "{found:#?}");
    assert!(stderr.contains("AQUA_TOKEN look secret"), "{stderr}");
    let file = std::fs::read_to_string(dir.path().join("envs/corpus.hcl")).unwrap();
    assert!(
        !file.contains("AQUA_TOKEN"),
        "the withheld variable is in the file"
    );
    // Per service, for the record (`cargo test --test it init::every -- --nocapture`).
    for s in v["services"].as_array().unwrap() {
        let label = s["service"].as_str().unwrap();
        let raw = summary["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["label"] == label)
            .map(|a| {
                a["raw"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        println!(
            "{label:<40} {:<12} raw: {}",
            match s["changes"].as_array().unwrap().len() {
                0 => "clean".to_string(),
                n => format!("{n} change(s)"),
            },
            if raw.is_empty() { "-" } else { &raw }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_does_not_exist_is_a_clear_error_and_writes_nothing() {
    let emu = Emulator::start(ACCOUNT);
    let dir = tempfile::tempdir().unwrap();
    let a = at(dir.path(), &emu)
        .args([
            "init",
            "--env",
            "dev",
            "--from-cluster",
            "nope",
            "--region",
            REGION,
        ])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("nope"), "{err}");
    assert!(!dir.path().join("envs").exists());
    let a = at(dir.path(), &emu)
        .args([
            "init",
            "--env",
            "_shared",
            "--from-cluster",
            "nope",
            "--region",
            REGION,
        ])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("not an environment name"));
}

#[test]
fn a_new_environment_from_flags_validates_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = slipway();
        c.current_dir(dir.path()).args(args);
        c
    };
    run(&[
        "init",
        "--env",
        "staging",
        "--account",
        "123456789012",
        "--region",
        "eu-west-1",
        "--github-repo",
        "acme/shop",
        "--service",
        "web:3000",
        "--service",
        "api:8080",
        "--service",
        "worker",
        "--no-input",
    ])
    .assert()
    .success();
    run(&[
        "init",
        "--env",
        "production",
        "--account",
        "210987654321",
        "--region",
        "eu-west-1",
        "--cluster",
        "shop-production",
        "--github-repo",
        "acme/shop",
        "--no-input",
    ])
    .assert()
    .success();
    run(&["validate", "--strict"]).assert().success();
    for env in ["staging", "production"] {
        let out = run(&[
            "render", "--env", env, "--only", "tfvars", "--format", "json",
        ])
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let services = v["tfvars"]["services"].as_object().unwrap();
        assert_eq!(services.len(), 3, "{env}");
        assert!(
            !v["tfvars"]["alb"].is_null(),
            "{env}: services with a port need the ALB"
        );
    }
    // The workflows the new environments imply pass their own checks.
    run(&["workflows", "--out", "wf"]).assert().success();

    // Missing values are errors naming the flags, without a terminal; nothing is written.
    let a = run(&["init", "--env", "qa", "--no-input"]).assert().code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("--account") && err.contains("--region"),
        "{err}"
    );
    assert!(!dir.path().join("envs/qa.hcl").exists());
    let a = run(&[
        "init",
        "--env",
        "qa",
        "--account",
        "12345",
        "--region",
        "eu-west-1",
        "--no-input",
    ])
    .assert()
    .code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("not a 12-digit"));
    let a = run(&[
        "init",
        "--env",
        "staging",
        "--account",
        "123456789012",
        "--region",
        "eu-west-1",
        "--no-input",
    ])
    .assert()
    .code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("already exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_adopted_environment_moves_what_both_say_into_the_shared_file() {
    let emu = Emulator::start(ACCOUNT);
    foreign(&emu, "invapp-dev", &["system"]);
    foreign(&emu, "invapp-prod", &["system", "--variant", "prod"]);
    let dir = tempfile::tempdir().unwrap();
    for (env, cluster) in [("dev", "invapp-dev"), ("prod", "invapp-prod")] {
        at(dir.path(), &emu)
            .args([
                "init",
                "--env",
                env,
                "--from-cluster",
                cluster,
                "--region",
                REGION,
            ])
            .assert()
            .success();
    }
    let read = |f: &str| std::fs::read_to_string(dir.path().join("envs").join(f)).unwrap();
    let (shared, dev, prod) = (read("_shared.hcl"), read("dev.hcl"), read("prod.hcl"));
    // What both run alike is shared; sizes, names, counts and the account's ids stay apart.
    assert!(shared.contains("region = \"us-east-1\""), "{shared}");
    assert!(
        shared.contains("image          = \"ghcr.io/invapp/app:${image_tag}\""),
        "{shared}"
    );
    assert!(!shared.contains("account_id"), "{shared}");
    assert!(!dev.contains("\nregion"), "{dev}");
    assert!(
        dev.contains("service_name    = \"invapp-dev-app-service\""),
        "{dev}"
    );
    assert!(prod.contains("desired_count   = 4"), "{prod}");
    at(dir.path(), &emu)
        .args(["validate", "--strict"])
        .assert()
        .success();
    for env in ["dev", "prod"] {
        let (code, v) = diff(dir.path(), &emu, env, &[]);
        assert_eq!(code, 0, "{env}: {:#?}", changes(&v));
    }
}
