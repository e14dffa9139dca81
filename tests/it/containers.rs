//! The container and task settings beyond image, command and variables (tests/fixtures/rich):
//! what they render to in the ECS API's names, that they travel through ECS on the emulator
//! and come back as the diff sees them, and that a deploy of a new tag then changes only the
//! images.

use serde_json::Value;

use crate::support::{fixtures, Stage};

const ENVS: &str = "tests/fixtures/rich/envs";

#[test]
fn rich_settings_render_to_the_api_fields() {
    let out = crate::support::slipway()
        .args(["--envs-dir"])
        .arg(fixtures().join("rich/envs"))
        .args([
            "render",
            "--env",
            "dev",
            "--image-tag",
            "1.0.0",
            "--format",
            "json",
        ])
        .arg("--tf-outputs")
        .arg(fixtures().join("rich/tf-outputs.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_json_snapshot!("rich_task_definition", doc["task_definitions"]["app"]);
    insta::assert_json_snapshot!("rich_service", doc["services"]["app"]);
}

/// The main container and the sidecars of the live task definition, by name.
fn containers(td: &Value) -> std::collections::BTreeMap<String, Value> {
    td["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rich_service_deploys_then_diffs_clean_and_a_new_tag_changes_only_images() {
    let stage = Stage::up(ENVS, "dev").await;
    stage.fast().await;
    let (code, report, stderr) = stage.deploy("1.0.0", &[]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");

    // What ECS holds has every field the file set, under the names the file gave.
    let live = stage
        .clients
        .ecs
        .describe_services()
        .cluster("invapp-dev")
        .services("invapp-dev-app-service")
        .send()
        .await
        .unwrap();
    let svc = &live.services()[0];
    assert_eq!(svc.platform_version(), Some("1.4.0"));
    assert_eq!(svc.capacity_provider_strategy().len(), 2);
    let (_, td) = slipway::aws::ecs::describe_task_definition(
        &stage.clients.ecs,
        svc.task_definition().unwrap(),
    )
    .await
    .unwrap();
    let td = serde_json::to_value(&td).unwrap();
    assert_eq!(td["pidMode"], "task");
    assert_eq!(td["ephemeralStorage"]["sizeInGiB"], 40);
    let uploads = td["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "uploads")
        .unwrap();
    assert_eq!(
        uploads["efsVolumeConfiguration"]["authorizationConfig"]["iam"], "ENABLED",
        "{td:#}"
    );
    let c = containers(&td);
    let main = &c["invapp-dev-app"];
    assert_eq!(main["image"], "ghcr.io/invapp/app:1.0.0");
    assert_eq!(main["user"], "1000:1000");
    assert_eq!(main["logConfiguration"]["logDriver"], "awsfirelens");
    assert_eq!(main["systemControls"][0]["namespace"], "net.core.somaxconn");
    assert_eq!(
        main["repositoryCredentials"]["credentialsParameter"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ghcr-pull"
    );
    assert_eq!(
        c["log-router"]["firelensConfiguration"]["type"],
        "fluentbit"
    );
    assert_eq!(c["envoy"]["healthCheck"]["interval"], 10);
    assert_eq!(c["envoy"]["portMappings"][0]["containerPort"], 9901);

    // Right after the deploy, the file and ECS agree.
    let diff = |tag: Option<&str>| {
        let mut cmd = stage.slipway();
        cmd.args([
            "--format",
            "json",
            "diff",
            "--env",
            "dev",
            "--detailed-exitcode",
        ])
        .arg("--tf-outputs")
        .arg(&stage.outputs);
        if let Some(t) = tag {
            cmd.args(["--image-tag", t]);
        }
        let out = cmd.output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap(), v)
    };
    let (code, v) = diff(None);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["services"][0]["action"], "unchanged", "{v:#}");

    // A new tag: the main container's and the migration sidecar's images, nothing else.
    let (code, v) = diff(Some("1.0.1"));
    assert_eq!(code, 2, "{v:#}");
    let paths: Vec<&str> = v["services"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "taskDefinition.containerDefinitions[invapp-dev-app].image",
            "taskDefinition.containerDefinitions[migrate].image",
        ]
    );
    let (code, report, stderr) = stage.deploy("1.0.1", &[]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let (code, v) = diff(Some("1.0.1"));
    assert_eq!(code, 0, "{v:#}");
}
