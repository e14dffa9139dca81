//! Checks that span several fields or need AWS knowledge: Fargate sizes, regions, ports, routing
//! clashes, OIDC trust, secret-looking variables, approval rules, secret reference syntax.
//!
//! Each check adds diagnostics and never stops the others. Warnings become errors with
//! `--strict` (decided by the caller).

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Sink};

use super::model::*;
use crate::naming::{looks_secret, secret_arn};

pub fn validate(env: &Environment, sink: &Sink) {
    account_and_region(env, sink);
    let names: Vec<&str> = env.repositories.iter().map(|r| r.name.v.as_str()).collect();
    for svc in &env.services {
        service(env, svc, &names, sink);
    }
    routes(env, sink);
    if let Some(gh) = &env.github {
        github(env, gh, sink);
    }
    approval(env, sink);
    lock_bucket(env, sink);
    for site in &env.sites {
        site_checks(env, site, sink);
    }
    for repo in &env.repositories {
        if let Some(problem) = crate::naming::ecr_name_problem(&repo.name.v) {
            sink.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("\"{}\" is not an ECR repository name: {problem}", repo.name.v),
                )
                .at(&repo.name.loc)
                .help("lowercase letters and digits in `/`-separated parts, with single `.`, `_` or `-` between them: \"doc-platform/api\""),
            );
        }
        for p in &repo.lifecycle.tag_prefixes {
            if p.v.is_empty() || p.v.contains('*') {
                sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("tag prefix \"{}\" is not a prefix", p.v),
                    )
                    .at(&p.loc)
                    .help("write the literal start of the tags, e.g. \"v\" or \"release-\""),
                );
            }
        }
    }
}

/// Regions where ECS Fargate is offered (commercial, GovCloud and China partitions).
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

fn account_and_region(env: &Environment, sink: &Sink) {
    let a = &env.account_id;
    if !a.v.starts_with("${") && (a.v.len() != 12 || !a.v.chars().all(|c| c.is_ascii_digit())) {
        sink.push(
            Diagnostic::error(
                "invalid-account-id",
                format!("account_id \"{}\" is not a 12-digit AWS account id", a.v),
            )
            .at(&a.loc)
            .label("expected 12 digits")
            .help("write the account id as a quoted string of 12 digits, leading zeros included"),
        );
    }
    let r = &env.region;
    if !r.v.starts_with("${") && !REGIONS.contains(&r.v.as_str()) {
        let mut d = Diagnostic::error(
            "unknown-region",
            format!("\"{}\" is not an AWS region", r.v),
        )
        .at(&r.loc)
        .label("unknown region");
        d = match crate::suggest::did_you_mean(&r.v, REGIONS.iter().copied()) {
            Some(s) => d.help(format!("did you mean \"{s}\"?")),
            None => d.help("use a region code such as \"eu-west-1\""),
        };
        sink.push(d);
    }
}

/// Valid Fargate memory sizes (MiB) for a task cpu size (units).
pub fn fargate_memory(cpu: i64) -> Option<Vec<i64>> {
    let range = |lo: i64, hi: i64, step: i64| (lo..=hi).step_by(step as usize).collect::<Vec<_>>();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => range(1024, 4096, 1024),
        1024 => range(2048, 8192, 1024),
        2048 => range(4096, 16384, 1024),
        4096 => range(8192, 30720, 1024),
        8192 => range(16384, 61440, 4096),
        16384 => range(32768, 122880, 8192),
        _ => return None,
    })
}

fn describe_sizes(sizes: &[i64]) -> String {
    if sizes.len() <= 3 {
        return sizes
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
    }
    let step = sizes[1] - sizes[0];
    format!(
        "{} to {} in steps of {step}",
        sizes[0],
        sizes[sizes.len() - 1]
    )
}

fn port(p: &Sp<i64>, what: &str, sink: &Sink) {
    if !(1..=65535).contains(&p.v) {
        sink.push(
            Diagnostic::error(
                "invalid-port",
                format!("{what} {} is not a valid port", p.v),
            )
            .at(&p.loc)
            .label("out of range")
            .help("ports are 1 to 65535"),
        );
    }
}

