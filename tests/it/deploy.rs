//! The rollout engine on the emulator (with its ECS realism: rollouts that progress and fail,
//! one-off tasks with chosen exit codes): deploy, unchanged deploys, refusals, rollbacks to the
//! last known-good revision, smoke failures, migrations, promote, status, and concurrency.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::{mutations, mutations_besides_the_lock, FakeGitHub, Stage, WaitTimeout};

async fn fast(stage: &Stage) {
    stage.fast().await;
}

fn states(report: &Value) -> Vec<String> {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["service"].as_str().unwrap(),
                s["rolled_back_to"]
                    .as_str()
                    .or(s["deployed"].as_str())
                    .map_or("-", |a| a.rsplit('/').next().unwrap())
            )
        })
        .collect()
}

/// A local HTTP server answering every request with the status in `status`.
pub fn smoke_server(status: Arc<AtomicU16>) -> String {
    recording_smoke_server(status).0
}

/// [`smoke_server`], and when (seconds since the epoch) each request came.
pub fn recording_smoke_server(status: Arc<AtomicU16>) -> (String, Arc<Mutex<Vec<f64>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(Vec::new()));
    let seen_at = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            seen_at.lock().unwrap().push(now);
            let code = status.load(Ordering::SeqCst);
            let body = if code == 200 { "ok" } else { "boom" };
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

