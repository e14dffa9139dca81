//! Round trip through the real AWS SDK against the emulator: what `render` produces registers,
//! describes back unchanged, and creates a service in the subnets Terraform (here: seed.py) made.

use crate::support::Stage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_task_definitions_round_trip_through_ecs() {
    for (dir, env) in [("envs", "staging"), ("examples/specboard/envs", "staging")] {
        round_trip(dir, env).await;
    }
}

async fn round_trip(dir: &'static str, env: &str) {
    let stage = Stage::up(dir, env).await;
    let doc = stage.render("9e8d7c6");
    let clients = &stage.clients;
    let names: Vec<String> = doc["services"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(!names.is_empty());
    for name in &names {
        let td: slipway::render::TaskDefinition =
            serde_json::from_value(doc["task_definitions"][name].clone()).unwrap();
        let rev = slipway::aws::ecs::register_task_definition(&clients.ecs, &td)
            .await
            .unwrap();
        assert_eq!(rev.family, td.family);
        assert_eq!(rev.revision, 1);
        let (described_rev, described) =
            slipway::aws::ecs::describe_task_definition(&clients.ecs, &rev.arn)
                .await
                .unwrap();
        assert_eq!(described_rev, rev);
        // What ECS adds on its own (moto: container cpu 0, empty mountPoints, volumes, ...)
        // is kept by the adapter; the diff's normalisation drops it again.
        assert_eq!(
            slipway::diff::normalise_task_definition(&described),
            slipway::diff::normalise_task_definition(&td),
            "{env}/{name}: the task definition changed on its way through ECS"
        );

        let settings: slipway::render::ServiceSettings =
            serde_json::from_value(doc["services"][name].clone()).unwrap();
        let arn = slipway::aws::ecs::create_service(&clients.ecs, &settings, &rev.arn)
            .await
            .unwrap();
        assert!(arn.ends_with(&format!("/{name}")), "{arn}");
    }
    let cluster = doc["services"][&names[0]]["cluster"].as_str().unwrap();
    let live = slipway::aws::ecs::describe_services(&clients.ecs, cluster, &names)
        .await
        .unwrap();
    assert_eq!(live.found.len(), names.len());
    for s in &live.found {
        assert!(s.task_definition.ends_with(":1"), "{s:?}");
        assert_eq!(s.status, "ACTIVE");
    }
}

/// An unreachable endpoint fails within the configured deadline instead of hanging.
#[tokio::test]
async fn unreachable_endpoint_fails_fast() {
    crate::support::init();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = slipway::aws::sdk_config(&slipway::aws::AwsOptions {
        region: Some("eu-west-1".into()),
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        timeouts: slipway::aws::Timeouts {
            max_attempts: 2,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    let started = std::time::Instant::now();
    let err = slipway::aws::ecs::describe_task_definition(&ecs, "x")
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(err.message.to_lowercase().contains("connect"), "{err}");
}