fn service(env: &Environment, svc: &Service, repos: &[&str], sink: &Sink) {
    let name = &svc.name.v;
    let st = &svc.deployment.strategy;
    if st.v.shifts_traffic() && svc.load_balancer.is_none() {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!("service \"{name}\": strategy \"{}\" shifts traffic between two target groups, but the service has no load_balancer", st.v.name()),
            )
            .at(&st.loc)
            .help("add a load_balancer block, or use strategy = \"rolling\""),
        );
    }
    match fargate_memory(svc.cpu.v) {
        _ if svc.cpu.v < 0 || svc.memory.v < 0 => {}
        None => sink.push(
            Diagnostic::error(
                "fargate-size",
                format!("cpu = {} is not a Fargate task size", svc.cpu.v),
            )
            .at(&svc.cpu.loc)
            .label("not a Fargate cpu value")
            .help("Fargate cpu is one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
        ),
        Some(sizes) if !sizes.contains(&svc.memory.v) => sink.push(
            Diagnostic::error(
                "fargate-size",
                format!(
                    "memory = {} does not fit cpu = {} on Fargate",
                    svc.memory.v, svc.cpu.v
                ),
            )
            .at(&svc.memory.loc)
            .label("not allowed with this cpu")
            .related(&svc.cpu.loc, "cpu set here")
            .help(format!(
                "with cpu = {} memory may be {}",
                svc.cpu.v,
                describe_sizes(&sizes)
            )),
        ),
        Some(_) => {}
    }
    if let Some(p) = &svc.port {
        port(p, "port", sink);
    }
    if let Some(repo) = &svc.repository {
        if !repos.is_empty() && !repos.contains(&repo.v.as_str()) && !repo.v.starts_with("${") {
            let mut d = Diagnostic::warning(
                "undeclared-repository",
                format!("service \"{name}\" uses repository \"{}\", which this environment does not declare", repo.v),
            )
            .at(&repo.loc);
            d = match crate::suggest::did_you_mean(&repo.v, repos.iter().copied()) {
                Some(s) => d.help(format!(
                    "did you mean \"{s}\"? Otherwise declare `repository \"{}\" {{}}`",
                    repo.v
                )),
                None => d.help(format!(
                    "declare `repository \"{}\" {{}}` so slipway manages it",
                    repo.v
                )),
            };
            sink.push(d);
        }
    }
    let all_env = svc
        .environment
        .iter()
        .chain(svc.sidecars.iter().flat_map(|s| s.environment.iter()));
    for (k, _) in all_env {
        if looks_secret(&k.v) {
            sink.push(
                Diagnostic::warning(
                    "secret-in-environment",
                    format!(
                        "`{}` looks like a secret but is a plain environment variable",
                        k.v
                    ),
                )
                .at(&k.loc)
                .label("visible to anyone who can read the task definition")
                .help(format!(
                    "move it to `secrets = {{ {} = \"secretsmanager:<name>\" }}`",
                    k.v
                ))
                .redacted(),
            );
        }
    }
    let mut seen: BTreeMap<&str, &Sp<String>> = BTreeMap::new();
    for (k, _) in svc.environment.iter().chain(svc.secrets.iter()) {
        if let Some(first) = seen.insert(&k.v, k) {
            sink.push(
                Diagnostic::error(
                    "duplicate-variable",
                    format!("`{}` is both a plain variable and a secret", k.v),
                )
                .at(&k.loc)
                .related(&first.loc, "also set here"),
            );
        }
    }
    for (k, v) in svc
        .secrets
        .iter()
        .chain(svc.sidecars.iter().flat_map(|s| s.secrets.iter()))
    {
        if let Err(msg) = secret_arn(&v.v, &env.region.v, &env.account_id.v) {
            sink.push(
                Diagnostic::error("invalid-secret-reference", format!("secret `{}`: {msg}", k.v))
                    .at(&v.loc)
                    .help("write \"secretsmanager:<name>\", \"secretsmanager:<name>:<json key>\", \"ssm:/<parameter>\" or a full ARN"),
            );
        }
    }
    if let Some(lb) = &svc.load_balancer {
        if svc.port.is_none()
            && lb.container_port.is_none()
            && svc.container.port_mappings.is_empty()
        {
            sink.push(
                Diagnostic::error(
                    "missing-attribute",
                    format!("service \"{name}\" has a load_balancer but no `port`"),
                )
                .at(&lb.loc)
                .help("add `port = <container port>` to the service"),
            );
        }
        if !lb.health_check_path.v.starts_with('/') {
            sink.push(
                Diagnostic::error(
                    "invalid-path",
                    format!(
                        "health_check_path \"{}\" must start with `/`",
                        lb.health_check_path.v
                    ),
                )
                .at(&lb.health_check_path.loc)
                .help(format!("write \"/{}\"", lb.health_check_path.v)),
            );
        }
        if lb.target_group_arn.is_none() && !(1..=50000).contains(&lb.priority.v) {
            sink.push(
                Diagnostic::error(
                    "invalid-priority",
                    format!("priority {} is outside 1..=50000", lb.priority.v),
                )
                .at(&lb.priority.loc)
                .help("ALB listener rule priorities are 1 to 50000; lower is evaluated first"),
            );
        }
        for p in &lb.path_patterns {
            if !p.v.starts_with('/') {
                sink.push(
                    Diagnostic::error(
                        "invalid-path",
                        format!("path pattern \"{}\" must start with `/`", p.v),
                    )
                    .at(&p.loc),
                );
            }
        }
    }
    if let Some(a) = &svc.autoscaling {
        if a.min.v > a.max.v {
            sink.push(
                Diagnostic::error(
                    "invalid-autoscaling",
                    format!("autoscaling min {} is above max {}", a.min.v, a.max.v),
                )
                .at(&a.min.loc)
                .related(&a.max.loc, "max set here"),
            );
        }
    }
    let d = &svc.deployment;
    if d.maximum_percent.v == 100 && d.minimum_healthy_percent.v == 100 {
        sink.push(
            Diagnostic::error("invalid-deployment", "with minimum_healthy_percent = 100 and maximum_percent = 100 ECS can never start a new task")
                .at(&d.maximum_percent.loc)
                .help("raise maximum_percent to 200, or lower minimum_healthy_percent"),
        );
    }
    if let Some(m) = &svc.migration {
        for g in &m.sql {
            if let Err(e) = crate::migrations::pending::glob_set(std::slice::from_ref(&g.v)) {
                sink.push(Diagnostic::error("invalid-value", e).at(&g.loc).help(
                    "globs are relative to the repository root, e.g. \"db/migrations/**/*.sql\"",
                ));
            }
        }
        if m.command.is_empty() && m.sql.is_empty() {
            sink.push(
                Diagnostic::error("invalid-value", "migration `command` is empty")
                    .at(&m.loc)
                    .help("e.g. command = [\"alembic\", \"upgrade\", \"head\"]"),
            );
        }
    }
    if let Some(h) = &svc.health_check {
        if h.command.is_empty() {
            sink.push(
                Diagnostic::error("invalid-health-check", "health check `command` is empty")
                    .at(&h.loc)
                    .help(
                        "e.g. [\"CMD-SHELL\", \"curl -f http://localhost:8000/health || exit 1\"]",
                    ),
            );
        }
        if let Some(first) = h.command.first() {
            if !["CMD", "CMD-SHELL", "NONE"].contains(&first.v.as_str()) {
                sink.push(
                    Diagnostic::error("invalid-health-check", format!("health check command must start with \"CMD\" or \"CMD-SHELL\", not \"{}\"", first.v))
                        .at(&first.loc)
                        .help("e.g. [\"CMD-SHELL\", \"curl -f http://localhost:8000/health || exit 1\"]"),
                );
            }
        }
        let secs = |d: &Sp<std::time::Duration>| d.v.as_secs();
        if !(5..=300).contains(&secs(&h.interval)) {
            sink.push(
                Diagnostic::error(
                    "invalid-health-check",
                    "health check interval must be 5s to 300s",
                )
                .at(&h.interval.loc),
            );
        }
        if !(2..=60).contains(&secs(&h.timeout)) {
            sink.push(
                Diagnostic::error(
                    "invalid-health-check",
                    "health check timeout must be 2s to 60s",
                )
                .at(&h.timeout.loc),
            );
        }
        if secs(&h.start_period) > 300 {
            sink.push(
                Diagnostic::error(
                    "invalid-health-check",
                    "health check start_period must be at most 300s",
                )
                .at(&h.start_period.loc),
            );
        }
    }
    let main = svc.container_name.as_ref().unwrap_or(&svc.name);
    let mut containers: BTreeMap<&str, &Sp<String>> = BTreeMap::new();
    containers.insert(&main.v, main);
    for s in &svc.sidecars {
        if let Some(first) = containers.insert(&s.name.v, &s.name) {
            sink.push(
                Diagnostic::error(
                    "duplicate-name",
                    format!(
                        "container name \"{}\" is used twice in service \"{name}\"",
                        s.name.v
                    ),
                )
                .at(&s.name.loc)
                .related(&first.loc, "first used here"),
            );
        }
        if let Some(p) = &s.port {
            port(p, "sidecar port", sink);
            if svc.port.as_ref().is_some_and(|sp| sp.v == p.v) {
                sink.push(
                    Diagnostic::error(
                        "port-clash",
                        format!(
                            "sidecar \"{}\" uses port {}, which the service already uses",
                            s.name.v, p.v
                        ),
                    )
                    .at(&p.loc),
                );
            }
        }
    }
    container_settings(svc, &containers, sink);
    for c in &svc.smoke {
        if !c.path.v.starts_with('/') {
            sink.push(
                Diagnostic::error(
                    "invalid-path",
                    format!("smoke check path \"{}\" must start with `/`", c.path.v),
                )
                .at(&c.path.loc)
                .help(format!("write \"/{}\"", c.path.v)),
            );
        }
    }
}

