//! Live ECS state of one environment, and the ECS half of a plan: rendered against live.
//!
//! API calls for N services: ceil(N/10) DescribeServices, ListServices (one per 100 services in
//! the cluster, to find services the file does not declare), one DescribeTaskDefinition per
//! distinct live task definition, and DescribeClusters only when no service exists; all bounded
//! in concurrency.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::Digest;

use crate::aws::ecs::{self, LiveService};
use crate::aws::{bounded, AwsError, CONCURRENCY};
use crate::diag::Diagnostic;
use crate::diff::{self, ServiceDiff};
use crate::env::model::Environment;
use crate::render::{self, ecs::TaskDefinition, Ecs};
use crate::terraform::Outputs;

/// One service an environment file declares: its label (what everything is keyed by), its
/// name in ECS and its main container's name (they differ for adopted services).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub label: String,
    pub ecs_name: String,
    pub container: String,
}

/// The services `env` declares.
pub fn declared(env: &Environment) -> Vec<Declared> {
    env.services
        .iter()
        .map(|s| Declared {
            label: s.name.v.clone(),
            ecs_name: s.ecs_name().to_string(),
            container: s.container().to_string(),
        })
        .collect()
}

/// Services whose label, ECS name and main container are all the same name.
pub fn named(names: &[String]) -> Vec<Declared> {
    names
        .iter()
        .map(|n| Declared {
            label: n.clone(),
            ecs_name: n.clone(),
            container: n.clone(),
        })
        .collect()
}

#[derive(Clone, Debug, Default)]
pub struct Live {
    pub cluster: String,
    /// The cluster does not exist (every service is a create).
    pub cluster_missing: bool,
    /// Declared services that exist, by label, and orphaned ones, by their ECS name.
    pub services: BTreeMap<String, LiveService>,
    /// Each declared service's main container, by label.
    pub containers: BTreeMap<String, String>,
    /// Their task definitions, by ARN, in input shape.
    pub task_definitions: BTreeMap<String, TaskDefinition>,
    /// Services in the cluster that no environment file declares.
    pub orphans: Vec<String>,
}

impl Live {
    pub fn task_definition_of(&self, service: &str) -> Option<(&str, &TaskDefinition)> {
        let s = self.services.get(service)?;
        let td = self.task_definitions.get(&s.task_definition)?;
        Some((s.task_definition.as_str(), td))
    }

    /// The tag of each service's main image, for rendering when no tag is given.
    pub fn image_tags(&self) -> BTreeMap<String, String> {
        self.services
            .keys()
            .filter_map(|name| {
                let (_, td) = self.task_definition_of(name)?;
                let main = self.containers.get(name).unwrap_or(name);
                let c = td
                    .container_definitions
                    .iter()
                    .find(|c| &c.name == main)
                    .or_else(|| td.container_definitions.first())?;
                let tag = image_tag(&c.image)?;
                Some((name.clone(), tag.to_string()))
            })
            .collect()
    }
}

/// The tag of an image reference (`repo:tag`, not a digest, not a registry port).
pub fn image_tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next()?;
    let (_, tag) = last.split_once(':')?;
    (!image.contains('@')).then_some(tag)
}

/// Reads the live state of the `declared` services in `cluster` (and of services the file does
/// not declare).
pub async fn fetch(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    declared: &[Declared],
) -> Result<Live, AwsError> {
    let mut live = Live {
        cluster: cluster.to_string(),
        containers: declared
            .iter()
            .map(|d| (d.label.clone(), d.container.clone()))
            .collect(),
        ..Default::default()
    };
    let names: Vec<String> = declared.iter().map(|d| d.ecs_name.clone()).collect();
    let names = names.as_slice();
    let described = match ecs::describe_services(client, cluster, names).await {
        Ok(d) => d,
        Err(e) if e.is_code("ClusterNotFoundException") => {
            live.cluster_missing = true;
            return Ok(live);
        }
        Err(e) => return Err(e),
    };
    // No service found: tell "none created yet" from "no cluster" (one more call, only then).
    if described.found.is_empty()
        && ecs::cluster_status(client, cluster).await?.as_deref() != Some("ACTIVE")
    {
        live.cluster_missing = true;
        return Ok(live);
    }
    let declared_names: BTreeSet<&String> = names.iter().collect();
    let listed = ecs::list_services(client, cluster).await?;
    live.orphans = listed
        .into_iter()
        .filter(|n| !declared_names.contains(n))
        .collect();
    let mut found = described.found;
    if !live.orphans.is_empty() {
        found.extend(
            ecs::describe_services(client, cluster, &live.orphans)
                .await?
                .found,
        );
    }
    let arns: BTreeSet<String> = found.iter().map(|s| s.task_definition.clone()).collect();
    let described = bounded(arns, CONCURRENCY, |arn| async move {
        ecs::describe_task_definition(client, &arn)
            .await
            .map(|(_, td)| (arn, td))
    })
    .await;
    for r in described {
        let (arn, td) = r?;
        live.task_definitions.insert(arn, td);
    }
    let label_of: BTreeMap<&str, &str> = declared
        .iter()
        .map(|d| (d.ecs_name.as_str(), d.label.as_str()))
        .collect();
    live.services = found
        .into_iter()
        .map(|s| {
            let key = label_of
                .get(s.name.as_str())
                .map_or_else(|| s.name.clone(), |l| l.to_string());
            (key, s)
        })
        .collect();
    Ok(live)
}

