//! The typed environment model: what one `envs/<name>.hcl` (merged over `_shared.hcl`) says.
//!
//! Values that a user wrote keep their location ([`Sp`]) so that validation and rendering can
//! point back at them. Defaults are filled in by the schema (`schema.rs`), not here.

use std::time::Duration;

use crate::diag::{FileId, Loc};

pub use super::decode::Sp;

#[derive(Clone, Debug)]
pub struct Environment {
    pub name: String,
    /// The environment's own file (not the shared one).
    pub file: FileId,
    pub loc: Loc,
    pub account_id: Sp<String>,
    pub region: Sp<String>,
    pub cluster: Sp<String>,
    pub tags: Vec<(Sp<String>, Sp<String>)>,
    pub log_retention_days: Sp<i64>,
    pub network: Network,
    pub smoke_base_url: Option<Sp<String>>,
    pub github: Option<Github>,
    pub repositories: Vec<Repository>,
    pub services: Vec<Service>,
    pub alb: Option<Alb>,
    pub approval: Approval,
    pub notifications: Option<Notifications>,
    pub deploy: DeploySettings,
    pub migrations: MigrationPolicy,
    /// Static sites published to S3 behind CloudFront.
    pub sites: Vec<Site>,
}

/// A `site "<name>"` block: a built frontend published to a bucket behind a distribution.
#[derive(Clone, Debug)]
pub struct Site {
    pub name: Sp<String>,
    pub loc: Loc,
    /// The bucket: the block's `bucket`, or for a site Terraform's root creates
    /// ([`Site::terraform`]) its `sites` output (`${tf.sites.<name>.bucket}` while unknown).
    pub bucket: Sp<String>,
    pub distribution_id: Option<Sp<String>>,
    /// Set when the block has no `bucket`: the `terraform/` root creates the site from
    /// `modules/static-site` (tfvars `sites`) and its `sites` output names bucket and distribution.
    pub terraform: Option<ManagedSite>,
    /// The built site, relative to the repository root.
    pub dir: Sp<String>,
    /// Repository globs that belong to the site (for `changed`).
    pub paths: Vec<Sp<String>>,
    /// Glob (relative to `dir`) → Cache-Control; the first that matches wins.
    pub cache_control: Vec<(Sp<String>, Sp<String>)>,
    /// The base URL of its smoke checks (default: the environment's `smoke_base_url`).
    pub url: Option<Sp<String>>,
    /// More changed paths than this invalidate `/*`.
    pub invalidation_threshold: i64,
    /// How long the invalidation may take.
    pub timeout: Duration,
    pub smoke: Vec<SmokeCheck>,
}