/// The container settings of the main container and the sidecars: mounts name a volume of the
/// task, `depends_on` names another container of it, a container's own cpu and memory fit the
/// task's, a health check is well formed.
fn container_settings(svc: &Service, containers: &BTreeMap<&str, &Sp<String>>, sink: &Sink) {
    let volumes: Vec<&str> = svc.volumes.iter().map(|v| v.name.v.as_str()).collect();
    let mut seen_volumes: BTreeMap<&str, &Sp<String>> = BTreeMap::new();
    for v in &svc.volumes {
        if let Some(e) = &v.efs {
            if e.file_system_id.v.is_empty() {
                continue;
            }
            if e.iam && !e.transit_encryption {
                sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!(
                            "volume \"{}\": EFS IAM authorisation needs transit_encryption = true",
                            v.name.v
                        ),
                    )
                    .at(&v.name.loc),
                );
            }
        }
        seen_volumes.insert(&v.name.v, &v.name);
    }
    let main = svc.container();
    let all: Vec<(&str, &crate::env::model::ContainerOpts)> =
        std::iter::once((main, &svc.container))
            .chain(svc.sidecars.iter().map(|s| (s.name.v.as_str(), &s.opts)))
            .collect();
    let mut memory_total = 0;
    for (cname, o) in &all {
        for m in &o.mounts {
            if !m.volume.v.is_empty() && !volumes.contains(&m.volume.v.as_str()) {
                let mut d = Diagnostic::error(
                    "unknown-volume",
                    format!("container \"{cname}\" mounts volume \"{}\", which service \"{}\" does not declare", m.volume.v, svc.name.v),
                )
                .at(&m.volume.loc);
                d = match crate::suggest::did_you_mean(&m.volume.v, volumes.iter().copied()) {
                    Some(s) => d.help(format!("did you mean \"{s}\"?")),
                    None => d.help(format!(
                        "add `volume \"{}\" {{}}` to the service",
                        m.volume.v
                    )),
                };
                sink.push(d);
            }
            if !m.path.v.starts_with('/') {
                sink.push(
                    Diagnostic::error(
                        "invalid-path",
                        format!("mount path \"{}\" must be absolute", m.path.v),
                    )
                    .at(&m.path.loc),
                );
            }
        }
        for (other, _) in &o.depends_on {
            if other.v == *cname || !containers.contains_key(other.v.as_str()) {
                let names = containers.keys().copied().filter(|n| n != cname);
                let mut d = Diagnostic::error(
                    "unknown-container",
                    format!("container \"{cname}\" depends on \"{}\", which is not another container of the task", other.v),
                )
                .at(&other.loc);
                if let Some(s) = crate::suggest::did_you_mean(&other.v, names) {
                    d = d.help(format!("did you mean \"{s}\"?"));
                }
                sink.push(d);
            }
        }
        for p in &o.port_mappings {
            port(&p.container_port, "container_port", sink);
        }
        let (Some(limit), Some(reservation)) = (&o.memory, &o.memory_reservation) else {
            if let Some(m) = o.memory.as_ref().or(o.memory_reservation.as_ref()) {
                memory_total += m.v;
            }
            continue;
        };
        if reservation.v > limit.v {
            sink.push(
                Diagnostic::error(
                    "container-size",
                    format!("container \"{cname}\": memory reservation {} MiB is above its memory limit {} MiB", reservation.v, limit.v),
                )
                .at(&reservation.loc)
                .related(&limit.loc, "the limit"),
            );
        }
        memory_total += limit.v;
    }
    if svc.memory.v > 0 && memory_total > svc.memory.v {
        sink.push(
            Diagnostic::error(
                "container-size",
                format!(
                    "the containers of service \"{}\" ask for {memory_total} MiB, more than the task's memory = {}",
                    svc.name.v, svc.memory.v
                ),
            )
            .at(&svc.memory.loc)
            .help("lower the containers' memory or raise the task's"),
        );
    }
    for s in &svc.sidecars {
        if let Some(h) = &s.health_check {
            if h.command.is_empty() {
                sink.push(
                    Diagnostic::error("invalid-health-check", "health check `command` is empty")
                        .at(&h.loc),
                );
            }
        }
    }
}

