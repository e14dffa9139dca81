//! Rendering: environment model (+ Terraform outputs + deploy inputs) → the documents AWS and
//! Terraform take.
//!
//! Two halves, because of the order things exist in:
//! - [`render_static`] needs nothing from Terraform: the tfvars that *create* the infrastructure,
//!   ECR lifecycle policies and the OIDC roles' IAM policies. Names Terraform creates (roles, log
//!   groups) follow conventions defined here and are passed to Terraform in the tfvars.
//! - [`render_ecs`] needs Terraform's outputs (ARNs, subnet and security group ids) and an image
//!   tag: task definitions and service settings.
//!
//! Output is deterministic: maps are ordered, lists that AWS does not keep in order are sorted.

pub mod artefacts;
pub mod ecs;
pub mod iam;
pub mod lifecycle;
pub mod tfvars;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::diag::{Diagnostic, Loc};
use crate::env::model::{Environment, Service};
use crate::terraform::Outputs;

pub use ecs::{ServiceSettings, TaskDefinition};

/// Names slipway gives what Terraform creates for a service; the Terraform root receives them in
/// the tfvars and exports the resulting ARNs.
pub struct Names;

impl Names {
    pub fn execution_role(cluster: &str, service: &str) -> String {
        format!("{cluster}-{service}-execution")
    }
    pub fn task_role(cluster: &str, service: &str) -> String {
        format!("{cluster}-{service}-task")
    }
    pub fn log_group(cluster: &str, service: &str) -> String {
        format!("/ecs/{cluster}/{service}")
    }
    /// The `name` modules/static-site gets for a site the root creates: the bucket's name prefix
    /// (S3 adds 26 characters to a `bucket_prefix`, so at most 36 before its `-`). Lower-case,
    /// other characters become `-`; a longer name keeps a hash of the whole.
    pub fn site(cluster: &str, site: &str) -> String {
        use sha2::Digest;
        let full: String = format!("{cluster}-{site}")
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9') => c,
                _ => '-',
            })
            .collect();
        if full.len() <= SITE_NAME_MAX {
            return full.trim_end_matches('-').to_string();
        }
        let hash = crate::diff::hex(&sha2::Sha256::digest(full.as_bytes()));
        format!(
            "{}-{}",
            full[..SITE_NAME_MAX - 9].trim_end_matches('-'),
            &hash[..8]
        )
    }
}

/// The longest `name` modules/static-site takes (its bucket prefix is the name and `-`).
pub const SITE_NAME_MAX: usize = 36;

/// The outputs `render_ecs` reads, and what each holds. The Terraform root must declare them.
pub const REQUIRED_OUTPUTS: &[(&str, &str)] = &[
    ("private_subnet_ids", "list of subnet ids the tasks run in"),
    ("ecr_repository_urls", "map of repository name to repository URL"),
    (
        "services",
        "map of service name to {execution_role_arn, task_role_arn, security_group_id, target_group_arn, log_group_name}",
    ),
];

#[derive(Debug, Serialize)]
pub struct Static {
    pub tfvars: Value,
    pub lifecycle_policies: BTreeMap<String, Value>,
    pub iam_roles: BTreeMap<String, iam::RolePolicies>,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Ecs {
    pub task_definitions: BTreeMap<String, TaskDefinition>,
    pub services: BTreeMap<String, ServiceSettings>,
}

impl Ecs {
    /// The same documents with `extra` tags on every task definition (a plan's documents get
    /// the revision tags of the run that applies them).
    pub fn with_revision_tags(mut self, extra: &BTreeMap<String, String>) -> Ecs {
        for td in self.task_definitions.values_mut() {
            let mut map: BTreeMap<String, String> =
                td.tags.drain(..).map(|t| (t.key, t.value)).collect();
            map.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
            td.tags = map
                .into_iter()
                .map(|(key, value)| ecs::Tag { key, value })
                .collect();
        }
        self
    }
}

pub fn render_static(env: &Environment) -> Static {
    Static {
        tfvars: tfvars::render(env),
        lifecycle_policies: env
            .repositories
            .iter()
            .filter_map(|r| Some((r.name.v.clone(), lifecycle::policy(&r.lifecycle)?)))
            .collect(),
        iam_roles: env
            .github
            .iter()
            .flat_map(|gh| {
                gh.roles
                    .iter()
                    .map(move |role| (role.label.v.clone(), iam::role(env, gh, role)))
            })
            .collect(),
    }
}

/// Deploy inputs that are not in the environment files.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub image_tag: Option<String>,
    /// Tags added to every task definition revision (git sha, deployer, ...).
    pub revision_tags: BTreeMap<String, String>,
    /// Per service, the tag it runs now: used when no tag is given (a diff of configuration
    /// only keeps each service's live image).
    pub live_image_tags: BTreeMap<String, String>,
}

