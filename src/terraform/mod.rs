//! Running Terraform and reading what it prints.
//!
//! slipway finds `terraform` (or `tofu`, or the path in `SLIPWAY_TERRAFORM`) and runs it without
//! a terminal, without prompts and under a deadline. This module owns the child process; what the
//! JSON means is read in the submodules.

pub mod outputs;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub use outputs::Outputs;

#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    /// No executable could be found.
    #[error("no Terraform executable found: set SLIPWAY_TERRAFORM to its path, or put `terraform` (1.5 or later) or `tofu` on PATH (https://developer.hashicorp.com/terraform/install); `make setup` builds one for local use in .venv/bin/terraform")]
    NotFound,
    /// The process could not be started.
    #[error("cannot run {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    /// It ran past the deadline and was killed.
    #[error("`terraform {command}` did not finish within {}s and was stopped", timeout.as_secs())]
    Timeout { command: String, timeout: Duration },
    /// It exited with an error.
    #[error("`terraform {command}` failed (exit {code}):\n{stderr}")]
    Failed {
        command: String,
        code: i32,
        stderr: String,
    },
    /// Its output could not be used.
    #[error(transparent)]
    Outputs(#[from] outputs::OutputsError),
}

/// Locates the executable: `SLIPWAY_TERRAFORM`, then `terraform`, then `tofu` on PATH.
pub fn find_binary() -> Result<PathBuf, TerraformError> {
    if let Some(p) = std::env::var_os("SLIPWAY_TERRAFORM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(TerraformError::NotFound)
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["terraform", "tofu"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(TerraformError::NotFound)
}

/// A Terraform working directory and the workspace slipway uses in it (one per environment).
pub struct Terraform {
    pub binary: PathBuf,
    pub dir: PathBuf,
    pub workspace: String,
    pub timeout: Duration,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Terraform {
    pub fn new(dir: &Path, workspace: &str) -> Result<Terraform, TerraformError> {
        Ok(Terraform {
            binary: find_binary()?,
            dir: dir.to_path_buf(),
            workspace: workspace.to_string(),
            timeout: Duration::from_secs(600),
        })
    }

    /// Runs `terraform <args>` in the working directory; `ok_codes` are the exit codes that are
    /// not failures (plan's `-detailed-exitcode` makes 2 one of them).
    pub async fn run(&self, args: &[&str], ok_codes: &[i32]) -> Result<Output, TerraformError> {
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.args(args)
            .current_dir(&self.dir)
            .env("TF_WORKSPACE", &self.workspace)
            .env("TF_INPUT", "0")
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // A CLI config path that does not exist makes Terraform warn on every run.
        if let Some(cfg) = std::env::var_os("TF_CLI_CONFIG_FILE") {
            if !Path::new(&cfg).exists() {
                cmd.env("TF_CLI_CONFIG_FILE", "/dev/null");
            }
        }
        let child = cmd.spawn().map_err(|source| TerraformError::Spawn {
            binary: self.binary.display().to_string(),
            source,
        })?;
        let command = args.join(" ");
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| TerraformError::Timeout {
                command: command.clone(),
                timeout: self.timeout,
            })?
            .map_err(|source| TerraformError::Spawn {
                binary: self.binary.display().to_string(),
                source,
            })?;
        let code = out.status.code().unwrap_or(-1);
        let output = Output {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code,
        };
        if code != 0 && !ok_codes.contains(&code) {
            return Err(TerraformError::Failed {
                command,
                code,
                stderr: output.stderr.trim().to_string(),
            });
        }
        Ok(output)
    }

    /// `terraform output -json` for this workspace.
    pub async fn outputs(&self) -> Result<Outputs, TerraformError> {
        let out = self.run(&["output", "-json"], &[]).await?;
        Ok(Outputs::parse(
            &out.stdout,
            &format!(
                "`terraform output -json` in {} (workspace {})",
                self.dir.display(),
                self.workspace
            ),
        )?)
    }
}