fn routes(env: &Environment, sink: &Sink) {
    let mut priorities: BTreeMap<i64, (&str, &Sp<i64>)> = BTreeMap::new();
    let mut patterns: BTreeMap<(String, String), (&str, &Sp<String>)> = BTreeMap::new();
    for svc in &env.services {
        let Some(lb) = &svc.load_balancer else {
            continue;
        };
        // An existing target group's routing lives outside slipway.
        if lb.target_group_arn.is_some() {
            continue;
        }
        if let Some((other, first)) = priorities.insert(lb.priority.v, (&svc.name.v, &lb.priority))
        {
            sink.push(
                Diagnostic::error(
                    "route-clash",
                    format!(
                        "services \"{other}\" and \"{}\" both use listener rule priority {}",
                        svc.name.v, lb.priority.v
                    ),
                )
                .at(&lb.priority.loc)
                .related(&first.loc, format!("\"{other}\" uses it here"))
                .help("give each service's load_balancer a distinct priority"),
            );
        }
        let hosts: Vec<String> = if lb.hosts.is_empty() {
            vec!["*".to_string()]
        } else {
            lb.hosts.iter().map(|h| h.v.to_ascii_lowercase()).collect()
        };
        for host in &hosts {
            for p in &lb.path_patterns {
                let key = (host.clone(), p.v.clone());
                if let Some((other, first)) = patterns.insert(key, (&svc.name.v, p)) {
                    if other != svc.name.v {
                        sink.push(
                            Diagnostic::error(
                                "route-clash",
                                format!("path pattern \"{}\" on host {host} is routed to both \"{other}\" and \"{}\"", p.v, svc.name.v),
                            )
                            .at(&p.loc)
                            .related(&first.loc, format!("\"{other}\" routes it here"))
                            .help("only the rule with the lower priority would ever match: make the patterns or hosts differ"),
                        );
                    }
                }
            }
        }
    }
}