/// What the `terraform/` root needs to create a site (tfvars `sites`).
#[derive(Clone, Debug)]
pub struct ManagedSite {
    /// Domain names the distribution answers to (they need `certificate_arn`).
    pub aliases: Vec<Sp<String>>,
    /// ACM certificate in us-east-1 for the aliases.
    pub certificate_arn: Option<Sp<String>>,
    /// A single-page application: 403/404 answer /index.html.
    pub spa: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Network {
    /// Overrides the `private_subnet_ids` Terraform output.
    pub subnets: Option<Vec<Sp<String>>>,
    pub assign_public_ip: bool,
}

#[derive(Clone, Debug)]
pub struct DeploySettings {
    /// Services updated at once.
    pub parallelism: i64,
    /// ECR scan findings at or above this severity refuse a deploy.
    pub block_on_severity: Option<Sp<String>>,
    /// The S3 bucket (in the environment's account) holding the environment's lock,
    /// `slipway/locks/<env>.json`; without it, gated commands run unlocked, with a warning.
    pub lock_bucket: Option<Sp<String>>,
    /// The prefix of the git tags that version this environment (`git.version`), default `v`.
    pub tag_prefix: String,
}

#[derive(Clone, Debug)]
pub struct Github {
    pub loc: Loc,
    pub repository: Sp<String>,
    pub audience: Sp<String>,
    pub roles: Vec<OidcRole>,
}

#[derive(Clone, Debug)]
pub struct OidcRole {
    pub label: Sp<String>,
    /// IAM role name; defaults to `<cluster>-github-<label>`.
    pub name: String,
    pub subjects: Vec<Subject>,
    pub permissions: Vec<Sp<Permission>>,
    pub s3_bucket: Option<Sp<String>>,
    pub cloudfront_distribution_id: Option<Sp<String>>,
    pub terraform_state_bucket: Option<Sp<String>>,
    pub terraform_lock_table: Option<Sp<String>>,
    pub managed_policy_arns: Vec<Sp<String>>,
}

/// One `sub` claim pattern a role trusts, already expanded to GitHub's format.
#[derive(Clone, Debug)]
pub struct Subject {
    pub claim: String,
    pub loc: Loc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    EcrPush,
    EcsDeploy,
    LogsRead,
    SecretsRead,
    StaticSite,
    TerraformApply,
}

impl Permission {
    pub const ALL: &'static [(&'static str, Permission)] = &[
        ("ecr_push", Permission::EcrPush),
        ("ecs_deploy", Permission::EcsDeploy),
        ("logs_read", Permission::LogsRead),
        ("secrets_read", Permission::SecretsRead),
        ("static_site", Permission::StaticSite),
        ("terraform_apply", Permission::TerraformApply),
    ];

    pub fn name(self) -> &'static str {
        Permission::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .expect("every permission is listed in ALL")
    }
}

#[derive(Clone, Debug)]
pub struct Repository {
    pub name: Sp<String>,
    pub scan_on_push: bool,
    pub tag_mutability: Sp<String>,
    pub lifecycle: Lifecycle,
}

#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub keep_tagged: Option<Sp<i64>>,
    pub tag_prefixes: Vec<Sp<String>>,
    pub expire_untagged_days: Option<Sp<i64>>,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: Sp<String>,
    pub loc: Loc,
    /// The ECS service's name, when it is not the block label (an adopted service).
    pub service_name: Option<Sp<String>>,
    /// The main container's name, when it is not the block label.
    pub container_name: Option<Sp<String>>,
    /// Name of an ECR repository (declared in this environment or not); the image is
    /// `<repository url>:<image tag>`.
    pub repository: Option<Sp<String>>,
    /// A full image reference, used as is instead of `repository`.
    pub image: Option<Sp<String>>,
    pub image_tag: Option<Sp<String>>,
    pub family: String,
    pub cpu: Sp<i64>,
    pub memory: Sp<i64>,
    pub desired_count: Sp<i64>,
    pub architecture: Sp<String>,
    pub command: Option<Vec<Sp<String>>>,
    pub entrypoint: Option<Vec<Sp<String>>>,
    pub port: Option<Sp<i64>>,
    pub environment: Vec<(Sp<String>, Sp<String>)>,
    pub secrets: Vec<(Sp<String>, Sp<String>)>,
    pub health_check: Option<ContainerHealthCheck>,
    pub load_balancer: Option<LoadBalancer>,
    pub autoscaling: Option<Autoscaling>,
    pub deployment: Deployment,
    pub sidecars: Vec<Sidecar>,
    pub smoke: Vec<SmokeCheck>,
    pub migration: Option<Migration>,
    pub paths: Vec<Sp<String>>,
    /// The execution role; an empty ARN (`= null` in the file) means the task has none.
    pub execution_role_arn: Option<Sp<String>>,
    /// The task role; an empty ARN (`= null` in the file) means the task has none.
    pub task_role_arn: Option<Sp<String>>,
    pub security_groups: Option<Vec<Sp<String>>>,
    /// Overrides the environment's subnets for this service.
    pub subnets: Option<Vec<Sp<String>>>,
    /// Overrides the environment's `assign_public_ip` for this service.
    pub assign_public_ip: Option<Sp<bool>>,
    pub enable_execute_command: bool,
    /// The main container's settings beyond image, command, environment and secrets.
    pub container: ContainerOpts,
    /// Task volumes, by name.
    pub volumes: Vec<Volume>,
    /// Task ephemeral storage in GiB (21..200); Fargate's default of 20 when unset.
    pub ephemeral_storage: Option<Sp<i64>>,
    /// The ECS service's tags, over the environment's.
    pub tags: Vec<(Sp<String>, Sp<String>)>,
    /// `platformVersion` (default `LATEST`).
    pub platform_version: Option<Sp<String>>,
    /// `propagateTags`: `SERVICE` (default), `TASK_DEFINITION` or `NONE`.
    pub propagate_tags: Option<Sp<String>>,
    /// `enableECSManagedTags` (default true).
    pub ecs_managed_tags: bool,
    /// A capacity provider strategy instead of the FARGATE launch type.
    pub capacity_providers: Vec<CapacityProvider>,
    /// RegisterTaskDefinition fields in the API's own names, merged over what slipway renders.
    pub task_raw: Option<Sp<serde_json::Map<String, serde_json::Value>>>,
}

