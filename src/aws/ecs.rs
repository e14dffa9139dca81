//! ECS adapter: slipway's API-shaped types ([`crate::render::ecs`]) to and from the SDK's.
//!
//! Reading converts live state back into the same input shape that rendering produces, so the
//! two can be compared field by field. What AWS adds on its own (revision, status, ARNs,
//! registeredAt, compatibilities, ...) has no field in the input shape and is dropped here.

use aws_sdk_ecs::types as t;
use aws_sdk_ecs::Client;

use super::{bounded, AwsError, CONCURRENCY};
use crate::render::ecs as r;

const SERVICE: &str = "ecs";

/// A registered revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub arn: String,
    pub family: String,
    pub revision: i32,
}

fn tag_to_sdk(tag: &r::Tag) -> t::Tag {
    t::Tag::builder().key(&tag.key).value(&tag.value).build()
}

/// RegisterTaskDefinition with the rendered document as the request body, exactly: the API's
/// own JSON, every field in it (typed or in `extra`) sent as written. The SDK still resolves
/// the endpoint, signs, retries and parses the answer; only its serialisation of the input is
/// replaced, before signing, on every attempt.
pub async fn register_task_definition(
    client: &Client,
    td: &r::TaskDefinition,
) -> Result<Revision, AwsError> {
    let body = serde_json::to_vec(td).map_err(|e| {
        AwsError::invalid(
            SERVICE,
            "RegisterTaskDefinition",
            format!("the task definition does not serialise: {e}"),
        )
    })?;
    let out = client
        .register_task_definition()
        .family(&td.family)
        .customize()
        .mutate_request(move |req| {
            req.headers_mut()
                .insert("content-length", body.len().to_string());
            *req.body_mut() = aws_smithy_types::body::SdkBody::from(body.clone());
        })
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "RegisterTaskDefinition", e))?;
    let td = out.task_definition().ok_or_else(|| {
        AwsError::invalid(
            SERVICE,
            "RegisterTaskDefinition",
            "the response has no task definition",
        )
    })?;
    revision_of(td, "RegisterTaskDefinition")
}

