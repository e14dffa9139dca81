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
}

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
    if outputs.names().is_empty() && !env.services.is_empty() {
        return Err(vec![Diagnostic::error(
            "no-outputs",
            format!("Terraform has no outputs for environment \"{}\": its infrastructure has not been applied", env.name),
        )
        .help(format!(
            "run `slipway render --env {0} --only tfvars --out out/{0}`, then `terraform workspace select -or-create {0}` and `terraform apply -var-file=out/{0}/tfvars.json` in the Terraform root",
            env.name
        ))]);
    }
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
    errors.extend(ctx.errors.into_inner());
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

fn tags(env: &Environment, extra: &BTreeMap<String, String>) -> Vec<ecs::Tag> {
    let mut map: BTreeMap<String, String> = env
        .tags
        .iter()
        .map(|(k, v)| (k.v.clone(), v.v.clone()))
        .collect();
    map.insert("slipway:environment".to_string(), env.name.clone());
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
    let execution_role_arn = match &svc.execution_role_arn {
        Some(a) => Some(a.v.clone()),
        None => out.service_field(name, "execution_role_arn", loc, false),
    };
    let task_role_arn = match &svc.task_role_arn {
        Some(a) => Some(a.v.clone()),
        None => out.service_field(name, "task_role_arn", loc, false),
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
        .map(|lb| out.service_field(name, "target_group_arn", &lb.loc, false));

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
    };
    let port_mapping = |port: i64, pname: &str| ecs::PortMapping {
        container_port: port as i32,
        host_port: None,
        protocol: "tcp".to_string(),
        name: Some(format!("{pname}-{port}")),
    };

    let mut containers = vec![ecs::ContainerDefinition {
        name: name.clone(),
        image: image.clone().unwrap_or_default(),
        cpu: None,
        memory: None,
        memory_reservation: None,
        essential: true,
        entry_point: strings(&svc.entrypoint),
        command: strings(&svc.command),
        port_mappings: svc.port.iter().map(|p| port_mapping(p.v, name)).collect(),
        environment: env_vars(&svc.environment),
        secrets: secrets(env, &svc.secrets, errors),
        log_configuration: Some(log(name)),
        health_check: svc.health_check.as_ref().map(|h| ecs::HealthCheck {
            command: h.command.iter().map(|c| c.v.clone()).collect(),
            interval: h.interval.v.as_secs() as i32,
            timeout: h.timeout.v.as_secs() as i32,
            retries: h.retries.v as i32,
            start_period: h.start_period.v.as_secs() as i32,
        }),
        readonly_root_filesystem: false,
    }];
    let mut sidecars: Vec<_> = svc
        .sidecars
        .iter()
        .map(|s| ecs::ContainerDefinition {
            name: s.name.v.clone(),
            image: s.image.v.clone(),
            cpu: s.cpu.as_ref().map(|c| c.v as i32),
            memory: None,
            memory_reservation: s.memory.as_ref().map(|m| m.v as i32),
            essential: s.essential,
            entry_point: Vec::new(),
            command: strings(&s.command),
            port_mappings: s
                .port
                .iter()
                .map(|p| port_mapping(p.v, &s.name.v))
                .collect(),
            environment: env_vars(&s.environment),
            secrets: secrets(env, &s.secrets, errors),
            log_configuration: Some(log(&s.name.v)),
            health_check: None,
            readonly_root_filesystem: false,
        })
        .collect();
    sidecars.sort_by(|a, b| a.name.cmp(&b.name));
    containers.extend(sidecars);

    // Every problem above has been recorded; a service with one renders nothing.
    image.as_ref()?;
    let td = TaskDefinition {
        family: svc.family.clone(),
        task_role_arn: Some(task_role_arn?),
        execution_role_arn: Some(execution_role_arn?),
        network_mode: "awsvpc".to_string(),
        container_definitions: containers,
        requires_compatibilities: vec!["FARGATE".to_string()],
        cpu: svc.cpu.v.to_string(),
        memory: svc.memory.v.to_string(),
        runtime_platform: Some(ecs::RuntimePlatform {
            cpu_architecture: svc.architecture.v.clone(),
            operating_system_family: "LINUX".to_string(),
        }),
        tags: tags(env, &inputs.revision_tags),
    };
    let load_balancers = match (&svc.load_balancer, target_group_arn) {
        (Some(_), Some(Some(arn))) => vec![ecs::LoadBalancer {
            target_group_arn: arn,
            container_name: name.clone(),
            container_port: svc.port.as_ref().map_or(0, |p| p.v as i32),
        }],
        (Some(_), Some(None)) => return None,
        _ => Vec::new(),
    };
    let desired = match &svc.autoscaling {
        Some(a) => svc.desired_count.v.max(a.min.v),
        None => svc.desired_count.v,
    };
    let d = &svc.deployment;
    let ss = ServiceSettings {
        cluster: cluster.clone(),
        service_name: name.clone(),
        task_definition: svc.family.clone(),
        desired_count: desired as i32,
        launch_type: "FARGATE".to_string(),
        platform_version: "LATEST".to_string(),
        deployment_configuration: ecs::DeploymentConfiguration {
            deployment_circuit_breaker: ecs::CircuitBreaker {
                enable: d.circuit_breaker,
                rollback: d.circuit_breaker && d.rollback,
            },
            maximum_percent: d.maximum_percent.v as i32,
            minimum_healthy_percent: d.minimum_healthy_percent.v as i32,
        },
        network_configuration: ecs::NetworkConfiguration {
            awsvpc_configuration: ecs::AwsVpcConfiguration {
                subnets: subnets.to_vec(),
                security_groups,
                assign_public_ip: if env.network.assign_public_ip {
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
        enable_ecs_managed_tags: true,
        propagate_tags: "SERVICE".to_string(),
        tags: tags(env, &BTreeMap::new()),
    };
    Some((td, ss))
}