async fn deploy_cleanly(envs_dir: &str) {
    let stage = Stage::up_with(envs_dir, "staging", &["v1", "v2"], None).await;
    fast(&stage).await;
    let (code, r, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{envs_dir}: {err}\n{r:#}");
    assert_eq!(r["status"], "succeeded");
    assert!(
        r["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["settled"]["state"] == "stable"),
        "{r:#}"
    );

    // The same tag again registers and updates nothing.
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let (code, r, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    assert!(r["services"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["registered"] == false && s["updated"] == false));
    assert_eq!(
        mutations_besides_the_lock(&stage.emu.calls().await),
        Vec::<String>::new(),
        "an unchanged deploy changed something"
    );

    let (code, r, err) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        states(&r).iter().all(|s| s.ends_with(":2")),
        "{:?}",
        states(&r)
    );

    // Settings that drifted live converge on the next deploy: afterwards diff has nothing.
    let svc = stage.service_names()[0].clone();
    stage
        .clients
        .ecs
        .update_service()
        .cluster(stage.cluster())
        .service(&svc)
        .deployment_configuration(
            aws_sdk_ecs::types::DeploymentConfiguration::builder()
                .minimum_healthy_percent(17)
                .maximum_percent(150)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (code, r, err) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    let updated: Vec<&str> = r["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["updated"] == true)
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(updated, [svc.as_str()], "{r:#}");
    let out = stage
        .slipway()
        .args([
            "diff",
            "--env",
            "staging",
            "--image-tag",
            "v2",
            "--detailed-exitcode",
            "--tf-outputs",
        ])
        .arg(&stage.outputs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_scr_platform() {
    deploy_cleanly("envs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_specboard() {
    deploy_cleanly("examples/specboard/envs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_change_nothing() {
    // The emulator answers as another account than the environment's.
    let stage = Stage::up_with("envs", "staging", &["v1"], Some("999999999999")).await;
    fast(&stage).await;
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let (code, r, _) = stage.deploy("v1", &[]);
    assert_eq!(code, 3, "{r:#}");
    assert!(
        r["problems"][0]
            .as_str()
            .unwrap()
            .contains("refusing to touch the wrong account"),
        "{r:#}"
    );
    assert_eq!(mutations(&stage.emu.calls().await), Vec::<String>::new());
    let out = stage
        .slipway()
        .args(["rollback", "--env", "staging"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to touch the wrong account"));
    assert_eq!(mutations(&stage.emu.calls().await), Vec::<String>::new());

    let stage = Stage::up_with("envs", "staging", &["v1"], None).await;
    fast(&stage).await;
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let (code, r, _) = stage.deploy("missing-tag", &[]);
    assert_eq!(code, 1, "{r:#}");
    let problems = r["problems"].to_string();
    for repo in ["scr-api", "scr-web", "scr-ai-gateway"] {
        assert!(
            problems.contains(&format!("{repo}:missing-tag does not exist in ECR")),
            "{problems}"
        );
    }
    assert_eq!(mutations(&stage.emu.calls().await), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_rollout_goes_back_to_the_last_healthy_revision() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2", "v3"], None).await;
    fast(&stage).await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke", "--service", "api"]);
    assert_eq!(code, 0, "{err}");
    // Someone points the service at a revision slipway never proved healthy (:2).
    let ecs = &stage.clients.ecs;
    let live = slipway::aws::ecs::describe_services(ecs, &stage.cluster(), &["api".to_string()])
        .await
        .unwrap();
    let (_, mut td) =
        slipway::aws::ecs::describe_task_definition(ecs, &live.found[0].task_definition)
            .await
            .unwrap();
    td.container_definitions[0].image = td.container_definitions[0].image.replace(":v1", ":v2");
    // A revision registered by hand carries none of slipway's per-revision tags.
    td.tags
        .retain(|t| !t.key.starts_with("slipway:") || t.key == "slipway:environment");
    let manual = slipway::aws::ecs::register_task_definition(ecs, &td)
        .await
        .unwrap();
    assert!(manual.arn.ends_with(":2"));
    slipway::aws::ecs::update_service(ecs, &stage.cluster(), "api", &manual.arn)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;

    // v3 fails as the circuit breaker reports it.
    stage
        .emu
        .control("/_slipway/fail-images", json!({"pattern": ":v3"}))
        .await;
    let (code, r, err) = stage.deploy("v3", &["--no-smoke", "--service", "api"]);
    assert_eq!(code, 4, "{err}\n{r:#}");
    assert_eq!(r["status"], "rolled_back");
    let api = &r["services"][0];
    assert!(api["deployed"].as_str().unwrap().ends_with(":3"));
    assert!(
        api["rolled_back_to"]
            .as_str()
            .unwrap()
            .ends_with("scr-staging-api:1"),
        "back to the last healthy revision, not revision - 1: {api:#}"
    );
    assert!(r["rollback_started_after_secs"].as_f64().unwrap() < 5.0);
    assert!(
        err.contains("circuit breaker")
            || r["problems"]
                .to_string()
                .contains("rolled the deployment back"),
        "{r:#}"
    );

    // The live revision is active, never deregistered.
    let live = slipway::aws::ecs::describe_services(ecs, &stage.cluster(), &["api".to_string()])
        .await
        .unwrap();
    assert!(live.found[0].task_definition.ends_with("scr-staging-api:1"));
    let td = ecs
        .describe_task_definition()
        .task_definition(&live.found[0].task_definition)
        .send()
        .await
        .unwrap();
    assert_eq!(
        td.task_definition().unwrap().status().unwrap().as_str(),
        "ACTIVE"
    );

    // `--to N` moves to a revision; the default goes back to the last one marked healthy;
    // `--to-release TAG` finds the revision deployed with that image tag.
    for (args, expect) in [
        (vec!["--to", "2"], ":2"),
        (vec![], ":1"),
        (vec!["--to", "2"], ":2"),
        (vec!["--to-release", "v1"], ":1"),
    ] {
        let out = stage
            .slipway()
            .args([
                "--format",
                "json",
                "rollback",
                "--env",
                "staging",
                "--service",
                "api",
            ])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let to = r["services"][0]["rolled_back_to"].as_str().unwrap();
        assert!(to.ends_with(expect), "{args:?}: {r:#}");
    }
    let out = stage
        .slipway()
        .args([
            "rollback",
            "--env",
            "staging",
            "--service",
            "api",
            "--to-release",
            "never-deployed",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "nothing changed: bad input");
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("no revision of scr-staging-api was deployed with image tag never-deployed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smoke_failure_rolls_back() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2"], None).await;
    fast(&stage).await;
    let status = Arc::new(AtomicU16::new(200));
    let url = smoke_server(status.clone());
    let (code, r, err) = stage.deploy("v1", &["--smoke-base-url", &url]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert!(
        r["smoke"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true),
        "{r:#}"
    );
    assert!(!r["smoke"].as_array().unwrap().is_empty());

    status.store(500, Ordering::SeqCst);
    let (code, r, err) = stage.deploy("v2", &["--smoke-base-url", &url, "--smoke-timeout", "3s"]);
    assert_eq!(code, 4, "{err}\n{r:#}");
    let failed: Vec<&Value> = r["smoke"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .contains("answered 500"),
        "{r:#}"
    );
    assert!(
        states(&r).iter().all(|s| s.ends_with(":1")),
        "{:?}",
        states(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_migration_stops_before_any_service_changes() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2"], None).await;
    fast(&stage).await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    stage
        .emu
        .control("/_slipway/task-exit", json!({"match": "alembic", "exit_code": 3, "reason": "Essential container in task exited"}))
        .await;
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let (code, r, err) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 1, "{err}\n{r:#}");
    assert_eq!(r["status"], "migration_failed");
    assert!(
        r["problems"][0].as_str().unwrap().contains("api exited 3"),
        "{r:#}"
    );
    assert!(r["problems"][0]
        .as_str()
        .unwrap()
        .contains("Essential container in task exited"));
    let calls = stage.emu.calls().await;
    assert!(!calls.contains_key("ECS.UpdateService"), "{calls:?}");
    assert!(calls.contains_key("ECS.RunTask"));

    // `migrate run` alone reports the same failure.
    let out = stage
        .slipway()
        .args(["migrate", "run", "--env", "staging", "--tf-outputs"])
        .arg(&stage.outputs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("api exited 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_retags_without_rebuild_and_deploys() {
    let stage = Stage::up_with("examples/specboard/envs", "staging", &["v1"], None).await;
    fast(&stage).await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    // Production runs from staging's repositories (its Terraform reads them as data sources).
    let prod_outputs = stage.add_env("production", &[]);
    let mut prod: Value = serde_json::from_slice(&std::fs::read(&prod_outputs).unwrap()).unwrap();
    let staging: Value = serde_json::from_slice(&std::fs::read(&stage.outputs).unwrap()).unwrap();
    prod["ecr_repository_urls"] = staging["ecr_repository_urls"].clone();
    std::fs::write(&prod_outputs, prod.to_string()).unwrap();

    let digest = |tag: &str| {
        let ecr = stage.clients.ecr.clone();
        let tag = tag.to_string();
        async move {
            ecr.describe_images()
                .repository_name("doc-platform-api")
                .image_ids(
                    aws_sdk_ecr::types::ImageIdentifier::builder()
                        .image_tag(tag)
                        .build(),
                )
                .send()
                .await
                .ok()
                .and_then(|o| {
                    o.image_details()
                        .first()
                        .and_then(|d| d.image_digest().map(str::to_string))
                })
        }
    };
    assert!(digest("release-1.4.0").await.is_none());
    // Production admits the platform team only (approval.teams), asked of GitHub.
    let gh = FakeGitHub::start("promote-token");
    gh.post(
        "/_fake/team",
        json!({"org": "specboard", "slug": "platform-team", "members": {"ana": "active"}}),
    )
    .await;
    let promote = |tag: &str, extra: &[&str]| {
        stage
            .slipway()
            .envs(gh.actions_env("specboard/specboard"))
            .env("GITHUB_EVENT_NAME", "release")
            .env("GITHUB_ACTOR", "ana")
            .args([
                "--format",
                "json",
                "promote",
                "--from",
                "staging",
                "--to",
                "production",
            ])
            .args(["--image-tag", tag, "--no-smoke"])
            .args(extra)
            .arg("--from-tf-outputs")
            .arg(&stage.outputs)
            .arg("--tf-outputs")
            .arg(&prod_outputs)
            .output()
            .unwrap()
    };
    // Not a member of the team: refused before the re-tag.
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let out = stage
        .slipway()
        .envs(gh.actions_env("specboard/specboard"))
        .env("GITHUB_EVENT_NAME", "release")
        .env("GITHUB_ACTOR", "mallory")
        .args(["promote", "--from", "staging", "--to", "production"])
        .args(["--image-tag", "v1", "--as", "release-1.4.0", "--no-smoke"])
        .arg("--from-tf-outputs")
        .arg(&stage.outputs)
        .arg("--tf-outputs")
        .arg(&prod_outputs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("@mallory is not an active member of specboard/platform-team"));
    assert_eq!(mutations(&stage.emu.calls().await), Vec::<String>::new());

    let out = promote("v1", &["--as", "release-1.4.0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("re-tagged"), "{err}");
    assert_eq!(
        digest("release-1.4.0").await,
        digest("v1").await,
        "the same bytes, no rebuild"
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["environment"], "production");
    assert_eq!(r["status"], "succeeded");

    // Promoting again finds the tag in place.
    let out = promote("v1", &["--as", "release-1.4.0"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already points at"));

    // A tag that was never built in staging cannot be promoted.
    let out = promote("never-built", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist in \"staging\""));

    // status: which version runs where.
    let out = stage
        .slipway()
        .args(["--format", "json", "status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::with_settings!({ filters => vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
        (r#""git_sha": "[0-9a-f]{40}""#, r#""git_sha": "[SHA]""#),
        // The version the checkout's tags give it (0.0.0+N.g<sha> without tags).
        (r#""version": "[^"]+""#, r#""version": "[VERSION]""#),
    ]}, {
        insta::assert_json_snapshot!("status", rows);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_deploy_while_one_rolls_is_refused_and_ctrl_c_rolls_back() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2"], None).await;
    fast(&stage).await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    stage
        .emu
        .control("/_slipway/config", json!({"rollout_seconds": 6.0}))
        .await;
    let first = stage.deploy_in_background("v2");
    // Wait until the first deploy's rollout is visible, then try a second one.
    let mut rolling = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let live = slipway::aws::ecs::describe_services(
            &stage.clients.ecs,
            &stage.cluster(),
            &["api".to_string()],
        )
        .await
        .unwrap();
        if live.found[0].deployments.len() > 1 {
            rolling = true;
            break;
        }
    }
    assert!(rolling, "the first deploy never started rolling");
    // The lock stops the second one first, naming who holds it.
    let (code, r, _) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(r["refusal"]["rule"], "lock-held", "{r:#}");
    assert!(
        r["problems"][0].as_str().unwrap().contains("(deploy on "),
        "{r:#}"
    );
    // Behind it, the service being mid-rollout still refuses (a lock released by hand).
    let out = stage
        .slipway()
        .args([
            "unlock",
            "--env",
            "staging",
            "--reason",
            "testing the second line",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("it was held by @"));
    let (code, r, _) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 3, "{r:#}");
    assert!(
        r["problems"][0].as_str().unwrap().contains("mid-rollout"),
        "{r:#}"
    );

    // Ctrl-C on the first: it rolls back what it touched.
    let status = std::process::Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stage
        .emu
        .control("/_slipway/config", json!({"rollout_seconds": 0.3}))
        .await;
    let out = first.wait_with_output_timeout();
    assert_eq!(out.0, Some(4), "{}", out.2);
    let r: Value = serde_json::from_str(&out.1).unwrap();
    assert!(r["problems"].to_string().contains("interrupted"), "{r:#}");
    assert!(
        states(&r).iter().all(|s| s.ends_with(":1")),
        "{:?}",
        states(&r)
    );
}

/// A local HTTP server that records request bodies (a Slack webhook stand-in).
fn recording_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T000/B000/XXXX",
        listener.local_addr().unwrap()
    );
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        record.lock().unwrap().push(body.to_string());
                        break;
                    }
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_result_goes_to_slack_and_the_job_summary() {
    let stage = Stage::up_with("envs", "production", &["v1"], None).await;
    fast(&stage).await;
    let (url, seen) = recording_server();
    // The webhook lives in the secret the environment names; it must never be printed.
    stage
        .clients
        .secrets
        .create_secret()
        .name("scr/production/slack-webhook")
        .secret_string(&url)
        .send()
        .await
        .unwrap();
    let summary = stage._work.path().join("summary.md");
    let out = stage
        .slipway()
        .env("GITHUB_STEP_SUMMARY", &summary)
        // Production deploys from the workflow, with its confirmation word.
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .args([
            "deploy",
            "--env",
            "production",
            "--image-tag",
            "v1",
            "--no-smoke",
            "--confirm",
            "DEPLOY",
            "--tf-outputs",
        ])
        .arg(&stage.outputs)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        !all.contains("/services/T000/B000/XXXX"),
        "the webhook was printed"
    );
    let bodies = seen.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let msg: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(msg["text"], "slipway deploy production: succeeded");
    assert!(msg["blocks"].to_string().contains("`v1`"), "{msg:#}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("## slipway deploy · `production` — succeeded"),
        "{md}"
    );
}

/// Deploy is held to every approval rule (production's confirmation word, its triggers), and
/// rollback only to the trigger and actor rules; each refusal changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_and_rollback_pass_their_gates() {
    let stage = Stage::up_with("envs", "production", &["v1"], None).await;
    fast(&stage).await;
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = stage.slipway();
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(["--format", "json"]).args(args);
        if args[0] != "rollback" {
            c.arg("--tf-outputs").arg(&stage.outputs);
        }
        let out = c.output().unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code().unwrap(),
            r,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let dispatch = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "workflow_dispatch"),
    ];
    let deploy = [
        "deploy",
        "--env",
        "production",
        "--image-tag",
        "v1",
        "--no-smoke",
    ];
    for (env, extra, rule) in [
        (&[][..], &[][..], "event"),
        (&dispatch[..], &[][..], "confirmation"),
        (&dispatch[..], &["--confirm", "deploy"][..], "confirmation"),
    ] {
        stage.emu.control("/_slipway/calls/reset", json!({})).await;
        let args: Vec<&str> = deploy.iter().chain(extra).copied().collect();
        let (code, r, err) = run(env, &args);
        assert_eq!(
            (code, r["refusal"]["rule"].as_str()),
            (3, Some(rule)),
            "{err}\n{r:#}"
        );
        assert_eq!(
            mutations(&stage.emu.calls().await),
            Vec::<String>::new(),
            "{rule}"
        );
    }
    let args: Vec<&str> = deploy
        .iter()
        .chain(&["--confirm", "DEPLOY"])
        .copied()
        .collect();
    let (code, _, err) = run(&dispatch, &args);
    assert_eq!(code, 0, "{err}");

    // Rollback: the trigger counts, the confirmation word does not (an emergency).
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let rollback = ["rollback", "--env", "production", "--to", "1"];
    let (code, r, err) = run(&[], &rollback);
    assert_eq!(
        (code, r["refusal"]["rule"].as_str()),
        (3, Some("event")),
        "{err}\n{r:#}"
    );
    assert_eq!(mutations(&stage.emu.calls().await), Vec::<String>::new());
    let (code, r, err) = run(&dispatch, &rollback);
    assert_eq!(code, 0, "{err}\n{r:#}");
}