pub fn render_ecs(
    env: &Environment,
    outputs: &Outputs,
    inputs: &Inputs,
) -> Result<Ecs, Vec<Diagnostic>> {
    let no_outputs = outputs.names().is_empty();
    let unapplied = || {
        vec![Diagnostic::error(
            "no-outputs",
            format!("Terraform has no outputs for environment \"{}\": its infrastructure has not been applied", env.name),
        )
        .help(format!(
            "run `slipway render --env {0} --only tfvars --out out/{0}`, then `terraform workspace select -or-create {0}` and `terraform apply -var-file=out/{0}/tfvars.json` in the Terraform root",
            env.name
        ))]
    };
    let mut errors = Vec::new();
    let mut task_definitions = BTreeMap::new();
    let mut services = BTreeMap::new();
    let ctx = OutputReader {
        outputs,
        errors: std::cell::RefCell::new(Vec::new()),
        reported: std::cell::RefCell::new(std::collections::BTreeSet::new()),
    };
    let subnets: Vec<String> = match &env.network.subnets {
        Some(s) => s.iter().map(|x| x.v.clone()).collect(),
        None => ctx
            .string_list("private_subnet_ids", &env.loc)
            .unwrap_or_default(),
    };
    for svc in &env.services {
        if let Some((td, ss)) = service(env, svc, &ctx, &subnets, inputs, &mut errors) {
            task_definitions.insert(svc.name.v.clone(), td);
            services.insert(svc.name.v.clone(), ss);
        }
    }
    let missing = ctx.errors.into_inner();
    // Nothing at all from Terraform, and something needed it: say so once, not per value. An
    // environment that names every value itself (an adopted one) renders without Terraform.
    if no_outputs && !missing.is_empty() {
        return Err(unapplied());
    }
    errors.extend(missing);
    if errors.is_empty() {
        Ok(Ecs {
            task_definitions,
            services,
        })
    } else {
        Err(errors)
    }
}

/// Reads the contract outputs, reporting what is missing at the place that needs it.
struct OutputReader<'a> {
    outputs: &'a Outputs,
    errors: std::cell::RefCell<Vec<Diagnostic>>,
    /// Missing outputs already reported: each is reported once, where it is first needed.
    reported: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

impl OutputReader<'_> {
    fn missing(&self, what: String, loc: &Loc, help: String) {
        self.errors
            .borrow_mut()
            .push(Diagnostic::error("missing-output", what).at(loc).help(help));
    }

    fn output(&self, name: &str, loc: &Loc) -> Option<&Value> {
        let v = self.outputs.get(name);
        if v.is_none() && self.reported.borrow_mut().insert(name.to_string()) {
            let purpose = REQUIRED_OUTPUTS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, p)| p);
            self.missing(
                format!("Terraform output `{name}` does not exist ({purpose})"),
                loc,
                format!(
                    "outputs that exist: {}; apply the Terraform root in terraform/, or set the value in the environment file",
                    list(&self.outputs.names())
                ),
            );
        }
        v
    }

    fn string_list(&self, name: &str, loc: &Loc) -> Option<Vec<String>> {
        let v = self.output(name, loc)?;
        let list = v.as_array().and_then(|a| {
            a.iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        });
        if list.is_none() {
            self.missing(
                format!("Terraform output `{name}` is not a list of strings"),
                loc,
                "fix the output's type in the Terraform root".into(),
            );
        }
        list
    }

    /// `outputs[name][key]` as a string (null → None without error when `optional`).
    fn map_string(&self, name: &str, key: &str, loc: &Loc) -> Option<String> {
        let v = self.output(name, loc)?;
        let Some(map) = v.as_object() else {
            self.missing(
                format!("Terraform output `{name}` is not a map"),
                loc,
                "fix the output's type in the Terraform root".into(),
            );
            return None;
        };
        match map.get(key).and_then(Value::as_str) {
            Some(s) => Some(s.to_string()),
            None => {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                self.missing(
                    format!("Terraform output `{name}` has no entry \"{key}\""),
                    loc,
                    format!(
                        "entries: {}; apply Terraform after adding it to the environment",
                        list(&keys)
                    ),
                );
                None
            }
        }
    }

    fn service_field(&self, svc: &str, field: &str, loc: &Loc, optional: bool) -> Option<String> {
        if optional && self.outputs.get("services").is_none() {
            return None;
        }
        let v = self.output("services", loc)?;
        let Some(entry) = v.as_object().and_then(|m| m.get(svc)) else {
            let keys: Vec<&str> = v
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            self.missing(
                format!("Terraform output `services` has no entry for service \"{svc}\""),
                loc,
                format!("entries: {}; run `slipway render --only tfvars` and apply Terraform so the service's infrastructure exists", list(&keys)),
            );
            return None;
        };
        match entry.get(field) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None if optional => None,
            _ => {
                self.missing(
                    format!("Terraform output `services[\"{svc}\"]` has no string `{field}`"),
                    loc,
                    "the root's `services` output must carry execution_role_arn, task_role_arn, security_group_id, target_group_arn and log_group_name".into(),
                );
                None
            }
        }
    }
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