/// Keeps the raw body of the answer to one call (after the SDK has read and parsed it), so a
/// response can be read as the API's JSON, fields the SDK's types leave out included.
#[derive(Clone, Debug, Default)]
struct RawBody(std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for RawBody {
    fn name(&self) -> &'static str {
        "slipway::RawBody"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            *self.0.lock().expect("not poisoned") = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// What AWS adds to a task definition it describes, that no RegisterTaskDefinition takes.
const DESCRIBED_ONLY: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// A described task definition (the API's JSON) in the input shape, with its tags.
pub fn task_definition_from_json(
    mut td: serde_json::Value,
    tags: &[r::Tag],
) -> Result<r::TaskDefinition, String> {
    if let Some(o) = td.as_object_mut() {
        for k in DESCRIBED_ONLY {
            o.remove(*k);
        }
        o.remove("tags");
    }
    let mut td: r::TaskDefinition =
        serde_json::from_value(td).map_err(|e| format!("not a task definition: {e}"))?;
    let mut tags = tags.to_vec();
    tags.sort();
    td.tags = tags;
    Ok(td)
}

fn revision_of(td: &t::TaskDefinition, op: &'static str) -> Result<Revision, AwsError> {
    Ok(Revision {
        arn: td
            .task_definition_arn()
            .ok_or_else(|| AwsError::invalid(SERVICE, op, "the task definition has no ARN"))?
            .to_string(),
        family: td.family().unwrap_or_default().to_string(),
        revision: td.revision(),
    })
}

/// DescribeTaskDefinition (with tags), read as the API's JSON and converted to the input
/// shape: every field AWS returns is kept, what it adds of its own (ARN, revision, status,
/// registeredAt, ...) is dropped.
pub async fn describe_task_definition(
    client: &Client,
    family_or_arn: &str,
) -> Result<(Revision, r::TaskDefinition), AwsError> {
    let raw = RawBody::default();
    let out = client
        .describe_task_definition()
        .task_definition(family_or_arn)
        .include(t::TaskDefinitionField::Tags)
        .customize()
        .interceptor(raw.clone())
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeTaskDefinition", e))?;
    let invalid = |why: String| AwsError::invalid(SERVICE, "DescribeTaskDefinition", why);
    let td = out
        .task_definition()
        .ok_or_else(|| invalid("the response has no task definition".into()))?;
    let rev = revision_of(td, "DescribeTaskDefinition")?;
    let body = raw
        .0
        .lock()
        .expect("not poisoned")
        .take()
        .ok_or_else(|| invalid("the response body was not kept".into()))?;
    let mut doc: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| invalid(format!("the response is not JSON: {e}")))?;
    let tags: Vec<r::Tag> = out
        .tags()
        .iter()
        .map(|t| r::Tag {
            key: t.key().unwrap_or_default().to_string(),
            value: t.value().unwrap_or_default().to_string(),
        })
        .collect();
    let td = task_definition_from_json(doc["taskDefinition"].take(), &tags).map_err(invalid)?;
    Ok((rev, td))
}

fn deployment_to_sdk(d: &r::DeploymentConfiguration) -> t::DeploymentConfiguration {
    t::DeploymentConfiguration::builder()
        .maximum_percent(d.maximum_percent)
        .minimum_healthy_percent(d.minimum_healthy_percent)
        .deployment_circuit_breaker(
            t::DeploymentCircuitBreaker::builder()
                .enable(d.deployment_circuit_breaker.enable)
                .rollback(d.deployment_circuit_breaker.rollback)
                .build(),
        )
        // Rolling is sent as such: a service that leaves another strategy goes back to it.
        .strategy(t::DeploymentStrategy::from(
            d.strategy.as_deref().unwrap_or("ROLLING"),
        ))
        .set_bake_time_in_minutes(d.bake_time_in_minutes)
        .set_canary_configuration(d.canary_configuration.as_ref().map(|c| {
            t::CanaryConfiguration::builder()
                .canary_percent(c.canary_percent)
                .canary_bake_time_in_minutes(c.canary_bake_time_in_minutes)
                .build()
        }))
        .set_linear_configuration(d.linear_configuration.as_ref().map(|l| {
            t::LinearConfiguration::builder()
                .step_percent(l.step_percent)
                .step_bake_time_in_minutes(l.step_bake_time_in_minutes)
                .build()
        }))
        // No alarms: watching none, so that alarms removed from the file stop being watched.
        .alarms(match &d.alarms {
            Some(a) => t::DeploymentAlarms::builder()
                .set_alarm_names(Some(a.alarm_names.clone()))
                .enable(a.enable)
                .rollback(a.rollback)
                .build()
                .expect("alarm names, enable and rollback are set"),
            None => t::DeploymentAlarms::builder()
                .set_alarm_names(Some(Vec::new()))
                .enable(false)
                .rollback(false)
                .build()
                .expect("alarm names, enable and rollback are set"),
        })
        // Sent (empty too) wherever hooks mean something, so that a gate no longer rendered
        // is removed; a rolling service has none to remove.
        .set_lifecycle_hooks(
            d.strategy
                .is_some()
                .then(|| d.lifecycle_hooks.iter().map(hook_to_sdk).collect()),
        )
        .build()
}

fn hook_to_sdk(h: &r::LifecycleHook) -> t::DeploymentLifecycleHook {
    t::DeploymentLifecycleHook::builder()
        .target_type(t::DeploymentLifecycleHookTargetType::from(
            h.target_type.as_str(),
        ))
        .set_hook_target_arn(h.hook_target_arn.clone())
        .set_role_arn(h.role_arn.clone())
        .set_lifecycle_stages(Some(
            h.lifecycle_stages
                .iter()
                .map(|s| t::DeploymentLifecycleHookStage::from(s.as_str()))
                .collect(),
        ))
        .set_timeout_configuration(h.timeout_configuration.as_ref().map(|c| {
            t::DeploymentLifecycleHookTimeoutConfiguration::builder()
                .timeout_in_minutes(c.timeout_in_minutes)
                .action(t::DeploymentLifecycleHookAction::from(c.action.as_str()))
                .build()
        }))
        .build()
}

fn hook_from_sdk(h: &t::DeploymentLifecycleHook) -> r::LifecycleHook {
    r::LifecycleHook {
        // ECS's default target type is a Lambda function.
        target_type: h
            .target_type()
            .map_or_else(|| "AWS_LAMBDA".to_string(), |t| t.as_str().to_string()),
        hook_target_arn: h.hook_target_arn().map(str::to_string),
        role_arn: h.role_arn().map(str::to_string),
        lifecycle_stages: h
            .lifecycle_stages()
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        timeout_configuration: h.timeout_configuration().map(|c| r::HookTimeout {
            // The API's defaults.
            timeout_in_minutes: c.timeout_in_minutes().unwrap_or(1440),
            action: c
                .action()
                .map_or_else(|| "ROLLBACK".to_string(), |a| a.as_str().to_string()),
        }),
    }
}

/// The strategy's part of a live `deploymentConfiguration`, in render's shape: what a rolling
/// service echoes (`ROLLING`, an unused bake time, alarms switched off) is left out, as render
/// leaves it out.
fn deployment_from_sdk(dc: Option<&t::DeploymentConfiguration>) -> r::DeploymentConfiguration {
    let breaker = dc.and_then(|d| d.deployment_circuit_breaker());
    let strategy = dc
        .and_then(|d| d.strategy())
        .map(|s| s.as_str().to_string())
        .filter(|s| s != "ROLLING");
    let is = |name: &str| strategy.as_deref() == Some(name);
    r::DeploymentConfiguration {
        deployment_circuit_breaker: r::CircuitBreaker {
            enable: breaker.is_some_and(|b| b.enable()),
            rollback: breaker.is_some_and(|b| b.rollback()),
        },
        // The API's defaults for a rolling deployment when the service never set them.
        maximum_percent: dc.and_then(|d| d.maximum_percent()).unwrap_or(200),
        minimum_healthy_percent: dc.and_then(|d| d.minimum_healthy_percent()).unwrap_or(100),
        bake_time_in_minutes: dc
            .and_then(|d| d.bake_time_in_minutes())
            .filter(|_| strategy.is_some()),
        canary_configuration: dc
            .and_then(|d| d.canary_configuration())
            .filter(|_| is("CANARY"))
            .map(|c| r::CanaryConfiguration {
                canary_percent: c.canary_percent().unwrap_or(5.0),
                canary_bake_time_in_minutes: c.canary_bake_time_in_minutes().unwrap_or(10),
            }),
        linear_configuration: dc
            .and_then(|d| d.linear_configuration())
            .filter(|_| is("LINEAR"))
            .map(|l| r::LinearConfiguration {
                step_percent: l.step_percent().unwrap_or(10.0),
                step_bake_time_in_minutes: l.step_bake_time_in_minutes().unwrap_or(6),
            }),
        alarms: dc
            .and_then(|d| d.alarms())
            .filter(|a| a.enable() || !a.alarm_names().is_empty())
            .map(|a| r::DeploymentAlarms {
                alarm_names: a.alarm_names().to_vec(),
                enable: a.enable(),
                rollback: a.rollback(),
            }),
        lifecycle_hooks: dc
            .filter(|_| strategy.is_some())
            .map(|d| d.lifecycle_hooks().iter().map(hook_from_sdk).collect())
            .unwrap_or_default(),
        strategy,
    }
}

fn network_to_sdk(
    vpc: &r::AwsVpcConfiguration,
    operation: &'static str,
) -> Result<t::NetworkConfiguration, AwsError> {
    let awsvpc = t::AwsVpcConfiguration::builder()
        .set_subnets(Some(vpc.subnets.clone()))
        .set_security_groups(Some(vpc.security_groups.clone()))
        .assign_public_ip(t::AssignPublicIp::from(vpc.assign_public_ip.as_str()))
        .build()
        .map_err(|e| AwsError::invalid(SERVICE, operation, e.to_string()))?;
    Ok(t::NetworkConfiguration::builder()
        .awsvpc_configuration(awsvpc)
        .build())
}

fn capacity_providers_to_sdk(
    items: &[r::CapacityProviderItem],
    operation: &'static str,
) -> Result<Option<Vec<t::CapacityProviderStrategyItem>>, AwsError> {
    if items.is_empty() {
        return Ok(None);
    }
    items
        .iter()
        .map(|c| {
            t::CapacityProviderStrategyItem::builder()
                .capacity_provider(&c.capacity_provider)
                .weight(c.weight)
                .base(c.base)
                .build()
                .map_err(|e| AwsError::invalid(SERVICE, operation, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn load_balancers_to_sdk(lbs: &[r::LoadBalancer]) -> Vec<t::LoadBalancer> {
    lbs.iter()
        .map(|lb| {
            t::LoadBalancer::builder()
                .target_group_arn(&lb.target_group_arn)
                .container_name(&lb.container_name)
                .container_port(lb.container_port)
                .set_advanced_configuration(lb.advanced_configuration.as_ref().map(|a| {
                    t::AdvancedConfiguration::builder()
                        .alternate_target_group_arn(&a.alternate_target_group_arn)
                        .production_listener_rule(&a.production_listener_rule)
                        .set_test_listener_rule(a.test_listener_rule.clone())
                        .role_arn(&a.role_arn)
                        .build()
                }))
                .build()
        })
        .collect()
}

/// A token for one call that ECS makes idempotent (CreateService, RunTask): the SDK retries a
/// call with the same input, so a retry whose first answer was lost gets that first result
/// back instead of doing it twice. Up to 36 printable ASCII characters, unique per call.
fn client_token() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "sw-{:x}-{:x}-{}",
        nanos as u64,
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
    .chars()
    .take(36)
    .collect()
}

/// CreateService from the rendered settings, pinned to a registered revision. The client token
/// makes the SDK's retry of a call whose answer was lost get the created service back instead
/// of "Creation of service was not idempotent".
pub async fn create_service(
    client: &Client,
    s: &r::ServiceSettings,
    task_definition_arn: &str,
) -> Result<String, AwsError> {
    let mut req = client
        .create_service()
        .client_token(client_token())
        .cluster(&s.cluster)
        .service_name(&s.service_name)
        .task_definition(task_definition_arn)
        .desired_count(s.desired_count)
        .set_launch_type(
            (!s.launch_type.is_empty()).then(|| t::LaunchType::from(s.launch_type.as_str())),
        )
        .set_capacity_provider_strategy(capacity_providers_to_sdk(
            &s.capacity_provider_strategy,
            "CreateService",
        )?)
        .platform_version(&s.platform_version)
        .deployment_configuration(deployment_to_sdk(&s.deployment_configuration))
        .network_configuration(network_to_sdk(
            &s.network_configuration.awsvpc_configuration,
            "CreateService",
        )?)
        .set_health_check_grace_period_seconds(s.health_check_grace_period_seconds)
        .enable_execute_command(s.enable_execute_command)
        .enable_ecs_managed_tags(s.enable_ecs_managed_tags)
        .propagate_tags(t::PropagateTags::from(s.propagate_tags.as_str()))
        .set_load_balancers(Some(load_balancers_to_sdk(&s.load_balancers)));
    for tag in &s.tags {
        req = req.tags(tag_to_sdk(tag));
    }
    let out = req
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "CreateService", e))?;
    Ok(out
        .service()
        .and_then(|svc| svc.service_arn())
        .unwrap_or_default()
        .to_string())
}

/// Seconds since the epoch of an SDK timestamp.
fn secs(t: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<i64> {
    t.map(aws_sdk_ecs::primitives::DateTime::secs)
}

/// One deployment of a service, as DescribeServices reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Deployment {
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    pub task_definition: String,
    /// IN_PROGRESS, COMPLETED or FAILED (absent for deployments without a circuit breaker view).
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    pub failed_tasks: i32,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// A live service: its settings in the CreateService input shape (so they compare with what
/// `render` produces), and its rollout state.
#[derive(Clone, Debug)]
pub struct LiveService {
    pub name: String,
    pub arn: String,
    pub status: String,
    /// The full ARN of the task definition the service runs (its PRIMARY deployment's).
    pub task_definition: String,
    pub desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    pub settings: r::ServiceSettings,
    pub deployments: Vec<Deployment>,
    /// Newest first, at most ten.
    pub events: Vec<(Option<i64>, String)>,
}

impl LiveService {
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }
}

fn service_from_sdk(s: &t::Service) -> LiveService {
    let name = s.service_name().unwrap_or_default().to_string();
    let td_arn = s.task_definition().unwrap_or_default().to_string();
    let vpc = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    let mut tags: Vec<r::Tag> = s
        .tags()
        .iter()
        .map(|t| r::Tag {
            key: t.key().unwrap_or_default().to_string(),
            value: t.value().unwrap_or_default().to_string(),
        })
        .collect();
    tags.sort();
    let settings = r::ServiceSettings {
        cluster: s
            .cluster_arn()
            .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
            .unwrap_or_default(),
        service_name: name.clone(),
        task_definition: crate::naming::family_of(&td_arn).to_string(),
        desired_count: s.desired_count(),
        launch_type: s
            .launch_type()
            .map_or_else(String::new, |l| l.as_str().to_string()),
        capacity_provider_strategy: s
            .capacity_provider_strategy()
            .iter()
            .map(|c| r::CapacityProviderItem {
                capacity_provider: c.capacity_provider().to_string(),
                weight: c.weight(),
                base: c.base(),
            })
            .collect(),
        // AWS reports LATEST as the version it resolved to; unset means LATEST.
        platform_version: s.platform_version().unwrap_or("LATEST").to_string(),
        deployment_configuration: deployment_from_sdk(s.deployment_configuration()),
        network_configuration: r::NetworkConfiguration {
            awsvpc_configuration: r::AwsVpcConfiguration {
                subnets: vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
                security_groups: vpc
                    .map(|v| v.security_groups().to_vec())
                    .unwrap_or_default(),
                assign_public_ip: vpc
                    .and_then(|v| v.assign_public_ip())
                    .map_or_else(|| "DISABLED".to_string(), |a| a.as_str().to_string()),
            },
        },
        load_balancers: s
            .load_balancers()
            .iter()
            .map(|lb| r::LoadBalancer {
                target_group_arn: lb.target_group_arn().unwrap_or_default().to_string(),
                container_name: lb.container_name().unwrap_or_default().to_string(),
                container_port: lb.container_port().unwrap_or_default(),
                advanced_configuration: lb.advanced_configuration().map(|a| {
                    r::AdvancedConfiguration {
                        alternate_target_group_arn: a
                            .alternate_target_group_arn()
                            .unwrap_or_default()
                            .to_string(),
                        production_listener_rule: a
                            .production_listener_rule()
                            .unwrap_or_default()
                            .to_string(),
                        test_listener_rule: a.test_listener_rule().map(str::to_string),
                        role_arn: a.role_arn().unwrap_or_default().to_string(),
                    }
                }),
            })
            .collect(),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds(),
        enable_execute_command: s.enable_execute_command(),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags(),
        propagate_tags: s
            .propagate_tags()
            .map_or_else(|| "NONE".to_string(), |p| p.as_str().to_string()),
        tags,
    };
    LiveService {
        arn: s.service_arn().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        task_definition: td_arn,
        desired_count: s.desired_count(),
        running_count: s.running_count(),
        pending_count: s.pending_count(),
        deployments: s
            .deployments()
            .iter()
            .map(|d| Deployment {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
                desired_count: d.desired_count(),
                running_count: d.running_count(),
                pending_count: d.pending_count(),
                failed_tasks: d.failed_tasks(),
                created_at: secs(d.created_at()),
                updated_at: secs(d.updated_at()),
            })
            .collect(),
        events: s
            .events()
            .iter()
            .take(10)
            .map(|e| {
                (
                    secs(e.created_at()),
                    e.message().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        settings,
        name,
    }
}

/// What DescribeServices found: live services (in the order asked) and the names it did not.
#[derive(Clone, Debug, Default)]
pub struct Described {
    pub found: Vec<LiveService>,
    /// Names that do not exist, or exist only as INACTIVE (deleted) services.
    pub missing: Vec<String>,
}

/// DescribeServices in batches of 10 (the API's limit), batches concurrently, with tags.
/// A missing cluster is `ClusterNotFoundException` (callers decide what that means).
pub async fn describe_services(
    client: &Client,
    cluster: &str,
    names: &[String],
) -> Result<Described, AwsError> {
    let batches = bounded(names.chunks(10), CONCURRENCY, |chunk| async move {
        client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .include(t::ServiceField::Tags)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeServices", e))
    })
    .await;
    let mut by_name = std::collections::BTreeMap::new();
    for batch in batches {
        for s in batch?.services() {
            // A deleted service stays visible as INACTIVE for a while: it is not live.
            if s.status() != Some("INACTIVE") {
                let live = service_from_sdk(s);
                by_name.insert(live.name.clone(), live);
            }
        }
    }
    let mut out = Described::default();
    for n in names {
        match by_name.remove(n) {
            Some(s) => out.found.push(s),
            None => out.missing.push(n.clone()),
        }
    }
    Ok(out)
}

/// Every service name in a cluster (ListServices, all pages, bounded).
pub async fn list_services(client: &Client, cluster: &str) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut token = None;
    for _ in 0..100 {
        let out = client
            .list_services()
            .cluster(cluster)
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "ListServices", e))?;
        names.extend(
            out.service_arns()
                .iter()
                .map(|a| a.rsplit('/').next().unwrap_or(a).to_string()),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    names.sort();
    Ok(names)
}

/// ACTIVE revisions of a family, newest first (ListTaskDefinitions, at most `limit`).
pub async fn list_task_definitions(
    client: &Client,
    family: &str,
    limit: usize,
) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    let mut token = None;
    while arns.len() < limit {
        let out = client
            .list_task_definitions()
            .family_prefix(family)
            .status(t::TaskDefinitionStatus::Active)
            .sort(t::SortOrder::Desc)
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "ListTaskDefinitions", e))?;
        // The prefix also matches longer family names: keep the family's own revisions.
        arns.extend(
            out.task_definition_arns()
                .iter()
                .filter(|a| crate::naming::family_of(a) == family)
                .cloned(),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    arns.truncate(limit);
    Ok(arns)
}

/// Tags of a resource (task definition, service) as a map.
pub async fn tags_of(
    client: &Client,
    arn: &str,
) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
    let out = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "ListTagsForResource", e))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

pub async fn tag(client: &Client, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| t::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "TagResource", e))?;
    Ok(())
}

