//! One file per command. Each reads like the runbook it replaces: resolve inputs, call the module
//! that owns each step, print, return an exit code.

pub mod comment;
pub mod deploy;
pub mod diff;
pub mod migrate;
pub mod plan;
pub mod promote;
pub mod render;
pub mod rollback;
pub mod status;
pub mod tf_summary;
pub mod validate;

use crate::cli::TfOutputsArgs;
use crate::env::{GitVars, Scope};
use crate::terraform::{Outputs, Terraform, TerraformError};

/// Terraform outputs for one environment: from `--tf-outputs`, or `terraform output -json` in the
/// root's workspace for the environment.
pub async fn tf_outputs(args: &TfOutputsArgs, env: &str) -> Result<Outputs, TerraformError> {
    match &args.tf_outputs {
        Some(file) => Ok(Outputs::from_file(file)?),
        None => {
            Terraform::new(&args.root.terraform_dir, env)?
                .outputs()
                .await
        }
    }
}

/// The evaluation scope shared by the commands. `git` is read once by the caller, not per
/// environment.
pub fn scope(
    env: &str,
    outputs: Option<&Outputs>,
    image_tag: Option<&str>,
    git: Option<&GitVars>,
    allow_unknown: bool,
) -> Scope {
    Scope {
        tf: outputs.map(|o| o.values().clone()),
        tf_sensitive: outputs.map(|o| o.sensitive().to_vec()).unwrap_or_default(),
        image_tag: image_tag.map(str::to_string),
        git: git.cloned(),
        env_name: env.to_string(),
        allow_unknown,
    }
}

/// One environment, loaded and validated with Terraform's outputs in scope, ready to render.
pub struct Ready {
    pub loaded: crate::env::Loaded,
    pub outputs: Outputs,
}

impl Ready {
    pub fn env(&self) -> &crate::env::model::Environment {
        &self.loaded.envs[0]
    }
}

/// Reads outputs, loads and validates `env`; on failure prints why and returns the exit code.
pub async fn ready(
    envs_dir: &std::path::Path,
    env: &str,
    tf: &TfOutputsArgs,
    image_tag: Option<&str>,
    p: &crate::output::Printer,
) -> Result<Ready, crate::exit::Exit> {
    let outputs = tf_outputs(tf, env).await.map_err(|e| {
        p.error(e);
        crate::exit::Exit::Error
    })?;
    load_ready(envs_dir, env, outputs, image_tag, false, p)
}

pub fn load_ready(
    envs_dir: &std::path::Path,
    env: &str,
    outputs: Outputs,
    image_tag: Option<&str>,
    allow_unknown: bool,
    p: &crate::output::Printer,
) -> Result<Ready, crate::exit::Exit> {
    use crate::exit::Exit;
    let git = crate::git::head(envs_dir);
    let sc = scope(env, Some(&outputs), image_tag, git.as_ref(), allow_unknown);
    let loaded = crate::env::load(envs_dir, &[env.to_string()], &|_| sc.clone()).map_err(|e| {
        p.error(e);
        Exit::Error
    })?;
    if loaded.has_errors(false) {
        p.diagnostics(&loaded.sources, &loaded.diagnostics, false);
        if image_tag.is_none() && !allow_unknown {
            p.note("no --image-tag was given and the services do not all run one tag that could stand in for it: pass --image-tag");
        }
        p.note("refused: fix the problems above (`slipway validate` lists them all)");
        return Err(Exit::Error);
    }
    if !allow_unknown {
        p.diagnostics(&loaded.sources, &loaded.diagnostics, false);
    }
    Ok(Ready { loaded, outputs })
}

/// An environment loaded without Terraform outputs (for commands that only read ECS: status,
/// rollback): references to outputs stay unknown, which is allowed here.
pub fn load_plain(
    envs_dir: &std::path::Path,
    env: &str,
    p: &crate::output::Printer,
) -> Result<Ready, crate::exit::Exit> {
    load_ready(envs_dir, env, Outputs::default(), None, true, p)
}

