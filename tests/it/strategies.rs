//! ECS's blue/green, canary and linear deployments on the emulator (its service-deployment
//! lifecycle: tests/harness/ecs_realism.py, docs/testing.md). SCR staging's `api` deploys with
//! each strategy: render carries the strategy and the load balancer's advanced configuration,
//! the first deploy creates the service and the second shifts traffic, then `diff` is clean. A
//! failure during bake rolls back (exit 4), and so do smoke checks failing on the test listener
//! (run while ECS holds the deployment at slipway's pause hook, before production traffic moves)
//! and an alarm that fires during a canary.

use std::sync::atomic::AtomicU16;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::deploy::{recording_smoke_server, smoke_server};
use crate::support::{python, repo, Stage};

/// SCR staging with `api` on `deployment` and a test listener, in an emulator whose lifecycle
/// stages are short (a minute of bake time is 0.05 s).
async fn stage(deployment: &str) -> (Stage, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let envs = work.path().join("envs");
    std::fs::create_dir_all(&envs).unwrap();
    for f in ["_shared.hcl", "staging.hcl", "production.hcl"] {
        std::fs::copy(repo().join("envs").join(f), envs.join(f)).unwrap();
    }
    let shared = std::fs::read_to_string(envs.join("_shared.hcl")).unwrap();
    let api = shared.find("service \"api\"").unwrap();
    let start = api + shared[api..].find("  deployment {").unwrap();
    let end = start + shared[start..].find("\n  }\n").unwrap() + 4;
    let edited = format!("{}{deployment}\n{}", &shared[..start], &shared[end..]);
    std::fs::write(envs.join("_shared.hcl"), edited).unwrap();
    let staging = std::fs::read_to_string(envs.join("staging.hcl")).unwrap();
    std::fs::write(
        envs.join("staging.hcl"),
        staging.replacen("alb {\n", "alb {\n  test_listener_port = 8443\n", 1),
    )
    .unwrap();
    let stage = Stage::up_with(envs.to_str().unwrap(), "staging", &["v1", "v2", "v3"], None).await;
    stage
        .emu
        .control(
            "/_slipway/config",
            json!({"rollout_seconds": 0.3, "task_seconds": 0.2, "stage_seconds": 0.05, "minute_seconds": 0.05}),
        )
        .await;
    (stage, work)
}

fn deploy(stage: &Stage, tag: &str) -> (i32, Value, String) {
    stage.deploy(tag, &["--no-smoke"])
}

fn outcome<'a>(report: &'a Value, service: &str) -> &'a Value {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == service)
        .unwrap_or_else(|| panic!("no {service} in {report:#}"))
}

