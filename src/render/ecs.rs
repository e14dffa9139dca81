//! ECS artefacts in the API's own input shapes: RegisterTaskDefinition and CreateService.
//!
//! The structs serialise to exactly the JSON the ECS API (and `aws ecs register-task-definition
//! --cli-input-json`) takes, so rendered files can be read, diffed and applied as they are. Empty
//! lists and unset options are left out, which is also how the diff normalises live state.
//!
//! Task and container definitions are sent to ECS and read back as the API's own JSON
//! (`crate::aws::ecs`), so every field the API knows travels: the fields slipway reasons about
//! are typed here, and every other one is kept, in the API's own names, in `extra`. What an
//! environment file says through its typed container settings and its `raw` escape hatch is
//! rendered into the same two places.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

fn is_false(b: &bool) -> bool {
    !*b
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(default)]
    pub network_mode: String,
    #[serde(default)]
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_compatibilities: Vec<String>,
    #[serde(default)]
    pub cpu: String,
    #[serde(default)]
    pub memory: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Every other RegisterTaskDefinition field, in the API's names (`volumes`,
    /// `ephemeralStorage`, `pidMode`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    /// Empty when a definition leaves it out (`X86_64` then).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cpu_architecture: String,
    /// Empty when a definition leaves it out (`LINUX` then).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operating_system_family: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: String,
    #[serde(default)]
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    #[serde(default = "yes")]
    pub essential: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_point: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<KeyValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub readonly_root_filesystem: bool,
    /// Every other container field, in the API's names (`mountPoints`, `dependsOn`, `user`,
    /// `firelensConfiguration`, `linuxParameters`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(default)]
    pub container_port: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// `tcp` when the API is not told.
    #[serde(default = "tcp")]
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `appProtocol`, `containerPortRange`, ...
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn tcp() -> String {
    "tcp".to_string()
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyValue {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    pub value_from: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_options: Vec<Secret>,
}

/// A container health check; the API's defaults stand for what a definition leaves out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub command: Vec<String>,
    #[serde(default = "thirty")]
    pub interval: i32,
    #[serde(default = "five")]
    pub timeout: i32,
    #[serde(default = "three")]
    pub retries: i32,
    #[serde(default)]
    pub start_period: i32,
}

fn thirty() -> i32 {
    30
}
fn five() -> i32 {
    5
}
fn three() -> i32 {
    3
}

/// CreateService input (UpdateService takes the same fields under the same names, with
/// `service` instead of `serviceName`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSettings {
    pub cluster: String,
    pub service_name: String,
    /// The family: a deploy pins the exact revision it registered.
    pub task_definition: String,
    pub desired_count: i32,
    /// `FARGATE`, or empty when a capacity provider strategy places the tasks.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub launch_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    pub platform_version: String,
    pub deployment_configuration: DeploymentConfiguration,
    pub network_configuration: NetworkConfiguration,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i32>,
    pub enable_execute_command: bool,
    /// The API spells it with capitals (`enableECSManagedTags`).
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderItem {
    pub capacity_provider: String,
    pub weight: i32,
    pub base: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    pub deployment_circuit_breaker: CircuitBreaker,
    pub maximum_percent: i32,
    pub minimum_healthy_percent: i32,
    /// `BLUE_GREEN`, `CANARY` or `LINEAR`; absent for a rolling update (ECS's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_time_in_minutes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_configuration: Option<CanaryConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_configuration: Option<LinearConfiguration>,
    /// Absent when no alarm is watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
    /// Blue/green, canary, linear: slipway's PAUSE hook after test traffic shifted, where the
    /// service has smoke checks and a test listener ([`test_traffic_gate`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_hooks: Vec<LifecycleHook>,
}

/// A deployment lifecycle hook as ECS takes and echoes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHook {
    /// `PAUSE` (slipway's) or `AWS_LAMBDA`.
    pub target_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_target_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub lifecycle_stages: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_configuration: Option<HookTimeout>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookTimeout {
    pub timeout_in_minutes: i32,
    /// `ROLLBACK` or `CONTINUE`.
    pub action: String,
}

/// The stage slipway's hook holds a deployment at: test traffic reaches the new revision,
/// production traffic has not moved yet.
pub const TEST_TRAFFIC_GATE_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";

/// The longest a lifecycle hook may wait (the API's limit: 14 days).
const HOOK_TIMEOUT_MAX_MINUTES: u64 = 20_160;

/// slipway's test-traffic gate: ECS holds the deployment after the test traffic shift until
/// slipway, having run the smoke checks against the test listener, continues it or rolls it
/// back (ContinueServiceDeployment). Should nobody answer (the runner died), ECS rolls back
/// after `timeout`, in whole minutes rounded up.
pub fn test_traffic_gate(timeout: std::time::Duration) -> LifecycleHook {
    LifecycleHook {
        target_type: "PAUSE".to_string(),
        hook_target_arn: None,
        role_arn: None,
        lifecycle_stages: vec![TEST_TRAFFIC_GATE_STAGE.to_string()],
        timeout_configuration: Some(HookTimeout {
            timeout_in_minutes: timeout
                .as_secs()
                .div_ceil(60)
                .clamp(1, HOOK_TIMEOUT_MAX_MINUTES) as i32,
            action: "ROLLBACK".to_string(),
        }),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryConfiguration {
    pub canary_percent: f64,
    pub canary_bake_time_in_minutes: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearConfiguration {
    pub step_percent: f64,
    pub step_bake_time_in_minutes: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentAlarms {
    pub alarm_names: Vec<String>,
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: AwsVpcConfiguration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: i32,
    /// Blue/green, canary and linear: the second target group, the listener rules ECS moves
    /// traffic with, and the role it does so as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_configuration: Option<AdvancedConfiguration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedConfiguration {
    pub alternate_target_group_arn: String,
    pub production_listener_rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener_rule: Option<String>,
    pub role_arn: String,
}