impl Service {
    /// The ECS service's name: `service_name`, or the block label.
    pub fn ecs_name(&self) -> &str {
        self.service_name.as_ref().map_or(&self.name.v, |n| &n.v)
    }

    /// Every secret reference the task's containers use: their `secrets`, their log
    /// configuration's `secret_options` and their `repository_credentials` (what the task
    /// execution role must be allowed to read).
    pub fn secret_references(&self) -> Vec<&Sp<String>> {
        let mut out: Vec<&Sp<String>> = Vec::new();
        let containers = std::iter::once((&self.secrets, &self.container))
            .chain(self.sidecars.iter().map(|s| (&s.secrets, &s.opts)));
        for (secrets, o) in containers {
            out.extend(secrets.iter().map(|(_, v)| v));
            if let Some(l) = &o.log {
                out.extend(l.secret_options.iter().map(|(_, v)| v));
            }
            out.extend(o.repository_credentials.iter());
        }
        out
    }

    /// The main container's name: `container_name`, or the block label.
    pub fn container(&self) -> &str {
        self.container_name.as_ref().map_or(&self.name.v, |n| &n.v)
    }
}

impl Environment {
    /// The ECS service name of the service with this label (the label itself when unknown).
    pub fn ecs_name<'a>(&'a self, label: &'a str) -> &'a str {
        self.services
            .iter()
            .find(|s| s.name.v == label)
            .map_or(label, Service::ecs_name)
    }
}

/// What a container may say besides image, command, environment and secrets; the same for
/// the main container and every sidecar. Rendered into the container definition in the API's
/// names.
#[derive(Clone, Debug, Default)]
pub struct ContainerOpts {
    /// Container `cpu` units.
    pub cpu: Option<Sp<i64>>,
    /// Container `memory` (hard limit, MiB).
    pub memory: Option<Sp<i64>>,
    /// Container `memoryReservation` (soft limit, MiB).
    pub memory_reservation: Option<Sp<i64>>,
    pub user: Option<Sp<String>>,
    pub working_directory: Option<Sp<String>>,
    pub readonly_root_filesystem: Option<Sp<bool>>,
    pub stop_timeout: Option<Sp<Duration>>,
    pub start_timeout: Option<Sp<Duration>>,
    pub ulimits: Vec<Ulimit>,
    pub linux_parameters: Option<LinuxParameters>,
    pub mounts: Vec<Mount>,
    /// Container name → condition (`START`, `COMPLETE`, `SUCCESS`, `HEALTHY`).
    pub depends_on: Vec<(Sp<String>, Sp<String>)>,
    /// S3 object ARNs of `.env` files.
    pub environment_files: Vec<Sp<String>>,
    pub log: Option<Log>,
    /// `false`: no log configuration at all (the container's output goes nowhere on Fargate).
    pub logging: bool,
    pub firelens: Option<Firelens>,
    /// Explicit port mappings (exactly as written; `port` is the one-port shorthand).
    pub port_mappings: Vec<PortMap>,
    pub docker_labels: Vec<(Sp<String>, Sp<String>)>,
    /// A Secrets Manager secret with the registry credentials (a private non-ECR registry).
    pub repository_credentials: Option<Sp<String>>,
    /// Container definition fields in the API's own names, merged over what slipway renders.
    pub raw: Option<Sp<serde_json::Map<String, serde_json::Value>>>,
}

