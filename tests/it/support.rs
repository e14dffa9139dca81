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

/// The slipway binary, with no colour and no ambient AWS or Terraform settings.
pub fn slipway() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_slipway"));
    c.env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("SLIPWAY_ENVS_DIR")
        .env_remove("SLIPWAY_TERRAFORM");
    c
}

/// A moto server on a free loopback port, stopped when dropped.
pub struct Emulator {
    child: Child,
    pub url: String,
}

impl Emulator {
    pub fn start(account: &str) -> Emulator {
        init();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(python())
            .arg(repo().join("tests/harness/emulator.py"))
            .args(["--port", &port.to_string(), "--account", account])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ready ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("the emulator did not start within 60s");
            }
        };
        Emulator { child, url }
    }

    /// Creates what the Terraform root would, from rendered tfvars; returns the outputs file.
    pub fn seed(&self, tfvars: &Path, out: &Path) {
        let status = Command::new(python())
            .arg(repo().join("tests/harness/seed.py"))
            .args(["--endpoint", &self.url])
            .arg("--tfvars")
            .arg(tfvars)
            .arg("--out")
            .arg(out)
            .status()
            .expect("run seed.py");
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
