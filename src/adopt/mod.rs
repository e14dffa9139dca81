//! Adoption (`slipway init --from-cluster`): what runs in a cluster, written as an environment
//! file that renders back to exactly it, renaming nothing.
//!
//! [`read`] gathers the live state (services, task definitions, target groups and listener
//! rules, autoscaling, ECR repositories); [`write`] turns it into the file. Everything slipway
//! has an attribute for is written with it; whatever else a task or container definition holds
//! comes back through the `raw` and `task_raw` escape hatches, as the residual between what the
//! typed attributes render and what runs ([`residual`]). The command renders the result again
//! and compares it with the live state before it writes anything.
//!
//! Adopted values are literals: the role ARNs, subnets, security groups and target groups that
//! run, so the file renders without Terraform; a comment names the `tf.` output that would give
//! each once Terraform owns it. Secret references stay references; a plain environment variable
//! whose name looks secret is not written (its value would be), and a note says so.

pub mod hcl;
pub mod read;
pub mod scaffold;
pub mod shared;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::aws::ecs::LiveService;
use crate::render::ecs::{ContainerDefinition, TaskDefinition};
use hcl::{Body, Value as V};

/// What runs in a cluster, as [`read`] found it.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub name: String,
    pub region: String,
    pub account: String,
    pub services: Vec<Found>,
    /// The ECR repositories (of this account and region) the services' images come from.
    pub repositories: BTreeMap<String, Repository>,
}

/// One service and what belongs to it.
#[derive(Clone, Debug)]
pub struct Found {
    pub live: LiveService,
    pub task_definition: TaskDefinition,
    pub target_group: Option<TargetGroup>,
    pub scaling: Option<Scaling>,
}

#[derive(Clone, Debug, Default)]
pub struct TargetGroup {
    pub arn: String,
    pub health_check_path: Option<String>,
    pub matcher: Option<String>,
    /// The listener rule that forwards to it, if one was found.
    pub rule: Option<Rule>,
}

#[derive(Clone, Debug, Default)]
pub struct Rule {
    pub priority: i64,
    pub path_patterns: Vec<String>,
    pub hosts: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Scaling {
    pub min: i64,
    pub max: i64,
    /// The target of a target-tracking policy on ECSServiceAverageCPUUtilization.
    pub cpu_target: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Repository {
    pub scan_on_push: bool,
    pub tag_mutability: String,
    /// The lifecycle policy, when it is one slipway writes (`lifecycle` block).
    pub lifecycle: Option<LifecycleRules>,
    /// A lifecycle policy slipway cannot express.
    pub foreign_lifecycle: bool,
}

/// The settings of a `lifecycle` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LifecycleRules {
    pub keep_tagged: Option<i64>,
    pub tag_prefixes: Vec<String>,
    pub expire_untagged_days: Option<i64>,
}

/// The `lifecycle` block a live policy is, when slipway would render that very policy from
/// one (rule descriptions aside).
pub fn lifecycle_of(policy: &Value) -> Option<LifecycleRules> {
    let rules = policy.get("rules")?.as_array()?;
    let mut l = LifecycleRules::default();
    for r in rules {
        let s = r.get("selection")?;
        match s.get("tagStatus")?.as_str()? {
            "untagged" => l.expire_untagged_days = s.get("countNumber")?.as_i64(),
            "tagged" => {
                l.keep_tagged = s.get("countNumber")?.as_i64();
                if let Some(p) = s.get("tagPrefixList").and_then(Value::as_array) {
                    l.tag_prefixes = p
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect();
                }
            }
            _ => return None,
        }
    }
    let loc = crate::diag::Loc::new(crate::diag::FileId(0), 0..0);
    let sp = |v| crate::env::model::Sp::new(v, loc.clone());
    let model = crate::env::model::Lifecycle {
        keep_tagged: l.keep_tagged.map(sp),
        tag_prefixes: l
            .tag_prefixes
            .iter()
            .map(|p| crate::env::model::Sp::new(p.clone(), loc.clone()))
            .collect(),
        expire_untagged_days: l.expire_untagged_days.map(sp),
    };
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(rules) = v.get_mut("rules").and_then(Value::as_array_mut) {
            for r in rules {
                if let Some(o) = r.as_object_mut() {
                    o.remove("description");
                }
            }
        }
        v
    };
    let rendered = crate::render::lifecycle::policy(&model)?;
    (strip(&rendered) == strip(policy)).then_some(l)
}

/// Fields `raw` and `task_raw` must add for the file to render what runs, by service label.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Residual {
    pub task: Map<String, Value>,
    /// By container name.
    pub containers: BTreeMap<String, Map<String, Value>>,
}