#[derive(Clone, Debug)]
pub struct Ulimit {
    pub name: Sp<String>,
    pub soft: Sp<i64>,
    pub hard: Sp<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct LinuxParameters {
    pub init_process_enabled: Option<Sp<bool>>,
    pub capabilities_add: Vec<Sp<String>>,
    pub capabilities_drop: Vec<Sp<String>>,
}

#[derive(Clone, Debug)]
pub struct Mount {
    pub loc: Loc,
    /// A `volume` of the service.
    pub volume: Sp<String>,
    pub path: Sp<String>,
    pub read_only: bool,
}

#[derive(Clone, Debug)]
pub struct Log {
    pub loc: Loc,
    pub driver: Sp<String>,
    pub options: Vec<(Sp<String>, Sp<String>)>,
    /// Option name → secret reference.
    pub secret_options: Vec<(Sp<String>, Sp<String>)>,
}

#[derive(Clone, Debug)]
pub struct Firelens {
    pub kind: Sp<String>,
    pub options: Vec<(Sp<String>, Sp<String>)>,
}

#[derive(Clone, Debug)]
pub struct PortMap {
    pub loc: Loc,
    pub container_port: Sp<i64>,
    pub protocol: Sp<String>,
    pub name: Option<Sp<String>>,
    pub app_protocol: Option<Sp<String>>,
}

#[derive(Clone, Debug)]
pub struct Volume {
    pub name: Sp<String>,
    pub efs: Option<Efs>,
}

#[derive(Clone, Debug)]
pub struct Efs {
    pub file_system_id: Sp<String>,
    pub root_directory: Option<Sp<String>>,
    pub transit_encryption: bool,
    pub transit_encryption_port: Option<Sp<i64>>,
    pub access_point_id: Option<Sp<String>>,
    pub iam: bool,
}

#[derive(Clone, Debug)]
pub struct CapacityProvider {
    pub name: Sp<String>,
    pub weight: i64,
    pub base: i64,
}

#[derive(Clone, Debug)]
pub struct ContainerHealthCheck {
    pub loc: Loc,
    pub command: Vec<Sp<String>>,
    pub interval: Sp<Duration>,
    pub timeout: Sp<Duration>,
    pub retries: Sp<i64>,
    pub start_period: Sp<Duration>,
}

#[derive(Clone, Debug)]
pub struct LoadBalancer {
    pub loc: Loc,
    /// An existing target group: Terraform creates none (nor a listener rule) for the service.
    pub target_group_arn: Option<Sp<String>>,
    /// The container port traffic goes to (default: the main container's port).
    pub container_port: Option<Sp<i64>>,
    pub path_patterns: Vec<Sp<String>>,
    pub hosts: Vec<Sp<String>>,
    pub priority: Sp<i64>,
    pub health_check_path: Sp<String>,
    pub health_check_matcher: String,
    pub grace_period: Duration,
}

#[derive(Clone, Debug)]
pub struct Autoscaling {
    pub loc: Loc,
    pub min: Sp<i64>,
    pub max: Sp<i64>,
    pub cpu_target: Sp<i64>,
}

#[derive(Clone, Debug)]
pub struct Deployment {
    pub minimum_healthy_percent: Sp<i64>,
    pub maximum_percent: Sp<i64>,
    pub circuit_breaker: bool,
    pub rollback: bool,
    pub timeout: Duration,
    /// ECS's deployment strategy (`strategy`; rolling by default).
    pub strategy: Sp<Strategy>,
    /// Minutes both revisions run after production traffic shifted (blue/green, canary, linear).
    pub bake_time: Option<Sp<i64>>,
    /// Canary: the share of production traffic shifted first, in tenths of a percent.
    pub canary_percent: Option<Sp<i64>>,
    /// Canary: minutes before the rest of the traffic shifts.
    pub canary_bake_time: Option<Sp<i64>>,
    /// Linear: the share shifted per step, in tenths of a percent.
    pub linear_step_percent: Option<Sp<i64>>,
    /// Linear: minutes between steps.
    pub linear_step_bake_time: Option<Sp<i64>>,
    /// CloudWatch alarms ECS watches during a deployment.
    pub alarms: Vec<Sp<String>>,
    /// Roll back when one of `alarms` goes into ALARM.
    pub alarm_rollback: bool,
}

impl Deployment {
    /// Blue/green, canary, linear: minutes both revisions run after the shift (`bakeTimeInMinutes`).
    pub fn bake_time_minutes(&self) -> Option<i64> {
        self.strategy
            .v
            .shifts_traffic()
            .then(|| self.bake_time.as_ref().map_or(0, |b| b.v))
    }