fn strings(v: &Option<Vec<crate::env::model::Sp<String>>>) -> Vec<String> {
    v.as_ref()
        .map(|l| l.iter().map(|s| s.v.clone()).collect())
        .unwrap_or_default()
}

fn env_vars(
    vars: &[(crate::env::model::Sp<String>, crate::env::model::Sp<String>)],
) -> Vec<ecs::KeyValue> {
    let mut out: Vec<ecs::KeyValue> = vars
        .iter()
        .map(|(k, v)| ecs::KeyValue {
            name: k.v.clone(),
            value: v.v.clone(),
        })
        .collect();
    out.sort();
    out
}

fn secrets(
    env: &Environment,
    vars: &[(crate::env::model::Sp<String>, crate::env::model::Sp<String>)],
    errors: &mut Vec<Diagnostic>,
) -> Vec<ecs::Secret> {
    let mut out = Vec::new();
    for (k, v) in vars {
        match crate::naming::secret_arn(&v.v, &env.region.v, &env.account_id.v) {
            Ok(arn) => out.push(ecs::Secret {
                name: k.v.clone(),
                value_from: arn,
            }),
            Err(e) => errors.push(Diagnostic::error("invalid-secret-reference", e).at(&v.loc)),
        }
    }
    out.sort();
    out
}

fn tags(
    env: &Environment,
    own: &[(crate::env::model::Sp<String>, crate::env::model::Sp<String>)],
    extra: &BTreeMap<String, String>,
) -> Vec<ecs::Tag> {
    let mut map: BTreeMap<String, String> = env
        .tags
        .iter()
        .chain(own)
        .map(|(k, v)| (k.v.clone(), v.v.clone()))
        .collect();
    map.insert(crate::naming::ENVIRONMENT_TAG.to_string(), env.name.clone());
    map.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    map.into_iter()
        .map(|(key, value)| ecs::Tag { key, value })
        .collect()
}

