//! One file per command. Each reads like the runbook it replaces: resolve inputs, call the module
//! that owns each step, print, return an exit code.

pub mod render;
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
