//! The environment's lock in S3 (the emulator's S3 honours `If-None-Match` and `If-Match`): two
//! runs at once, a holder killed with -9 and the takeover once its lease ran out, the heartbeat
//! that keeps a long rollout's lock, `slipway unlock`, and deploy and apply excluding each
//! other.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::apply::Applied;
use crate::support::{Stage, WaitTimeout};

const OPEN: &str = r#"approval {
  required = false
  events   = ["local"]
}"#;

/// A deploy of `tag` in the background, with the lock's lease `lease`.
fn deploy_in_background(stage: &Stage, tag: &str, lease: &str) -> Child {
    stage
        .slipway_process()
        .env("SLIPWAY_LOCK_LEASE", lease)
        .args(["--format", "json", "deploy", "--env", &stage.env])
        .args(["--image-tag", tag, "--no-smoke", "--tf-outputs"])
        .arg(&stage.outputs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until some service of the stage rolls (the background run is past its gates).
async fn until_rolling(stage: &Stage) {
    let names = stage.service_names();
    for _ in 0..100 {
        let live =
            slipway::aws::ecs::describe_services(&stage.clients.ecs, &stage.cluster(), &names)
                .await
                .unwrap();
        if live.found.iter().any(|s| s.deployments.len() > 1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the background deploy never started rolling");
}

async fn rollout_seconds(stage: &Stage, secs: f64) {
    stage
        .emu
        .control("/_slipway/config", json!({"rollout_seconds": secs}))
        .await;
}

fn refusal_rule(r: &Value) -> &str {
    r["refusal"]["rule"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_started_together_exactly_one_proceeds() {
    let a = Applied::up(OPEN, &["v1"], None).await;
    rollout_seconds(&a.stage, 2.0).await;
    a.plan_ecs("v1");
    let (first, second) = (a.apply_in_background(), a.apply_in_background());
    let mut results: Vec<(Option<i32>, Value, String)> = [first, second]
        .into_iter()
        .map(|c| {
            let (code, out, err) = c.wait_with_output_timeout();
            (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
        })
        .collect();
    results.sort_by_key(|r| r.0);
    assert_eq!(
        (results[0].0, results[1].0),
        (Some(0), Some(3)),
        "exactly one applies: {results:#?}"
    );
    assert_eq!(results[0].1["status"], "applied");
    assert!(
        ["lock-held", "live-state"].contains(&refusal_rule(&results[1].1)),
        "the other is refused by the lock (or, had it come late, by the live state the first moved): {:#}",
        results[1].1
    );
    assert!(a.running_tags().await.iter().all(|(_, t)| t == "v1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_killed_with_9_is_taken_over_once_its_lease_runs_out() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2"], None).await;
    stage.fast().await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    rollout_seconds(&stage, 1.5).await;
    let mut holder = deploy_in_background(&stage, "v2", "3s");
    until_rolling(&stage).await;
    holder.kill().unwrap(); // SIGKILL: no release, no rollback
    let _ = holder.wait();
    let killed_at = Instant::now();

    // Its lease still runs: refused, naming the holder.
    let (code, r, _) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(refusal_rule(&r), "lock-held", "{r:#}");
    assert!(
        r["refusal"]["message"]
            .as_str()
            .unwrap()
            .contains("(deploy on "),
        "{r:#}"
    );

    // Once it ran out, the next run takes the lock over, says so, and lands.
    tokio::time::sleep(
        Duration::from_secs(3).saturating_sub(killed_at.elapsed()) + Duration::from_millis(300),
    )
    .await;
    let (code, r, err) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert!(err.contains("took over the lock of @"), "{err}");
    let names = stage.service_names();
    let live = slipway::live::fetch(
        &stage.clients.ecs,
        &stage.cluster(),
        &slipway::live::named(&names),
    )
    .await
    .unwrap();
    assert!(
        live.image_tags().values().all(|t| t == "v2"),
        "{:?}",
        live.image_tags()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_keeps_a_long_rollouts_lock() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2"], None).await;
    stage.fast().await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    // A two-second lease, a seven-second rollout: without renewals the lease would have ended
    // twice over when the second run asks.
    rollout_seconds(&stage, 7.0).await;
    let holder = deploy_in_background(&stage, "v2", "2s");
    until_rolling(&stage).await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (code, r, _) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!((code, refusal_rule(&r)), (3, "lock-held"), "{r:#}");
    let (code, out, err) = holder.wait_with_output_timeout();
    assert_eq!(code, Some(0), "{err}\n{out}");
    assert!(!err.contains("warning: the lock"), "{err}");
    // Released at the end: the next run takes it at once.
    stage.fast().await;
    let (code, _, err) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlock_releases_and_deploy_and_apply_exclude_each_other() {
    let a = Applied::up(OPEN, &["v1", "v2"], None).await;
    let stage = &a.stage;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    a.plan_ecs("v2");

    // A deploy holds the lock and runs its migration (no service has moved yet, so the plan is
    // not stale): the apply is refused by the lock.
    stage
        .emu
        .control("/_slipway/config", json!({"task_seconds": 3.0}))
        .await;
    stage.emu.control("/_slipway/calls/reset", json!({})).await;
    let holder = deploy_in_background(stage, "v2", "5m");
    for _ in 0..100 {
        if stage.emu.calls().await.contains_key("ECS.RunTask") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, r, err) = a.apply(
        &a.plan_path(),
        &[],
        &["--tf-outputs", stage.outputs.to_str().unwrap()],
    );
    assert_eq!((code, refusal_rule(&r)), (3, "lock-held"), "{err}\n{r:#}");

    // `unlock` force-releases it and says whose it was.
    let out = a
        .slipway()
        .args([
            "--format",
            "json",
            "unlock",
            "--env",
            "staging",
            "--reason",
            "the runner died",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let u: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(u["released"], true, "{u:#}");
    assert_eq!(u["was"]["holder"]["command"], "deploy", "{u:#}");
    assert_eq!(u["reason"], "the runner died");
    let got = stage
        .clients
        .s3
        .get_object()
        .bucket("scr-terraform-state")
        .key("slipway/locks/staging.json")
        .send()
        .await;
    assert!(got.is_err(), "the lock object is gone");
    let (code, _, err) = holder.wait_with_output_timeout();
    assert_eq!(code, Some(0), "{err}");
    let out = a
        .slipway()
        .args(["unlock", "--env", "staging", "--reason", "again"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("was not locked"));

    // An apply holds the lock: the deploy is refused.
    stage.fast().await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    a.plan_ecs("v2");
    rollout_seconds(stage, 3.0).await;
    let applying = a.apply_in_background();
    until_rolling(stage).await;
    let (code, r, _) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!((code, refusal_rule(&r)), (3, "lock-held"), "{r:#}");
    assert!(
        r["refusal"]["message"]
            .as_str()
            .unwrap()
            .contains("(apply on "),
        "{r:#}"
    );
    let (code, out, err) = applying.wait_with_output_timeout();
    assert_eq!(code, Some(0), "{err}\n{out}");
}

/// A deploy killed with -9 at a random moment, then run again, lands: the rerun waits for the
/// dead holder's lease (--lock-timeout), takes the lock over and converges every service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_at_a_random_point_lands_when_run_again() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2", "v3", "v4"], None).await;
    stage.fast().await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    for tag in ["v2", "v3", "v4"] {
        // xorshift: a repeatable draw from the seed printed on failure.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % 2500);
        let mut run = deploy_in_background(&stage, tag, "1s");
        tokio::time::sleep(delay).await;
        let _ = run.kill();
        let _ = run.wait();
        let (code, r, err) = stage.deploy(tag, &["--no-smoke", "--lock-timeout", "20s"]);
        let live = slipway::live::fetch(
            &stage.clients.ecs,
            &stage.cluster(),
            &slipway::live::named(&stage.service_names()),
        )
        .await
        .unwrap();
        assert_eq!(code, 0, "{tag} killed after {delay:?}: {err}\n{r:#}");
        assert!(
            live.image_tags().values().all(|t| t == tag),
            "{tag} killed after {delay:?}: {:?}",
            live.image_tags()
        );
    }
}
