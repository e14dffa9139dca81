//! Test support: the slipway binary, the emulator (moto server), the offline terraform.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::Duration;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

pub fn venv() -> PathBuf {
    std::env::var_os("SLIPWAY_VENV").map_or_else(|| repo().join(".venv"), PathBuf::from)
}

pub fn python() -> PathBuf {
    let p = venv().join("bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `make setup` first",
        p.display()
    );
    p
}

pub fn terraform() -> PathBuf {
    repo().join("tests/harness/terraform")
}

/// Dummy credentials for the emulator, set once before any SDK call reads them.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_PROFILE");
    });
}

/// What the host may set that would change what slipway does: GitHub Actions' run, AWS and
/// slipway's own settings. Tests start from none of them.
pub const AMBIENT: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "SLIPWAY_ENVS_DIR",
    "SLIPWAY_TERRAFORM",
    "SLIPWAY_LOCK_LEASE",
    "SLIPWAY_LOCK_TIMEOUT",
    "SLIPWAY_APPLY_HINT",
    "GITHUB_ACTIONS",
    "GITHUB_ACTOR",
    "GITHUB_API_URL",
    "GITHUB_GRAPHQL_URL",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_SERVER_URL",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_TOKEN",
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
];

/// The slipway binary, with no colour and no ambient AWS, GitHub or Terraform settings.
/// `git args` in `dir` with a committer identity; its trimmed stdout. Fails the test on an error.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=ci@example.test", "-c", "user.name=ci"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn slipway() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_slipway"));
    c.env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for v in AMBIENT {
        c.env_remove(v);
    }
    c
}

/// Calls that change something in AWS: everything but reads (Describe*, List*, Get*,
/// BatchGet*, Head*), as the emulator names them (`S3.GetObject`, `ECS.UpdateService`, ...).
pub fn mutations(calls: &std::collections::BTreeMap<String, u64>) -> Vec<String> {
    calls
        .keys()
        .filter(|k| {
            let op = k.split('.').nth(1).unwrap_or("");
            !["Describe", "List", "Get", "BatchGet", "Head"]
                .iter()
                .any(|read| op.starts_with(read))
        })
        .cloned()
        .collect()
}

/// The environment's lock bucket, read with slipway's own loader (seed.py creates it).
pub fn lock_bucket(envs_dir: &Path, env: &str) -> Option<String> {
    let scope = slipway::commands::scope(env, None, None, None, true);
    let loaded = slipway::env::load(envs_dir, &[env.to_string()], &|_| scope.clone()).ok()?;
    loaded
        .envs
        .first()?
        .deploy
        .lock_bucket
        .as_ref()
        .map(|b| b.v.clone())
}

/// A moto server on a free loopback port, stopped when dropped.
pub struct Emulator {
    child: Child,
    pub url: String,
}