fn service(
    env: &Environment,
    svc: &Service,
    out: &OutputReader,
    subnets: &[String],
    inputs: &Inputs,
    errors: &mut Vec<Diagnostic>,
) -> Option<(TaskDefinition, ServiceSettings)> {
    let name = &svc.name.v;
    let cluster = &env.cluster.v;
    let loc = &svc.loc;
    let image = match (&svc.image, &svc.repository) {
        (Some(image), _) => Some(image.v.clone()),
        (None, Some(repo)) => {
            let tag = svc
                .image_tag
                .as_ref()
                .map(|t| t.v.clone())
                .or_else(|| inputs.image_tag.clone())
                .or_else(|| inputs.live_image_tags.get(name).cloned());
            let url = out.map_string("ecr_repository_urls", &repo.v, &repo.loc);
            match tag {
                Some(tag) => url.map(|u| format!("{u}:{tag}")),
                None => {
                    errors.push(
                        Diagnostic::error("missing-image-tag", format!("service \"{name}\" has no image tag"))
                            .at(&repo.loc)
                            .help("pass --image-tag TAG (seeds tag images with the git sha), or set `image_tag` on the service"),
                    );
                    None
                }
            }
        }
        (None, None) => None,
    };
    // Some(None): the task has no such role (`= null`); None: a missing output, reported.
    let execution_role_arn = match &svc.execution_role_arn {
        Some(a) => Some((!a.v.is_empty()).then(|| a.v.clone())),
        None => out
            .service_field(name, "execution_role_arn", loc, false)
            .map(Some),
    };
    let task_role_arn = match &svc.task_role_arn {
        Some(a) => Some((!a.v.is_empty()).then(|| a.v.clone())),
        None => out
            .service_field(name, "task_role_arn", loc, false)
            .map(Some),
    };
    let subnets: Vec<String> = match &svc.subnets {
        Some(own) => own.iter().map(|x| x.v.clone()).collect(),
        None => subnets.to_vec(),
    };
    let security_groups = match &svc.security_groups {
        Some(_) => strings(&svc.security_groups),
        None => out
            .service_field(name, "security_group_id", loc, false)
            .into_iter()
            .collect(),
    };
    let log_group = out
        .service_field(name, "log_group_name", loc, true)
        .unwrap_or_else(|| Names::log_group(cluster, name));
    let target_group_arn = svc
        .load_balancer
        .as_ref()
        .map(|lb| match &lb.target_group_arn {
            Some(arn) => Some(arn.v.clone()),
            None => out.service_field(name, "target_group_arn", &lb.loc, false),
        });

    let container = svc.container();
    let log = |stream_prefix: &str| ecs::LogConfiguration {
        log_driver: "awslogs".to_string(),
        options: BTreeMap::from([
            ("awslogs-group".to_string(), log_group.clone()),
            ("awslogs-region".to_string(), env.region.v.clone()),
            (
                "awslogs-stream-prefix".to_string(),
                stream_prefix.to_string(),
            ),
        ]),
        secret_options: Vec::new(),
    };
    let shorthand_port = |port: i64, pname: &str| ecs::PortMapping {
        container_port: port as i32,
        host_port: None,
        protocol: "tcp".to_string(),
        name: Some(format!("{pname}-{port}")),
        extra: serde_json::Map::new(),
    };

    let main = ecs::ContainerDefinition {
        name: container.to_string(),
        image: image.clone().unwrap_or_default(),
        cpu: None,
        memory: None,
        memory_reservation: None,
        essential: true,
        entry_point: strings(&svc.entrypoint),
        command: strings(&svc.command),
        port_mappings: svc
            .port
            .iter()
            .map(|p| shorthand_port(p.v, container))
            .collect(),
        environment: env_vars(&svc.environment),
        secrets: secrets(env, &svc.secrets, errors),
        log_configuration: Some(log(container)),
        health_check: svc.health_check.as_ref().map(health_check),
        readonly_root_filesystem: false,
        extra: serde_json::Map::new(),
    };
    let mut containers = vec![with_opts(env, main, &svc.container, errors)];
    let mut sidecars: Vec<_> = svc
        .sidecars
        .iter()
        .map(|s| {
            let c = ecs::ContainerDefinition {
                name: s.name.v.clone(),
                image: s.image.v.clone(),
                cpu: None,
                memory: None,
                memory_reservation: None,
                essential: s.essential,
                entry_point: strings(&s.entrypoint),
                command: strings(&s.command),
                port_mappings: s
                    .port
                    .iter()
                    .map(|p| shorthand_port(p.v, &s.name.v))
                    .collect(),
                environment: env_vars(&s.environment),
                secrets: secrets(env, &s.secrets, errors),
                log_configuration: Some(log(&s.name.v)),
                health_check: s.health_check.as_ref().map(health_check),
                readonly_root_filesystem: false,
                extra: serde_json::Map::new(),
            };
            with_opts(env, c, &s.opts, errors)
        })
        .collect();
    sidecars.sort_by(|a, b| a.name.cmp(&b.name));
    containers.extend(sidecars);

    // Every problem above has been recorded; a service with one renders nothing.
    image.as_ref()?;
    let mut td = TaskDefinition {
        family: svc.family.clone(),
        task_role_arn: task_role_arn?,
        execution_role_arn: execution_role_arn?,
        network_mode: "awsvpc".to_string(),
        container_definitions: containers,
        requires_compatibilities: vec!["FARGATE".to_string()],
        cpu: svc.cpu.v.to_string(),
        memory: svc.memory.v.to_string(),
        runtime_platform: Some(ecs::RuntimePlatform {
            cpu_architecture: svc.architecture.v.clone(),
            operating_system_family: "LINUX".to_string(),
        }),
        tags: tags(env, &svc.tags, &inputs.revision_tags),
        extra: serde_json::Map::new(),
    };
    if !svc.volumes.is_empty() {
        td.extra.insert(
            "volumes".into(),
            Value::Array(svc.volumes.iter().map(volume).collect()),
        );
    }
    if let Some(gib) = &svc.ephemeral_storage {
        td.extra.insert(
            "ephemeralStorage".into(),
            serde_json::json!({ "sizeInGiB": gib.v }),
        );
    }
    if let Some(raw) = &svc.task_raw {
        td = match merged(&td, &raw.v) {
            Ok(t) => t,
            Err(e) => {
                errors.push(
                    Diagnostic::error(
                        "invalid-raw",
                        format!(
                            "task_raw of service \"{name}\" does not make a task definition: {e}"
                        ),
                    )
                    .at(&raw.loc),
                );
                return None;
            }
        };
    }
    let container_port = svc
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.container_port.as_ref().map(|p| p.v))
        .or_else(|| svc.port.as_ref().map(|p| p.v))
        .or_else(|| {
            svc.container
                .port_mappings
                .first()
                .map(|p| p.container_port.v)
        });
    let d = &svc.deployment;
    // Blue/green, canary and linear: what the root's ecs-service module made for ECS to shift
    // traffic with.
    let advanced = match &svc.load_balancer {
        Some(lb) if d.strategy.v.shifts_traffic() => {
            let field = |f: &str| out.service_field(name, f, &lb.loc, false);
            let alternate = field("alternate_target_group_arn");
            let production = field("production_listener_rule_arn");
            let role = field("load_balancer_role_arn");
            let test = out.service_field(name, "test_listener_rule_arn", &lb.loc, true);
            match (alternate, production, role) {
                (Some(a), Some(p), Some(r)) => Some(Some(ecs::AdvancedConfiguration {
                    alternate_target_group_arn: a,
                    production_listener_rule: p,
                    test_listener_rule: test,
                    role_arn: r,
                })),
                _ => Some(None),
            }
        }
        _ => None,
    };
    let gated = !svc.smoke.is_empty()
        && matches!(&advanced, Some(Some(a)) if a.test_listener_rule.is_some());
    let load_balancers = match (&svc.load_balancer, target_group_arn) {
        (Some(_), Some(Some(arn))) if !matches!(advanced, Some(None)) => vec![ecs::LoadBalancer {
            target_group_arn: arn,
            container_name: container.to_string(),
            container_port: container_port.map_or(0, |p| p as i32),
            advanced_configuration: advanced.flatten(),
        }],
        (Some(_), _) => return None,
        _ => Vec::new(),
    };
    let desired = match &svc.autoscaling {
        Some(a) => svc.desired_count.v.max(a.min.v),
        None => svc.desired_count.v,
    };
    let capacity_provider_strategy: Vec<ecs::CapacityProviderItem> = svc
        .capacity_providers
        .iter()
        .map(|c| ecs::CapacityProviderItem {
            capacity_provider: c.name.v.clone(),
            weight: c.weight as i32,
            base: c.base as i32,
        })
        .collect();
    let ss = ServiceSettings {
        cluster: cluster.clone(),
        service_name: svc.ecs_name().to_string(),
        task_definition: svc.family.clone(),
        desired_count: desired as i32,
        launch_type: if capacity_provider_strategy.is_empty() {
            "FARGATE".to_string()
        } else {
            String::new()
        },
        capacity_provider_strategy,
        platform_version: svc
            .platform_version
            .as_ref()
            .map_or_else(|| "LATEST".to_string(), |p| p.v.clone()),
        deployment_configuration: ecs::DeploymentConfiguration {
            deployment_circuit_breaker: ecs::CircuitBreaker {
                enable: d.circuit_breaker,
                rollback: d.circuit_breaker && d.rollback,
            },
            maximum_percent: d.maximum_percent.v as i32,
            minimum_healthy_percent: d.minimum_healthy_percent.v as i32,
            // The strategy with ECS's defaults written out, so that what ECS echoes back
            // compares equal; rolling is left out, as ECS's default.
            strategy: d
                .strategy
                .v
                .shifts_traffic()
                .then(|| d.strategy.v.api().to_string()),
            bake_time_in_minutes: d.bake_time_minutes().map(|m| m as i32),
            canary_configuration: d
                .canary()
                .map(|(percent, minutes)| ecs::CanaryConfiguration {
                    canary_percent: percent,
                    canary_bake_time_in_minutes: minutes as i32,
                }),
            linear_configuration: d.linear().map(|(step, minutes)| ecs::LinearConfiguration {
                step_percent: step,
                step_bake_time_in_minutes: minutes as i32,
            }),
            alarms: (!d.alarms.is_empty()).then(|| ecs::DeploymentAlarms {
                alarm_names: d.alarms.iter().map(|a| a.v.clone()).collect(),
                enable: true,
                rollback: d.alarm_rollback,
            }),
            // Smoke checks on the test listener before production traffic moves: ECS holds
            // the deployment for slipway, as long as slipway's wait may last (then it rolls
            // back on its own).
            lifecycle_hooks: if gated {
                vec![ecs::test_traffic_gate(d.timeout)]
            } else {
                Vec::new()
            },
        },
        network_configuration: ecs::NetworkConfiguration {
            awsvpc_configuration: ecs::AwsVpcConfiguration {
                subnets,
                security_groups,
                assign_public_ip: if svc
                    .assign_public_ip
                    .as_ref()
                    .map_or(env.network.assign_public_ip, |a| a.v)
                {
                    "ENABLED"
                } else {
                    "DISABLED"
                }
                .to_string(),
            },
        },
        health_check_grace_period_seconds: svc
            .load_balancer
            .as_ref()
            .map(|lb| lb.grace_period.as_secs() as i32),
        load_balancers,
        enable_execute_command: svc.enable_execute_command,
        enable_ecs_managed_tags: svc.ecs_managed_tags,
        propagate_tags: svc
            .propagate_tags
            .as_ref()
            .map_or_else(|| "SERVICE".to_string(), |p| p.v.clone()),
        tags: tags(env, &svc.tags, &BTreeMap::new()),
    };
    live_tag(name, td, ss, inputs, loc, errors)
}

