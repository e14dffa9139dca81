//! `slipway plan`: the Terraform plan and the ECS diff of one environment, written to a plan
//! file with a fingerprint (and optionally posted as the PR comment).
//!
//! Steps: Terraform outputs → load + validate → render tfvars → terraform init, workspace,
//! plan -out, show -json → summary → live ECS state → render → diff → plan file → print
//! (→ comment).

use std::path::{Path, PathBuf};

use crate::cli::{Format, PlanArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::planfile::{self, PlanFile, TerraformPart};
use crate::terraform::Terraform;
use crate::{live, render, report};

pub async fn run(s: &crate::settings::Settings, args: &PlanArgs, p: &Printer) -> Exit {
    if let Err(code) = super::known_env(s, &args.env, p) {
        return code;
    }
    // Terraform first: `terraform output -json` (read next, unless --tf-outputs) needs an
    // initialised working directory and the environment's workspace.
    let tf = if args.no_terraform {
        None
    } else {
        match prepare_terraform(s, &args.env, args, p).await {
            Ok(tf) => Some(tf),
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        }
    };
    let c = match super::compared(
        s,
        &args.env,
        &args.tf,
        args.image_tag.as_deref(),
        &[],
        &args.aws,
        p,
    )
    .await
    {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut c = c;
    if let Some(base) = &args.changed_since {
        // The ECS half and the sites cover what changed only; Terraform's half is planned whole.
        match super::changed::selected_in(s, base, &args.env) {
            Ok(changed) => {
                p.note(format!(
                    "changed since {base}: {}",
                    super::describe(&changed)
                ));
                let env = &mut c.ready.loaded.envs[0];
                env.services
                    .retain(|svc| changed.services.contains_key(&svc.name.v));
                env.sites
                    .retain(|site| changed.sites.contains_key(&site.name.v));
            }
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        }
    }
    let ready = &c.ready;
    let env = ready.env();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!(".slipway/plans/{}.json", env.name)));
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        p.error(format!("cannot create {}: {e}", dir.display()));
        return Exit::Error;
    }

    let terraform = match &tf {
        None => None,
        Some(tf) => match terraform_plan(tf, env, &dir).await {
            Ok(t) => Some(t),
            Err(e) => {
                p.error(e);
                return Exit::Error;
            }
        },
    };

    let ecs = match live::plan(env, &ready.outputs, c.image_tag.as_deref(), &c.live) {
        Ok(plan) => plan,
        Err(diags) => return super::diff::render_failed(&diags, &ready.loaded.sources, p),
    };
    // The migrations the apply would run: since the base given, else since each live revision's
    // commit (the live state was read above).
    let migrations = if crate::migrations::pending::has_sql(env) {
        use crate::migrations::pending;
        let base = match &args.migrations_base {
            Some(b) => pending::Base::Given(b.clone()),
            None => pending::Base::PerService(pending::live_bases(env, &c.live)),
        };
        match pending::report(&pending::repo_root(&s.envs_dir), env, &base) {
            Ok(r) => Some(r),
            Err(e) => {
                p.error(format!("migrations: {e}"));
                return Exit::Error;
            }
        }
    } else {
        None
    };
    let sites = match super::planned_sites(s, env, &c.clients, p).await {
        Ok(sites) => sites,
        Err(code) => return code,
    };
    let git = s.git.clone();
    let plan = PlanFile {
        format: planfile::FORMAT,
        environment: env.name.clone(),
        account_id: env.account_id.v.clone(),
        region: env.region.v.clone(),
        cluster: env.cluster.v.clone(),
        env_files: planfile::env_file_digests(&ready.loaded.sources),
        git: git.map(|g| planfile::GitRef {
            sha: g.sha,
            branch: g.branch,
        }),
        slipway_version: env!("CARGO_PKG_VERSION").to_string(),
        image_tag: c.image_tag.clone(),
        terraform,
        ecs: planfile::EcsPart {
            rendered: ecs.rendered,
            diffs: ecs.diffs,
            live_digest: ecs.live.digest,
            live_services: ecs.live.services,
        },
        migrations,
        sites,
        created_at: planfile::now_rfc3339(),
        fingerprint: String::new(),
    }
    .seal();
    if let Err(e) = plan.write(&out) {
        p.error(format!("cannot write the plan file {}: {e}", out.display()));
        return Exit::Error;
    }

    match p.format {
        Format::Json => p.json(&plan),
        Format::Text => {
            if let Some(tf) = &plan.terraform {
                p.line(report::plan::text(&tf.summary).trim_end());
            }
            p.line(
                report::diff::text(&plan.environment, &plan.ecs.diffs, p.color_stdout()).trim_end(),
            );
            if let Some(m) = &plan.migrations {
                p.line(report::migrations::text(Some("Migrations:"), m).trim_end());
            }
            if !plan.sites.is_empty() {
                p.line(crate::site::run::planned_text(&plan.sites).trim_end());
            }
        }
    }
    p.note(format!(
        "plan written to {} (fingerprint {})",
        out.display(),
        plan.short_fingerprint()
    ));
    if args.comment {
        let code = super::comment::post(s, &plan, &out, &args.github, p).await;
        if code != Exit::Ok {
            return code;
        }
    }
    if args.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    }
}

/// `terraform init` and `workspace select -or-create <env>` in the Terraform root.
async fn prepare_terraform(
    s: &crate::settings::Settings,
    env: &str,
    args: &PlanArgs,
    p: &Printer,
) -> Result<Terraform, String> {
    let mut tf = Terraform::new(&s.terraform, &args.tf.root.terraform_dir, env)
        .map_err(|e| e.to_string())?;
    tf.stream = p.verbose > 0;
    p.note(format!(
        "terraform: init and workspace {env} in {}",
        tf.dir.display()
    ));
    tf.init(&args.backend_config)
        .await
        .map_err(|e| e.to_string())?;
    tf.select_workspace().await.map_err(|e| e.to_string())?;
    Ok(tf)
}

/// Renders tfvars and runs the Terraform plan in the environment's workspace; the binary plan
/// is saved beside the plan file.
async fn terraform_plan(
    tf: &Terraform,
    env: &crate::env::model::Environment,
    dir: &Path,
) -> Result<TerraformPart, String> {
    let statics = render::render_static(env);
    let unresolved = render::tfvars::unresolved(&statics.tfvars);
    if !unresolved.is_empty() {
        return Err(format!(
            "the Terraform variables would contain {}: write these values in the environment file",
            unresolved.join(", ")
        ));
    }
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let var_file = dir.join(format!("{}.tfvars.json", env.name));
    let plan_name = format!("{}.tfplan", env.name);
    let plan_path = dir.join(&plan_name);
    let text = serde_json::to_string_pretty(&statics.tfvars).expect("a Value serialises");
    std::fs::write(&var_file, text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", var_file.display()))?;
    tf.plan(&var_file, &plan_path)
        .await
        .map_err(|e| e.to_string())?;
    let summary = tf.show_plan(&plan_path).map_err(|e| e.to_string())?;
    let plan_sha256 = planfile::file_sha256(&plan_path)
        .map_err(|e| format!("cannot read {}: {e}", plan_path.display()))?;
    Ok(TerraformPart {
        plan_file: PathBuf::from(plan_name),
        plan_sha256,
        workspace: env.name.clone(),
        summary,
    })
}