fn github(env: &Environment, gh: &Github, sink: &Sink) {
    let repo = &gh.repository.v;
    let valid_repo = repo.split_once('/').is_some_and(|(o, n)| {
        !o.is_empty()
            && !n.is_empty()
            && !n.contains('/')
            && !repo.contains('*')
            && !repo.contains('?')
    });
    if !valid_repo {
        sink.push(
            Diagnostic::error("oidc-wildcard", format!("GitHub repository \"{repo}\" must name exactly one repository as owner/name"))
                .at(&gh.repository.loc)
                .help("write \"my-org/my-repo\"; wildcards would let other repositories assume these roles"),
        );
    }
    if gh.audience.v != "sts.amazonaws.com" {
        sink.push(
            Diagnostic::error("oidc-audience", format!("audience \"{}\" is not sts.amazonaws.com", gh.audience.v))
                .at(&gh.audience.loc)
                .help("aws-actions/configure-aws-credentials requests the audience sts.amazonaws.com; remove `audience`"),
        );
    }
    let mut names: BTreeMap<&str, &Sp<String>> = BTreeMap::new();
    for role in &gh.roles {
        // With an invalid repository every derived subject would repeat that one error.
        let check_subjects = valid_repo;
        if let Some(first) = names.insert(&role.name, &role.label) {
            sink.push(
                Diagnostic::error(
                    "duplicate-name",
                    format!("IAM role name \"{}\" is used by two roles", role.name),
                )
                .at(&role.label.loc)
                .related(&first.loc, "first used here"),
            );
        }
        for s in role.subjects.iter().filter(|_| check_subjects) {
            if let Some(problem) = subject_problem(&s.claim, repo) {
                sink.push(
                    Diagnostic::error("oidc-wildcard", format!("OIDC subject \"{}\" {problem}", s.claim))
                        .at(&s.loc)
                        .label("too broad")
                        .help(format!("pin the repository: \"repo:{repo}:ref:refs/heads/main\", or use `branches`, `tags`, `environments`")),
                );
            }
        }
        let has = |p: Permission| role.permissions.iter().any(|x| x.v == p);
        if has(Permission::StaticSite)
            && (role.s3_bucket.is_none() || role.cloudfront_distribution_id.is_none())
        {
            sink.push(
                Diagnostic::error("missing-attribute", format!("role \"{}\" has static_site but not both `s3_bucket` and `cloudfront_distribution_id`", role.label.v))
                    .at(&role.label.loc),
            );
        }
        if has(Permission::TerraformApply) && role.terraform_state_bucket.is_none() {
            sink.push(
                Diagnostic::error(
                    "missing-attribute",
                    format!(
                        "role \"{}\" has terraform_apply but no `terraform_state_bucket`",
                        role.label.v
                    ),
                )
                .at(&role.label.loc)
                .help("name the S3 bucket that holds the Terraform state"),
            );
        }
        if has(Permission::EcrPush) && env.repositories.is_empty() {
            sink.push(
                Diagnostic::warning(
                    "nothing-to-grant",
                    format!(
                        "role \"{}\" has ecr_push but the environment declares no repository",
                        role.label.v
                    ),
                )
                .at(&role.label.loc),
            );
        }
    }
}