/// UpdateService to a task definition revision: starts a rolling deployment.
pub async fn update_service(
    client: &Client,
    cluster: &str,
    service: &str,
    task_definition_arn: &str,
) -> Result<LiveService, AwsError> {
    update_service_with(client, cluster, service, task_definition_arn, None, None).await
}

/// UpdateService to a revision, also converging the service's settings to `settings` (deployment
/// configuration, network, load balancers, grace period, exec, tag propagation) and, when
/// given, the desired count (left alone when autoscaling owns it).
pub async fn update_service_with(
    client: &Client,
    cluster: &str,
    service: &str,
    task_definition_arn: &str,
    settings: Option<&r::ServiceSettings>,
    desired_count: Option<i32>,
) -> Result<LiveService, AwsError> {
    let mut req = client
        .update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(task_definition_arn)
        .set_desired_count(desired_count);
    if let Some(s) = settings {
        req = req
            .platform_version(&s.platform_version)
            .set_capacity_provider_strategy(capacity_providers_to_sdk(
                &s.capacity_provider_strategy,
                "UpdateService",
            )?)
            .deployment_configuration(deployment_to_sdk(&s.deployment_configuration))
            .network_configuration(network_to_sdk(
                &s.network_configuration.awsvpc_configuration,
                "UpdateService",
            )?)
            .set_health_check_grace_period_seconds(s.health_check_grace_period_seconds)
            .enable_execute_command(s.enable_execute_command)
            .enable_ecs_managed_tags(s.enable_ecs_managed_tags)
            .propagate_tags(t::PropagateTags::from(s.propagate_tags.as_str()))
            .set_load_balancers(Some(load_balancers_to_sdk(&s.load_balancers)));
    }
    let out = req
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "UpdateService", e))?;
    out.service()
        .map(service_from_sdk)
        .ok_or_else(|| AwsError::invalid(SERVICE, "UpdateService", "the response has no service"))
}

