//! Settings, resolved once before a command runs: the flags, the process environment (what
//! GitHub Actions, the AWS SDK's callers and Terraform set), the checkout's git state, and the
//! machine. Commands receive a [`Settings`]; no other module reads `std::env`.
//!
//! Resolving in one place means one answer to "where did this value come from", and tests can
//! build a `Settings` by hand (see [`Settings::from_vars`]) without touching the process.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Format};
use crate::env::GitVars;

#[derive(Clone, Debug)]
pub struct Settings {
    pub envs_dir: PathBuf,
    pub format: Format,
    pub verbose: u8,
    /// Colour on stderr: it is a terminal, and neither `--no-color` nor `NO_COLOR` is set.
    pub color: bool,
    /// `AWS_ENDPOINT_URL`: another AWS endpoint (an emulator). The SDK's own chain reads the
    /// credentials and `AWS_PROFILE`.
    pub aws_endpoint_url: Option<String>,
    pub actions: Actions,
    pub terraform: TerraformSettings,
    /// The HEAD commit of the repository holding the environment files, if there is one.
    pub git: Option<GitVars>,
    /// Who runs slipway: the GitHub actor in Actions, else the local user.
    pub deployer: String,
    /// This machine's name (recorded in locks).
    pub host: String,
    vars: Vars,
}

/// The process environment. Its `Debug` lists names only: values may be secrets.
#[derive(Clone, Default)]
struct Vars(BTreeMap<String, String>);

impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// What GitHub Actions tells a step about its run, and the API it may call.
#[derive(Clone, Debug, Default)]
pub struct Actions {
    /// `GITHUB_ACTIONS=true`: running in a workflow.
    pub running: bool,
    /// `GITHUB_API_URL`, default `https://api.github.com`.
    pub api_url: String,
    /// `GITHUB_GRAPHQL_URL` (Actions sets it; GHES differs from `<api>/graphql`).
    pub graphql_url: Option<String>,
    pub token: Option<Token>,
    /// `GITHUB_REPOSITORY`: owner/name.
    pub repository: Option<String>,
    /// `GITHUB_EVENT_NAME`: push, pull_request, workflow_dispatch, ...
    pub event_name: Option<String>,
    /// `GITHUB_EVENT_PATH`: the event's JSON payload.
    pub event_path: Option<PathBuf>,
    /// `GITHUB_ACTOR`: who started the run.
    pub actor: Option<String>,
    /// `GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID`.
    pub run_url: Option<String>,
    /// `GITHUB_STEP_SUMMARY`: the job summary file.
    pub step_summary: Option<PathBuf>,
}

/// A GitHub token. Its `Debug` never shows it, so no `{:?}` can print it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(Clone, Debug, Default)]
pub struct TerraformSettings {
    /// `SLIPWAY_TERRAFORM`: the executable to run.
    pub binary: Option<PathBuf>,
    /// `PATH`, searched for `terraform` then `tofu` when no binary is given.
    pub path: std::ffi::OsString,
    /// `TF_CLI_CONFIG_FILE` names a file that does not exist (Terraform then warns on every run).
    pub cli_config_missing: bool,
    /// Let Terraform colour its output: slipway's stderr is a terminal and colour is on.
    pub color: bool,
}

impl Settings {
    /// Resolves the settings of this process: its flags, its environment, its checkout.
    pub fn resolve(cli: &Cli) -> Settings {
        let vars: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let mut s = Settings::from_vars(&cli.envs_dir, cli.format, cli.verbose, vars);
        let terminal = std::io::stderr().is_terminal();
        s.color = terminal && !cli.no_color && s.var("NO_COLOR").is_none();
        s.terraform.color = s.color;
        s.terraform.path = std::env::var_os("PATH").unwrap_or_default();
        s.host = hostname();
        s
    }