/// Why a `sub` pattern does not pin the repository, if it does not.
fn subject_problem(claim: &str, repo: &str) -> Option<&'static str> {
    let Some(rest) = claim.strip_prefix("repo:") else {
        return Some("must start with `repo:<owner>/<name>:`");
    };
    let (subject_repo, context) = rest.split_once(':').unwrap_or((rest, ""));
    if subject_repo.contains('*') || subject_repo.contains('?') {
        return Some("uses a wildcard in the repository, so any repository matching it could assume the role");
    }
    if !rest.contains(':') {
        return Some("names no workflow context (branch, tag, environment or pull_request)");
    }
    if !subject_repo.eq_ignore_ascii_case(repo) {
        return Some("names a different repository than `github.repository`");
    }
    if context.is_empty() || context == "*" {
        return Some("allows every branch, tag, environment and pull request of the repository");
    }
    None
}

fn approval(env: &Environment, sink: &Sink) {
    let a = &env.approval;
    let Some(loc) = &a.loc else { return };
    if a.required
        && a.confirmation.is_none()
        && a.actors.is_empty()
        && a.teams.is_empty()
        && !a.pull_request_approved
    {
        sink.push(
            Diagnostic::error(
                "approval-incomplete",
                "approval is required but names no confirmation word, no allowed actors or teams, and no pull request approval",
            )
            .at(loc)
            .help("add `confirmation = \"DEPLOY\"`, `actors = [\"github-login\"]`, `teams = [\"org/team\"]` or `pull_request_approved = true`"),
        );
    }
    if let Some(m) = &a.min_approvals {
        if !a.pull_request_approved {
            sink.push(
                Diagnostic::error(
                    "approval-incomplete",
                    "min_approvals counts pull request approvals, but pull_request_approved is not set",
                )
                .at(&m.loc)
                .help("add `pull_request_approved = true`, or remove min_approvals"),
            );
        }
    }
    const EVENTS: &[&str] = &[
        "workflow_dispatch",
        "push",
        "release",
        "pull_request",
        "schedule",
        "workflow_call",
        "local",
    ];
    for e in &a.events {
        if !EVENTS.contains(&e.v.as_str()) {
            sink.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("unknown trigger event \"{}\"", e.v),
                )
                .at(&e.loc)
                .help(format!("events: {}", EVENTS.join(", "))),
            );
        }
    }
    for t in &a.teams {
        if !t.v.contains('/') {
            sink.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("team \"{}\" must be written org/team-slug", t.v),
                )
                .at(&t.loc),
            );
        }
    }
}

