//! ECS adapter: slipway's API-shaped types ([`crate::render::ecs`]) to and from the SDK's.
//!
//! Reading converts live state back into the same input shape that rendering produces, so the
//! two can be compared field by field. What AWS adds on its own (revision, status, ARNs,
//! registeredAt, compatibilities, ...) has no field in the input shape and is dropped here.

use aws_sdk_ecs::types as t;
use aws_sdk_ecs::Client;

use super::AwsError;
use crate::render::ecs as r;

/// A registered revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub arn: String,
    pub family: String,
    pub revision: i32,
}

fn container_to_sdk(c: &r::ContainerDefinition) -> Result<t::ContainerDefinition, AwsError> {
    let invalid = |e: aws_sdk_ecs::error::BuildError| {
        AwsError::invalid("RegisterTaskDefinition", e.to_string())
    };
    let mut b = t::ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .essential(c.essential)
        .set_cpu(c.cpu)
        .set_memory(c.memory)
        .set_memory_reservation(c.memory_reservation)
        .set_entry_point((!c.entry_point.is_empty()).then(|| c.entry_point.clone()))
        .set_command((!c.command.is_empty()).then(|| c.command.clone()))
        .readonly_root_filesystem(c.readonly_root_filesystem);
    for p in &c.port_mappings {
        b = b.port_mappings(
            t::PortMapping::builder()
                .container_port(p.container_port)
                .set_host_port(p.host_port)
                .protocol(t::TransportProtocol::from(p.protocol.as_str()))
                .set_name(p.name.clone())
                .build(),
        );
    }
    for e in &c.environment {
        b = b.environment(
            t::KeyValuePair::builder()
                .name(&e.name)
                .value(&e.value)
                .build(),
        );
    }
    for s in &c.secrets {
        b = b.secrets(
            t::Secret::builder()
                .name(&s.name)
                .value_from(&s.value_from)
                .build()
                .map_err(invalid)?,
        );
    }
    if let Some(l) = &c.log_configuration {
        b = b.log_configuration(
            t::LogConfiguration::builder()
                .log_driver(t::LogDriver::from(l.log_driver.as_str()))
                .set_options(Some(l.options.clone().into_iter().collect()))
                .build()
                .map_err(invalid)?,
        );
    }
    if let Some(h) = &c.health_check {
        b = b.health_check(
            t::HealthCheck::builder()
                .set_command(Some(h.command.clone()))
                .interval(h.interval)
                .timeout(h.timeout)
                .retries(h.retries)
                .start_period(h.start_period)
                .build()
                .map_err(invalid)?,
        );
    }
    Ok(b.build())
}

fn tag_to_sdk(tag: &r::Tag) -> t::Tag {
    t::Tag::builder().key(&tag.key).value(&tag.value).build()
}

/// RegisterTaskDefinition with the rendered document.
pub async fn register_task_definition(
    client: &Client,
    td: &r::TaskDefinition,
) -> Result<Revision, AwsError> {
    let mut req = client
        .register_task_definition()
        .family(&td.family)
        .set_task_role_arn(td.task_role_arn.clone())
        .set_execution_role_arn(td.execution_role_arn.clone())
        .network_mode(t::NetworkMode::from(td.network_mode.as_str()))
        .cpu(&td.cpu)
        .memory(&td.memory);
    for c in &td.container_definitions {
        req = req.container_definitions(container_to_sdk(c)?);
    }
    for rc in &td.requires_compatibilities {
        req = req.requires_compatibilities(t::Compatibility::from(rc.as_str()));
    }
    if let Some(p) = &td.runtime_platform {
        req = req.runtime_platform(
            t::RuntimePlatform::builder()
                .cpu_architecture(t::CpuArchitecture::from(p.cpu_architecture.as_str()))
                .operating_system_family(t::OsFamily::from(p.operating_system_family.as_str()))
                .build(),
        );
    }
    for tag in &td.tags {
        req = req.tags(tag_to_sdk(tag));
    }
    let out = req
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("RegisterTaskDefinition", e))?;
    let td = out.task_definition().ok_or_else(|| {
        AwsError::invalid(
            "RegisterTaskDefinition",
            "the response has no task definition",
        )
    })?;
    revision_of(td, "RegisterTaskDefinition")
}