/// An environment with its live ECS state, for commands that compare (diff, plan).
pub struct Compared {
    pub ready: Ready,
    pub clients: crate::aws::Clients,
    pub live: crate::live::Live,
    /// The tag compared: `--image-tag`, or the one tag every live service runs.
    pub image_tag: Option<String>,
}

/// Loads `env` (only `services` when given), reads its live state once, and settles the image
/// tag: without `--image-tag`, a tag that every live service runs stands in for it, so that a
/// diff of configuration alone needs no tag.
pub async fn compared(
    envs_dir: &std::path::Path,
    env: &str,
    tf: &TfOutputsArgs,
    image_tag: Option<&str>,
    services: &[String],
    aws: &crate::cli::AwsArgs,
    p: &crate::output::Printer,
) -> Result<Compared, crate::exit::Exit> {
    use crate::exit::Exit;
    let outputs = tf_outputs(tf, env).await.map_err(|e| {
        p.error(e);
        Exit::Error
    })?;
    let mut ready = load_ready(envs_dir, env, outputs, image_tag, image_tag.is_none(), p)?;
    select_services(&mut ready.loaded.envs[0], services).map_err(|e| {
        p.error(e);
        Exit::Error
    })?;
    let clients = clients(ready.env(), aws).await;
    let names: Vec<String> = ready
        .env()
        .services
        .iter()
        .map(|s| s.name.v.clone())
        .collect();
    let live = live_state(ready.env(), &clients, p).await?;
    let mut tag = image_tag.map(str::to_string);
    if tag.is_none() {
        // Only the declared services count: an orphan's tag says nothing about this file.
        let tags: std::collections::BTreeSet<String> = live
            .image_tags()
            .into_iter()
            .filter(|(service, _)| names.contains(service))
            .map(|(_, tag)| tag)
            .collect();
        tag = (tags.len() == 1).then(|| tags.into_iter().next().expect("one tag"));
        ready = load_ready(envs_dir, env, ready.outputs, tag.as_deref(), false, p)?;
        select_services(&mut ready.loaded.envs[0], services).map_err(|e| {
            p.error(e);
            Exit::Error
        })?;
    }
    Ok(Compared {
        ready,
        clients,
        live,
        image_tag: tag,
    })
}

/// Keeps only the named services (all when `names` is empty); an unknown name is an error.
pub fn select_services(
    env: &mut crate::env::model::Environment,
    names: &[String],
) -> Result<(), String> {
    if names.is_empty() {
        return Ok(());
    }
    let known: Vec<&str> = env.services.iter().map(|s| s.name.v.as_str()).collect();
    for n in names {
        if !known.contains(&n.as_str()) {
            let hint = crate::suggest::did_you_mean(n, known.iter().copied())
                .map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"));
            return Err(format!(
                "environment \"{}\" has no service `{n}`{hint}; services: {}",
                env.name,
                known.join(", ")
            ));
        }
    }
    env.services.retain(|s| names.contains(&s.name.v));
    Ok(())
}

/// The live ECS state of an environment's services; on failure prints why.
pub async fn live_state(
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    p: &crate::output::Printer,
) -> Result<crate::live::Live, crate::exit::Exit> {
    let names: Vec<String> = env.services.iter().map(|s| s.name.v.clone()).collect();
    crate::live::fetch(&clients.ecs, &env.cluster.v, &names)
        .await
        .map_err(|e| {
            p.error(e);
            crate::exit::Exit::Error
        })
}

/// The AWS clients for an environment: its region, the caller's credentials.
pub async fn clients(
    env: &crate::env::model::Environment,
    aws: &crate::cli::AwsArgs,
) -> crate::aws::Clients {
    let timeouts = crate::aws::Timeouts {
        operation: std::time::Duration::from_secs(aws.aws_timeout.max(1)),
        attempt: std::time::Duration::from_secs(aws.aws_timeout.clamp(1, 10)),
        ..Default::default()
    };
    let config = crate::aws::sdk_config(&crate::aws::AwsOptions {
        region: Some(env.region.v.clone()),
        profile: aws.profile.clone(),
        endpoint_url: std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|u| !u.is_empty()),
        timeouts,
    })
    .await;
    crate::aws::Clients::new(&config)
}