/// The ECS half of a plan.
#[derive(Clone, Debug)]
pub struct EcsPlan {
    pub rendered: Ecs,
    pub diffs: Vec<ServiceDiff>,
    pub live: LiveDigests,
}

/// Digests of the live state a plan was made against: the one the plan file binds, and one per
/// service (to name what moved when the first no longer matches).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveDigests {
    pub digest: String,
    pub services: BTreeMap<String, String>,
}

/// The live state of the services `names` (and of the orphans in the cluster), digested: what a
/// plan records and what `apply` reads again to tell whether anything moved since.
pub fn digests(names: &[String], live: &Live) -> LiveDigests {
    let mut input: BTreeMap<String, Option<Value>> = BTreeMap::new();
    for name in names {
        let value = live.services.get(name).and_then(|s| {
            let (arn, td) = live.task_definition_of(name)?;
            Some(serde_json::json!({
                "arn": arn,
                "document": diff::document(td, &s.settings),
            }))
        });
        input.insert(name.clone(), value);
    }
    for name in &live.orphans {
        let value = live
            .task_definition_of(name)
            .map(|(arn, _)| serde_json::json!({ "arn": arn }));
        input.insert(name.clone(), value);
    }
    let services = input
        .iter()
        .filter_map(|(name, v)| {
            let v = v.as_ref()?;
            let text = serde_json::to_string(v).expect("a Value serialises");
            Some((
                name.clone(),
                diff::hex(&sha2::Sha256::digest(text.as_bytes())),
            ))
        })
        .collect();
    LiveDigests {
        digest: diff::live_digest(&input),
        services,
    }
}

impl EcsPlan {
    pub fn has_changes(&self) -> bool {
        self.diffs.iter().any(ServiceDiff::has_changes)
    }
}

/// Renders `env` (with `image_tag`, or each service's live tag) and compares it with `live`.
pub fn plan(
    env: &Environment,
    outputs: &Outputs,
    image_tag: Option<&str>,
    live: &Live,
) -> Result<EcsPlan, Vec<Diagnostic>> {
    let inputs = render::Inputs {
        image_tag: image_tag.map(str::to_string),
        live_image_tags: live.image_tags(),
        ..Default::default()
    };
    let rendered = render::render_ecs(env, outputs, &inputs)?;
    Ok(compare(env, rendered, live))
}

/// Compares rendered and live state, service by service (declared ones first, then orphans).
pub fn compare(env: &Environment, rendered: Ecs, live: &Live) -> EcsPlan {
    let mut diffs = Vec::new();
    let entry = |name: &str| {
        let s = live.services.get(name)?;
        let (arn, td) = live.task_definition_of(name)?;
        Some(diff::LiveEntry {
            task_definition_arn: arn,
            task_definition: td,
            settings: &s.settings,
        })
    };
    for svc in &env.services {
        let name = &svc.name.v;
        let rendered_pair = rendered
            .task_definitions
            .get(name)
            .zip(rendered.services.get(name));
        let ctx = diff::Context {
            autoscaling: svc.autoscaling.as_ref().map(|a| (a.min.v, a.max.v)),
            container: Some(svc.container().to_string()),
        };
        let mut d = diff::service(name, rendered_pair, entry(name), ctx);
        if live.cluster_missing {
            d.note = Some(format!("cluster {} does not exist yet", live.cluster));
        }
        diffs.push(d);
    }
    for name in &live.orphans {
        let mut d = diff::service(name, None, entry(name), diff::Context::default());
        d.note = Some("runs in the cluster but no environment file declares it: slipway never deletes services".into());
        diffs.push(d);
    }
    EcsPlan {
        rendered,
        diffs,
        live: digests(
            &env.services
                .iter()
                .map(|s| s.name.v.clone())
                .collect::<Vec<_>>(),
            live,
        ),
    }
}