impl Residual {
    pub fn is_empty(&self) -> bool {
        self.task.is_empty() && self.containers.values().all(Map::is_empty)
    }
}

/// One adopted service: its label in the file and the names it runs under.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Adopted {
    pub label: String,
    pub service_name: String,
    pub container: String,
    pub image: String,
    /// The fields written through `task_raw` (`tags`) and `raw` (`<container>.healthCheck`).
    pub raw: Vec<String>,
}

/// The environment file, the services in it and what was left out or needs a look.
#[derive(Clone, Debug)]
pub struct Written {
    pub text: String,
    pub services: Vec<Adopted>,
    pub notes: Vec<String>,
    /// Plain environment variables not written because their names look secret, by label.
    pub withheld: BTreeMap<String, Vec<(String, String)>>,
}

/// The label a service gets: its ECS name without the cluster's prefix and a `-service` or
/// `-svc` suffix, when that leaves a name.
pub fn label_for(ecs_name: &str, cluster: &str) -> String {
    let mut s = ecs_name;
    for prefix in [format!("{cluster}-"), format!("{cluster}_")] {
        if let Some(rest) = s.strip_prefix(prefix.as_str()) {
            s = rest;
            break;
        }
    }
    for suffix in ["-service", "_service", "-svc", "_svc"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest;
            break;
        }
    }
    let clean: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .collect();
    if clean.is_empty() || ["service", "svc"].contains(&clean.as_str()) {
        ecs_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
            .collect()
    } else {
        clean
    }
}

/// The main container: the one the load balancer sends traffic to, else the one named after
/// the service, else the only essential one that is not a log router, else the first.
pub fn main_container<'a>(f: &'a Found, label: &str) -> Option<&'a ContainerDefinition> {
    let cs = &f.task_definition.container_definitions;
    let named = |n: &str| cs.iter().find(|c| c.name == n);
    f.live
        .settings
        .load_balancers
        .first()
        .and_then(|lb| named(&lb.container_name))
        .or_else(|| named(&f.live.name))
        .or_else(|| named(label))
        .or_else(|| {
            let essential: Vec<&ContainerDefinition> = cs
                .iter()
                .filter(|c| c.essential && !c.extra.contains_key("firelensConfiguration"))
                .collect();
            (essential.len() == 1).then(|| essential[0])
        })
        .or_else(|| cs.first())
}

/// `image` as a template on the deploy's tag (`repo:${image_tag}`), when it has a tag.
fn image_template(image: &str) -> Option<String> {
    if image.contains('@') {
        return None;
    }
    let tag = crate::live::image_tag(image)?;
    let base = &image[..image.len() - tag.len() - 1];
    Some(format!("{base}:${{image_tag}}"))
}

fn repository_of(image: &str, account: &str, region: &str) -> Option<String> {
    let r = crate::aws::ecr::EcrRef::parse(image)?;
    (r.registry == account && r.region == region).then_some(r.repository)
}

fn strings(v: &[String]) -> Value {
    Value::from(v.to_vec())
}

fn object(pairs: impl IntoIterator<Item = (String, String)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect(),
    )
}

fn duration(secs: i64) -> V {
    V::from(format!("{secs}s"))
}

/// The common value of `f` over all services, if they all have the same.
fn common<T: PartialEq + Clone>(items: &[&Found], f: impl Fn(&Found) -> T) -> Option<T> {
    let first = f(items.first()?);
    items.iter().all(|x| f(x) == first).then_some(first)
}

