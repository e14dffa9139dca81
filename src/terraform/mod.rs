//! Running Terraform and reading what it prints.
//!
//! slipway finds `terraform` (or `tofu`, or the path in `SLIPWAY_TERRAFORM`) and runs it without
//! a terminal, without prompts and under a deadline. This module owns the child process; what the
//! JSON means is read in the submodules.

pub mod outputs;
pub mod plan;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub use outputs::Outputs;

use crate::settings::TerraformSettings;

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
        /// What it printed before failing (an apply lists what it did apply).
        stdout: String,
    },
    /// Its output could not be used.
    #[error(transparent)]
    Outputs(#[from] outputs::OutputsError),
}

/// Locates the executable: `SLIPWAY_TERRAFORM`, then `terraform`, then `tofu` on PATH.
pub fn find_binary(settings: &TerraformSettings) -> Result<PathBuf, TerraformError> {
    if let Some(p) = &settings.binary {
        // Absolute, because Terraform runs with the root as its working directory.
        return std::fs::canonicalize(p)
            .ok()
            .filter(|p| p.is_file())
            .ok_or(TerraformError::NotFound);
    }
    for name in ["terraform", "tofu"] {
        for dir in std::env::split_paths(&settings.path) {
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
    /// Echo Terraform's output to stderr line by line as it runs (progress for people).
    pub stream: bool,
    /// Let Terraform colour its output (only when slipway's stderr is a terminal).
    pub color: bool,
    /// Point Terraform at an empty CLI configuration (the configured one does not exist).
    pub empty_cli_config: bool,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Terraform {
    pub fn new(
        settings: &TerraformSettings,
        dir: &Path,
        workspace: &str,
    ) -> Result<Terraform, TerraformError> {
        Ok(Terraform {
            binary: find_binary(settings)?,
            dir: dir.to_path_buf(),
            workspace: workspace.to_string(),
            timeout: Duration::from_secs(600),
            stream: false,
            color: settings.color,
            empty_cli_config: settings.cli_config_missing,
        })
    }

    /// Runs `terraform <args>` in the working directory; `ok_codes` are the exit codes that are
    /// not failures (plan's `-detailed-exitcode` makes 2 one of them).
    pub async fn run(&self, args: &[&str], ok_codes: &[i32]) -> Result<Output, TerraformError> {
        let mut cmd = tokio::process::Command::new(&self.binary);
        // Colour codes belong on a terminal only; every subcommand slipway runs takes -no-color.
        let args: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| !self.color || *a != "-no-color")
            .collect();
        let args = args.as_slice();
        cmd.args(args).current_dir(&self.dir);
        if self.workspace.is_empty() {
            cmd.env_remove("TF_WORKSPACE");
        } else {
            cmd.env("TF_WORKSPACE", &self.workspace);
        }
        cmd.env("TF_INPUT", "0")
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // A CLI config path that does not exist makes Terraform warn on every run.
        if self.empty_cli_config {
            cmd.env("TF_CLI_CONFIG_FILE", "/dev/null");
        }
        let mut child = cmd.spawn().map_err(|source| TerraformError::Spawn {
            binary: self.binary.display().to_string(),
            source,
        })?;
        let command = args.join(" ");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stream = self.stream;
        let collect = async move {
            let out = read_lines(stdout, stream);
            let err = read_lines(stderr, stream);
            let (out, err) = tokio::join!(out, err);
            let status = child.wait().await;
            (out, err, status)
        };
        // On timeout the future (and with it the child, kill_on_drop) is dropped.
        let (stdout, stderr, status) =
            tokio::time::timeout(self.timeout, collect)
                .await
                .map_err(|_| TerraformError::Timeout {
                    command: command.clone(),
                    timeout: self.timeout,
                })?;
        let status = status.map_err(|source| TerraformError::Spawn {
            binary: self.binary.display().to_string(),
            source,
        })?;
        let code = status.code().unwrap_or(-1);
        let output = Output {
            stdout,
            stderr,
            code,
        };
        if code != 0 && !ok_codes.contains(&code) {
            return Err(TerraformError::Failed {
                command,
                code,
                stderr: output.stderr.trim().to_string(),
                stdout: output.stdout,
            });
        }
        Ok(output)
    }

    /// `terraform output -json` for this workspace.
    pub async fn outputs(&self) -> Result<Outputs, TerraformError> {
        let out = self.run(&["output", "-json", "-no-color"], &[]).await?;
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

/// Which state a state is: Terraform calls a saved plan stale when the state's lineage or
/// serial moved since the plan was made. Only these two fields are read; the state's values
/// (sensitive ones among them) are parsed past and never kept.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct StateMeta {
    pub lineage: String,
    pub serial: u64,
}

impl StateMeta {
    fn parse(json: &[u8]) -> Result<Option<StateMeta>, String> {
        if json.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let m: StateMeta =
            serde_json::from_slice(json).map_err(|e| format!("not a Terraform state: {e}"))?;
        // A plan of a workspace that has no state yet records serial 0 and no lineage.
        Ok((!m.lineage.is_empty()).then_some(m))
    }
}

/// The state a saved plan (a zip archive; its `tfstate` entry) was made against.
pub fn saved_plan_state(plan_file: &Path) -> Result<Option<StateMeta>, String> {
    let file = std::fs::File::open(plan_file).map_err(|e| e.to_string())?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| format!("not a saved Terraform plan: {e}"))?;
    let mut entry = match zip.by_name("tfstate") {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("not a saved Terraform plan: {e}")),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(|e| e.to_string())?;
    StateMeta::parse(&bytes)
}

/// Reads a child's stream to the end, echoing each line to stderr when `echo` is set.
async fn read_lines(stream: impl tokio::io::AsyncRead + Unpin, echo: bool) -> String {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stream).lines();
    let mut all = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if echo {
            eprintln!("  terraform │ {line}");
        }
        all.push_str(&line);
        all.push('\n');
    }
    all
}