/// A one-off task to run (a migration): the task definition with one container's command
/// replaced, in the service's network.
#[derive(Clone, Debug)]
pub struct OneOff<'a> {
    pub cluster: &'a str,
    pub task_definition_arn: &'a str,
    pub container: &'a str,
    pub command: &'a [String],
    pub network: &'a r::AwsVpcConfiguration,
    pub started_by: &'a str,
}

pub async fn run_task(client: &Client, task: &OneOff<'_>) -> Result<String, AwsError> {
    let out = client
        .run_task()
        .client_token(client_token())
        .cluster(task.cluster)
        .task_definition(task.task_definition_arn)
        .launch_type(t::LaunchType::Fargate)
        .count(1)
        .started_by(task.started_by)
        .network_configuration(network_to_sdk(task.network, "RunTask")?)
        .overrides(
            t::TaskOverride::builder()
                .container_overrides(
                    t::ContainerOverride::builder()
                        .name(task.container)
                        .set_command(Some(task.command.to_vec()))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "RunTask", e))?;
    if let Some(f) = out.failures().first() {
        return Err(AwsError::invalid(
            SERVICE,
            "RunTask",
            format!(
                "the task was not started: {} {}",
                f.reason().unwrap_or("unknown reason"),
                f.detail().unwrap_or_default()
            ),
        ));
    }
    out.tasks()
        .first()
        .and_then(|t| t.task_arn())
        .map(str::to_string)
        .ok_or_else(|| AwsError::invalid(SERVICE, "RunTask", "the response has no task"))
}