/// `deploy.lock_bucket` must be a name S3 accepts (a literal; a `tf.` reference is checked once
/// Terraform's outputs fill it).
fn lock_bucket(env: &Environment, sink: &Sink) {
    let Some(b) = &env.deploy.lock_bucket else {
        return;
    };
    if b.v.contains("${") {
        return;
    }
    if let Some(why) = crate::naming::bucket_name_problem(&b.v) {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!("lock_bucket \"{}\" is not an S3 bucket name: {why}", b.v),
            )
            .at(&b.loc)
            .help("bucket names are 3-63 characters of lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit"),
        );
    }
}

/// Each of `patterns` must be a glob (`*` within a directory, `**` across them).
fn globs<'a>(patterns: impl Iterator<Item = &'a Sp<String>>, example: &str, sink: &Sink) {
    for g in patterns {
        if let Err(e) = crate::migrations::pending::glob_set(std::slice::from_ref(&g.v)) {
            sink.push(
                Diagnostic::error("invalid-value", e)
                    .at(&g.loc)
                    .help(format!("e.g. \"{example}\"")),
            );
        }
    }
}

/// A site's bucket must be a bucket name, its globs globs, and its smoke checks need a URL.
fn site_checks(env: &Environment, site: &Site, sink: &Sink) {
    let b = &site.bucket;
    if !b.v.contains("${") {
        if let Some(why) = crate::naming::bucket_name_problem(&b.v) {
            sink.push(
                Diagnostic::error(
                    "invalid-value",
                    format!(
                        "site \"{}\": bucket \"{}\" is not an S3 bucket name: {why}",
                        site.name.v, b.v
                    ),
                )
                .at(&b.loc),
            );
        }
    }
    if site.dir.v.starts_with('/') || site.dir.v.split('/').any(|c| c == "..") {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!(
                    "site \"{}\": dir \"{}\" must be a path inside the repository",
                    site.name.v, site.dir.v
                ),
            )
            .at(&site.dir.loc)
            .help("e.g. dir = \"frontend/dist\" (relative to the repository root)"),
        );
    }
    globs(site.cache_control.iter().map(|(g, _)| g), "assets/**", sink);
    globs(site.paths.iter(), "frontend/**", sink);
    // A site the root creates gets its URL with its outputs; until they are known it has none.
    let awaits_outputs = site.terraform.is_some() && site.bucket.v.contains("${");
    if !site.smoke.is_empty()
        && site.url.is_none()
        && env.smoke_base_url.is_none()
        && !awaits_outputs
    {
        sink.push(
            Diagnostic::error(
                "missing-attribute",
                format!("site \"{}\" has smoke checks but no `url` (and the environment no smoke_base_url)", site.name.v),
            )
            .at(&site.loc)
            .help("url = \"https://${tf.frontend_domain}\""),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_table_matches_aws() {
        assert_eq!(fargate_memory(256), Some(vec![512, 1024, 2048]));
        assert_eq!(fargate_memory(512), Some(vec![1024, 2048, 3072, 4096]));
        let m = fargate_memory(4096).unwrap();
        assert_eq!((m[0], *m.last().unwrap(), m.len()), (8192, 30720, 23));
        let m = fargate_memory(8192).unwrap();
        assert_eq!(
            (m[0], *m.last().unwrap(), m[1] - m[0]),
            (16384, 61440, 4096)
        );
        let m = fargate_memory(16384).unwrap();
        assert_eq!(
            (m[0], *m.last().unwrap(), m[1] - m[0]),
            (32768, 122880, 8192)
        );
        assert_eq!(fargate_memory(300), None);
    }

    #[test]
    fn subjects_must_pin_the_repository() {
        let repo = "acme/app";
        assert!(subject_problem("*", repo).is_some());
        assert!(subject_problem("repo:*", repo).is_some());
        assert!(subject_problem("repo:acme/*", repo).is_some());
        assert!(subject_problem("repo:acme/app:*", repo).is_some());
        assert!(subject_problem("repo:other/app:ref:refs/heads/main", repo).is_some());
        assert!(subject_problem("repo:acme/app:ref:refs/heads/main", repo).is_none());
        assert!(subject_problem("repo:acme/app:ref:refs/heads/release/*", repo).is_none());
        assert!(subject_problem("repo:acme/app:environment:production", repo).is_none());
    }
}