/// The result of `terraform plan -detailed-exitcode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanOutcome {
    NoChanges,
    Changes,
}

impl Terraform {
    /// `terraform init` (no prompts; backend settings come from `-backend-config` files/flags).
    pub async fn init(&self, backend_config: &[String]) -> Result<Output, TerraformError> {
        let mut args = vec![
            "init".to_string(),
            "-input=false".to_string(),
            "-no-color".to_string(),
        ];
        args.extend(
            backend_config
                .iter()
                .map(|c| format!("-backend-config={c}")),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run_without_workspace(&args).await
    }

    /// `terraform workspace select -or-create <env>`.
    pub async fn select_workspace(&self) -> Result<Output, TerraformError> {
        self.run_without_workspace(&["workspace", "select", "-or-create", &self.workspace])
            .await
    }

    /// `terraform plan -out <planfile> -var-file <vars> -detailed-exitcode`.
    pub async fn plan(
        &self,
        var_file: &Path,
        plan_file: &Path,
    ) -> Result<PlanOutcome, TerraformError> {
        let var = format!("-var-file={}", var_file.display());
        let out = format!("-out={}", plan_file.display());
        let o = self
            .run(
                &[
                    "plan",
                    "-input=false",
                    "-no-color",
                    "-lock-timeout=60s",
                    "-detailed-exitcode",
                    &var,
                    &out,
                ],
                &[2],
            )
            .await?;
        Ok(if o.code == 2 {
            PlanOutcome::Changes
        } else {
            PlanOutcome::NoChanges
        })
    }

    /// `terraform apply <planfile>`: applies exactly the reviewed plan, never a new one.
    pub async fn apply(&self, plan_file: &Path) -> Result<Output, TerraformError> {
        let plan = plan_file.display().to_string();
        self.run(
            &[
                "apply",
                "-input=false",
                "-no-color",
                "-lock-timeout=60s",
                &plan,
            ],
            &[],
        )
        .await
    }

    /// The workspace's current state (`terraform state pull`; never echoed, it holds values).
    pub async fn state(&self) -> Result<Option<StateMeta>, TerraformError> {
        let quiet = Terraform {
            binary: self.binary.clone(),
            dir: self.dir.clone(),
            workspace: self.workspace.clone(),
            timeout: self.timeout,
            stream: false,
            color: false,
            empty_cli_config: self.empty_cli_config,
        };
        let out = quiet.run(&["state", "pull"], &[]).await?;
        StateMeta::parse(out.stdout.as_bytes()).map_err(|message| TerraformError::Failed {
            command: "state pull".into(),
            code: 0,
            stderr: message,
            stdout: String::new(),
        })
    }

    /// `terraform show -json <planfile>`, parsed as it streams out of the process.
    pub fn show_plan(&self, plan_file: &Path) -> Result<plan::PlanSummary, ShowError> {
        let mut child = std::process::Command::new(&self.binary)
            .args(["show", "-json", "-no-color"])
            .arg(plan_file)
            .current_dir(&self.dir)
            .env("TF_WORKSPACE", &self.workspace)
            .env("TF_INPUT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| TerraformError::Spawn {
                binary: self.binary.display().to_string(),
                source,
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
            s
        });
        // The deadline: a watchdog kills the process, which ends the stream and with it the parse.
        let child = std::sync::Arc::new(std::sync::Mutex::new(child));
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let timeout = self.timeout;
        let watched = std::sync::Arc::clone(&child);
        let watchdog = std::thread::spawn(move || {
            let expired = done_rx.recv_timeout(timeout).is_err();
            if expired {
                let _ = watched.lock().map(|mut c| c.kill());
            }
            expired
        });
        let parsed = plan::summarise(
            stdout,
            &format!("`terraform show -json {}`", plan_file.display()),
        );
        // stdout is closed: the process is exiting, or was killed. Poll rather than block while
        // holding the lock, so the watchdog can still kill a process that lingers.
        let status = loop {
            match child.lock().map(|mut c| c.try_wait()) {
                Ok(Ok(Some(status))) => break Ok(status),
                Ok(Ok(None)) => std::thread::sleep(Duration::from_millis(20)),
                Ok(Err(e)) => break Err(e),
                Err(_) => break Err(std::io::Error::other("the process handle was poisoned")),
            }
        };
        let _ = done_tx.send(());
        let timed_out = watchdog.join().unwrap_or(false);
        let stderr = err_reader.join().unwrap_or_default();
        if timed_out {
            return Err(TerraformError::Timeout {
                command: "show -json".to_string(),
                timeout,
            }
            .into());
        }
        let code = status.ok().and_then(|s| s.code()).unwrap_or(-1);
        if code != 0 {
            return Err(TerraformError::Failed {
                command: format!("show -json {}", plan_file.display()),
                code,
                stderr: stderr.trim().to_string(),
                stdout: String::new(),
            }
            .into());
        }
        Ok(parsed?)
    }

    async fn run_without_workspace(&self, args: &[&str]) -> Result<Output, TerraformError> {
        // `init` and `workspace` must not see TF_WORKSPACE pointing at a workspace that does
        // not exist yet.
        let t = Terraform {
            binary: self.binary.clone(),
            dir: self.dir.clone(),
            workspace: String::new(),
            timeout: self.timeout,
            stream: self.stream,
            color: self.color,
            empty_cli_config: self.empty_cli_config,
        };
        t.run(args, &[]).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(transparent)]
    Terraform(#[from] TerraformError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
}