/// A task's state, and each container's exit code once it stopped.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TaskState {
    pub arn: String,
    pub last_status: String,
    pub task_definition: String,
    pub group: Option<String>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub containers: Vec<ContainerState>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ContainerState {
    pub name: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

pub async fn describe_tasks(
    client: &Client,
    cluster: &str,
    arns: &[String],
) -> Result<Vec<TaskState>, AwsError> {
    let mut out = Vec::new();
    // DescribeTasks takes up to 100 tasks per call.
    for chunk in arns.chunks(100) {
        let resp = client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeTasks", e))?;
        out.extend(resp.tasks().iter().map(|task| {
            TaskState {
                arn: task.task_arn().unwrap_or_default().to_string(),
                last_status: task.last_status().unwrap_or_default().to_string(),
                task_definition: task.task_definition_arn().unwrap_or_default().to_string(),
                group: task.group().map(str::to_string),
                stop_code: task.stop_code().map(|c| c.as_str().to_string()),
                stopped_reason: task.stopped_reason().map(str::to_string),
                containers: task
                    .containers()
                    .iter()
                    .map(|c| ContainerState {
                        name: c.name().unwrap_or_default().to_string(),
                        exit_code: c.exit_code(),
                        reason: c.reason().map(str::to_string),
                    })
                    .collect(),
            }
        }));
    }
    Ok(out)
}

/// The cluster's status (ACTIVE, INACTIVE, ...), or None when it does not exist.
pub async fn cluster_status(client: &Client, cluster: &str) -> Result<Option<String>, AwsError> {
    let out = client
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeClusters", e))?;
    Ok(out
        .clusters()
        .first()
        .map(|c| c.status().unwrap_or_default().to_string()))
}

/// UpdateService's desired count only (used to stop a service a failed deploy created).
pub async fn set_desired_count(
    client: &Client,
    cluster: &str,
    service: &str,
    desired: i32,
) -> Result<(), AwsError> {
    client
        .update_service()
        .cluster(cluster)
        .service(service)
        .desired_count(desired)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "UpdateService", e))?;
    Ok(())
}