/// `image_tag` of an environment loaded without one (`naming::LIVE_IMAGE_TAG`) is the
/// service's live tag: put in wherever it ended up (images, variables, tags).
fn live_tag(
    name: &str,
    td: TaskDefinition,
    ss: ServiceSettings,
    inputs: &Inputs,
    loc: &Loc,
    errors: &mut Vec<Diagnostic>,
) -> Option<(TaskDefinition, ServiceSettings)> {
    let text = serde_json::to_string(&(&td, &ss)).expect("API shapes serialise");
    if !text.contains(crate::naming::LIVE_IMAGE_TAG) {
        return Some((td, ss));
    }
    let tag = inputs
        .image_tag
        .clone()
        .or_else(|| inputs.live_image_tags.get(name).cloned());
    let Some(tag) = tag else {
        errors.push(
            Diagnostic::error(
                "missing-image-tag",
                format!("service \"{name}\" uses image_tag, and no tag was given"),
            )
            .at(loc)
            .help("pass --image-tag TAG (a service that runs already keeps its own tag in diff and plan)"),
        );
        return None;
    };
    let json = serde_json::to_string(&tag).expect("a string serialises");
    let quoted = &json[1..json.len() - 1];
    serde_json::from_str(&text.replace(crate::naming::LIVE_IMAGE_TAG, quoted)).ok()
}