    /// Canary: the share shifted first (percent) and its minutes, ECS's defaults (5%, 10)
    /// filled in.
    pub fn canary(&self) -> Option<(f64, i64)> {
        (self.strategy.v == Strategy::Canary).then(|| {
            (
                self.canary_percent.as_ref().map_or(50, |p| p.v) as f64 / 10.0,
                self.canary_bake_time.as_ref().map_or(10, |m| m.v),
            )
        })
    }

    /// Linear: the share per step (percent) and the minutes between steps, ECS's defaults
    /// (10%, 6) filled in.
    pub fn linear(&self) -> Option<(f64, i64)> {
        (self.strategy.v == Strategy::Linear).then(|| {
            (
                self.linear_step_percent.as_ref().map_or(100, |p| p.v) as f64 / 10.0,
                self.linear_step_bake_time.as_ref().map_or(6, |m| m.v),
            )
        })
    }

    /// The minutes a deployment spends baking at the least: the canary's or the linear steps'
    /// bake times, then `bake_time`.
    pub fn baking_minutes(&self) -> i64 {
        let shifting = match (self.canary(), self.linear()) {
            (Some((_, minutes)), _) => minutes,
            // Steps below 100%, each followed by its bake time.
            (_, Some((step, minutes))) => ((100.0 / step).ceil() as i64 - 1) * minutes,
            _ => 0,
        };
        shifting + self.bake_time_minutes().unwrap_or(0)
    }
}

/// ECS's deployment strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Rolling,
    BlueGreen,
    Canary,
    Linear,
}

impl Strategy {
    pub const NAMES: &'static [&'static str] = &["rolling", "blue_green", "canary", "linear"];

    pub fn parse(s: &str) -> Option<Strategy> {
        Some(match s {
            "rolling" => Strategy::Rolling,
            "blue_green" => Strategy::BlueGreen,
            "canary" => Strategy::Canary,
            "linear" => Strategy::Linear,
            _ => return None,
        })
    }

    /// The name in environment files.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::BlueGreen => "blue_green",
            Strategy::Canary => "canary",
            Strategy::Linear => "linear",
        }
    }

    /// The API's name (`deploymentConfiguration.strategy`).
    pub fn api(self) -> &'static str {
        match self {
            Strategy::Rolling => "ROLLING",
            Strategy::BlueGreen => "BLUE_GREEN",
            Strategy::Canary => "CANARY",
            Strategy::Linear => "LINEAR",
        }
    }

    /// Whether ECS shifts traffic between two target groups (everything but rolling).
    pub fn shifts_traffic(self) -> bool {
        self != Strategy::Rolling
    }
}