fn user_tags(tags: &[crate::render::ecs::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|t| !t.key.starts_with("slipway:") && !t.key.starts_with("aws:"))
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// The environment file for `cluster`, with `residuals` (by label) in `raw`/`task_raw`.
pub fn write(cluster: &Cluster, env_name: &str, residuals: &BTreeMap<String, Residual>) -> Written {
    let mut notes = Vec::new();
    let mut withheld: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut services: Vec<&Found> = cluster.services.iter().collect();
    services.sort_by(|a, b| a.live.name.cmp(&b.live.name));

    // Labels, unique.
    let mut labels: Vec<String> = Vec::new();
    for f in &services {
        let mut l = label_for(&f.live.name, &cluster.name);
        if labels.contains(&l) {
            l = label_for(&f.live.name, "");
        }
        let mut n = 2;
        let base = l.clone();
        while labels.contains(&l) {
            l = format!("{base}-{n}");
            n += 1;
        }
        labels.push(l);
    }

    let vpc = |f: &Found| {
        f.live
            .settings
            .network_configuration
            .awsvpc_configuration
            .clone()
    };
    let sorted_subnets = |f: &Found| {
        let mut s = vpc(f).subnets;
        s.sort();
        s
    };
    let shared_subnets = common(&services, sorted_subnets);
    let shared_public = common(&services, |f| vpc(f).assign_public_ip == "ENABLED");
    let tag_sets: Vec<BTreeMap<String, String>> = services
        .iter()
        .map(|f| user_tags(&f.live.settings.tags))
        .collect();
    let shared_tags: BTreeMap<String, String> = match tag_sets.first() {
        Some(first) => first
            .iter()
            .filter(|(k, v)| tag_sets.iter().all(|t| t.get(*k) == Some(*v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => BTreeMap::new(),
    };

    let mut top = Body::new();
    top.comment(&format!(
        "Adopted by `slipway init --from-cluster {}`: what runs in account {}, {},\nwritten so that it renders back to exactly that (`slipway diff --env {env_name}` compares the\ntwo). Nothing was renamed: service_name and container_name keep the names ECS knows.",
        cluster.name, cluster.account, cluster.region
    ));
    top.blank();
    top.attr("account_id", cluster.account.as_str())
        .attr("region", cluster.region.as_str())
        .attr("cluster", cluster.name.as_str());
    if let Some(s) = &shared_subnets {
        top.blank()
            .comment("The subnets the services run in (Terraform's root would give tf.private_subnet_ids).")
            .attr("subnets", strings(s));
    }
    if shared_public == Some(true) {
        top.attr("assign_public_ip", true);
    }
    if !shared_tags.is_empty() {
        top.blank().attr("tags", object(shared_tags.clone()));
    }

    // Repositories the images come from.
    for (name, repo) in &cluster.repositories {
        let mut b = Body::new();
        if !repo.scan_on_push {
            b.attr("scan_on_push", false);
        }
        if repo.tag_mutability != "MUTABLE" {
            b.attr("tag_mutability", repo.tag_mutability.as_str());
        }
        if let Some(l) = &repo.lifecycle {
            let mut lb = Body::new();
            if let Some(n) = l.keep_tagged {
                lb.attr("keep_tagged", n);
            }
            if !l.tag_prefixes.is_empty() {
                lb.attr("tag_prefixes", strings(&l.tag_prefixes));
            }
            if let Some(d) = l.expire_untagged_days {
                lb.attr("expire_untagged_days", d);
            }
            b.block("lifecycle", &[], &lb);
        }
        top.blank();
        if repo.foreign_lifecycle {
            b.comment("Its lifecycle policy has rules slipway cannot write: Terraform would replace it with\nthe lifecycle block's (none here). See docs/environments.md#repository.");
            notes.push(format!("repository {name}: its lifecycle policy is not one slipway writes; it is left out of the file"));
        }
        top.block("repository", &[name], &b);
    }

    let mut adopted = Vec::new();
    for (f, label) in services.iter().zip(&labels) {
        let Some(main) = main_container(f, label) else {
            notes.push(format!(
                "{}: the task definition has no container; left out",
                f.live.name
            ));
            continue;
        };
        let residual = residuals.get(label).cloned().unwrap_or_default();
        let (body, mut svc_notes, secret_like) = service_body(
            cluster,
            f,
            label,
            main,
            &residual,
            &shared_subnets,
            shared_public,
            &shared_tags,
        );
        notes.append(&mut svc_notes);
        if !secret_like.is_empty() {
            withheld.insert(label.clone(), secret_like);
        }
        top.blank().block("service", &[label], &body);
        let mut raw: Vec<String> = residual.task.keys().cloned().collect();
        for (c, fields) in &residual.containers {
            raw.extend(fields.keys().map(|k| format!("{c}.{k}")));
        }
        adopted.push(Adopted {
            label: label.clone(),
            service_name: f.live.name.clone(),
            container: main.name.clone(),
            image: main.image.clone(),
            raw,
        });
    }
    Written {
        text: hcl::reformat(&top.render(0)),
        services: adopted,
        notes,
        withheld,
    }
}

/// The body of one `service` block, the notes it needs and the withheld variables.
#[allow(clippy::too_many_arguments)]
fn service_body(
    cluster: &Cluster,
    f: &Found,
    label: &str,
    main: &ContainerDefinition,
    residual: &Residual,
    shared_subnets: &Option<Vec<String>>,
    shared_public: Option<bool>,
    shared_tags: &BTreeMap<String, String>,
) -> (Body, Vec<String>, Vec<(String, String)>) {
    let mut notes = Vec::new();
    let td = &f.task_definition;
    let s = &f.live.settings;
    let mut b = Body::new();
    if f.live.name != label {
        b.attr("service_name", f.live.name.as_str());
    }
    if main.name != label {
        b.attr("container_name", main.name.as_str());
    }
    if td.family != format!("{}-{label}", cluster.name) {
        b.attr("family", td.family.as_str());
    }
    b.blank();
    match image_template(&main.image) {
        Some(t) => {
            if let Some(repo) = repository_of(&main.image, &cluster.account, &cluster.region) {
                b.comment(&format!(
                    "From ECR repository \"{repo}\" (`repository = \"{repo}\"` would read the URL from\nTerraform instead)."
                ));
            }
            b.attr("image", V::Template(t));
        }
        None => {
            notes.push(format!(
                "{label}: the image {} {}: it is written as is, and a deploy's --image-tag does not change it",
                main.image,
                if main.image.contains('@') { "is pinned by digest" } else { "has no tag" }
            ));
            b.attr("image", main.image.as_str());
        }
    }
    let cpu = crate::diff::canonical_cpu(&td.cpu);
    let memory = crate::diff::canonical_memory(&td.memory);
    b.attr(
        "cpu",
        cpu.parse::<i64>().map_or(V::from(cpu.clone()), V::from),
    )
    .attr(
        "memory",
        memory
            .parse::<i64>()
            .map_or(V::from(memory.clone()), V::from),
    );
    if let Some(p) = &td.runtime_platform {
        if p.cpu_architecture != "X86_64" && !p.cpu_architecture.is_empty() {
            b.attr("architecture", p.cpu_architecture.as_str());
        }
    }
    let desired = i64::from(s.desired_count);
    if desired != 1 {
        b.attr("desired_count", desired);
    }
    if let Some(gib) = td
        .extra
        .get("ephemeralStorage")
        .and_then(|e| e.get("sizeInGiB"))
        .and_then(Value::as_i64)
        .filter(|g| (21..=200).contains(g))
    {
        b.attr("ephemeral_storage", gib);
    }
    if s.platform_version != "LATEST" && !s.platform_version.is_empty() {
        b.attr("platform_version", s.platform_version.as_str());
    }
    if s.propagate_tags != "SERVICE" {
        b.attr("propagate_tags", s.propagate_tags.as_str());
    }
    if !s.enable_ecs_managed_tags {
        b.attr("ecs_managed_tags", false);
    }
    if s.enable_execute_command {
        b.attr("enable_execute_command", true);
    }
    let own_tags: BTreeMap<String, String> = user_tags(&s.tags)
        .into_iter()
        .filter(|(k, v)| shared_tags.get(k) != Some(v))
        .collect();
    if !own_tags.is_empty() {
        b.attr("tags", object(own_tags));
    }

    // Roles, network: literals, with the Terraform output that would give them.
    b.blank().comment(&format!(
        "Read from the live service; once Terraform owns them: tf.services[\"{label}\"].*"
    ));
    let role = |b: &mut Body, key: &str, arn: &Option<String>| match arn {
        Some(a) => {
            b.attr(key, a.as_str());
        }
        None => {
            b.attr_noted(key, Value::Null, "the task has none");
        }
    };
    role(&mut b, "execution_role_arn", &td.execution_role_arn);
    role(&mut b, "task_role_arn", &td.task_role_arn);
    let vpc = &s.network_configuration.awsvpc_configuration;
    let mut sgs = vpc.security_groups.clone();
    sgs.sort();
    b.attr("security_groups", strings(&sgs));
    let mut subnets = vpc.subnets.clone();
    subnets.sort();
    if shared_subnets.as_ref() != Some(&subnets) {
        b.attr("subnets", strings(&subnets));
    }
    let public = vpc.assign_public_ip == "ENABLED";
    if shared_public != Some(public) && (public || shared_public == Some(true)) {
        b.attr("assign_public_ip", public);
    }

    // The main container.
    let secret_like = container_attrs(&mut b, main, true, cluster, label, &residual.containers);

    if let Some(lb) = s.load_balancers.first() {
        let mut l = Body::new();
        l.attr("target_group_arn", lb.target_group_arn.as_str());
        let main_port = main.port_mappings.first().map(|p| p.container_port);
        if main_port != Some(lb.container_port) || main.port_mappings.len() > 1 {
            l.attr("container_port", i64::from(lb.container_port));
        }
        if let Some(tg) = &f.target_group {
            if let Some(rule) = &tg.rule {
                if !rule.path_patterns.is_empty() {
                    l.attr("path_patterns", strings(&rule.path_patterns));
                }
                if !rule.hosts.is_empty() {
                    l.attr("hosts", strings(&rule.hosts));
                }
                l.attr("priority", rule.priority);
            }
            if let Some(p) = &tg.health_check_path {
                if p != "/" {
                    l.attr("health_check_path", p.as_str());
                }
            }
            if let Some(m) = &tg.matcher {
                if m != "200-399" {
                    l.attr("health_check_matcher", m.as_str());
                }
            }
        }
        let grace = s.health_check_grace_period_seconds.unwrap_or(0);
        if grace != 60 {
            l.attr("health_check_grace_period", duration(i64::from(grace)));
        }
        b.blank().block("load_balancer", &[], &l);
        if s.load_balancers.len() > 1 {
            notes.push(format!(
                "{label}: registers with {} target groups; slipway keeps one ({}), a deploy would drop the others",
                s.load_balancers.len(),
                lb.target_group_arn
            ));
        }
    }
    if let Some(sc) = &f.scaling {
        let mut a = Body::new();
        a.attr("min", sc.min).attr("max", sc.max);
        match sc.cpu_target {
            Some(t) => {
                a.attr("cpu_target", t);
            }
            None => notes.push(format!(
                "{label}: its scaling policy is not CPU target tracking; the autoscaling block keeps min and max only"
            )),
        }
        b.blank().block("autoscaling", &[], &a);
    }
    let d = &s.deployment_configuration;
    let mut db = Body::new();
    if d.minimum_healthy_percent != 100 {
        db.attr(
            "minimum_healthy_percent",
            i64::from(d.minimum_healthy_percent),
        );
    }
    if d.maximum_percent != 200 {
        db.attr("maximum_percent", i64::from(d.maximum_percent));
    }
    if !d.deployment_circuit_breaker.enable {
        db.attr("circuit_breaker", false);
    } else if !d.deployment_circuit_breaker.rollback {
        db.attr("rollback", false);
    }
    if !db.is_empty() {
        b.blank().block("deployment", &[], &db);
    }
    for c in &s.capacity_provider_strategy {
        let mut cb = Body::new();
        cb.attr("name", c.capacity_provider.as_str());
        if c.weight != 1 {
            cb.attr("weight", i64::from(c.weight));
        }
        if c.base != 0 {
            cb.attr("base", i64::from(c.base));
        }
        b.blank().block("capacity_provider", &[], &cb);
    }

    // Volumes.
    let mut foreign_volume = false;
    if let Some(vols) = td.extra.get("volumes").and_then(Value::as_array) {
        for v in vols {
            let name = v["name"].as_str().unwrap_or_default();
            let mut vb = Body::new();
            if let Some(e) = v.get("efsVolumeConfiguration") {
                let mut eb = Body::new();
                eb.attr(
                    "file_system_id",
                    e["fileSystemId"].as_str().unwrap_or_default(),
                );
                if let Some(r) = e.get("rootDirectory").and_then(Value::as_str) {
                    if r != "/" {
                        eb.attr("root_directory", r);
                    }
                }
                if e.get("transitEncryption").and_then(Value::as_str) == Some("ENABLED") {
                    eb.attr("transit_encryption", true);
                }
                if let Some(p) = e.get("transitEncryptionPort").and_then(Value::as_i64) {
                    eb.attr("transit_encryption_port", p);
                }
                if let Some(a) = e.get("authorizationConfig") {
                    if let Some(ap) = a.get("accessPointId").and_then(Value::as_str) {
                        eb.attr("access_point_id", ap);
                    }
                    if a.get("iam").and_then(Value::as_str) == Some("ENABLED") {
                        eb.attr("iam", true);
                    }
                }
                vb.block("efs", &[], &eb);
            } else if v.get("host").is_some_and(|h| h.get("sourcePath").is_some())
                || v.get("dockerVolumeConfiguration").is_some()
                || v.get("fsxWindowsFileServerVolumeConfiguration").is_some()
            {
                foreign_volume = true;
            }
            b.blank().block("volume", &[name], &vb);
        }
    }
    if foreign_volume {
        notes.push(format!(
            "{label}: a volume of a kind Fargate's typed settings do not cover is kept through task_raw"
        ));
    }

    // Sidecars.
    for c in &td.container_definitions {
        if c.name == main.name {
            continue;
        }
        let mut sb = Body::new();
        let image = if image_template(&c.image).is_some()
            && image_template(&c.image) == image_template(&main.image)
            && c.image == main.image
        {
            V::Template(image_template(&c.image).unwrap_or_default())
        } else {
            V::from(c.image.as_str())
        };
        sb.attr("image", image);
        if c.essential {
            sb.attr("essential", true);
        }
        let mut withheld = container_attrs(&mut sb, c, false, cluster, label, &residual.containers);
        if !withheld.is_empty() {
            notes.push(format!(
                "{label}: sidecar {}'s variables {} look secret and were not written",
                c.name,
                withheld
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            withheld.clear();
        }
        b.blank().block("sidecar", &[&c.name], &sb);
    }

    if !residual.task.is_empty() {
        b.blank()
            .comment("Task definition fields slipway has no attribute for, as they run.")
            .attr("task_raw", Value::Object(residual.task.clone()));
    }
    if !secret_like.is_empty() {
        notes.push(format!(
            "{label}: the plain environment variables {} look secret: their values were not written. Put them in Secrets Manager or SSM and reference them under `secrets`; until then `diff` shows them as removed",
            secret_like.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    (b, notes, secret_like)
}

/// A container's attributes (the main container's at service level, a sidecar's in its
/// block). Returns the plain variables withheld because their names look secret.
fn container_attrs(
    b: &mut Body,
    c: &ContainerDefinition,
    is_main: bool,
    cluster: &Cluster,
    label: &str,
    raws: &BTreeMap<String, Map<String, Value>>,
) -> Vec<(String, String)> {
    if !c.entry_point.is_empty() {
        b.attr("entrypoint", strings(&c.entry_point));
    }
    if !c.command.is_empty() {
        b.attr("command", strings(&c.command));
    }
    let (cpu_key, mem_key, res_key) = if is_main {
        (
            "container_cpu",
            "container_memory",
            "container_memory_reservation",
        )
    } else {
        ("cpu", "memory_limit", "memory")
    };
    if let Some(cpu) = c.cpu.filter(|&x| x != 0) {
        b.attr(cpu_key, i64::from(cpu));
    }
    if let Some(m) = c.memory {
        b.attr(mem_key, i64::from(m));
    }
    if let Some(m) = c.memory_reservation {
        b.attr(res_key, i64::from(m));
    }
    let mut withheld = Vec::new();
    let mut env = BTreeMap::new();
    for kv in &c.environment {
        if crate::naming::looks_secret(&kv.name) {
            withheld.push((kv.name.clone(), kv.value.clone()));
        } else {
            env.insert(kv.name.clone(), kv.value.clone());
        }
    }
    if !env.is_empty() {
        b.attr("environment", object(env));
    }
    // Secret references slipway writes are ARNs (or `secretsmanager:`/`ssm:` names it turns
    // into ARNs); a bare parameter name, which ECS also takes, comes back through `raw`.
    let arns = c.secrets.iter().all(|s| {
        crate::naming::secret_arn(&s.value_from, &cluster.region, &cluster.account)
            .is_ok_and(|a| a == s.value_from)
    });
    if !c.secrets.is_empty() && arns {
        b.attr(
            "secrets",
            object(
                c.secrets
                    .iter()
                    .map(|s| (s.name.clone(), s.value_from.clone())),
            ),
        );
    }
    let x = &c.extra;
    let s = |k: &str| x.get(k).and_then(Value::as_str);
    if let Some(u) = s("user") {
        b.attr("user", u);
    }
    if let Some(w) = s("workingDirectory") {
        b.attr("working_directory", w);
    }
    if c.readonly_root_filesystem {
        b.attr("readonly_root_filesystem", true);
    }
    if let Some(t) = x
        .get("stopTimeout")
        .and_then(Value::as_i64)
        .filter(|t| (2..=120).contains(t))
    {
        b.attr("stop_timeout", duration(t));
    }
    if let Some(t) = x.get("startTimeout").and_then(Value::as_i64) {
        b.attr("start_timeout", duration(t));
    }
    if let Some(files) = x.get("environmentFiles").and_then(Value::as_array) {
        let values: Vec<String> = files
            .iter()
            .filter_map(|f| f["value"].as_str().map(str::to_string))
            .collect();
        if !values.is_empty() {
            b.attr("environment_files", strings(&values));
        }
    }
    if let Some(labels) = x.get("dockerLabels").and_then(Value::as_object) {
        if !labels.is_empty() {
            b.attr(
                "docker_labels",
                object(
                    labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
                ),
            );
        }
    }
    if let Some(deps) = x.get("dependsOn").and_then(Value::as_array) {
        if !deps.is_empty() {
            b.attr(
                "depends_on",
                object(deps.iter().map(|d| {
                    (
                        d["containerName"].as_str().unwrap_or_default().to_string(),
                        d["condition"].as_str().unwrap_or_default().to_string(),
                    )
                })),
            );
        }
    }
    if let Some(p) = x
        .get("repositoryCredentials")
        .and_then(|r| r.get("credentialsParameter"))
        .and_then(Value::as_str)
    {
        b.attr("repository_credentials", p);
    }

    // Ports: the `port` shorthand when it is exactly what the shorthand renders.
    let shorthand = c.port_mappings.len() == 1 && {
        let p = &c.port_mappings[0];
        p.protocol == "tcp"
            && p.extra.is_empty()
            && p.name.as_deref() == Some(format!("{}-{}", c.name, p.container_port).as_str())
    };
    if shorthand {
        b.attr("port", i64::from(c.port_mappings[0].container_port));
    } else {
        for p in &c.port_mappings {
            let mut pb = Body::new();
            pb.attr("container_port", i64::from(p.container_port));
            if p.protocol != "tcp" {
                pb.attr("protocol", p.protocol.as_str());
            }
            if let Some(n) = &p.name {
                pb.attr("name", n.as_str());
            }
            if let Some(a) = p.extra.get("appProtocol").and_then(Value::as_str) {
                pb.attr("app_protocol", a);
            }
            b.block("port_mapping", &[], &pb);
        }
    }
    // A health check the typed block cannot hold (another first word, values out of the ranges
    // slipway checks) comes back through `raw`.
    let typed_check = c.health_check.as_ref().filter(|h| {
        h.command
            .first()
            .is_some_and(|w| ["CMD", "CMD-SHELL", "NONE"].contains(&w.as_str()))
            && (5..=300).contains(&h.interval)
            && (2..=60).contains(&h.timeout)
            && (1..=10).contains(&h.retries)
            && (0..=300).contains(&h.start_period)
    });
    if let Some(h) = typed_check {
        let mut hb = Body::new();
        hb.attr("command", strings(&h.command));
        if h.interval != 30 {
            hb.attr("interval", duration(i64::from(h.interval)));
        }
        if h.timeout != 5 {
            hb.attr("timeout", duration(i64::from(h.timeout)));
        }
        if h.retries != 3 {
            hb.attr("retries", i64::from(h.retries));
        }
        if h.start_period != 0 {
            hb.attr("start_period", duration(i64::from(h.start_period)));
        }
        b.block("health_check", &[], &hb);
    }
    if let Some(limits) = x.get("ulimits").and_then(Value::as_array) {
        for u in limits {
            let mut ub = Body::new();
            ub.attr("soft", u["softLimit"].as_i64().unwrap_or_default())
                .attr("hard", u["hardLimit"].as_i64().unwrap_or_default());
            b.block("ulimit", &[u["name"].as_str().unwrap_or_default()], &ub);
        }
    }
    if let Some(lp) = x.get("linuxParameters") {
        let mut lb = Body::new();
        if let Some(i) = lp.get("initProcessEnabled").and_then(Value::as_bool) {
            if i {
                lb.attr("init_process_enabled", true);
            }
        }
        let caps = |k: &str| -> Vec<String> {
            lp.get("capabilities")
                .and_then(|c| c.get(k))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        if !caps("add").is_empty() {
            lb.attr("capabilities_add", strings(&caps("add")));
        }
        if !caps("drop").is_empty() {
            lb.attr("capabilities_drop", strings(&caps("drop")));
        }
        if !lb.is_empty() {
            b.block("linux_parameters", &[], &lb);
        }
    }
    if let Some(mounts) = x.get("mountPoints").and_then(Value::as_array) {
        for m in mounts {
            let mut mb = Body::new();
            mb.attr("volume", m["sourceVolume"].as_str().unwrap_or_default())
                .attr("path", m["containerPath"].as_str().unwrap_or_default());
            if m.get("readOnly").and_then(Value::as_bool) == Some(true) {
                mb.attr("read_only", true);
            }
            b.block("mount", &[], &mb);
        }
    }
    if let Some(fl) = x.get("firelensConfiguration") {
        let mut fb = Body::new();
        let kind = fl["type"].as_str().unwrap_or("fluentbit");
        if kind != "fluentbit" {
            fb.attr("type", kind);
        }
        if let Some(o) = fl.get("options").and_then(Value::as_object) {
            if !o.is_empty() {
                fb.attr(
                    "options",
                    object(
                        o.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
                    ),
                );
            }
        }
        b.block("firelens", &[], &fb);
    }
    if c.log_configuration.is_none() {
        b.attr("logging", false);
    }
    if let Some(l) = &c.log_configuration {
        let default_group = crate::render::Names::log_group(&cluster.name, label);
        let is_default = l.log_driver == "awslogs"
            && l.secret_options.is_empty()
            && l.options
                == BTreeMap::from([
                    ("awslogs-group".to_string(), default_group),
                    ("awslogs-region".to_string(), cluster.region.clone()),
                    ("awslogs-stream-prefix".to_string(), c.name.clone()),
                ]);
        if !is_default {
            let mut lb = Body::new();
            lb.attr("driver", l.log_driver.as_str());
            if !l.options.is_empty() {
                lb.attr("options", object(l.options.clone()));
            }
            if !l.secret_options.is_empty() {
                lb.attr(
                    "secret_options",
                    object(
                        l.secret_options
                            .iter()
                            .map(|s| (s.name.clone(), s.value_from.clone())),
                    ),
                );
            }
            b.block("log", &[], &lb);
        }
    }
    if let Some(raw) = raws.get(&c.name).filter(|r| !r.is_empty()) {
        b.comment("Container definition fields slipway has no attribute for, as they run.")
            .attr("raw", Value::Object(raw.clone()));
    }
    withheld
}

/// What `raw`/`task_raw` must hold so that `rendered` becomes `live`, both in the diff's
/// normalised form (`crate::diff::normalise_task_definition`): per field, the live value
/// (objects recursively), or `null` for a field only the rendered one has.
pub fn residual(rendered: &Value, live: &Value) -> Residual {
    let mut out = Residual::default();
    let by_name = |v: &Value| -> BTreeMap<String, Value> {
        v["containerDefinitions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or_default().to_string(),
                            c.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (rc, lc) = (by_name(rendered), by_name(live));
    for (name, l) in &lc {
        let r = rc.get(name).cloned().unwrap_or(Value::Null);
        let d = object_residual(&r, l, &["name"]);
        if !d.is_empty() {
            out.containers.insert(name.clone(), d);
        }
    }
    out.task = object_residual(rendered, live, &["containerDefinitions"]);
    out
}

fn object_residual(rendered: &Value, live: &Value, skip: &[&str]) -> Map<String, Value> {
    let empty = Map::new();
    let r = rendered.as_object().unwrap_or(&empty);
    let l = live.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = r.keys().chain(l.keys()).collect();
    let mut out = Map::new();
    for k in keys {
        if skip.contains(&k.as_str()) {
            continue;
        }
        match (r.get(k), l.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a @ Value::Object(_)), Some(b @ Value::Object(_))) => {
                out.insert(k.clone(), Value::Object(object_residual(a, b, &[])));
            }
            (_, Some(b)) => {
                out.insert(k.clone(), b.clone());
            }
            (Some(_), None) => {
                out.insert(k.clone(), Value::Null);
            }
            (None, None) => {}
        }
    }
    out
}

/// A task definition with the plain variables whose names look secret taken out (what the
/// adopted file renders, and so what it is compared with).
pub fn without_withheld(td: &TaskDefinition) -> TaskDefinition {
    let mut td = td.clone();
    for c in &mut td.container_definitions {
        c.environment
            .retain(|kv| !crate::naming::looks_secret(&kv.name));
    }
    td
}

/// A minimal `terraform output -json` for rendering an adopted file: none (every value is in
/// the file).
pub fn no_outputs() -> crate::terraform::Outputs {
    crate::terraform::Outputs::parse("{}", "no outputs").expect("an empty object parses")
}

/// JSON for a summary of what was adopted.
pub fn summary(w: &Written, path: &str) -> Value {
    json!({
        "file": path,
        "services": w.services,
        "notes": w.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_the_cluster_prefix_and_a_service_suffix() {
        assert_eq!(label_for("invapp-dev-app-service", "invapp-dev"), "app");
        assert_eq!(label_for("api", "doc-platform-staging"), "api");
        assert_eq!(
            label_for("doc-platform-staging-mcp", "doc-platform-staging"),
            "mcp"
        );
        assert_eq!(
            label_for("invapp-dev-service", "invapp-dev"),
            "invapp-dev-service"
        );
    }

    #[test]
    fn images_take_the_deploy_tag_unless_pinned_by_digest() {
        assert_eq!(
            image_template("ghcr.io/org/api:v1.2").as_deref(),
            Some("ghcr.io/org/api:${image_tag}")
        );
        assert_eq!(
            image_template("localhost:5000/api:1").as_deref(),
            Some("localhost:5000/api:${image_tag}")
        );
        assert_eq!(image_template("nginx"), None);
        assert_eq!(image_template("ghcr.io/org/api@sha256:abc"), None);
    }

    #[test]
    fn residuals_are_what_live_has_and_rendered_lacks() {
        let rendered = json!({
            "family": "f", "cpu": "256",
            "containerDefinitions": [{"name": "a", "image": "x", "linuxParameters": {"initProcessEnabled": true}}],
        });
        let live = json!({
            "family": "f", "cpu": "256", "pidMode": "task",
            "containerDefinitions": [{"name": "a", "image": "x", "linuxParameters": {"initProcessEnabled": true, "sharedMemorySize": 64}, "dnsServers": ["10.0.0.2"]}],
        });
        let r = residual(&rendered, &live);
        assert_eq!(Value::Object(r.task), json!({"pidMode": "task"}));
        assert_eq!(
            Value::Object(r.containers["a"].clone()),
            json!({"dnsServers": ["10.0.0.2"], "linuxParameters": {"sharedMemorySize": 64}})
        );
        let r = residual(&live, &rendered);
        assert_eq!(Value::Object(r.task), json!({"pidMode": null}));
    }
}