fn health_check(h: &crate::env::model::ContainerHealthCheck) -> ecs::HealthCheck {
    ecs::HealthCheck {
        command: h.command.iter().map(|c| c.v.clone()).collect(),
        interval: h.interval.v.as_secs() as i32,
        timeout: h.timeout.v.as_secs() as i32,
        retries: h.retries.v as i32,
        start_period: h.start_period.v.as_secs() as i32,
    }
}

fn volume(v: &crate::env::model::Volume) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("name".into(), Value::from(v.name.v.clone()));
    if let Some(e) = &v.efs {
        let mut efs = serde_json::Map::new();
        efs.insert(
            "fileSystemId".into(),
            Value::from(e.file_system_id.v.clone()),
        );
        if let Some(r) = &e.root_directory {
            efs.insert("rootDirectory".into(), Value::from(r.v.clone()));
        }
        if e.transit_encryption {
            efs.insert("transitEncryption".into(), Value::from("ENABLED"));
        }
        if let Some(p) = &e.transit_encryption_port {
            efs.insert("transitEncryptionPort".into(), Value::from(p.v));
        }
        let mut auth = serde_json::Map::new();
        if let Some(a) = &e.access_point_id {
            auth.insert("accessPointId".into(), Value::from(a.v.clone()));
        }
        if e.iam {
            auth.insert("iam".into(), Value::from("ENABLED"));
        }
        if !auth.is_empty() {
            efs.insert("authorizationConfig".into(), Value::Object(auth));
        }
        out.insert("efsVolumeConfiguration".into(), Value::Object(efs));
    }
    Value::Object(out)
}