/// A blue/green, canary or linear deployment as DescribeServiceDeployments reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceDeploymentState {
    pub arn: String,
    /// `PENDING`, `IN_PROGRESS`, `SUCCESSFUL`, `STOPPED`, `STOP_REQUESTED`, `ROLLBACK_*`.
    pub status: String,
    /// `SCALE_UP`, `TEST_TRAFFIC_SHIFT`, `PRODUCTION_TRAFFIC_SHIFT`, `BAKE_TIME`, ...
    pub stage: Option<String>,
    pub reason: Option<String>,
    /// The new revision's share of production traffic, in percent.
    pub production_weight: Option<f64>,
    /// The new revision's running and requested tasks.
    pub running: i32,
    pub desired: i32,
    pub bake_minutes: Option<i32>,
    /// `MONITORING`, `TRIGGERED`, `MONITORING_COMPLETE` or `DISABLED`.
    pub alarm_status: Option<String>,
    pub triggered_alarms: Vec<String>,
    /// The lifecycle hooks ECS ran or runs (`lifecycleHookDetails`).
    pub hooks: Vec<HookState>,
}

/// One lifecycle hook of a service deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct HookState {
    pub id: String,
    /// `PAUSE` or `AWS_LAMBDA`.
    pub target_type: String,
    /// `AWAITING_ACTION`, `IN_PROGRESS`, `SUCCEEDED`, `FAILED` or `TIMED_OUT`.
    pub status: String,
}

