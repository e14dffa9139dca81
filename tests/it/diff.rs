//! `slipway diff` on the emulator, for both example systems: a freshly created environment has
//! no changes; then one thing at a time is changed live, and exactly that change is reported.

use aws_sdk_ecs::types as t;
use serde_json::Value;

use crate::support::Stage;

const TAG: &str = "4f2a9c1";

type Edit = Box<dyn FnOnce(&mut slipway::render::TaskDefinition)>;

/// Runs `slipway diff --format json --detailed-exitcode` and returns (exit code, document).
fn diff(stage: &Stage, extra: &[&str]) -> (i32, Value) {
    let out = stage
        .slipway()
        .args([
            "diff",
            "--env",
            &stage.env,
            "--format",
            "json",
            "--detailed-exitcode",
        ])
        .arg("--tf-outputs")
        .arg(&stage.outputs)
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 2,
        "diff failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

/// The changes reported, as "kind path" lines, for every service that has any.
fn changes(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for s in doc["services"].as_array().unwrap() {
        let name = s["service"].as_str().unwrap();
        match s["action"].as_str().unwrap() {
            "unchanged" => {}
            "update" => {
                for c in s["changes"].as_array().unwrap() {
                    out.push(format!(
                        "{name}: {} {}",
                        c["kind"].as_str().unwrap(),
                        c["path"].as_str().unwrap()
                    ));
                }
            }
            other => out.push(format!("{name}: {other}")),
        }
    }
    out
}

/// A live mutation: a new revision of the service's task definition with `edit` applied.
async fn mutate_td(
    stage: &Stage,
    service: &str,
    edit: impl FnOnce(&mut slipway::render::TaskDefinition),
) -> String {
    let ecs = &stage.clients.ecs;
    let live = slipway::aws::ecs::describe_services(ecs, &stage.cluster(), &[service.to_string()])
        .await
        .unwrap();
    let (_, mut td) =
        slipway::aws::ecs::describe_task_definition(ecs, &live.found[0].task_definition)
            .await
            .unwrap();
    edit(&mut td);
    let rev = slipway::aws::ecs::register_task_definition(ecs, &td)
        .await
        .unwrap();
    point(stage, service, &rev.arn).await;
    live.found[0].task_definition.clone()
}

async fn point(stage: &Stage, service: &str, arn: &str) {
    slipway::aws::ecs::update_service(&stage.clients.ecs, &stage.cluster(), service, arn)
        .await
        .unwrap();
}

fn update(
    stage: &Stage,
    service: &str,
) -> aws_sdk_ecs::operation::update_service::builders::UpdateServiceFluentBuilder {
    stage
        .clients
        .ecs
        .update_service()
        .cluster(stage.cluster())
        .service(service)
}

async fn each_mutation_is_reported(envs_dir: &str) {
    let stage = Stage::up(envs_dir, "staging").await;
    let names = stage.service_names();
    let (last, first) = names.split_last().unwrap();
    stage.create_services(TAG, first).await;

    // The service not created yet is a create; everything else matches.
    let (code, doc) = diff(&stage, &["--image-tag", TAG]);
    assert_eq!(changes(&doc), [format!("{last}: create")], "{doc:#}");
    assert_eq!(code, 2);
    stage.create_services(TAG, std::slice::from_ref(last)).await;
    let (code, doc) = diff(&stage, &["--image-tag", TAG]);
    assert_eq!(
        changes(&doc),
        Vec::<String>::new(),
        "round trip not clean: {doc:#}"
    );
    assert_eq!(code, 0);

    // A diff only reads, and reads little: ceil(N/10) DescribeServices, one ListServices, one
    // DescribeTaskDefinition per distinct live task definition.
    stage
        .emu
        .control("/_slipway/calls/reset", serde_json::json!({}))
        .await;
    diff(&stage, &["--image-tag", TAG]);
    let calls = stage.emu.calls().await;
    let n = names.len() as u64;
    let expected = std::collections::BTreeMap::from([
        ("ECS.DescribeServices".to_string(), n.div_ceil(10)),
        ("ECS.DescribeTaskDefinition".to_string(), n),
        ("ECS.ListServices".to_string(), 1),
    ]);
    assert_eq!(calls, expected, "{envs_dir}");

    // The main service: the first one with secrets (every example has one).
    let rendered = stage.render(TAG);
    let svc = names
        .iter()
        .find(|n| {
            rendered["task_definitions"][n.as_str()]["containerDefinitions"][0]["secrets"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        })
        .expect("a service with secrets")
        .clone();
    let main = &rendered["task_definitions"][&svc]["containerDefinitions"][0];
    let var = main["environment"][0]["name"].as_str().unwrap().to_string();
    let secret = main["secrets"][0]["name"].as_str().unwrap().to_string();
    let port = main["portMappings"][0]["containerPort"].as_i64().unwrap() as i32;
    let c = format!("taskDefinition.containerDefinitions[{svc}]");

    let cases: Vec<(&str, Edit, Vec<String>)> = vec![
        (
            "image",
            Box::new(|td| {
                td.container_definitions[0].image =
                    td.container_definitions[0].image.replace(TAG, "0000000")
            }),
            vec![format!("{svc}: changed {c}.image")],
        ),
        (
            "environment variable",
            Box::new(|td| {
                td.container_definitions[0].environment[0]
                    .value
                    .push_str("-changed")
            }),
            vec![format!("{svc}: changed {c}.environment[{var}].value")],
        ),
        (
            "secret reference",
            Box::new(|td| {
                td.container_definitions[0].secrets[0]
                    .value_from
                    .push_str("-old")
            }),
            vec![format!("{svc}: changed {c}.secrets[{secret}].valueFrom")],
        ),
        (
            "cpu and memory",
            Box::new(|td| {
                td.cpu = "4096".into();
                td.memory = "16384".into();
            }),
            vec![
                format!("{svc}: changed taskDefinition.cpu"),
                format!("{svc}: changed taskDefinition.memory"),
            ],
        ),
        (
            "port",
            Box::new(move |td| {
                td.container_definitions[0].port_mappings[0].container_port = port + 1
            }),
            // Changes read live → rendered: the rendered port is added, the live one removed.
            vec![
                format!("{svc}: added {c}.portMappings[{port}]"),
                format!("{svc}: removed {c}.portMappings[{}]", port + 1),
            ],
        ),
        (
            "health check",
            Box::new(|td| {
                let c = &mut td.container_definitions[0];
                match &mut c.health_check {
                    Some(h) => h.interval += 7,
                    None => {
                        c.health_check = Some(slipway::render::ecs::HealthCheck {
                            command: vec!["CMD-SHELL".into(), "exit 0".into()],
                            interval: 30,
                            timeout: 5,
                            retries: 3,
                            start_period: 0,
                        })
                    }
                }
            }),
            vec![if main["healthCheck"].is_null() {
                format!("{svc}: removed {c}.healthCheck")
            } else {
                format!("{svc}: changed {c}.healthCheck.interval")
            }],
        ),
    ];
    for (what, edit, expected) in cases {
        let original = mutate_td(&stage, &svc, edit).await;
        let (code, doc) = diff(&stage, &["--image-tag", TAG]);
        assert_eq!(changes(&doc), expected, "{envs_dir}: {what}");
        assert_eq!(code, 2, "{envs_dir}: {what}");
        point(&stage, &svc, &original).await;
    }
    let (_, doc) = diff(&stage, &["--image-tag", TAG]);
    assert_eq!(changes(&doc), Vec::<String>::new(), "{envs_dir}: restored");

    // Service settings: desired count (beyond any autoscaling range), deployment configuration.
    let desired = rendered["services"][&svc]["desiredCount"].as_i64().unwrap() as i32;
    update(&stage, &svc)
        .desired_count(desired + 40)
        .send()
        .await
        .unwrap();
    let (_, doc) = diff(&stage, &["--image-tag", TAG]);
    assert_eq!(
        changes(&doc),
        [format!("{svc}: changed service.desiredCount")],
        "{envs_dir}"
    );
    update(&stage, &svc)
        .desired_count(desired)
        .send()
        .await
        .unwrap();

    let dc = &rendered["services"][&svc]["deploymentConfiguration"];
    update(&stage, &svc)
        .deployment_configuration(
            t::DeploymentConfiguration::builder()
                .maximum_percent(dc["maximumPercent"].as_i64().unwrap() as i32)
                .minimum_healthy_percent(17)
                .deployment_circuit_breaker(
                    t::DeploymentCircuitBreaker::builder()
                        .enable(dc["deploymentCircuitBreaker"]["enable"].as_bool().unwrap())
                        .rollback(
                            dc["deploymentCircuitBreaker"]["rollback"]
                                .as_bool()
                                .unwrap(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (_, doc) = diff(&stage, &["--image-tag", TAG]);
    assert_eq!(
        changes(&doc),
        [format!(
            "{svc}: changed service.deploymentConfiguration.minimumHealthyPercent"
        )],
        "{envs_dir}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scr_platform_reports_each_live_change() {
    each_mutation_is_reported("envs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn specboard_reports_each_live_change() {
    each_mutation_is_reported("examples/specboard/envs").await;
}

/// Runs `slipway diff` and returns (exit code, stderr, seconds taken).
fn diff_failing(stage: &Stage, envs: &[(&str, &str)], extra: &[&str]) -> (i32, String, f64) {
    let started = std::time::Instant::now();
    let mut cmd = stage.slipway();
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["diff", "--env", &stage.env, "--image-tag", TAG])
        .arg("--tf-outputs")
        .arg(&stage.outputs)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        started.elapsed().as_secs_f64(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_unreachable_aws() {
    let stage = Stage::up("envs", "staging").await;

    // Nothing created yet: the cluster exists (seeded) but no service does → all creates.
    let (code, doc) = diff(&stage, &["--image-tag", TAG]);
    assert_eq!(code, 2);
    assert!(
        changes(&doc).iter().all(|c| c.ends_with(": create")),
        "{doc:#}"
    );

    // A cluster that does not exist: every service is a create, with a note, never a crash.
    stage
        .clients
        .ecs
        .delete_cluster()
        .cluster(stage.cluster())
        .send()
        .await
        .unwrap();
    let (code, doc) = diff(&stage, &["--image-tag", TAG]);
    assert_eq!(code, 2, "{doc:#}");
    assert!(
        changes(&doc).iter().all(|c| c.ends_with(": create")),
        "{doc:#}"
    );
    assert!(doc["services"][0]["note"].is_string(), "{doc:#}");
    assert!(doc["services"][0]["note"]
        .as_str()
        .unwrap()
        .contains("does not exist"));

    // AccessDenied names the missing permission.
    stage
        .emu
        .control(
            "/_slipway/faults",
            serde_json::json!({"operation": "ECS.DescribeServices", "status": 400, "code": "AccessDeniedException",
                "message": "User: arn:aws:sts::111111111111:assumed-role/ci/x is not authorized to perform: ecs:DescribeServices"}),
        )
        .await;
    let (code, err, _) = diff_failing(&stage, &[], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("needs the IAM permission `ecs:DescribeServices`"),
        "{err}"
    );

    // A server that never answers: a clear error within the configured deadline.
    stage
        .emu
        .control(
            "/_slipway/faults",
            serde_json::json!({"operation": "ECS.DescribeServices", "delay_seconds": 30, "count": 10}),
        )
        .await;
    let (code, err, secs) = diff_failing(&stage, &[], &["--aws-timeout", "2"]);
    assert_eq!(code, 1, "{err}");
    assert!(secs < 15.0, "took {secs:.1}s with a 2s deadline");
    assert!(
        err.contains("ecs:DescribeServices") && err.to_lowercase().contains("timeout"),
        "{err}"
    );

    // Nothing listens: connection refused, quickly.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, err, secs) = diff_failing(&stage, &[("AWS_ENDPOINT_URL", &url)], &[]);
    assert_eq!(code, 1);
    assert!(secs < 15.0, "took {secs:.1}s");
    assert!(err.to_lowercase().contains("connect"), "{err}");
}