fn pairs(
    list: &[(crate::env::model::Sp<String>, crate::env::model::Sp<String>)],
) -> serde_json::Map<String, Value> {
    list.iter()
        .map(|(k, v)| (k.v.clone(), Value::from(v.v.clone())))
        .collect()
}

/// A container definition with the container settings of the environment file applied: typed
/// ones into their API fields, then `raw` merged over the whole.
fn with_opts(
    env: &Environment,
    mut c: ecs::ContainerDefinition,
    o: &crate::env::model::ContainerOpts,
    errors: &mut Vec<Diagnostic>,
) -> ecs::ContainerDefinition {
    let int = |v: &Option<crate::env::model::Sp<i64>>| v.as_ref().map(|x| x.v as i32);
    c.cpu = int(&o.cpu);
    c.memory = int(&o.memory);
    c.memory_reservation = int(&o.memory_reservation);
    c.readonly_root_filesystem = o.readonly_root_filesystem.as_ref().is_some_and(|b| b.v);
    if !o.port_mappings.is_empty() {
        c.port_mappings = o
            .port_mappings
            .iter()
            .map(|p| {
                let mut extra = serde_json::Map::new();
                if let Some(a) = &p.app_protocol {
                    extra.insert("appProtocol".into(), Value::from(a.v.clone()));
                }
                ecs::PortMapping {
                    container_port: p.container_port.v as i32,
                    host_port: None,
                    protocol: p.protocol.v.clone(),
                    name: p.name.as_ref().map(|n| n.v.clone()),
                    extra,
                }
            })
            .collect();
    }
    if let Some(l) = &o.log {
        c.log_configuration = Some(ecs::LogConfiguration {
            log_driver: l.driver.v.clone(),
            options: l
                .options
                .iter()
                .map(|(k, v)| (k.v.clone(), v.v.clone()))
                .collect(),
            secret_options: secrets(env, &l.secret_options, errors),
        });
    }
    if !o.logging {
        c.log_configuration = None;
    }
    let x = &mut c.extra;
    if let Some(u) = &o.user {
        x.insert("user".into(), Value::from(u.v.clone()));
    }
    if let Some(w) = &o.working_directory {
        x.insert("workingDirectory".into(), Value::from(w.v.clone()));
    }
    if let Some(t) = &o.stop_timeout {
        x.insert("stopTimeout".into(), Value::from(t.v.as_secs()));
    }
    if let Some(t) = &o.start_timeout {
        x.insert("startTimeout".into(), Value::from(t.v.as_secs()));
    }
    if !o.ulimits.is_empty() {
        x.insert(
            "ulimits".into(),
            o.ulimits
                .iter()
                .map(|u| serde_json::json!({ "name": u.name.v, "softLimit": u.soft.v, "hardLimit": u.hard.v }))
                .collect(),
        );
    }
    if let Some(lp) = &o.linux_parameters {
        let mut m = serde_json::Map::new();
        if let Some(i) = &lp.init_process_enabled {
            m.insert("initProcessEnabled".into(), Value::from(i.v));
        }
        let caps = |l: &[crate::env::model::Sp<String>]| -> Value {
            l.iter().map(|c| Value::from(c.v.clone())).collect()
        };
        let mut capabilities = serde_json::Map::new();
        if !lp.capabilities_add.is_empty() {
            capabilities.insert("add".into(), caps(&lp.capabilities_add));
        }
        if !lp.capabilities_drop.is_empty() {
            capabilities.insert("drop".into(), caps(&lp.capabilities_drop));
        }
        if !capabilities.is_empty() {
            m.insert("capabilities".into(), Value::Object(capabilities));
        }
        x.insert("linuxParameters".into(), Value::Object(m));
    }
    if !o.mounts.is_empty() {
        x.insert(
            "mountPoints".into(),
            o.mounts
                .iter()
                .map(|m| {
                    let mut v = serde_json::json!({ "sourceVolume": m.volume.v, "containerPath": m.path.v });
                    if m.read_only {
                        v["readOnly"] = Value::Bool(true);
                    }
                    v
                })
                .collect(),
        );
    }
    if !o.depends_on.is_empty() {
        x.insert(
            "dependsOn".into(),
            o.depends_on
                .iter()
                .map(|(c, cond)| serde_json::json!({ "containerName": c.v, "condition": cond.v }))
                .collect(),
        );
    }
    if !o.environment_files.is_empty() {
        x.insert(
            "environmentFiles".into(),
            o.environment_files
                .iter()
                .map(|f| serde_json::json!({ "value": f.v, "type": "s3" }))
                .collect(),
        );
    }
    if let Some(f) = &o.firelens {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), Value::from(f.kind.v.clone()));
        if !f.options.is_empty() {
            m.insert("options".into(), Value::Object(pairs(&f.options)));
        }
        x.insert("firelensConfiguration".into(), Value::Object(m));
    }
    if !o.docker_labels.is_empty() {
        x.insert(
            "dockerLabels".into(),
            Value::Object(pairs(&o.docker_labels)),
        );
    }
    if let Some(rc) = &o.repository_credentials {
        match crate::naming::secret_arn(&rc.v, &env.region.v, &env.account_id.v) {
            Ok(arn) if arn.contains(":secretsmanager:") => {
                x.insert(
                    "repositoryCredentials".into(),
                    serde_json::json!({ "credentialsParameter": arn }),
                );
            }
            Ok(_) => errors.push(
                Diagnostic::error(
                    "invalid-secret-reference",
                    "repository_credentials must be a Secrets Manager secret, not an SSM parameter",
                )
                .at(&rc.loc),
            ),
            Err(e) => errors.push(Diagnostic::error("invalid-secret-reference", e).at(&rc.loc)),
        }
    }
    if let Some(raw) = &o.raw {
        match merged(&c, &raw.v) {
            Ok(m) => c = m,
            Err(e) => errors.push(
                Diagnostic::error(
                    "invalid-raw",
                    format!(
                        "raw of container \"{}\" does not make a container definition: {e}",
                        c.name
                    ),
                )
                .at(&raw.loc),
            ),
        }
    }
    c
}