impl ServiceDeploymentState {
    pub fn rolling_back(&self) -> bool {
        self.status.starts_with("ROLLBACK_")
    }

    /// The PAUSE hook waiting for ContinueServiceDeployment, while the deployment is under way.
    pub fn awaiting(&self) -> Option<&HookState> {
        (self.status == "IN_PROGRESS").then_some(())?;
        self.hooks
            .iter()
            .find(|h| h.target_type == "PAUSE" && h.status == "AWAITING_ACTION")
    }
}

/// The newest service deployment of `service` created at or after `after` (seconds since the
/// epoch) other than `except`, or None: ListServiceDeployments through every page (at most 50),
/// newest by `createdAt`, since the API promises no order.
pub async fn newest_service_deployment(
    client: &Client,
    cluster: &str,
    service: &str,
    after: f64,
    except: Option<&str>,
) -> Result<Option<String>, AwsError> {
    let mut best: Option<(f64, String)> = None;
    let mut token = None;
    for _ in 0..50 {
        let page = client
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .created_at(
                t::CreatedAt::builder()
                    .after(aws_smithy_types::DateTime::from_secs_f64(after))
                    .build(),
            )
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "ListServiceDeployments", e))?;
        for d in page.service_deployments() {
            let (Some(arn), Some(created)) = (d.service_deployment_arn(), d.created_at()) else {
                continue;
            };
            if Some(arn) == except {
                continue;
            }
            let at = created.as_secs_f64();
            if best.as_ref().is_none_or(|(b, _)| at > *b) {
                best = Some((at, arn.to_string()));
            }
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(best.map(|(_, a)| a)),
        }
    }
    Ok(best.map(|(_, a)| a))
}

