//! `slipway changed` and `slipway version` on scripted git histories: a docs-only commit, one
//! service's path, an environment file's service block, the shared file; tags with and without
//! a prefix, and `git.version` in rendered documents.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{fixtures, repo, slipway};

/// A repository holding the SCR Platform's environment files and a little code, one commit.
struct History {
    dir: tempfile::TempDir,
}

impl History {
    fn new() -> History {
        let h = History {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(h.path().join("envs")).unwrap();
        for f in ["_shared.hcl", "staging.hcl", "production.hcl"] {
            std::fs::copy(repo().join("envs").join(f), h.path().join("envs").join(f)).unwrap();
        }
        h.write("apps/api/main.py", "print('api')\n");
        h.write("apps/web/index.js", "console.log('web')\n");
        h.write("docs/README.md", "# docs\n");
        h.git(&["init", "-q", "-b", "main"]);
        h.commit("base");
        h
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn envs(&self) -> PathBuf {
        self.path().join("envs")
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let p = self.path().join(rel);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{rel} has no {from:?}");
        std::fs::write(p, text.replacen(from, to, 1)).unwrap();
    }

    fn git(&self, args: &[&str]) -> String {
        crate::support::git(self.path(), args)
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn slipway(&self) -> assert_cmd::Command {
        let mut c = slipway();
        c.current_dir(self.path())
            .arg("--envs-dir")
            .arg(self.envs());
        c
    }

    fn changed(&self, base: &str) -> Value {
        let out = self
            .slipway()
            .args(["--format", "json", "changed", "--base", base])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// `env/service` for every selected service, then `env/site:name` for every selected site.
fn selected(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (env, sel) in doc["environments"].as_object().unwrap() {
        for s in sel["services"].as_object().unwrap().keys() {
            out.push(format!("{env}/{s}"));
        }
        for s in sel["sites"].as_object().unwrap().keys() {
            out.push(format!("{env}/site:{s}"));
        }
    }
    out
}

#[test]
fn changed_selects_the_services_a_change_touches() {
    let h = History::new();
    let base = h.git(&["rev-parse", "HEAD"]);

    h.write("docs/README.md", "# docs, edited\n");
    h.commit("docs only");
    let doc = h.changed(&base);
    assert_eq!(selected(&doc), Vec::<String>::new(), "{doc:#}");
    assert_eq!(doc["any"], false);
    assert_eq!(doc["files"], serde_json::json!(["docs/README.md"]));

    h.write("apps/api/main.py", "print('api v2')\n");
    h.commit("one service's path");
    let doc = h.changed(&base);
    assert_eq!(selected(&doc), ["production/api", "staging/api"], "{doc:#}");
    assert!(doc["environments"]["staging"]["services"]["api"][0]
        .as_str()
        .unwrap()
        .contains("apps/api/main.py matches apps/api/**"));
    // The JSON is a job matrix: one entry per environment, with its services and sites.
    assert_eq!(
        doc["matrix"]["include"][0],
        serde_json::json!({"environment": "production", "services": ["api"], "sites": []})
    );

    // Since the last commit: the shared file's `web` block only.
    let before = h.git(&["rev-parse", "HEAD"]);
    h.edit(
        "envs/_shared.hcl",
        "NODE_ENV = \"production\"",
        "NODE_ENV = \"production\"\n    FEATURE = \"on\"",
    );
    h.commit("shared web block");
    assert_eq!(
        selected(&h.changed(&before)),
        ["production/web", "staging/web"]
    );

    // Staging's own file, outside any service block: every staging service.
    let before = h.git(&["rev-parse", "HEAD"]);
    h.edit(
        "envs/staging.hcl",
        "log_retention_days = 14",
        "log_retention_days = 30",
    );
    h.commit("staging retention");
    assert_eq!(
        selected(&h.changed(&before)),
        ["staging/ai-gateway", "staging/api", "staging/web"]
    );

    // A site: its sources select it alone; so does an edit inside its block.
    let before = h.git(&["rev-parse", "HEAD"]);
    h.edit(
        "envs/staging.hcl",
        "log_retention_days = 30",
        "log_retention_days = 30\n\nsite \"frontend\" {\n  dir   = \"frontend/dist\"\n  paths = [\"frontend/**\"]\n}",
    );
    h.commit("a site");
    assert_eq!(
        selected(&h.changed(&before)),
        [
            "staging/ai-gateway",
            "staging/api",
            "staging/web",
            "staging/site:frontend"
        ],
        "a new block is outside every block that was"
    );
    let before = h.git(&["rev-parse", "HEAD"]);
    h.write("frontend/src/App.tsx", "export default 1\n");
    h.commit("frontend sources");
    let doc = h.changed(&before);
    assert_eq!(selected(&doc), ["staging/site:frontend"], "{doc:#}");
    assert_eq!(
        doc["matrix"]["include"][0],
        serde_json::json!({"environment": "staging", "services": [], "sites": ["frontend"]})
    );
    let before = h.git(&["rev-parse", "HEAD"]);
    h.edit(
        "envs/staging.hcl",
        "paths = [\"frontend/**\"]",
        "paths = [\"frontend/**\", \"package.json\"]",
    );
    h.commit("the site's block");
    assert_eq!(selected(&h.changed(&before)), ["staging/site:frontend"]);

    // A branch: what it adds since it left main (its merge base), not what main did since.
    h.git(&["checkout", "-q", "-b", "feature"]);
    h.write("apps/web/index.js", "console.log('web v2')\n");
    h.commit("web on a branch");
    h.git(&["checkout", "-q", "main"]);
    h.write("apps/api/main.py", "print('api v3')\n");
    h.commit("api on main");
    h.git(&["checkout", "-q", "feature"]);
    assert_eq!(
        selected(&h.changed("main")),
        ["production/web", "staging/web"]
    );

    // An unknown base says what to do.
    let out = h
        .slipway()
        .args(["changed", "--base", "no-such-ref"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fetch-depth: 0"));
}

#[test]
fn deploy_and_plan_take_changed_since() {
    let h = History::new();
    let base = h.git(&["rev-parse", "HEAD"]);
    h.write("docs/README.md", "# only docs\n");
    h.commit("docs");
    let outputs = fixtures().join("terraform-outputs/scr-platform/staging.json");
    // Nothing declared changed: nothing to do, before any AWS call (none is reachable here).
    let out = h
        .slipway()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args([
            "deploy",
            "--env",
            "staging",
            "--image-tag",
            "v1",
            "--changed-since",
            &base,
        ])
        .arg("--tf-outputs")
        .arg(&outputs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to do"));
    let out = h
        .slipway()
        .args([
            "deploy",
            "--env",
            "staging",
            "--image-tag",
            "v1",
            "--changed-since",
            &base,
            "--service",
            "api",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--service and --changed-since exclude each other"
    );
}

#[test]
fn version_comes_from_the_nearest_semver_tag() {
    let h = History::new();
    let sha = |h: &History| h.git(&["rev-parse", "--short=7", "HEAD"]);
    let version = |h: &History, extra: &[&str]| -> String {
        let out = h.slipway().arg("version").args(extra).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        version(&h, &[]),
        format!("0.0.0+1.g{}", sha(&h)),
        "no tag yet"
    );
    h.git(&["tag", "v1.4.2"]);
    h.git(&["tag", "vnext"]); // not semver: ignored
    assert_eq!(version(&h, &[]), "1.4.2");
    for i in 0..3 {
        h.write("apps/api/main.py", &format!("print({i})\n"));
        h.commit("more");
    }
    assert_eq!(version(&h, &[]), format!("1.4.2+3.g{}", sha(&h)));
    // Two tags on one commit: the higher counts.
    h.git(&["tag", "v1.5.0"]);
    h.git(&["tag", "v1.10.0"]);
    assert_eq!(version(&h, &[]), "1.10.0");

    // An environment's own prefix (deploy.tag_prefix).
    h.edit(
        "envs/staging.hcl",
        "lock_bucket = \"scr-terraform-state\"",
        "lock_bucket = \"scr-terraform-state\"\n  tag_prefix  = \"api-v\"",
    );
    h.commit("staging versions by api-v tags");
    h.git(&["tag", "api-v2.0.1"]);
    assert_eq!(version(&h, &["--env", "staging"]), "2.0.1");
    assert_eq!(version(&h, &[]), format!("1.10.0+1.g{}", sha(&h)));

    // git.version in an expression, rendered.
    h.edit(
        "envs/_shared.hcl",
        "LOG_LEVEL = \"info\"",
        "LOG_LEVEL = \"info\"\n    APP_VERSION = git.version",
    );
    h.commit("version in the environment");
    let out = h
        .slipway()
        .args([
            "render",
            "--env",
            "staging",
            "--image-tag",
            "v1",
            "--format",
            "json",
        ])
        .arg("--tf-outputs")
        .arg(fixtures().join("terraform-outputs/scr-platform/staging.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let env = doc["task_definitions"]["api"]["containerDefinitions"][0]["environment"].to_string();
    assert!(
        env.contains(&format!("\"2.0.1+1.g{}\"", sha(&h))),
        "staging's version, from its api-v tags: {env}"
    );
}

/// A plan of the services changed since a base covers them alone, and applies: the live-state
/// gate compares the services the plan covers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_of_what_changed_covers_it_alone_and_applies() {
    let h = History::new();
    let base = h.git(&["rev-parse", "HEAD"]);
    h.write("apps/api/main.py", "print('api v2')\n");
    h.commit("api");
    let stage =
        crate::support::Stage::up_with(h.envs().to_str().unwrap(), "staging", &["v1"], None).await;
    stage.fast().await;
    let plan = h.path().join("staging.json");
    let out = stage
        .slipway()
        .current_dir(h.path())
        .args([
            "plan",
            "--env",
            "staging",
            "--image-tag",
            "v1",
            "--no-terraform",
            "--changed-since",
            &base,
        ])
        .arg("--tf-outputs")
        .arg(&stage.outputs)
        .arg("--out")
        .arg(&plan)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    let planned: Vec<&String> = doc["ecs"]["rendered"]["task_definitions"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(planned, ["api"], "{doc:#}");
    let out = stage
        .slipway()
        .current_dir(h.path())
        .args([
            "--format",
            "json",
            "apply",
            "--env",
            "staging",
            "--no-smoke",
            "--plan",
        ])
        .arg(&plan)
        .arg("--tf-outputs")
        .arg(&stage.outputs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rolled: Vec<&str> = r["rollout"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(rolled, ["api"], "{r:#}");
}
