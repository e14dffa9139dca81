//! Static sites on the emulator: SCR staging deploys with a `site "frontend"` block publishing
//! `frontend/dist` to a versioned bucket behind a CloudFront distribution (both made by
//! tests/harness/site_seed.py, standing in for modules/static-site). A site publishes, a second
//! deploy uploads nothing, one changed file is one upload and one invalidation path, a deleted
//! file is removed last, a failed smoke check restores the previous release, and bad input
//! (no dir, an unversioned bucket, another account's bucket) changes nothing.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::apply::Applied;
use crate::deploy::smoke_server;
use crate::support::{mutations, python, repo};

const OPEN: &str = r#"approval {
  required = false
  events   = ["local"]
}"#;

struct Site {
    a: Applied,
    bucket: String,
    /// What the site's smoke server answers.
    status: Arc<AtomicU16>,
    /// The services' smoke server (always 200).
    services_url: String,
}

impl Site {
    async fn up(versioned: bool) -> Site {
        let a = Applied::up(OPEN, &["v1", "v2", "v3", "v4"], None).await;
        let bucket = "scr-staging-frontend".to_string();
        let mut cmd = Command::new(python());
        cmd.arg(repo().join("tests/harness/site_seed.py")).args([
            "--endpoint",
            &a.stage.emu.url,
            "--bucket",
            &bucket,
        ]);
        if !versioned {
            cmd.arg("--unversioned");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seeded: Value = serde_json::from_slice(&out.stdout).unwrap();
        let status = Arc::new(AtomicU16::new(200));
        let url = smoke_server(status.clone());
        let staging = a.envs().join("staging.hcl");
        let mut text = std::fs::read_to_string(&staging).unwrap();
        text.push_str(&format!(
            r#"
site "frontend" {{
  bucket          = "{bucket}"
  distribution_id = "{}"
  dir             = "frontend/dist"
  url             = "{url}"
  cache_control = {{
    "index.html" = "no-cache"
    "assets/**"  = "public, max-age=31536000, immutable"
  }}

  smoke "home" {{
    path          = "/"
    expect_status = [200]
    retries       = 0
  }}
}}
"#,
            seeded["distribution_id"].as_str().unwrap()
        ));
        std::fs::write(&staging, text).unwrap();
        let services_url = smoke_server(Arc::new(AtomicU16::new(200)));
        let s = Site {
            a,
            bucket,
            status,
            services_url,
        };
        s.write("index.html", "<html>v1</html>");
        s.write("assets/app.js", "console.log(1)");
        s.write("assets/app.css", "body{}");
        s.write("robots.txt", "User-agent: *");
        s.a.git(&["add", "."]);
        s.a.git(&["commit", "-q", "-m", "site"]);
        s
    }

    fn dist(&self) -> std::path::PathBuf {
        self.a.work.path().join("repo/frontend/dist")
    }

    fn write(&self, key: &str, body: &str) {
        let p = self.dist().join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    /// A deploy of `tag`: (exit code, its `sites` report, stderr, the mutating calls in order).
    async fn deploy(&self, tag: &str) -> (i32, Value, String, BTreeMap<String, u64>) {
        self.a
            .stage
            .emu
            .control("/_slipway/calls/reset", serde_json::json!({}))
            .await;
        let (code, r, err) = self.a.stage.deploy(
            tag,
            &[
                "--smoke-timeout",
                "5s",
                "--smoke-base-url",
                &self.services_url,
            ],
        );
        let calls = self.a.stage.emu.calls().await;
        (code, r["sites"][0].clone(), err, calls)
    }

    /// How many versions each of the site's keys has (manifests left out).
    async fn versions(&self) -> BTreeMap<String, usize> {
        let out = self
            .a
            .stage
            .clients
            .s3
            .list_object_versions()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        let mut n = BTreeMap::new();
        for v in out.versions() {
            let k = v.key().unwrap();
            if !k.starts_with(".slipway/") {
                *n.entry(k.to_string()).or_insert(0) += 1;
            }
        }
        n
    }

    /// The bucket's keys and their bodies (manifests left out).
    async fn objects(&self) -> BTreeMap<String, String> {
        let s3 = &self.a.stage.clients.s3;
        let list = s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        let mut out = BTreeMap::new();
        for o in list.contents() {
            let k = o.key().unwrap();
            if k.starts_with(".slipway/") {
                continue;
            }
            let got = s3
                .get_object()
                .bucket(&self.bucket)
                .key(k)
                .send()
                .await
                .unwrap();
            let body = got.body.collect().await.unwrap().into_bytes();
            out.insert(k.to_string(), String::from_utf8_lossy(&body).to_string());
        }
        out
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_publishes_then_only_what_changed_and_a_failed_smoke_check_restores_it() {
    let s = Site::up(true).await;

    // First deploy: everything, assets before HTML, then one invalidation.
    let (code, site, err, calls) = s.deploy("v1").await;
    assert_eq!(code, 0, "{err}\n{site:#}");
    assert_eq!(site["status"], "published", "{site:#}");
    let uploaded = strings(&site["published"]["uploaded"]);
    assert_eq!(
        uploaded,
        vec![
            "assets/app.css",
            "assets/app.js",
            "robots.txt",
            "index.html"
        ]
    );
    assert_eq!(
        calls.get("CloudFront.CreateInvalidation"),
        Some(&1),
        "{calls:?}"
    );
    let objects = s.objects().await;
    assert_eq!(objects["index.html"], "<html>v1</html>");
    let head =
        s.a.stage
            .clients
            .s3
            .head_object()
            .bucket(&s.bucket)
            .key("assets/app.js")
            .send()
            .await
            .unwrap();
    assert_eq!(
        head.cache_control(),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        head.content_type().unwrap().contains("javascript"),
        "{:?}",
        head.content_type()
    );

    // Nothing changed: nothing uploaded (no new object version), nothing invalidated.
    let before = s.versions().await;
    let (code, site, err, calls) = s.deploy("v2").await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(site["status"], "unchanged", "{site:#}");
    assert_eq!(s.versions().await, before);
    assert_eq!(
        calls.get("CloudFront.CreateInvalidation"),
        None,
        "{calls:?}"
    );

    // One changed file: one upload, one invalidation path, nothing deleted.
    s.write("assets/app.css", "body{margin:0}");
    s.a.git(&["add", "-A"]);
    s.a.git(&["commit", "-q", "-m", "css"]);
    let (code, site, err, calls) = s.deploy("v2").await;
    assert_eq!(code, 0, "{err}\n{site:#}");
    assert_eq!(
        strings(&site["published"]["uploaded"]),
        vec!["assets/app.css"]
    );
    assert_eq!(strings(&site["published"]["deleted"]), Vec::<String>::new());
    assert_eq!(
        strings(&site["published"]["invalidated"]),
        vec!["/assets/app.css"]
    );
    assert_eq!(
        calls.get("CloudFront.CreateInvalidation"),
        Some(&1),
        "{calls:?}"
    );

    // A changed file and a deleted one: the upload, then the delete, last.
    s.write("assets/app.js", "console.log(2)");
    std::fs::remove_file(s.dist().join("robots.txt")).unwrap();
    s.a.git(&["add", "-A"]);
    s.a.git(&["commit", "-q", "-m", "change"]);
    // diff says so first, and changes nothing.
    let out =
        s.a.stage
            .slipway()
            .args([
                "--format",
                "json",
                "diff",
                "--env",
                "staging",
                "--detailed-exitcode",
            ])
            .arg("--tf-outputs")
            .arg(&s.a.stage.outputs)
            .output()
            .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(strings(&d["sites"][0]["upload"]), vec!["assets/app.js"]);
    assert_eq!(strings(&d["sites"][0]["delete"]), vec!["robots.txt"]);
    let (code, site, err, _) = s.deploy("v3").await;
    assert_eq!(code, 0, "{err}\n{site:#}");
    assert_eq!(
        strings(&site["published"]["uploaded"]),
        vec!["assets/app.js"]
    );
    assert_eq!(strings(&site["published"]["deleted"]), vec!["robots.txt"]);
    assert_eq!(
        strings(&site["published"]["invalidated"]),
        vec!["/assets/app.js", "/robots.txt"]
    );
    let objects = s.objects().await;
    assert_eq!(objects["assets/app.js"], "console.log(2)");
    assert!(!objects.contains_key("robots.txt"));
    let healthy_release = site["published"]["release"].as_str().unwrap().to_string();

    // A release whose smoke check fails: the last healthy one comes back.
    s.write("index.html", "<html>broken</html>");
    s.write("new.html", "<html>new</html>");
    s.a.git(&["add", "-A"]);
    s.a.git(&["commit", "-q", "-m", "broken"]);
    s.status.store(500, Ordering::SeqCst);
    let (code, site, err, _) = s.deploy("v4").await;
    assert_eq!(code, 4, "{err}\n{site:#}");
    assert_eq!(site["status"], "restored", "{site:#}");
    assert_eq!(site["restored"]["release"], healthy_release.as_str());
    let objects = s.objects().await;
    assert_eq!(
        objects["index.html"], "<html>v1</html>",
        "restored from its version"
    );
    assert!(!objects.contains_key("new.html"), "{objects:?}");
    assert_eq!(objects["assets/app.js"], "console.log(2)");

    // status shows the site's release: the healthy one, back in place.
    let out =
        s.a.stage
            .slipway()
            .args(["--format", "json", "status", "--env", "staging"])
            .output()
            .unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == "site:frontend")
        .expect("a row for the site");
    assert_eq!(row["revision"], healthy_release.as_str(), "{row:#}");
    assert_eq!(row["rollout"], "healthy", "{row:#}");

    // rollback: the site goes back to the healthy release before this one (the first).
    let out =
        s.a.stage
            .slipway()
            .args(["--format", "json", "rollback", "--env", "staging"])
            .output()
            .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(r["sites"][0]["status"], "restored", "{r:#}");
    let objects = s.objects().await;
    assert_eq!(objects["assets/app.js"], "console.log(1)");
    assert_eq!(objects["robots.txt"], "User-agent: *");
    assert_eq!(objects["index.html"], "<html>v1</html>");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_publishes_what_the_plan_compared_and_refuses_a_rebuilt_site() {
    let s = Site::up(true).await;
    s.a.plan_ecs("v1");
    let plan: Value = serde_json::from_slice(&std::fs::read(s.a.plan_path()).unwrap()).unwrap();
    assert_eq!(
        plan["sites"][0]["upload"].as_array().unwrap().len(),
        4,
        "{:#}",
        plan["sites"]
    );

    // Built again after the plan: refused, nothing changed.
    s.write("index.html", "<html>rebuilt</html>");
    s.a.stage
        .emu
        .control("/_slipway/calls/reset", serde_json::json!({}))
        .await;
    let flags = ["--smoke-base-url", s.services_url.as_str(), "--tf-outputs"];
    let outputs = s.a.stage.outputs.display().to_string();
    let mut with_outputs: Vec<&str> = flags.to_vec();
    with_outputs.push(&outputs);
    let (code, r, err) = s.a.apply(&s.a.plan_path(), &[], &with_outputs);
    assert_eq!(code, 3, "{err}\n{r:#}");
    assert_eq!(r["refusal"]["rule"], "site-files", "{r:#}");
    assert_eq!(
        mutations(&s.a.stage.emu.calls().await),
        Vec::<String>::new()
    );

    // The planned build back: applied, services then the site.
    s.write("index.html", "<html>v1</html>");
    let (code, r, err) = s.a.apply(&s.a.plan_path(), &[], &with_outputs);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(r["rollout"]["sites"][0]["status"], "published", "{r:#}");
    assert_eq!(s.objects().await["index.html"], "<html>v1</html>");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_dir_an_unversioned_bucket_or_another_accounts_changes_nothing() {
    let s = Site::up(false).await;
    let (code, err, calls) = refused_deploy(&s).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not keep versions"), "{err}");
    assert_eq!(mutations(&calls), Vec::<String>::new(), "{calls:?}");

    std::fs::remove_dir_all(s.dist()).unwrap();
    let (code, err, _) = refused_deploy(&s).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("does not exist (build the site before slipway runs)"),
        "{err}"
    );

    // A bucket of another account: S3 refuses the expected owner; nothing changes.
    let other = Site::up(true).await;
    other
        .a
        .stage
        .emu
        .control(
            "/_slipway/bucket-owners",
            serde_json::json!({"bucket": other.bucket, "account": "222222222222"}),
        )
        .await;
    let (code, err, calls) = refused_deploy(&other).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "S3 refused bucket scr-staging-frontend for the environment's account 111111111111"
        ),
        "{err}"
    );
    assert_eq!(mutations(&calls), Vec::<String>::new(), "{calls:?}");
}

/// A deploy that is refused before it prints a report: (exit code, stderr, the calls made).
async fn refused_deploy(s: &Site) -> (i32, String, BTreeMap<String, u64>) {
    let emu = &s.a.stage.emu;
    emu.control("/_slipway/calls/reset", serde_json::json!({}))
        .await;
    let out =
        s.a.stage
            .slipway()
            .args(["deploy", "--env", "staging", "--image-tag", "v1"])
            .arg("--tf-outputs")
            .arg(&s.a.stage.outputs)
            .output()
            .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        emu.calls().await,
    )
}

/// A site block without `bucket`: the root creates it (tfvars `sites`, seed.py standing in for
/// modules/static-site) and slipway reads bucket and distribution from the `sites` output. A
/// change to the site's sources alone deploys the site and no service (`--changed-since`).
#[tokio::test(flavor = "multi_thread")]
async fn a_site_without_a_bucket_is_the_roots_and_changed_since_selects_it() {
    let url = smoke_server(Arc::new(AtomicU16::new(200)));
    let block = format!(
        r#"{OPEN}

site "frontend" {{
  dir   = "frontend/dist"
  paths = ["frontend/**"]
  url   = "{url}"
  spa   = true

  smoke "home" {{
    path    = "/"
    retries = 0
  }}
}}
"#
    );
    let a = Applied::up(&block, &["v1"], None).await;
    assert_eq!(
        a.stage.tfvars["sites"],
        serde_json::json!({"frontend": {"name": "scr-staging-frontend", "aliases": [], "certificate_arn": null, "spa": true}})
    );
    let outputs: Value = serde_json::from_slice(&std::fs::read(&a.stage.outputs).unwrap()).unwrap();
    let bucket = outputs["sites"]["value"]["frontend"]["bucket"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(bucket.starts_with("scr-staging-frontend-"), "{bucket}");
    let dist = a.work.path().join("repo/frontend/dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), "<html>v1</html>").unwrap();
    std::fs::write(dist.join("assets/app.js"), "console.log(1)").unwrap();
    a.git(&["add", "."]);
    a.git(&["commit", "-q", "-m", "site"]);

    let (code, r, err) = a.stage.deploy("v1", &["--smoke-base-url", &url]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    let site = &r["sites"][0];
    assert_eq!(site["status"], "published", "{site:#}");
    let got = a
        .stage
        .clients
        .s3
        .get_object()
        .bucket(&bucket)
        .key("index.html")
        .send()
        .await
        .unwrap();
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"<html>v1</html>");

    // The site's sources alone changed: the site publishes, no service is touched.
    let base = a.head();
    std::fs::write(dist.join("index.html"), "<html>v2</html>").unwrap();
    a.git(&["commit", "-q", "-am", "frontend v2"]);
    a.stage
        .emu
        .control("/_slipway/calls/reset", serde_json::json!({}))
        .await;
    let (code, r, err) = a
        .stage
        .deploy("v1", &["--smoke-base-url", &url, "--changed-since", &base]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert!(err.contains("changed since"), "{err}");
    assert!(err.contains("site:frontend"), "{err}");
    assert_eq!(r["services"], serde_json::json!([]), "{r:#}");
    assert_eq!(
        strings(&r["sites"][0]["published"]["uploaded"]),
        ["index.html"]
    );
    let calls = a.stage.emu.calls().await;
    let ecs: Vec<String> = mutations(&calls)
        .into_iter()
        .filter(|c| c.starts_with("ECS."))
        .collect();
    assert_eq!(ecs, Vec::<String>::new(), "{calls:?}");

    // Outputs from before the site existed: an error at the block, nothing read from AWS.
    let mut stale = outputs.clone();
    stale.as_object_mut().unwrap().remove("sites");
    let stale_path = a.work.path().join("stale-outputs.json");
    std::fs::write(&stale_path, serde_json::to_vec(&stale).unwrap()).unwrap();
    let out = a
        .stage
        .slipway()
        .args(["render", "--env", "staging", "--image-tag", "v1"])
        .arg("--tf-outputs")
        .arg(&stale_path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("missing-output"), "{err}");
    // (miette wraps the message where the terminal width falls: test its first line.)
    assert!(
        err.contains("site \"frontend\" has no `bucket`, so the terraform/ root creates it"),
        "{err}"
    );
    assert!(err.contains("staging.hcl:42:1"), "{err}");
}