    /// Settings from the given variables alone (no terminal, no colour): for tests.
    pub fn from_vars(
        envs_dir: &Path,
        format: Format,
        verbose: u8,
        vars: BTreeMap<String, String>,
    ) -> Settings {
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        let running = get("GITHUB_ACTIONS").as_deref() == Some("true");
        let repository = get("GITHUB_REPOSITORY");
        let run_url = match (get("GITHUB_SERVER_URL"), &repository, get("GITHUB_RUN_ID")) {
            (Some(server), Some(repo), Some(id)) => Some(format!(
                "{}/{repo}/actions/runs/{id}",
                server.trim_end_matches('/')
            )),
            _ => None,
        };
        let actions = Actions {
            running,
            api_url: get("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            graphql_url: get("GITHUB_GRAPHQL_URL"),
            token: get("GITHUB_TOKEN").map(Token),
            repository,
            event_name: get("GITHUB_EVENT_NAME"),
            event_path: get("GITHUB_EVENT_PATH").map(PathBuf::from),
            actor: get("GITHUB_ACTOR"),
            run_url,
            step_summary: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        };
        let terraform = TerraformSettings {
            binary: get("SLIPWAY_TERRAFORM").map(PathBuf::from),
            path: vars.get("PATH").cloned().unwrap_or_default().into(),
            cli_config_missing: get("TF_CLI_CONFIG_FILE").is_some_and(|p| !Path::new(&p).exists()),
            color: false,
        };
        // CI checks out a detached HEAD; Actions names the branch in its environment.
        let branch_hint = get("GITHUB_HEAD_REF").or_else(|| get("GITHUB_REF_NAME"));
        let git = crate::git::head(envs_dir, branch_hint);
        let deployer = ["GITHUB_ACTOR", "USER", "USERNAME"]
            .iter()
            .find_map(|k| get(k))
            .unwrap_or_else(|| "unknown".to_string());
        Settings {
            envs_dir: envs_dir.to_path_buf(),
            format,
            verbose,
            color: false,
            aws_endpoint_url: get("AWS_ENDPOINT_URL"),
            actions,
            terraform,
            git,
            deployer,
            host: get("HOSTNAME").unwrap_or_else(|| "localhost".to_string()),
            vars: Vars(vars),
        }
    }

    /// A variable of the process environment that an environment file names (e.g. the Slack
    /// webhook's `slack_webhook_env`); empty counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The GitHub event that started this run, or `local` outside Actions: what `approval.events`
    /// is checked against.
    pub fn event(&self) -> String {
        if self.actions.running {
            self.actions
                .event_name
                .clone()
                .unwrap_or_else(|| "unknown".to_string())
        } else {
            "local".to_string()
        }
    }
}

/// The machine's name, from the kernel (no libc call needed on Linux), else `HOSTNAME`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn actions_run_is_read_from_its_variables() {
        let s = Settings::from_vars(
            Path::new("/nonexistent"),
            Format::Text,
            0,
            vars(&[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_EVENT_NAME", "workflow_dispatch"),
                ("GITHUB_ACTOR", "octocat"),
                ("GITHUB_REPOSITORY", "acme/app"),
                ("GITHUB_SERVER_URL", "https://github.com/"),
                ("GITHUB_RUN_ID", "42"),
                ("GITHUB_TOKEN", "ghs_secret"),
            ]),
        );
        assert_eq!(s.event(), "workflow_dispatch");
        assert_eq!(s.deployer, "octocat");
        assert_eq!(
            s.actions.run_url.as_deref(),
            Some("https://github.com/acme/app/actions/runs/42")
        );
        assert!(!format!("{s:?}").contains("ghs_secret"), "the token leaked");
    }

    #[test]
    fn outside_actions_the_event_is_local() {
        let s = Settings::from_vars(
            Path::new("/nonexistent"),
            Format::Text,
            0,
            vars(&[("GITHUB_EVENT_NAME", "push"), ("USER", "ana")]),
        );
        assert_eq!(s.event(), "local");
        assert_eq!(s.deployer, "ana");
        assert_eq!(s.var("GITHUB_EVENT_NAME"), Some("push"));
        assert_eq!(s.var("NOPE"), None);
    }
}