/// `doc` with `raw` merged over it, in the API's JSON: objects merge key by key, anything else
/// (lists included) is replaced; a `null` removes the field.
fn merged<T: Serialize + serde::de::DeserializeOwned>(
    doc: &T,
    raw: &serde_json::Map<String, Value>,
) -> Result<T, String> {
    fn merge(into: &mut Value, over: &Value) {
        match (into, over) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    if v.is_null() {
                        a.remove(k);
                    } else {
                        merge(a.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
            (slot, v) => *slot = v.clone(),
        }
    }
    let mut v = serde_json::to_value(doc).map_err(|e| e.to_string())?;
    merge(&mut v, &Value::Object(raw.clone()));
    serde_json::from_value(v).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_names_fit_the_modules_bucket_prefix() {
        assert_eq!(
            Names::site("scr-staging", "frontend"),
            "scr-staging-frontend"
        );
        assert_eq!(Names::site("Web_Prod", "Docs.Site"), "web-prod-docs-site");
        let long = Names::site("scr-platform-production-eu", "marketing-frontend");
        assert!(long.len() <= SITE_NAME_MAX, "{long}");
        assert!(long.starts_with("scr-platform-production-eu-"), "{long}");
        // The hash tells apart long names that share their start.
        assert_ne!(
            long,
            Names::site("scr-platform-production-eu", "marketing-frontend2")
        );
        for n in [long.as_str(), "scr-staging-frontend"] {
            let ok = n.len() <= SITE_NAME_MAX
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
            assert!(ok, "{n}");
        }
    }
}