fn diff_is_clean(stage: &Stage, tag: &str) {
    let out = stage
        .slipway()
        .args([
            "diff",
            "--env",
            "staging",
            "--image-tag",
            tag,
            "--detailed-exitcode",
            "--tf-outputs",
        ])
        .arg(&stage.outputs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "diff after the deploy:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn live_api(stage: &Stage) -> aws_sdk_ecs::types::Service {
    let got = stage
        .clients
        .ecs
        .describe_services()
        .cluster(stage.cluster())
        .services("api")
        .send()
        .await
        .unwrap();
    got.services()[0].clone()
}

/// The task definition `api` runs.
async fn live_td(stage: &Stage) -> String {
    live_api(stage).await.task_definition().unwrap().to_string()
}

/// Render, the first deploy (CreateService), a second one shifting traffic, a clean diff.
async fn round_trip(deployment: &str, strategy: &str) -> (Stage, tempfile::TempDir) {
    let (stage, work) = stage(deployment).await;
    let rendered = stage.render("v1");
    let api = &rendered["services"]["api"];
    assert_eq!(
        api["deploymentConfiguration"]["strategy"], strategy,
        "{api:#}"
    );
    let advanced = &api["loadBalancers"][0]["advancedConfiguration"];
    let services =
        serde_json::from_slice::<Value>(&std::fs::read(&stage.outputs).unwrap()).unwrap();
    let api_out = &services["services"]["value"]["api"];
    assert_eq!(
        advanced["alternateTargetGroupArn"],
        api_out["alternate_target_group_arn"]
    );
    assert_eq!(
        advanced["productionListenerRule"],
        api_out["production_listener_rule_arn"]
    );
    assert_eq!(
        advanced["testListenerRule"],
        api_out["test_listener_rule_arn"]
    );
    assert_eq!(advanced["roleArn"], api_out["load_balancer_role_arn"]);
    // api has smoke checks and a test listener rule: slipway's gate after the test traffic
    // shift, as long as the wait may last (deployment.timeout in minutes).
    let hooks = &api["deploymentConfiguration"]["lifecycleHooks"];
    assert_eq!(hooks.as_array().map(Vec::len), Some(1), "{api:#}");
    assert_eq!(hooks[0]["targetType"], "PAUSE");
    assert_eq!(
        hooks[0]["lifecycleStages"],
        json!(["POST_TEST_TRAFFIC_SHIFT"])
    );
    assert_eq!(hooks[0]["timeoutConfiguration"]["action"], "ROLLBACK");
    assert!(
        hooks[0]["timeoutConfiguration"]["timeoutInMinutes"]
            .as_i64()
            .unwrap()
            >= 1
    );
    assert_eq!(
        stage.tfvars["services"]["api"]["deployment"]["strategy"],
        strategy
    );

    for tag in ["v1", "v2"] {
        let (code, report, err) = deploy(&stage, tag);
        assert_eq!(code, 0, "deploy {tag}: {err}\n{report:#}");
        assert_eq!(
            outcome(&report, "api")["settled"]["state"],
            "stable",
            "{report:#}"
        );
        diff_is_clean(&stage, tag);
    }
    let live = live_api(&stage).await;
    assert_eq!(
        live.deployment_configuration()
            .and_then(|d| d.strategy())
            .map(|s| s.as_str()),
        Some(strategy)
    );
    (stage, work)
}

/// Creates the alarm `scr-staging-api-5xx` (tests/harness/alarm.py), and sets its state.
fn alarm(stage: &Stage, state: Option<&str>) {
    let mut cmd = std::process::Command::new(python());
    cmd.arg(repo().join("tests/harness/alarm.py")).args([
        "--endpoint",
        &stage.emu.url,
        "--name",
        "scr-staging-api-5xx",
    ]);
    if let Some(s) = state {
        cmd.args(["--state", s]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The newest service deployment of `api`, as the SDK reads it.
async fn newest(stage: &Stage) -> Option<aws_sdk_ecs::types::ServiceDeployment> {
    let ecs = &stage.clients.ecs;
    let list = ecs
        .list_service_deployments()
        .cluster(stage.cluster())
        .service("api")
        .send()
        .await
        .unwrap();
    let arn = list
        .service_deployments()
        .iter()
        .max_by(|a, b| {
            a.created_at()
                .unwrap()
                .as_secs_f64()
                .total_cmp(&b.created_at().unwrap().as_secs_f64())
        })?
        .service_deployment_arn()?
        .to_string();
    let got = ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .unwrap();
    got.service_deployments().first().cloned()
}

#[tokio::test(flavor = "multi_thread")]
async fn blue_green_deploys_then_a_failure_during_bake_rolls_back() {
    let (stage, _work) = round_trip(
        r#"  deployment {
    strategy  = "blue_green"
    bake_time = "10m"
  }"#,
        "BLUE_GREEN",
    )
    .await;
    // The hook waits as long as the wait may last: the default 10 minutes plus the bake time.
    let rendered = stage.render("v1");
    assert_eq!(
        rendered["services"]["api"]["deploymentConfiguration"]["lifecycleHooks"][0]
            ["timeoutConfiguration"]["timeoutInMinutes"],
        20
    );
    let before = live_td(&stage).await;
    stage
        .emu
        .control(
            "/_slipway/fail-images",
            json!({"pattern": "scr-api:v3", "stage": "BAKE_TIME"}),
        )
        .await;
    let (code, report, err) = deploy(&stage, "v3");
    assert_eq!(code, 4, "{err}\n{report:#}");
    let reason = outcome(&report, "api")["settled"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("ECS rolled the deployment back") && reason.contains("BAKE_TIME"),
        "{reason}"
    );
    assert_eq!(live_td(&stage).await, before, "back on v2");
    let sd = newest(&stage).await.unwrap();
    assert_eq!(sd.status().unwrap().as_str(), "ROLLBACK_SUCCESSFUL");

    // Smoke checks against the test listener while ECS holds the deployment at slipway's
    // pause hook. A minute is 0.2 s here: the hook's 20 minutes leave room for a slow poll.
    stage.emu.control_delete("/_slipway/fail-images").await;
    stage
        .emu
        .control("/_slipway/config", json!({"minute_seconds": 0.2}))
        .await;
    let production = smoke_server(Arc::new(AtomicU16::new(200)));
    let (test_listener, hits) = recording_smoke_server(Arc::new(AtomicU16::new(200)));
    let (code, report, err) = stage.deploy(
        "v3",
        &[
            "--smoke-test-base-url",
            &test_listener,
            "--smoke-base-url",
            &production,
            "--smoke-timeout",
            "5s",
        ],
    );
    assert_eq!(code, 0, "{err}\n{report:#}");
    let hits = hits.lock().unwrap().clone();
    assert!(!hits.is_empty(), "the checks reached the test listener");
    let h = history(&stage).await;
    assert_eq!(
        events(&h),
        [
            "POST_TEST_TRAFFIC_SHIFT hook AWAITING_ACTION",
            "POST_TEST_TRAFFIC_SHIFT hook CONTINUE"
        ],
        "{h:#}"
    );
    let continued = h["events"][1]["at"].as_f64().unwrap();
    let shifted = first_production_shift(&h).expect("production traffic shifted");
    let last_hit = hits.iter().copied().fold(f64::MIN, f64::max);
    assert!(
        last_hit <= continued && continued <= shifted,
        "checks (last at {last_hit}) before the hook was continued ({continued}), before production traffic moved ({shifted}): {h:#}"
    );
    let after_v3 = live_td(&stage).await;
    assert_ne!(after_v3, before);

    // The checks fail: the hook is answered ROLLBACK, production traffic never moved, exit 4.
    let failing = smoke_server(Arc::new(AtomicU16::new(500)));
    let (code, report, err) = stage.deploy(
        "v2",
        &["--smoke-test-base-url", &failing, "--smoke-timeout", "2s"],
    );
    assert_eq!(code, 4, "{err}\n{report:#}");
    let reason = outcome(&report, "api")["settled"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("smoke checks against the test listener failed")
            && reason.contains("production traffic never shifted"),
        "{reason}"
    );
    let sd = newest(&stage).await.unwrap();
    assert_eq!(sd.status().unwrap().as_str(), "ROLLBACK_SUCCESSFUL");
    assert!(
        sd.status_reason()
            .unwrap_or_default()
            .contains("ContinueServiceDeployment"),
        "{sd:?}"
    );
    assert_eq!(
        sd.lifecycle_hook_details()[0].status().unwrap().as_str(),
        "FAILED"
    );
    let h = history(&stage).await;
    let stopped = h["stoppedAt"].as_f64().unwrap();
    assert!(
        first_production_shift(&h).is_none_or(|t| t > stopped),
        "production traffic moved before the rollback: {h:#}"
    );
    assert_eq!(live_td(&stage).await, after_v3);

    // The test listener passes, production's checks fail: slipway rolls back, and the
    // rollback's own deployment, held at the hook too, is continued without checks.
    let passing = smoke_server(Arc::new(AtomicU16::new(200)));
    let (code, report, err) = stage.deploy(
        "v2",
        &[
            "--smoke-test-base-url",
            &passing,
            "--smoke-base-url",
            &failing,
            "--smoke-timeout",
            "2s",
        ],
    );
    assert_eq!(code, 4, "{err}\n{report:#}");
    assert_eq!(live_td(&stage).await, after_v3, "rolled back by slipway");
    let h = history(&stage).await;
    assert_eq!(
        h["status"], "SUCCESSFUL",
        "the rollback's deployment: {h:#}"
    );
    assert_eq!(
        events(&h),
        [
            "POST_TEST_TRAFFIC_SHIFT hook AWAITING_ACTION",
            "POST_TEST_TRAFFIC_SHIFT hook CONTINUE"
        ],
        "{h:#}"
    );
}

/// The emulator's record of `api`'s newest service deployment: its schedule as it ran and its
/// hooks' history (`GET /_slipway/service-deployments`).
async fn history(stage: &Stage) -> Value {
    let all: Value = reqwest::get(format!("{}/_slipway/service-deployments", stage.emu.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all["serviceDeployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["service"] == "api")
        .max_by(|a, b| {
            a["createdAt"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["createdAt"].as_f64().unwrap())
        })
        .cloned()
        .expect("a service deployment of api")
}

fn events(history: &Value) -> Vec<String> {
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

/// When the new revision first got production traffic, by the schedule the deployment ran on.
fn first_production_shift(history: &Value) -> Option<f64> {
    history["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["productionTrafficWeight"].as_f64().unwrap() > 0.0)
        .map(|s| s["at"].as_f64().unwrap())
        .reduce(f64::min)
}

#[tokio::test(flavor = "multi_thread")]
async fn canary_deploys_then_an_alarm_during_the_canary_rolls_back() {
    let deployment = r#"  deployment {
    strategy         = "canary"
    bake_time        = "2m"
    canary_percent   = 10
    canary_bake_time = "5m"
    alarms           = ["scr-staging-api-5xx"]
  }"#;
    // The alarm must exist before anything deploys: verify refuses, changing nothing.
    let (stage, _work) = stage(deployment).await;
    let (code, report, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        report["problems"]
            .to_string()
            .contains("CloudWatch alarm scr-staging-api-5xx does not exist"),
        "{report:#}"
    );
    alarm(&stage, None);
    for tag in ["v1", "v2"] {
        let (code, report, err) = deploy(&stage, tag);
        assert_eq!(code, 0, "deploy {tag}: {err}\n{report:#}");
        diff_is_clean(&stage, tag);
    }
    let before = live_td(&stage).await;
    // The canary's bake is 5 "minutes" (0.25 s here): long enough to fire the alarm in it.
    stage
        .emu
        .control("/_slipway/config", json!({"minute_seconds": 1.0}))
        .await;
    let child = stage.deploy_in_background("v3");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the canary never took 10% of the traffic"
        );
        if let Some(sd) = newest(&stage).await {
            let weight = sd
                .target_service_revision()
                .and_then(|r| r.requested_production_traffic_weight());
            if sd.status().map(|s| s.as_str()) == Some("IN_PROGRESS") && weight == Some(10.0) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    alarm(&stage, Some("ALARM"));
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(out.status.code(), Some(4), "{err}\n{report:#}");
    let reason = outcome(&report, "api")["settled"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("scr-staging-api-5xx"), "{reason}");
    assert_eq!(live_td(&stage).await, before, "back on v2");
    let sd = newest(&stage).await.unwrap();
    assert_eq!(
        sd.alarms().unwrap().triggered_alarm_names(),
        ["scr-staging-api-5xx"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn linear_deploys_and_round_trips() {
    let (stage, _work) = round_trip(
        r#"  deployment {
    strategy              = "linear"
    bake_time             = "1m"
    linear_step_percent   = 25
    linear_step_bake_time = "2m"
  }"#,
        "LINEAR",
    )
    .await;
    let live = live_api(&stage).await;
    let linear = live
        .deployment_configuration()
        .and_then(|d| d.linear_configuration())
        .unwrap();
    assert_eq!(
        (linear.step_percent(), linear.step_bake_time_in_minutes()),
        (Some(25.0), Some(2))
    );
    let sd = newest(&stage).await.unwrap();
    assert_eq!(sd.status().unwrap().as_str(), "SUCCESSFUL");

    // status names the strategy and where its newest service deployment stands.
    let out = stage
        .slipway()
        .args(["--format", "json", "status", "--env", "staging"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let api = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == "api")
        .unwrap();
    assert_eq!(
        (&api["strategy"], &api["stage"]),
        (&json!("linear"), &json!("SUCCESSFUL")),
        "{rows:#}"
    );
    let web = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == "web")
        .unwrap();
    assert!(
        web.get("strategy").is_none(),
        "a rolling service has no strategy: {web:#}"
    );
}