/// The service's newest service deployment of the last day (what it runs or is moving to).
pub async fn latest_service_deployment(
    client: &Client,
    cluster: &str,
    service: &str,
) -> Result<Option<String>, AwsError> {
    newest_service_deployment(client, cluster, service, epoch_now() - 86_400.0, None).await
}

/// Now, in seconds since the epoch (service deployments' `createdAt`).
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// DescribeServiceDeployments in batches of 20 (the API's limit); ARNs ECS does not know are
/// left out.
pub async fn describe_service_deployments(
    client: &Client,
    arns: &[String],
) -> Result<Vec<ServiceDeploymentState>, AwsError> {
    let batches = bounded(arns.chunks(20), CONCURRENCY, |chunk| async move {
        client
            .describe_service_deployments()
            .set_service_deployment_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeServiceDeployments", e))
    })
    .await;
    let mut out = Vec::new();
    for batch in batches {
        for d in batch?.service_deployments() {
            let alarms = d.alarms();
            out.push(ServiceDeploymentState {
                arn: d.service_deployment_arn().unwrap_or_default().to_string(),
                status: d
                    .status()
                    .map_or_else(|| "PENDING".to_string(), |s| s.as_str().to_string()),
                stage: d.lifecycle_stage().map(|s| s.as_str().to_string()),
                reason: d.status_reason().map(str::to_string),
                production_weight: d
                    .target_service_revision()
                    .and_then(|r| r.requested_production_traffic_weight()),
                running: d
                    .target_service_revision()
                    .map_or(0, |r| r.running_task_count()),
                desired: d
                    .target_service_revision()
                    .map_or(0, |r| r.requested_task_count()),
                bake_minutes: d
                    .deployment_configuration()
                    .and_then(|c| c.bake_time_in_minutes()),
                alarm_status: alarms
                    .and_then(|a| a.status())
                    .map(|s| s.as_str().to_string()),
                triggered_alarms: alarms
                    .map(|a| a.triggered_alarm_names().to_vec())
                    .unwrap_or_default(),
                hooks: d
                    .lifecycle_hook_details()
                    .iter()
                    .map(|h| HookState {
                        id: h.hook_id().unwrap_or_default().to_string(),
                        target_type: h
                            .target_type()
                            .map_or_else(String::new, |t| t.as_str().to_string()),
                        status: h
                            .status()
                            .map_or_else(String::new, |s| s.as_str().to_string()),
                    })
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// ContinueServiceDeployment: the PAUSE hook `hook` lets the deployment go on, or rolls it back.
pub async fn continue_service_deployment(
    client: &Client,
    arn: &str,
    hook: &str,
    rollback: bool,
) -> Result<(), AwsError> {
    client
        .continue_service_deployment()
        .service_deployment_arn(arn)
        .hook_id(hook)
        .action(if rollback {
            t::DeploymentLifecycleHookAction::Rollback
        } else {
            t::DeploymentLifecycleHookAction::Continue
        })
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(SERVICE, "ContinueServiceDeployment", e))?;
    Ok(())
}
