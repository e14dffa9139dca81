//! The environment file schema: decodes a merged [`Body`] into an [`Environment`].
//!
//! Every attribute and block slipway understands is read here, with its type and default; the
//! reference in `docs/environments.md` follows this file. Checks that need more than one field
//! (Fargate sizes, route clashes, OIDC subjects) live in `validate.rs`.

use std::time::Duration;

use crate::diag::{Diagnostic, FileId, Loc, Sink};

use super::decode::{Reader, Sp};
use super::model::*;
use super::tree::{Block, Body};

pub fn decode(name: &str, file: FileId, body: &Body, sink: &Sink) -> Option<Environment> {
    let file_loc = Loc::new(file, 0..0);
    let r = Reader::new(
        body,
        file_loc.clone(),
        format!("environment \"{name}\""),
        sink,
    );

    if let Some(n) = r.string("name") {
        if n.v != name {
            r.invalid(
                &n.loc,
                format!("`name` is \"{}\" but the file is named for \"{name}\"", n.v),
                format!("rename the file to {}.hcl or set name = \"{name}\"", n.v),
            );
        }
    }
    // Present but mistyped: reported already; an unknown placeholder lets the other checks run.
    let identity = |key: &'static str, example: &str| {
        r.req_string(key, example).or_else(|| {
            r.key_loc(key)
                .map(|loc| Sp::new(format!("${{invalid {key}}}"), loc.clone()))
        })
    };
    let account_id = identity("account_id", "\"123456789012\"");
    let region = identity("region", "\"eu-west-1\"");
    let cluster = identity("cluster", &format!("\"{name}\""));
    let tags = r.string_map("tags");
    let log_retention_days = r
        .int("log_retention_days", 1, 3653)
        .unwrap_or_else(|| Sp::new(30, file_loc.clone()));
    if !RETENTION_DAYS.contains(&log_retention_days.v) {
        r.invalid(
            &log_retention_days.loc,
            format!(
                "CloudWatch Logs cannot keep logs for {} days",
                log_retention_days.v
            ),
            format!(
                "use one of {}",
                RETENTION_DAYS
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let network = Network {
        subnets: r.strings("subnets"),
        assign_public_ip: r.bool("assign_public_ip").is_some_and(|b| b.v),
    };
    let smoke_base_url = r.string("smoke_base_url");

    let github = r.block("github").map(|b| github(b, cluster.as_ref(), sink));
    let repositories = r
        .labelled_with("repository", "repository", "/.")
        .into_iter()
        .map(|(label, b)| repository(label, b, sink))
        .collect();
    let cluster_name = cluster.as_ref().map_or(name, |c| c.v.as_str());
    let services = r
        .labelled("service", "service")
        .into_iter()
        .filter_map(|(label, b)| service(label, b, cluster_name, sink))
        .collect();
    let alb = r.block("alb").map(|b| alb(b, sink));
    let approval = r
        .block("approval")
        .map(|b| approval(b, sink))
        .unwrap_or_default();
    let notifications = r.block("notifications").map(|b| notifications(b, sink));
    let deploy = deploy_settings(r.block("deploy"), sink);
    let migrations = migration_policy(r.block("migration"), &file_loc, sink);
    let sites = r
        .labelled("site", "site")
        .into_iter()
        .filter_map(|(label, b)| site(label, b, sink))
        .collect();
    r.finish();

    // Decode problems are already reported; carry on with what decoded so the semantic checks
    // report theirs in the same run. Only a missing identity (account, region, cluster) stops.
    Some(Environment {
        name: name.to_string(),
        file,
        loc: file_loc,
        account_id: account_id?,
        region: region?,
        cluster: cluster?,
        tags,
        log_retention_days,
        network,
        smoke_base_url,
        github,
        repositories,
        services,
        alb,
        approval,
        notifications,
        deploy,
        migrations,
        sites,
    })
}

/// A severity attribute (`"critical"`, `"high"`, `"medium"`, `"low"`), reported where it is
/// when it is not one.
fn severity(r: &Reader, key: &'static str) -> Option<Sp<crate::migrations::Severity>> {
    let s = r.string(key)?;
    match crate::migrations::Severity::parse(&s.v) {
        Some(v) => Some(Sp::new(v, s.loc)),
        None => {
            r.invalid(
                &s.loc,
                format!("`{key}` is \"{}\", which is not a severity", s.v),
                "use \"critical\", \"high\", \"medium\" or \"low\"",
            );
            None
        }
    }
}

/// The `smoke "<name>"` blocks of a service or a site.
fn smoke_checks(r: &Reader, sink: &Sink) -> Vec<SmokeCheck> {
    r.labelled("smoke", "smoke check")
        .into_iter()
        .map(|(cname, cb)| {
            let cr = Reader::for_block(cb, sink);
            let expect_unauthorized = cr.bool("expect_unauthorized").is_some_and(|v| v.v);
            let default_status = if expect_unauthorized { 401 } else { 200 };
            let c = SmokeCheck {
                path: cr
                    .req_string("path", "\"/health\"")
                    .unwrap_or_else(|| Sp::new("/".to_string(), cb.ident_loc.clone())),
                expect_status: cr
                    .ints("expect_status", 100, 599)
                    .unwrap_or_else(|| vec![Sp::new(default_status, cb.ident_loc.clone())]),
                body_contains: cr.string("body_contains"),
                expect_unauthorized,
                retries: cr.int("retries", 0, 100).map_or(5, |v| v.v),
                backoff: cr
                    .duration("backoff")
                    .map_or(Duration::from_secs(2), |d| d.v),
                name: cname,
            };
            cr.finish();
            c
        })
        .collect()
}

fn site(label: Sp<String>, b: &Block, sink: &Sink) -> Option<Site> {
    let r = Reader::for_block(b, sink);
    let bucket = r.string("bucket");
    let dir = r.req_string("dir", "\"frontend/dist\"");
    let distribution_id = r.string("distribution_id");
    let aliases = r.strings("aliases");
    let certificate_arn = r.string("certificate_arn");
    let spa = r.bool("spa");
    let terraform = if let Some(bucket) = &bucket {
        // A site of its own bucket: what Terraform would create it with has no meaning.
        for key in ["aliases", "certificate_arn", "spa"] {
            if let Some(loc) = r.key_loc(key) {
                r.invalid(
                    loc,
                    format!("`{key}` is for a site the terraform/ root creates, but site \"{}\" names its bucket \"{}\"", label.v, bucket.v),
                    "remove `bucket` and `distribution_id` to let the root create the site, or remove this attribute",
                );
            }
        }
        None
    } else {
        if let Some(d) = &distribution_id {
            r.invalid(
                &d.loc,
                format!("site \"{}\" has no `bucket`, so the terraform/ root creates it and its distribution: `distribution_id` comes from the `sites` output", label.v),
                "set both `bucket` and `distribution_id` (a site you manage), or neither",
            );
        }
        if let (Some(a), None) = (aliases.as_ref().and_then(|a| a.first()), &certificate_arn) {
            r.invalid(
                &a.loc,
                format!("site \"{}\": aliases need a `certificate_arn` (CloudFront serves a custom domain only with its certificate)", label.v),
                "certificate_arn = \"arn:aws:acm:us-east-1:111111111111:certificate/...\"",
            );
        }
        if let Some(c) = &certificate_arn {
            if !(c.v.contains("${")
                || c.v.starts_with("arn:aws") && c.v.contains(":acm:us-east-1:"))
            {
                r.invalid(
                    &c.loc,
                    format!("site \"{}\": certificate_arn \"{}\" is not an ACM certificate in us-east-1", label.v, c.v),
                    "CloudFront takes certificates from ACM in us-east-1 only",
                );
            }
        }
        Some(ManagedSite {
            aliases: aliases.unwrap_or_default(),
            certificate_arn,
            spa: spa.is_some_and(|v| v.v),
        })
    };
    // Filled from Terraform's `sites` output once the environment is loaded (see
    // `fill_managed_sites`); until then the reference it stands for.
    let output = |key: &str| {
        Sp::new(
            format!("${{tf.{SITES_OUTPUT}.{}.{key}}}", label.v),
            b.ident_loc.clone(),
        )
    };
    let site = Site {
        loc: b.ident_loc.clone(),
        distribution_id: if terraform.is_some() {
            Some(output("distribution_id"))
        } else {
            distribution_id
        },
        paths: r.strings("paths").unwrap_or_default(),
        cache_control: r.string_map("cache_control"),
        url: r.string("url"),
        invalidation_threshold: r.int("invalidation_threshold", 1, 3000).map_or(15, |v| v.v),
        timeout: r
            .duration("timeout")
            .map_or(Duration::from_secs(600), |d| d.v),
        smoke: smoke_checks(&r, sink),
        bucket: bucket.unwrap_or_else(|| output("bucket")),
        terraform,
        name: label,
        dir: dir?,
    };
    r.finish();
    Some(site)
}

/// The Terraform output that names what the root created for each site without a bucket.
pub const SITES_OUTPUT: &str = "sites";

/// Fills in what Terraform's root created for the sites that name no bucket: bucket,
/// distribution and (without `url`) the smoke checks' base URL, from the `sites` output. Outputs
/// that do not name the site are an error at the site; without outputs they stay the references
/// they stand for, unless `scope` must resolve every reference.
pub fn fill_managed_sites(env: &mut Environment, scope: &super::Scope, sink: &Sink) {
    for site in env.sites.iter_mut().filter(|s| s.terraform.is_some()) {
        let Some(tf) = &scope.tf else {
            if !scope.allow_unknown {
                sink.push(
                    Diagnostic::error(
                        "unresolved-reference",
                        format!("site \"{}\" has no `bucket`: its bucket and distribution are Terraform's `sites` output, which is not known", site.name.v),
                    )
                    .at(&site.loc)
                    .help("pass --tf-outputs FILE, or run where `terraform output -json` has state"),
                );
            }
            continue;
        };
        let entry = tf.get(SITES_OUTPUT).and_then(|s| s.get(&site.name.v));
        let field = |key: &str| {
            entry
                .and_then(|e| e.get(key))
                .and_then(|v| v.as_str())
                .map(|v| Sp::new(v.to_string(), site.loc.clone()))
        };
        let (Some(bucket), Some(distribution)) = (field("bucket"), field("distribution_id")) else {
            // Commands that read no outputs (status, rollback: an empty set) leave it unknown.
            if scope.allow_unknown && tf.is_empty() {
                continue;
            }
            let have: Vec<String> = tf
                .get(SITES_OUTPUT)
                .and_then(|s| s.as_object())
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            sink.push(
                Diagnostic::error(
                    "missing-output",
                    format!("site \"{}\" has no `bucket`, so the terraform/ root creates it, but Terraform's `sites` output has no \"{}\" with a bucket and distribution_id", site.name.v, site.name.v),
                )
                .at(&site.loc)
                .label("no such site in the outputs")
                .help(format!(
                    "apply the Terraform root with this environment's tfvars first (sites in the output: {}), or set `bucket` and `distribution_id`",
                    if have.is_empty() { "(none)".to_string() } else { have.join(", ") }
                )),
            );
            continue;
        };
        site.bucket = bucket;
        site.distribution_id = Some(distribution);
        if site.url.is_none() {
            let alias = site
                .terraform
                .as_ref()
                .and_then(|t| t.aliases.first())
                .map(|a| a.v.clone());
            if let Some(host) = alias.or_else(|| field("domain_name").map(|d| d.v)) {
                site.url = Some(Sp::new(format!("https://{host}"), site.loc.clone()));
            }
        }
    }
}

/// The strategy's own settings belong to it alone, and blue/green needs its bake time.
fn strategy_fields(r: &Reader, d: &Deployment) {
    let st = d.strategy.v;
    let owned: [(&str, bool, Option<&Loc>); 5] = [
        (
            "bake_time",
            st.shifts_traffic(),
            d.bake_time.as_ref().map(|v| &v.loc),
        ),
        (
            "canary_percent",
            st == Strategy::Canary,
            d.canary_percent.as_ref().map(|v| &v.loc),
        ),
        (
            "canary_bake_time",
            st == Strategy::Canary,
            d.canary_bake_time.as_ref().map(|v| &v.loc),
        ),
        (
            "linear_step_percent",
            st == Strategy::Linear,
            d.linear_step_percent.as_ref().map(|v| &v.loc),
        ),
        (
            "linear_step_bake_time",
            st == Strategy::Linear,
            d.linear_step_bake_time.as_ref().map(|v| &v.loc),
        ),
    ];
    for (key, allowed, loc) in owned {
        if let (false, Some(loc)) = (allowed, loc) {
            let belongs = match key {
                "bake_time" => "blue_green, canary and linear",
                k if k.starts_with("canary") => "canary",
                _ => "linear",
            };
            r.invalid(
                loc,
                format!("`{key}` has no meaning with strategy \"{}\"", st.name()),
                format!("it belongs to {belongs}: set `strategy`, or remove it"),
            );
        }
    }
    if st.shifts_traffic() && d.bake_time.is_none() {
        r.invalid(
            &d.strategy.loc,
            format!("strategy \"{}\" needs `bake_time`: how long both revisions keep running after production traffic shifted (the window to roll back in)", st.name()),
            "bake_time = \"10m\"",
        );
    }
    for a in &d.alarms {
        if a.v.is_empty() || a.v.len() > 255 {
            r.invalid(
                &a.loc,
                "an alarm name is 1 to 255 characters",
                "alarms = [\"api-5xx\"]",
            );
        }
    }
}

fn migration_policy(block: Option<&Block>, file_loc: &Loc, sink: &Sink) -> MigrationPolicy {
    let default = || MigrationPolicy {
        block_on: Sp::new(crate::migrations::Severity::High, file_loc.clone()),
        override_label: Sp::new(DEFAULT_OVERRIDE_LABEL.to_string(), file_loc.clone()),
        rules: Vec::new(),
    };
    let Some(b) = block else {
        return default();
    };
    let r = Reader::for_block(b, sink);
    let mut p = default();
    if let Some(s) = severity(&r, "block_on") {
        p.block_on = s;
    }
    if let Some(l) = r.string("override_label") {
        p.override_label = l;
    }
    for (rule, value) in r.string_map("rules") {
        if !crate::migrations::known_rule(&rule.v) {
            r.invalid(
                &rule.loc,
                format!("`{}` is not a migration rule slipway knows", rule.v),
                "use a squawk rule name (https://squawkhq.com/docs/rules) or one of ban-truncate, unanalysed-do-block, syntax-error",
            );
            continue;
        }
        let sev = if value.v == "off" {
            None
        } else if let Some(s) = crate::migrations::Severity::parse(&value.v) {
            Some(s)
        } else {
            r.invalid(
                &value.loc,
                format!("rule `{}` is set to \"{}\"", rule.v, value.v),
                "use \"critical\", \"high\", \"medium\", \"low\" or \"off\"",
            );
            continue;
        };
        p.rules.push((rule, Sp::new(sev, value.loc)));
    }
    r.finish();
    p
}

fn deploy_settings(block: Option<&Block>, sink: &Sink) -> DeploySettings {
    let Some(b) = block else {
        return DeploySettings {
            parallelism: 4,
            block_on_severity: None,
            lock_bucket: None,
            tag_prefix: "v".to_string(),
        };
    };
    let r = Reader::for_block(b, sink);
    let parallelism = r.int("parallelism", 1, 50).map_or(4, |p| p.v);
    let block_on_severity = r.string("block_on_severity");
    let lock_bucket = r.string("lock_bucket");
    let tag_prefix = r
        .string("tag_prefix")
        .map_or_else(|| "v".to_string(), |p| p.v);
    if let Some(s) = &block_on_severity {
        if !SEVERITIES.contains(&s.v.as_str()) {
            r.invalid(
                &s.loc,
                format!("unknown severity \"{}\"", s.v),
                format!("use one of {}", SEVERITIES.join(", ")),
            );
        }
    }
    r.finish();
    DeploySettings {
        parallelism,
        block_on_severity,
        lock_bucket,
        tag_prefix,
    }
}

/// Retention periods CloudWatch Logs accepts.
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub const SEVERITIES: &[&str] = &["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];

fn github(b: &Block, cluster: Option<&Sp<String>>, sink: &Sink) -> Github {
    let r = Reader::for_block(b, sink);
    let repository = r
        .req_string("repository", "\"org/repo\"")
        .unwrap_or_else(|| Sp::new(String::new(), b.ident_loc.clone()));
    let audience = r
        .string("audience")
        .unwrap_or_else(|| Sp::new("sts.amazonaws.com".to_string(), b.ident_loc.clone()));
    let roles = r
        .labelled("role", "role")
        .into_iter()
        .map(|(label, rb)| oidc_role(label, rb, &repository, cluster, sink))
        .collect();
    r.finish();
    Github {
        loc: b.ident_loc.clone(),
        repository,
        audience,
        roles,
    }
}

fn oidc_role(
    label: Sp<String>,
    b: &Block,
    repository: &Sp<String>,
    cluster: Option<&Sp<String>>,
    sink: &Sink,
) -> OidcRole {
    let r = Reader::for_block(b, sink);
    let name = r.string("name").map_or_else(
        || match cluster {
            Some(c) => format!("{}-github-{}", c.v, label.v),
            None => format!("github-{}", label.v),
        },
        |n| n.v,
    );
    let repo = &repository.v;
    let mut subjects = Vec::new();
    let mut add = |key: &'static str, f: &dyn Fn(&str) -> String| {
        for s in r.strings(key).unwrap_or_default() {
            subjects.push(Subject {
                claim: f(&s.v),
                loc: s.loc,
            });
        }
    };
    add("branches", &|v| format!("repo:{repo}:ref:refs/heads/{v}"));
    add("tags", &|v| format!("repo:{repo}:ref:refs/tags/{v}"));
    add("environments", &|v| format!("repo:{repo}:environment:{v}"));
    add("subjects", &|v| v.to_string());
    if let Some(pr) = r.bool("pull_requests") {
        if pr.v {
            subjects.push(Subject {
                claim: format!("repo:{repo}:pull_request"),
                loc: pr.loc,
            });
        }
    }
    if subjects.is_empty() {
        sink.push(
            Diagnostic::error(
                "missing-attribute",
                format!("role \"{}\" trusts no GitHub workflow", label.v),
            )
            .at(&label.loc)
            .help("add `branches = [\"main\"]`, `tags`, `environments`, `pull_requests = true` or `subjects`"),
        );
    }
    let mut permissions = Vec::new();
    match r.strings("permissions") {
        Some(list) => {
            for p in list {
                match Permission::ALL.iter().find(|(n, _)| *n == p.v) {
                    Some((_, perm)) => permissions.push(Sp::new(*perm, p.loc)),
                    None => {
                        let names = Permission::ALL.iter().map(|(n, _)| *n);
                        let help = match crate::suggest::did_you_mean(&p.v, names.clone()) {
                            Some(s) => format!("did you mean \"{s}\"?"),
                            None => {
                                format!("permission sets: {}", names.collect::<Vec<_>>().join(", "))
                            }
                        };
                        r.invalid(&p.loc, format!("unknown permission set \"{}\"", p.v), help);
                    }
                }
            }
        }
        None if !r.has("permissions") => {
            r.req_string("permissions", "[\"ecr_push\", \"ecs_deploy\"]");
        }
        None => {}
    }
    let role = OidcRole {
        name,
        subjects,
        s3_bucket: r.string("s3_bucket"),
        cloudfront_distribution_id: r.string("cloudfront_distribution_id"),
        terraform_state_bucket: r.string("terraform_state_bucket"),
        terraform_lock_table: r.string("terraform_lock_table"),
        managed_policy_arns: r.strings("managed_policy_arns").unwrap_or_default(),
        permissions,
        label,
    };
    r.finish();
    role
}

fn repository(name: Sp<String>, b: &Block, sink: &Sink) -> Repository {
    let r = Reader::for_block(b, sink);
    let scan_on_push = r.bool("scan_on_push").is_none_or(|v| v.v);
    let tag_mutability = r
        .string("tag_mutability")
        .unwrap_or_else(|| Sp::new("MUTABLE".to_string(), b.ident_loc.clone()));
    if !["MUTABLE", "IMMUTABLE"].contains(&tag_mutability.v.as_str()) {
        r.invalid(
            &tag_mutability.loc,
            format!(
                "tag_mutability must be MUTABLE or IMMUTABLE, not \"{}\"",
                tag_mutability.v
            ),
            "use \"MUTABLE\" or \"IMMUTABLE\"",
        );
    }
    let lifecycle = match r.block("lifecycle") {
        Some(lb) => {
            let lr = Reader::for_block(lb, sink);
            let l = Lifecycle {
                keep_tagged: lr.int("keep_tagged", 1, 10_000),
                tag_prefixes: lr.strings("tag_prefixes").unwrap_or_default(),
                expire_untagged_days: lr.int("expire_untagged_days", 1, 3650),
            };
            lr.finish();
            l
        }
        None => Lifecycle::default(),
    };
    r.finish();
    Repository {
        name,
        scan_on_push,
        tag_mutability,
        lifecycle,
    }
}

fn service(name: Sp<String>, b: &Block, cluster: &str, sink: &Sink) -> Option<Service> {
    let r = Reader::for_block(b, sink);
    if r.bool("enabled").is_some_and(|e| !e.v) {
        // Disabled in this environment: still read the rest so typos are reported.
        let _ = read_service(&r, name, b, cluster, sink);
        r.finish();
        return None;
    }
    let s = read_service(&r, name, b, cluster, sink);
    r.finish();
    s
}

fn read_service(
    r: &Reader,
    name: Sp<String>,
    b: &Block,
    cluster: &str,
    sink: &Sink,
) -> Option<Service> {
    let here = b.ident_loc.clone();
    let repository = r.string("repository");
    let image = r.string("image");
    if repository.is_none() && image.is_none() && !r.has("repository") && !r.has("image") {
        sink.push(
            Diagnostic::error(
                "missing-attribute",
                format!("service \"{}\" has neither `repository` nor `image`", name.v),
            )
            .at(&name.loc)
            .help("add `repository = \"<ecr repository name>\"` (image tag comes from --image-tag) or `image = \"<full image reference>\"`"),
        );
    }
    let cpu = r.req_int("cpu", 1, 1 << 20, "512");
    let memory = r.req_int("memory", 1, 1 << 20, "1024");
    let desired_count = r
        .int("desired_count", 0, 10_000)
        .unwrap_or_else(|| Sp::new(1, here.clone()));
    let architecture = r
        .string("architecture")
        .unwrap_or_else(|| Sp::new("X86_64".to_string(), here.clone()));
    if !["X86_64", "ARM64"].contains(&architecture.v.as_str()) {
        r.invalid(
            &architecture.loc,
            format!(
                "architecture must be X86_64 or ARM64, not \"{}\"",
                architecture.v
            ),
            "use \"X86_64\" or \"ARM64\"",
        );
    }
    let port = r.int("port", i64::MIN, i64::MAX);
    let health_check = read_health_check(r, sink);
    let load_balancer = r.block("load_balancer").map(|lb| {
        let lr = Reader::for_block(lb, sink);
        let target_group_arn = lr.string("target_group_arn");
        let priority = if target_group_arn.is_some() {
            lr.int("priority", i64::MIN, i64::MAX)
        } else {
            lr.req_int("priority", i64::MIN, i64::MAX, "100")
        };
        let l = LoadBalancer {
            loc: lb.ident_loc.clone(),
            container_port: lr.int("container_port", i64::MIN, i64::MAX),
            path_patterns: lr.strings("path_patterns").unwrap_or_default(),
            hosts: lr.strings("hosts").unwrap_or_default(),
            priority: priority.unwrap_or_else(|| Sp::new(1, lb.ident_loc.clone())),
            health_check_path: lr
                .string("health_check_path")
                .unwrap_or_else(|| Sp::new("/".to_string(), lb.ident_loc.clone())),
            health_check_matcher: lr
                .string("health_check_matcher")
                .map_or_else(|| "200-399".to_string(), |m| m.v),
            grace_period: lr
                .duration("health_check_grace_period")
                .map_or(Duration::from_secs(60), |d| d.v),
            target_group_arn,
        };
        if l.target_group_arn.is_none() && l.path_patterns.is_empty() && l.hosts.is_empty() {
            sink.push(
                Diagnostic::error(
                    "missing-attribute",
                    "load_balancer needs `path_patterns` or `hosts` to route traffic",
                )
                .at(&lb.ident_loc)
                .help("add `path_patterns = [\"/*\"]`"),
            );
        }
        lr.finish();
        l
    });
    let autoscaling = r.block("autoscaling").map(|ab| {
        let ar = Reader::for_block(ab, sink);
        let a = Autoscaling {
            loc: ab.ident_loc.clone(),
            min: ar
                .req_int("min", 0, 10_000, "1")
                .unwrap_or_else(|| Sp::new(1, ab.ident_loc.clone())),
            max: ar
                .req_int("max", 1, 10_000, "4")
                .unwrap_or_else(|| Sp::new(1, ab.ident_loc.clone())),
            cpu_target: ar
                .int("cpu_target", 1, 100)
                .unwrap_or_else(|| Sp::new(70, ab.ident_loc.clone())),
        };
        ar.finish();
        a
    });
    let deployment = match r.block("deployment") {
        Some(db) => {
            let dr = Reader::for_block(db, sink);
            let strategy = dr
                .string("strategy")
                .and_then(|st| match Strategy::parse(&st.v) {
                    Some(x) => Some(Sp::new(x, st.loc)),
                    None => {
                        let hint =
                            crate::suggest::did_you_mean(&st.v, Strategy::NAMES.iter().copied())
                                .map_or_else(String::new, |m| format!("did you mean \"{m}\"? "));
                        dr.invalid(
                            &st.loc,
                            format!("\"{}\" is not a deployment strategy", st.v),
                            format!("{hint}use one of: {}", Strategy::NAMES.join(", ")),
                        );
                        None
                    }
                });
            let strategy =
                strategy.unwrap_or_else(|| Sp::new(Strategy::Rolling, db.ident_loc.clone()));
            let d = Deployment {
                minimum_healthy_percent: dr
                    .int("minimum_healthy_percent", 0, 100)
                    .unwrap_or_else(|| Sp::new(100, db.ident_loc.clone())),
                maximum_percent: dr
                    .int("maximum_percent", 100, 200)
                    .unwrap_or_else(|| Sp::new(200, db.ident_loc.clone())),
                circuit_breaker: dr.bool("circuit_breaker").is_none_or(|v| v.v),
                rollback: dr.bool("rollback").is_none_or(|v| v.v),
                timeout: Duration::from_secs(600),
                bake_time: dr.minutes("bake_time", 1440),
                canary_percent: dr.tenths("canary_percent", 1, 1000),
                canary_bake_time: dr.minutes("canary_bake_time", 1440),
                linear_step_percent: dr.tenths("linear_step_percent", 30, 1000),
                linear_step_bake_time: dr.minutes("linear_step_bake_time", 1440),
                alarms: dr.strings("alarms").unwrap_or_default(),
                alarm_rollback: dr.bool("alarm_rollback").is_none_or(|v| v.v),
                strategy,
            };
            strategy_fields(&dr, &d);
            let mut d = d;
            let baking = Duration::from_secs(60 * d.baking_minutes() as u64);
            match dr.duration("timeout") {
                Some(t) if t.v < baking => dr.invalid(
                    &t.loc,
                    format!(
                        "`timeout` is {}s, shorter than the {}s the strategy's bake times take",
                        t.v.as_secs(),
                        baking.as_secs()
                    ),
                    "leave it out (10m more than the bake times) or raise it",
                ),
                Some(t) => d.timeout = t.v,
                // The bake times, and as long again as a rolling update gets.
                None => d.timeout += baking,
            }
            dr.finish();
            d
        }
        None => Deployment {
            minimum_healthy_percent: Sp::new(100, here.clone()),
            maximum_percent: Sp::new(200, here.clone()),
            circuit_breaker: true,
            rollback: true,
            timeout: Duration::from_secs(600),
            strategy: Sp::new(Strategy::Rolling, here.clone()),
            bake_time: None,
            canary_percent: None,
            canary_bake_time: None,
            linear_step_percent: None,
            linear_step_bake_time: None,
            alarms: Vec::new(),
            alarm_rollback: true,
        },
    };
    let sidecars = r
        .labelled("sidecar", "sidecar")
        .into_iter()
        .map(|(sname, sb)| {
            let sr = Reader::for_block(sb, sink);
            let s = Sidecar {
                image: sr
                    .req_string("image", "\"public.ecr.aws/...:tag\"")
                    .unwrap_or_else(|| Sp::new(String::new(), sb.ident_loc.clone())),
                essential: sr.bool("essential").is_some_and(|e| e.v),
                port: sr.int("port", i64::MIN, i64::MAX),
                command: sr.strings("command"),
                entrypoint: sr.strings("entrypoint"),
                environment: sr.string_map("environment"),
                secrets: sr.string_map("secrets"),
                health_check: read_health_check(&sr, sink),
                opts: container_opts(&sr, sink, ["cpu", "memory_limit", "memory"]),
                name: sname,
            };
            sr.finish();
            s
        })
        .collect();
    let smoke = smoke_checks(r, sink);
    let migration = r.block("migration").map(|mb| {
        let mr = Reader::for_block(mb, sink);
        let sql = mr.strings("sql").unwrap_or_default();
        let m = Migration {
            loc: mb.ident_loc.clone(),
            command: mr.strings("command").unwrap_or_else(|| {
                // `sql` alone: the files are linted, the migration runs elsewhere.
                if !mr.has("command") && !mr.has("sql") {
                    mr.req_string("command", "[\"alembic\", \"upgrade\", \"head\"]");
                }
                Vec::new()
            }),
            timeout: mr
                .duration("timeout")
                .map_or(Duration::from_secs(600), |d| d.v),
            block_on: severity(&mr, "block_on"),
            sql,
        };
        mr.finish();
        m
    });
    let family = r
        .string("family")
        .map_or_else(|| format!("{cluster}-{}", name.v), |f| f.v);
    let image_tag = r.string("image_tag");
    let command = r.strings("command");
    let entrypoint = r.strings("entrypoint");
    let environment = r.string_map("environment");
    let secrets = r.string_map("secrets");
    let paths = r.strings("paths").unwrap_or_default();
    let execution_role_arn = role_arn(r, "execution_role_arn");
    let task_role_arn = role_arn(r, "task_role_arn");
    let security_groups = r.strings("security_groups");
    let subnets = r.strings("subnets");
    let assign_public_ip = r.bool("assign_public_ip");
    let enable_execute_command = r.bool("enable_execute_command").is_some_and(|v| v.v);
    let service_name = r.string("service_name");
    let container_name = r.string("container_name");
    let container = container_opts(
        r,
        sink,
        [
            "container_cpu",
            "container_memory",
            "container_memory_reservation",
        ],
    );
    let volumes = r
        .labelled("volume", "volume")
        .into_iter()
        .map(|(vname, vb)| {
            let vr = Reader::for_block(vb, sink);
            let efs = vr.block("efs").map(|eb| {
                let er = Reader::for_block(eb, sink);
                let e = Efs {
                    file_system_id: er
                        .req_string("file_system_id", "\"fs-0123456789abcdef0\"")
                        .unwrap_or_else(|| Sp::new(String::new(), eb.ident_loc.clone())),
                    root_directory: er.string("root_directory"),
                    transit_encryption: er.bool("transit_encryption").is_some_and(|b| b.v),
                    transit_encryption_port: er.int("transit_encryption_port", 1, 65535),
                    access_point_id: er.string("access_point_id"),
                    iam: er.bool("iam").is_some_and(|b| b.v),
                };
                er.finish();
                e
            });
            vr.finish();
            Volume { name: vname, efs }
        })
        .collect();
    let ephemeral_storage = r.int("ephemeral_storage", 21, 200);
    let tags = r.string_map("tags");
    let platform_version = r.string("platform_version");
    let propagate_tags = r.string("propagate_tags");
    let ecs_managed_tags = r.bool("ecs_managed_tags").is_none_or(|b| b.v);
    if let Some(p) = &propagate_tags {
        if !["SERVICE", "TASK_DEFINITION", "NONE"].contains(&p.v.as_str()) {
            r.invalid(
                &p.loc,
                format!(
                    "propagate_tags must be SERVICE, TASK_DEFINITION or NONE, not \"{}\"",
                    p.v
                ),
                "use \"SERVICE\"",
            );
        }
    }
    let capacity_providers = r
        .blocks("capacity_provider")
        .into_iter()
        .map(|cb| {
            let cr = Reader::for_block(cb, sink);
            let c = CapacityProvider {
                name: cr
                    .req_string("name", "\"FARGATE_SPOT\"")
                    .unwrap_or_else(|| Sp::new(String::new(), cb.ident_loc.clone())),
                weight: cr.int("weight", 0, 1000).map_or(1, |w| w.v),
                base: cr.int("base", 0, 100_000).map_or(0, |b| b.v),
            };
            cr.finish();
            c
        })
        .collect();
    let task_raw = r.json_object("task_raw");
    // A cpu or memory that did not decode is already reported; keep the service (with a size
    // the Fargate check skips) so its other problems are reported too.
    let unknown_size = || Sp::new(-1, here.clone());
    let service = Service {
        loc: b.ident_loc.clone(),
        repository,
        image,
        image_tag,
        family,
        cpu: cpu.unwrap_or_else(unknown_size),
        memory: memory.unwrap_or_else(unknown_size),
        desired_count,
        architecture,
        command,
        entrypoint,
        port,
        environment,
        secrets,
        health_check,
        load_balancer,
        autoscaling,
        deployment,
        sidecars,
        smoke,
        migration,
        paths,
        execution_role_arn,
        task_role_arn,
        security_groups,
        subnets,
        assign_public_ip,
        enable_execute_command,
        service_name,
        container_name,
        container,
        volumes,
        ephemeral_storage,
        tags,
        platform_version,
        propagate_tags,
        ecs_managed_tags,
        capacity_providers,
        task_raw,
        name,
    };
    Some(service)
}

/// A role ARN attribute: a string, or `null` for "no such role" (kept as an empty ARN).
fn role_arn(r: &Reader, key: &'static str) -> Option<Sp<String>> {
    match r.node(key) {
        Some(n) if matches!(n.val, super::tree::Val::Null) => {
            Some(Sp::new(String::new(), n.loc.clone()))
        }
        _ => r.string(key),
    }
}

fn read_health_check(r: &Reader, sink: &Sink) -> Option<ContainerHealthCheck> {
    r.block("health_check").map(|hb| {
        let hr = Reader::for_block(hb, sink);
        let h = ContainerHealthCheck {
            loc: hb.ident_loc.clone(),
            command: hr.strings("command").unwrap_or_else(|| {
                if !hr.has("command") {
                    hr.req_string(
                        "command",
                        "[\"CMD-SHELL\", \"curl -f http://localhost/health || exit 1\"]",
                    );
                }
                Vec::new()
            }),
            interval: duration_or(&hr, "interval", 30, &hb.ident_loc),
            timeout: duration_or(&hr, "timeout", 5, &hb.ident_loc),
            retries: hr
                .int("retries", 1, 10)
                .unwrap_or_else(|| Sp::new(3, hb.ident_loc.clone())),
            start_period: duration_or(&hr, "start_period", 0, &hb.ident_loc),
        };
        hr.finish();
        h
    })
}

/// The container settings shared by the main container and sidecars; `resources` names the
/// cpu, memory (hard) and memoryReservation (soft) attributes, which differ between the two.
fn container_opts(r: &Reader, sink: &Sink, resources: [&'static str; 3]) -> ContainerOpts {
    let [cpu, memory, memory_reservation] = resources;
    let ulimits = r
        .labelled("ulimit", "ulimit")
        .into_iter()
        .map(|(name, ub)| {
            let ur = Reader::for_block(ub, sink);
            let soft = ur.req_int("soft", 0, i64::from(i32::MAX), "65536");
            let hard = ur.req_int("hard", 0, i64::from(i32::MAX), "65536");
            ur.finish();
            let zero = || Sp::new(0, ub.ident_loc.clone());
            Ulimit {
                name,
                soft: soft.unwrap_or_else(zero),
                hard: hard.unwrap_or_else(zero),
            }
        })
        .collect();
    let linux_parameters = r.block("linux_parameters").map(|lb| {
        let lr = Reader::for_block(lb, sink);
        let l = LinuxParameters {
            init_process_enabled: lr.bool("init_process_enabled"),
            capabilities_add: lr.strings("capabilities_add").unwrap_or_default(),
            capabilities_drop: lr.strings("capabilities_drop").unwrap_or_default(),
        };
        lr.finish();
        l
    });
    let mounts = r
        .blocks("mount")
        .into_iter()
        .map(|mb| {
            let mr = Reader::for_block(mb, sink);
            let here = || Sp::new(String::new(), mb.ident_loc.clone());
            let m = Mount {
                loc: mb.ident_loc.clone(),
                volume: mr.req_string("volume", "\"data\"").unwrap_or_else(here),
                path: mr.req_string("path", "\"/data\"").unwrap_or_else(here),
                read_only: mr.bool("read_only").is_some_and(|b| b.v),
            };
            mr.finish();
            m
        })
        .collect();
    let log = r.block("log").map(|lb| {
        let lr = Reader::for_block(lb, sink);
        let l = Log {
            loc: lb.ident_loc.clone(),
            driver: lr
                .req_string("driver", "\"awslogs\"")
                .unwrap_or_else(|| Sp::new("awslogs".to_string(), lb.ident_loc.clone())),
            options: lr.string_map("options"),
            secret_options: lr.string_map("secret_options"),
        };
        lr.finish();
        l
    });
    let firelens = r.block("firelens").map(|fb| {
        let fr = Reader::for_block(fb, sink);
        let f = Firelens {
            kind: fr
                .string("type")
                .unwrap_or_else(|| Sp::new("fluentbit".to_string(), fb.ident_loc.clone())),
            options: fr.string_map("options"),
        };
        if !["fluentbit", "fluentd"].contains(&f.kind.v.as_str()) {
            fr.invalid(
                &f.kind.loc,
                format!(
                    "firelens type must be fluentbit or fluentd, not \"{}\"",
                    f.kind.v
                ),
                "use \"fluentbit\"",
            );
        }
        fr.finish();
        f
    });
    let port_mappings = r
        .blocks("port_mapping")
        .into_iter()
        .map(|pb| {
            let pr = Reader::for_block(pb, sink);
            let p = PortMap {
                loc: pb.ident_loc.clone(),
                container_port: pr
                    .req_int("container_port", i64::MIN, i64::MAX, "8080")
                    .unwrap_or_else(|| Sp::new(0, pb.ident_loc.clone())),
                protocol: pr
                    .string("protocol")
                    .unwrap_or_else(|| Sp::new("tcp".to_string(), pb.ident_loc.clone())),
                name: pr.string("name"),
                app_protocol: pr.string("app_protocol"),
            };
            if !["tcp", "udp"].contains(&p.protocol.v.as_str()) {
                pr.invalid(
                    &p.protocol.loc,
                    format!("protocol must be tcp or udp, not \"{}\"", p.protocol.v),
                    "use \"tcp\"",
                );
            }
            if let Some(a) = &p.app_protocol {
                if !["http", "http2", "grpc"].contains(&a.v.as_str()) {
                    pr.invalid(
                        &a.loc,
                        format!("app_protocol must be http, http2 or grpc, not \"{}\"", a.v),
                        "use \"http\"",
                    );
                }
            }
            pr.finish();
            p
        })
        .collect();
    let depends_on = r.string_map("depends_on");
    for (_, cond) in &depends_on {
        if !["START", "COMPLETE", "SUCCESS", "HEALTHY"].contains(&cond.v.as_str()) {
            r.invalid(
                &cond.loc,
                format!(
                    "a depends_on condition is START, COMPLETE, SUCCESS or HEALTHY, not \"{}\"",
                    cond.v
                ),
                "use \"START\"",
            );
        }
    }
    let stop_timeout = r.duration("stop_timeout");
    if let Some(t) = &stop_timeout {
        if !(2..=120).contains(&t.v.as_secs()) {
            r.invalid(
                &t.loc,
                "stop_timeout must be 2s to 120s on Fargate",
                "use \"30s\"",
            );
        }
    }
    ContainerOpts {
        cpu: r.int(cpu, 0, 1 << 20),
        memory: r.int(memory, 1, 1 << 20),
        memory_reservation: r.int(memory_reservation, 1, 1 << 20),
        user: r.string("user"),
        working_directory: r.string("working_directory"),
        readonly_root_filesystem: r.bool("readonly_root_filesystem"),
        stop_timeout,
        start_timeout: r.duration("start_timeout"),
        ulimits,
        linux_parameters,
        mounts,
        depends_on,
        environment_files: r.strings("environment_files").unwrap_or_default(),
        log,
        logging: r.bool("logging").is_none_or(|b| b.v),
        firelens,
        port_mappings,
        docker_labels: r.string_map("docker_labels"),
        repository_credentials: r.string("repository_credentials"),
        raw: r.json_object("raw"),
    }
}

fn duration_or(r: &Reader, key: &'static str, default_secs: u64, loc: &Loc) -> Sp<Duration> {
    r.duration(key)
        .unwrap_or_else(|| Sp::new(Duration::from_secs(default_secs), loc.clone()))
}

fn alb(b: &Block, sink: &Sink) -> Alb {
    let r = Reader::for_block(b, sink);
    let a = Alb {
        loc: b.ident_loc.clone(),
        certificate_arn: r.string("certificate_arn"),
        ssl_policy: r.string("ssl_policy").unwrap_or_else(|| {
            Sp::new(
                "ELBSecurityPolicy-TLS13-1-2-2021-06".to_string(),
                b.ident_loc.clone(),
            )
        }),
        redirect_http: r.bool("redirect_http").is_none_or(|v| v.v),
        test_listener_port: r.int("test_listener_port", 1, 65535),
    };
    if let Some(p) = &a.test_listener_port {
        if p.v == 80 || p.v == 443 {
            r.invalid(
                &p.loc,
                format!("test_listener_port {} is a production listener's port", p.v),
                "use another port, e.g. 8443",
            );
        }
    }
    r.finish();
    a
}

fn approval(b: &Block, sink: &Sink) -> Approval {
    let r = Reader::for_block(b, sink);
    let a = Approval {
        loc: Some(b.ident_loc.clone()),
        // A mistyped `required` is reported; do not guess `true` and report more on top.
        required: match r.bool("required") {
            Some(v) => v.v,
            None => !r.has("required"),
        },
        confirmation: r.string("confirmation"),
        actors: r.strings("actors").unwrap_or_default(),
        teams: r.strings("teams").unwrap_or_default(),
        events: r.strings("events").unwrap_or_default(),
        pull_request_approved: r.bool("pull_request_approved").is_some_and(|b| b.v),
        min_approvals: r.int("min_approvals", 1, 20),
        migration_approvers: r.strings("migration_approvers").unwrap_or_default(),
    };
    r.finish();
    a
}

fn notifications(b: &Block, sink: &Sink) -> Notifications {
    let r = Reader::for_block(b, sink);
    let n = Notifications {
        slack_webhook_secret: r.string("slack_webhook_secret"),
        slack_webhook_env: r.string("slack_webhook_env"),
    };
    r.finish();
    n
}