fn revision_of(td: &t::TaskDefinition, op: &'static str) -> Result<Revision, AwsError> {
    Ok(Revision {
        arn: td
            .task_definition_arn()
            .ok_or_else(|| AwsError::invalid(op, "the task definition has no ARN"))?
            .to_string(),
        family: td.family().unwrap_or_default().to_string(),
        revision: td.revision(),
    })
}

/// DescribeTaskDefinition (with tags), converted back to the input shape.
pub async fn describe_task_definition(
    client: &Client,
    family_or_arn: &str,
) -> Result<(Revision, r::TaskDefinition), AwsError> {
    let out = client
        .describe_task_definition()
        .task_definition(family_or_arn)
        .include(t::TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeTaskDefinition", e))?;
    let td = out.task_definition().ok_or_else(|| {
        AwsError::invalid(
            "DescribeTaskDefinition",
            "the response has no task definition",
        )
    })?;
    let rev = revision_of(td, "DescribeTaskDefinition")?;
    Ok((rev, task_definition_from_sdk(td, out.tags())))
}

pub fn task_definition_from_sdk(td: &t::TaskDefinition, tags: &[t::Tag]) -> r::TaskDefinition {
    let mut tags: Vec<r::Tag> = tags
        .iter()
        .map(|t| r::Tag {
            key: t.key().unwrap_or_default().to_string(),
            value: t.value().unwrap_or_default().to_string(),
        })
        .collect();
    tags.sort();
    r::TaskDefinition {
        family: td.family().unwrap_or_default().to_string(),
        task_role_arn: td.task_role_arn().map(str::to_string),
        execution_role_arn: td.execution_role_arn().map(str::to_string),
        network_mode: td
            .network_mode()
            .map_or_else(String::new, |m| m.as_str().to_string()),
        container_definitions: td
            .container_definitions()
            .iter()
            .map(container_from_sdk)
            .collect(),
        requires_compatibilities: td
            .requires_compatibilities()
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        cpu: td.cpu().unwrap_or_default().to_string(),
        memory: td.memory().unwrap_or_default().to_string(),
        runtime_platform: td.runtime_platform().map(|p| r::RuntimePlatform {
            cpu_architecture: p
                .cpu_architecture()
                .map_or_else(String::new, |a| a.as_str().to_string()),
            operating_system_family: p
                .operating_system_family()
                .map_or_else(String::new, |o| o.as_str().to_string()),
        }),
        tags,
    }
}

fn container_from_sdk(c: &t::ContainerDefinition) -> r::ContainerDefinition {
    r::ContainerDefinition {
        name: c.name().unwrap_or_default().to_string(),
        image: c.image().unwrap_or_default().to_string(),
        cpu: Some(c.cpu()).filter(|&cpu| cpu != 0),
        memory: c.memory(),
        memory_reservation: c.memory_reservation(),
        essential: c.essential().unwrap_or(true),
        entry_point: c.entry_point().to_vec(),
        command: c.command().to_vec(),
        port_mappings: c
            .port_mappings()
            .iter()
            .map(|p| r::PortMapping {
                container_port: p.container_port().unwrap_or_default(),
                host_port: p.host_port(),
                protocol: p
                    .protocol()
                    .map_or_else(|| "tcp".to_string(), |x| x.as_str().to_string()),
                name: p.name().map(str::to_string),
            })
            .collect(),
        environment: c
            .environment()
            .iter()
            .map(|e| r::KeyValue {
                name: e.name().unwrap_or_default().to_string(),
                value: e.value().unwrap_or_default().to_string(),
            })
            .collect(),
        secrets: c
            .secrets()
            .iter()
            .map(|s| r::Secret {
                name: s.name().to_string(),
                value_from: s.value_from().to_string(),
            })
            .collect(),
        log_configuration: c.log_configuration().map(|l| r::LogConfiguration {
            log_driver: l.log_driver().as_str().to_string(),
            options: l
                .options()
                .map(|o| o.clone().into_iter().collect())
                .unwrap_or_default(),
        }),
        health_check: c.health_check().map(|h| r::HealthCheck {
            command: h.command().to_vec(),
            interval: h.interval().unwrap_or(30),
            timeout: h.timeout().unwrap_or(5),
            retries: h.retries().unwrap_or(3),
            start_period: h.start_period().unwrap_or(0),
        }),
        readonly_root_filesystem: c.readonly_root_filesystem().unwrap_or(false),
    }
}

/// CreateService from the rendered settings, pinned to a registered revision.
pub async fn create_service(
    client: &Client,
    s: &r::ServiceSettings,
    task_definition_arn: &str,
) -> Result<String, AwsError> {
    let invalid =
        |e: aws_sdk_ecs::error::BuildError| AwsError::invalid("CreateService", e.to_string());
    let d = &s.deployment_configuration;
    let vpc = &s.network_configuration.awsvpc_configuration;
    let mut req = client
        .create_service()
        .cluster(&s.cluster)
        .service_name(&s.service_name)
        .task_definition(task_definition_arn)
        .desired_count(s.desired_count)
        .launch_type(t::LaunchType::from(s.launch_type.as_str()))
        .platform_version(&s.platform_version)
        .deployment_configuration(
            t::DeploymentConfiguration::builder()
                .maximum_percent(d.maximum_percent)
                .minimum_healthy_percent(d.minimum_healthy_percent)
                .deployment_circuit_breaker(
                    t::DeploymentCircuitBreaker::builder()
                        .enable(d.deployment_circuit_breaker.enable)
                        .rollback(d.deployment_circuit_breaker.rollback)
                        .build(),
                )
                .build(),
        )
        .network_configuration(
            t::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    t::AwsVpcConfiguration::builder()
                        .set_subnets(Some(vpc.subnets.clone()))
                        .set_security_groups(Some(vpc.security_groups.clone()))
                        .assign_public_ip(t::AssignPublicIp::from(vpc.assign_public_ip.as_str()))
                        .build()
                        .map_err(invalid)?,
                )
                .build(),
        )
        .set_health_check_grace_period_seconds(s.health_check_grace_period_seconds)
        .enable_execute_command(s.enable_execute_command)
        .enable_ecs_managed_tags(s.enable_ecs_managed_tags)
        .propagate_tags(t::PropagateTags::from(s.propagate_tags.as_str()));
    for lb in &s.load_balancers {
        req = req.load_balancers(
            t::LoadBalancer::builder()
                .target_group_arn(&lb.target_group_arn)
                .container_name(&lb.container_name)
                .container_port(lb.container_port)
                .build(),
        );
    }
    for tag in &s.tags {
        req = req.tags(tag_to_sdk(tag));
    }
    let out = req
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CreateService", e))?;
    Ok(out
        .service()
        .and_then(|svc| svc.service_arn())
        .unwrap_or_default()
        .to_string())
}

/// The live service: its current task definition ARN and counts.
#[derive(Clone, Debug)]
pub struct LiveService {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub task_definition: String,
    pub desired_count: i32,
    pub running_count: i32,
}

/// DescribeServices for up to 10 names (the API's batch size); missing ones are left out.
pub async fn describe_services(
    client: &Client,
    cluster: &str,
    names: &[String],
) -> Result<Vec<LiveService>, AwsError> {
    let mut out = Vec::new();
    for chunk in names.chunks(10) {
        let resp = client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeServices", e))?;
        for s in resp.services() {
            out.push(LiveService {
                name: s.service_name().unwrap_or_default().to_string(),
                arn: s.service_arn().unwrap_or_default().to_string(),
                status: s.status().unwrap_or_default().to_string(),
                task_definition: s.task_definition().unwrap_or_default().to_string(),
                desired_count: s.desired_count(),
                running_count: s.running_count(),
            });
        }
    }
    Ok(out)
}