/// Starts a harness server script (`ready URL` on stdout once it answers) on a free port.
pub fn spawn_ready(script: &str, args: &[&str]) -> (Child, String) {
    init();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(python())
        .arg(repo().join("tests/harness").join(script))
        .args(["--port", &port.to_string()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {script}: {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("ready ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => (child, url),
        Err(_) => {
            let _ = child.kill();
            panic!("{script} did not start within 60s");
        }
    }
}

impl Emulator {
    pub fn start(account: &str) -> Emulator {
        let (child, url) = spawn_ready("emulator.py", &["--account", account]);
        Emulator { child, url }
    }

    /// Creates what the Terraform root would, from rendered tfvars, writes the outputs, and
    /// pushes an image with each of `tags` to every repository; `buckets` exist before
    /// Terraform (the state bucket, which holds slipway's locks).
    pub fn seed_and_push(&self, tfvars: &Path, out: &Path, tags: &[&str], buckets: &[String]) {
        let mut cmd = Command::new(python());
        cmd.arg(repo().join("tests/harness/seed.py"))
            .args(["--endpoint", &self.url])
            .arg("--tfvars")
            .arg(tfvars)
            .arg("--out")
            .arg(out);
        for t in tags {
            cmd.args(["--push", t]);
        }
        for b in buckets {
            cmd.args(["--bucket", b]);
        }
        let status = cmd.status().expect("run seed.py");
        assert!(status.success(), "seed.py failed");
    }

    pub async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        slipway::aws::sdk_config(&slipway::aws::AwsOptions {
            region: Some(region.to_string()),
            endpoint_url: Some(self.url.clone()),
            ..Default::default()
        })
        .await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces machine-specific paths in output.
pub fn scrub(text: &str, dir: &Path) -> String {
    text.replace(&dir.display().to_string(), "[DIR]")
        .replace(&repo().display().to_string(), "[REPO]")
}

impl Emulator {
    /// POSTs to the emulator's control API (`/_slipway/...`, see docs/testing.md).
    pub async fn control(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("control {path}: {e}"));
        assert!(
            resp.status().is_success(),
            "control {path}: {}",
            resp.status()
        );
        resp.json().await.unwrap_or(serde_json::Value::Null)
    }

    /// DELETEs a control API endpoint (`/_slipway/fail-images`, ...): clears what it holds.
    pub async fn control_delete(&self, path: &str) {
        let resp = reqwest::Client::new()
            .delete(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("control {path}: {e}"));
        assert!(
            resp.status().is_success(),
            "control {path}: {}",
            resp.status()
        );
    }

    /// AWS calls the emulator answered, by `Service.Operation`.
    pub async fn calls(&self) -> std::collections::BTreeMap<String, u64> {
        reqwest::get(format!("{}/_slipway/calls", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// One example environment's infrastructure, created in a fresh emulator from slipway's own
/// tfvars (seed.py stands in for `terraform apply`).
pub struct Stage {
    pub emu: Emulator,
    /// Relative to the repository, or absolute.
    pub envs_dir: String,
    pub env: String,
    /// Holds the rendered tfvars and outputs for the stage's lifetime.
    pub _work: tempfile::TempDir,
    pub outputs: PathBuf,
    pub tfvars: serde_json::Value,
    pub clients: slipway::aws::Clients,
}

impl Stage {
    pub async fn up(envs_dir: &str, env: &str) -> Stage {
        Stage::up_with(envs_dir, env, &[], None).await
    }

    /// A stage with images pushed (`tags`), in an emulator answering as `account` (default: the
    /// environment's own account).
    pub async fn up_with(envs_dir: &str, env: &str, tags: &[&str], account: Option<&str>) -> Stage {
        let work = tempfile::tempdir().unwrap();
        let out = slipway()
            .current_dir(repo())
            .args([
                "--envs-dir",
                envs_dir,
                "render",
                "--env",
                env,
                "--only",
                "tfvars",
                "--out",
            ])
            .arg(work.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tfvars_path = work.path().join("tfvars.json");
        let tfvars: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&tfvars_path).unwrap()).unwrap();
        let region = tfvars["aws_region"].as_str().unwrap().to_string();
        let emu = Emulator::start(account.unwrap_or(tfvars["aws_account_id"].as_str().unwrap()));
        let outputs = work.path().join("outputs.json");
        let buckets: Vec<String> = lock_bucket(&repo().join(envs_dir), env)
            .into_iter()
            .collect();
        emu.seed_and_push(&tfvars_path, &outputs, tags, &buckets);
        let config = emu.sdk_config(&region).await;
        Stage {
            clients: slipway::aws::Clients::new(&config),
            emu,
            envs_dir: envs_dir.to_string(),
            env: env.to_string(),
            _work: work,
            outputs,
            tfvars,
        }
    }

    /// slipway in the repository, pointed at this stage's environment files and emulator.
    pub fn slipway(&self) -> assert_cmd::Command {
        let mut c = slipway();
        c.current_dir(repo())
            .env("AWS_ENDPOINT_URL", &self.emu.url)
            .args(["--envs-dir", &self.envs_dir]);
        c
    }

    /// The same, as a plain process (for running in the background).
    pub fn slipway_process(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_slipway"));
        c.current_dir(repo())
            .env("NO_COLOR", "1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for v in AMBIENT {
            c.env_remove(v);
        }
        c.env("AWS_ENDPOINT_URL", &self.emu.url)
            .args(["--envs-dir", &self.envs_dir]);
        c
    }

    /// `deploy --format json --image-tag TAG --no-smoke` of the stage's environment, started in
    /// the background with its output piped (for tests that act while it rolls).
    pub fn deploy_in_background(&self, tag: &str) -> std::process::Child {
        self.slipway_process()
            .args([
                "--format",
                "json",
                "deploy",
                "--env",
                &self.env,
                "--image-tag",
                tag,
                "--no-smoke",
                "--tf-outputs",
            ])
            .arg(&self.outputs)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Quick rollouts: what the tests wait for is the engine, not the clock.
    pub async fn fast(&self) {
        self.emu
            .control(
                "/_slipway/config",
                serde_json::json!({"rollout_seconds": 0.3, "task_seconds": 0.2}),
            )
            .await;
    }

    /// Seeds another environment of the same system into this emulator; returns its outputs.
    pub fn add_env(&self, env: &str, tags: &[&str]) -> PathBuf {
        let dir = self._work.path().join(env);
        let out = self
            .slipway()
            .args(["render", "--env", env, "--only", "tfvars", "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let outputs = dir.join("outputs.json");
        let buckets: Vec<String> = lock_bucket(&repo().join(&self.envs_dir), env)
            .into_iter()
            .collect();
        self.emu
            .seed_and_push(&dir.join("tfvars.json"), &outputs, tags, &buckets);
        outputs
    }

    /// `slipway deploy` of `tag` with `extra` arguments: (exit code, JSON report, stderr).
    pub fn deploy(&self, tag: &str, extra: &[&str]) -> (i32, serde_json::Value, String) {
        let out = self
            .slipway()
            .args([
                "--format",
                "json",
                "deploy",
                "--env",
                &self.env,
                "--image-tag",
                tag,
            ])
            .arg("--tf-outputs")
            .arg(&self.outputs)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("deploy printed no report ({e}): {stderr}"));
        (out.status.code().unwrap(), report, stderr)
    }

    pub fn cluster(&self) -> String {
        self.tfvars["cluster_name"].as_str().unwrap().to_string()
    }

    pub fn service_names(&self) -> Vec<String> {
        self.tfvars["services"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// The rendered task definitions and service settings for `tag`.
    pub fn render(&self, tag: &str) -> serde_json::Value {
        let out = self
            .slipway()
            .args([
                "render",
                "--env",
                &self.env,
                "--image-tag",
                tag,
                "--format",
                "json",
            ])
            .arg("--tf-outputs")
            .arg(&self.outputs)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Registers and creates `names` as rendered for `tag`, through the SDK (the state a
    /// first deploy leaves). Returns each service's task definition ARN.
    pub async fn create_services(&self, tag: &str, names: &[String]) -> Vec<String> {
        let doc = self.render(tag);
        let mut arns = Vec::new();
        for name in names {
            let td: slipway::render::TaskDefinition =
                serde_json::from_value(doc["task_definitions"][name].clone()).unwrap();
            let rev = slipway::aws::ecs::register_task_definition(&self.clients.ecs, &td)
                .await
                .unwrap();
            let settings: slipway::render::ServiceSettings =
                serde_json::from_value(doc["services"][name].clone()).unwrap();
            slipway::aws::ecs::create_service(&self.clients.ecs, &settings, &rev.arn)
                .await
                .unwrap();
            arns.push(rev.arn);
        }
        arns
    }
}

/// The GitHub fake (tests/harness/github.py), stopped when dropped. Its own comments are
/// written as `github-actions[bot]`, as a workflow's GITHUB_TOKEN writes them.
pub struct FakeGitHub {
    child: Child,
    pub url: String,
    pub token: String,
}

impl FakeGitHub {
    pub fn start(token: &str) -> FakeGitHub {
        let (child, url) = spawn_ready("github.py", &["--token", token]);
        FakeGitHub {
            child,
            url,
            token: token.to_string(),
        }
    }

    /// POSTs to the fake (its control API under /_fake/, or GitHub's).
    pub async fn post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(serde_json::Value::Null)
    }

    pub async fn get(&self, path: &str) -> serde_json::Value {
        reqwest::get(format!("{}{path}", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn comments(&self, repo: &str, issue: u64) -> Vec<serde_json::Value> {
        self.get(&format!("/_fake/comments?repo={repo}&issue={issue}"))
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn requests(&self) -> Vec<serde_json::Value> {
        self.get("/_fake/requests")
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// What slipway needs to reach this fake as a workflow run in `repo` would.
    pub fn actions_env(&self, repo: &str) -> Vec<(&'static str, String)> {
        vec![
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_API_URL", self.url.clone()),
            ("GITHUB_REPOSITORY", repo.into()),
            ("GITHUB_TOKEN", self.token.clone()),
            ("GITHUB_SERVER_URL", "https://github.com".into()),
            ("GITHUB_RUN_ID", "4242".into()),
        ]
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls that change something in AWS other than the environment's lock object (which a gated
/// command takes and releases around its work).
pub fn mutations_besides_the_lock(calls: &std::collections::BTreeMap<String, u64>) -> Vec<String> {
    mutations(calls)
        .into_iter()
        .filter(|k| k != "S3.PutObject" && k != "S3.DeleteObject")
        .collect()
}

/// Waiting for a background slipway with a deadline.
pub trait WaitTimeout {
    /// (exit code, stdout, stderr) once the process ends; panics after 60 s.
    fn wait_with_output_timeout(self) -> (Option<i32>, String, String);
}

impl WaitTimeout for Child {
    fn wait_with_output_timeout(mut self) -> (Option<i32>, String, String) {
        use std::io::Read;
        // Read as it runs: a full pipe would block the child.
        let mut stdout = self.stdout.take().expect("piped stdout");
        let mut stderr = self.stderr.take().expect("piped stderr");
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.try_wait().unwrap() {
                return (status.code(), out.join().unwrap(), err.join().unwrap());
            }
            if std::time::Instant::now() > deadline {
                let _ = self.kill();
                panic!("a background slipway did not end within 60s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