#[derive(Clone, Debug)]
pub struct Sidecar {
    pub name: Sp<String>,
    pub image: Sp<String>,
    pub essential: bool,
    pub port: Option<Sp<i64>>,
    pub command: Option<Vec<Sp<String>>>,
    pub entrypoint: Option<Vec<Sp<String>>>,
    pub environment: Vec<(Sp<String>, Sp<String>)>,
    pub secrets: Vec<(Sp<String>, Sp<String>)>,
    pub health_check: Option<ContainerHealthCheck>,
    /// cpu, memory (`memory_limit`), memoryReservation (`memory`) and the rest.
    pub opts: ContainerOpts,
}

#[derive(Clone, Debug)]
pub struct SmokeCheck {
    pub name: Sp<String>,
    pub path: Sp<String>,
    pub expect_status: Vec<Sp<i64>>,
    pub body_contains: Option<Sp<String>>,
    /// Checks that the path refuses an unauthenticated request (401).
    pub expect_unauthorized: bool,
    pub retries: i64,
    pub backoff: Duration,
}

#[derive(Clone, Debug)]
pub struct Migration {
    pub loc: Loc,
    /// Run as a one-off task before the rollout; empty when the block only names `sql` files
    /// for the linter (the migrations run elsewhere).
    pub command: Vec<Sp<String>>,
    pub timeout: Duration,
    /// Globs, relative to the repository root, naming the migration's SQL files.
    pub sql: Vec<Sp<String>>,
    /// Overrides the environment's `migration.block_on` for these files.
    pub block_on: Option<Sp<crate::migrations::Severity>>,
}

/// The environment's `migration` block: what the migration linter blocks on and how.
#[derive(Clone, Debug)]
pub struct MigrationPolicy {
    /// Findings at or above this severity refuse apply, deploy and `migrate run`.
    pub block_on: Sp<crate::migrations::Severity>,
    /// The pull request label that (with a migration approver's review) overrides the refusal.
    pub override_label: Sp<String>,
    /// Rule → severity, or `None` ("off").
    pub rules: Vec<(Sp<String>, Sp<Option<crate::migrations::Severity>>)>,
}

pub const DEFAULT_OVERRIDE_LABEL: &str = "migration-destructive-approved";

#[derive(Clone, Debug)]
pub struct Alb {
    pub loc: Loc,
    pub certificate_arn: Option<Sp<String>>,
    pub ssl_policy: Sp<String>,
    pub redirect_http: bool,
    /// A test listener for blue/green, canary and linear deployments.
    pub test_listener_port: Option<Sp<i64>>,
}

#[derive(Clone, Debug, Default)]
pub struct Approval {
    pub loc: Option<Loc>,
    pub required: bool,
    pub confirmation: Option<Sp<String>>,
    pub actors: Vec<Sp<String>>,
    pub teams: Vec<Sp<String>>,
    pub events: Vec<Sp<String>>,
    /// `apply` needs approving reviews on the pull request at the plan's commit.
    pub pull_request_approved: bool,
    /// How many approving reviews (default 1).
    pub min_approvals: Option<Sp<i64>>,
    /// Who may approve a blocking migration (logins, or `org/team`).
    pub migration_approvers: Vec<Sp<String>>,
}

impl Approval {
    /// Approving reviews `pull_request_approved` asks for.
    pub fn approvals_needed(&self) -> usize {
        self.min_approvals
            .as_ref()
            .map_or(1, |m| m.v.max(1) as usize)
    }
}

#[derive(Clone, Debug)]
pub struct Notifications {
    pub slack_webhook_secret: Option<Sp<String>>,
    pub slack_webhook_env: Option<Sp<String>>,
}
