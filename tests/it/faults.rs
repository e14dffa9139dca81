//! Rollouts against an unreliable AWS: throttling, 5xx and answers lost after the call was
//! applied, injected by the emulator at random (its counts say what was injected). Every run
//! must end all-new or all-old, never half-done; and a rollback picks the newest healthy
//! revision, which the emulator's ListTaskDefinitions (sorted and paged as AWS does) lets a
//! test tell from the oldest.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::support::Stage;

async fn live_tags(stage: &Stage) -> BTreeMap<String, String> {
    let live = slipway::live::fetch(
        &stage.clients.ecs,
        &stage.cluster(),
        &slipway::live::named(&stage.service_names()),
    )
    .await
    .unwrap();
    live.image_tags()
}

async fn faults(stage: &Stage) -> Value {
    reqwest::get(format!("{}/_slipway/faults", stage.emu.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// About 10 % of every AWS call slipway makes fails: a third throttled, a third 503, a third
/// applied with the answer lost.
async fn chaos(stage: &Stage, seed: u64) {
    for (i, fault) in [
        json!({"status": 400, "code": "ThrottlingException"}),
        json!({"status": 503, "code": "ServiceUnavailable"}),
        json!({"reset_after": true}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut f = fault;
        f["operation"] = json!("*");
        f["count"] = json!(100_000);
        f["probability"] = json!(0.035);
        f["seed"] = json!(seed * 10 + i as u64);
        stage.emu.control("/_slipway/faults", f).await;
    }
}

async fn calm(stage: &Stage) -> Value {
    let seen = faults(stage).await["injected"].clone();
    stage.emu.control_delete("/_slipway/faults").await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_deploys_at_ten_percent_faults_end_all_new_or_all_old() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2"], None).await;
    stage.fast().await;
    let (code, _, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}");
    let mut before = "v1".to_string();
    let mut outcomes: BTreeMap<i32, usize> = BTreeMap::new();
    let mut injected = 0u64;
    for i in 0..20u64 {
        let tag = if before == "v1" { "v2" } else { "v1" };
        chaos(&stage, i).await;
        if i == 10 {
            // Once, UpdateService fails every attempt the SDK makes (4 for each of the 3
            // services): the rollout must fail and go back whole.
            stage
                .emu
                .control(
                    "/_slipway/faults",
                    json!({"operation": "ECS.UpdateService", "count": 12, "status": 503, "code": "ServiceUnavailable"}),
                )
                .await;
        }
        let (code, r, err) = stage.deploy(
            tag,
            &["--no-smoke", "--lock-lease", "10s", "--lock-timeout", "15s"],
        );
        let seen = calm(&stage).await;
        injected += seen
            .as_object()
            .unwrap()
            .values()
            .flat_map(|kinds| kinds.as_object().unwrap().values())
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>();
        let tags = live_tags(&stage).await;
        let all = |t: &str| tags.values().all(|x| x == t) && tags.len() == 3;
        match code {
            0 => assert!(all(tag), "run {i}: exit 0 but {tags:?}\n{err}"),
            1 | 3 | 4 => assert!(
                all(&before),
                "run {i}: exit {code}, not all-old: {tags:?}\n{err}\n{r:#}"
            ),
            _ => panic!("run {i}: exit {code}: {tags:?}\n{err}\n{r:#}"),
        }
        *outcomes.entry(code).or_default() += 1;
        if code == 0 {
            before = tag.to_string();
        }
    }
    println!("20 deploys at ~10% faults: exits {outcomes:?}, {injected} faults injected");
    assert!(injected > 20, "faults were injected: {injected}");
    assert!(outcomes.get(&0).copied().unwrap_or(0) >= 10, "{outcomes:?}");
    assert!(
        outcomes.keys().any(|c| *c != 0),
        "the run whose updates all failed ended all-old: {outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_5xx_and_lost_answers_are_retried_and_were_injected() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2"], None).await;
    stage.fast().await;
    let fault = |body: Value| stage.emu.control("/_slipway/faults", body);
    // A first deploy creates the services; one CreateService answer is lost after the service
    // was created, and the retry (same client token) gets it back instead of a second one.
    fault(json!({"operation": "ECS.CreateService", "count": 1, "reset_after": true})).await;
    let (code, r, err) = stage.deploy("v1", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    let f = faults(&stage).await;
    assert_eq!(
        f["injected"]["ECS.CreateService"]["reset_after"], 1,
        "{f:#}"
    );
    let listed = stage
        .clients
        .ecs
        .list_services()
        .cluster(stage.cluster())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.service_arns().len(), 3);

    fault(json!({"operation": "ECS.DescribeServices", "count": 2, "status": 400, "code": "ThrottlingException"})).await;
    fault(json!({"operation": "ECS.UpdateService", "count": 1, "status": 503, "code": "ServiceUnavailable"})).await;
    fault(json!({"operation": "ECS.RegisterTaskDefinition", "count": 1, "reset_after": true}))
        .await;
    fault(json!({"operation": "S3.PutObject", "count": 1, "reset_after": true})).await;
    let (code, r, err) = stage.deploy("v2", &["--no-smoke"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    let f = faults(&stage).await;
    assert_eq!(f["faults"], json!([]), "every fault was used: {f:#}");
    let injected = &f["injected"];
    assert_eq!(
        injected["ECS.DescribeServices"]["ThrottlingException"], 2,
        "{f:#}"
    );
    assert_eq!(
        injected["ECS.UpdateService"]["ServiceUnavailable"], 1,
        "{f:#}"
    );
    assert_eq!(
        injected["ECS.RegisterTaskDefinition"]["reset_after"], 1,
        "{f:#}"
    );
    // The lock's own create, answered by a lost connection: the retry met its own write.
    assert_eq!(injected["S3.PutObject"]["reset_after"], 1, "{f:#}");
    assert!(live_tags(&stage).await.values().all(|t| t == "v2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deploy_goes_back_to_the_newest_healthy_revision() {
    let stage = Stage::up_with("envs", "staging", &["v1", "v2", "v3", "v4"], None).await;
    stage.fast().await;
    // ListTaskDefinitions answers in pages of two: the newest must be found across pages.
    stage
        .emu
        .control("/_slipway/config", json!({"list_page_size": 2}))
        .await;
    for tag in ["v1", "v2", "v3"] {
        let (code, _, err) = stage.deploy(tag, &["--no-smoke", "--service", "api"]);
        assert_eq!(code, 0, "{tag}: {err}");
    }
    stage
        .emu
        .control("/_slipway/fail-images", json!({"pattern": ":v4"}))
        .await;
    let (code, r, err) = stage.deploy("v4", &["--no-smoke", "--service", "api"]);
    assert_eq!(code, 4, "{err}\n{r:#}");
    let api = &r["services"][0];
    assert!(
        api["deployed"]
            .as_str()
            .unwrap()
            .ends_with("scr-staging-api:4"),
        "{api:#}"
    );
    assert!(
        api["rolled_back_to"]
            .as_str()
            .unwrap()
            .ends_with("scr-staging-api:3"),
        "back to v3, the newest healthy revision, not v1: {api:#}"
    );
    assert_eq!(live_tags(&stage).await["api"], "v3");
}
