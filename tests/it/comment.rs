//! The PR comment client against a local fake of GitHub's REST API (tests/harness/github.py):
//! create, update in place, the marker found across pages, errors with clear messages, the size
//! limit, the job summary, and a token that never shows.

use serde_json::{json, Value};

use crate::support::{slipway, FakeGitHub};

const TOKEN: &str = "ghs_test_token_never_printed";
const REPO: &str = "acme/shop";

/// A plan file with `services` services whose diffs have `lines` changed lines each.
fn plan_file(
    dir: &std::path::Path,
    services: usize,
    lines: usize,
    value: &str,
) -> std::path::PathBuf {
    let diffs: Vec<Value> = (0..services)
        .map(|i| {
            let mut diff = format!("--- live/svc{i}\n+++ rendered/svc{i}\n@@ -1,{lines} +1,{lines} @@\n");
            for l in 0..lines {
                diff.push_str(&format!("-  \"KEY_{l}\": \"old\"\n+  \"KEY_{l}\": \"{value}\"\n"));
            }
            json!({
                "service": format!("svc{i}"),
                "action": "update",
                "live_task_definition": format!("arn:aws:ecs:eu-west-1:111111111111:task-definition/svc{i}:3"),
                "live_revision": 3,
                "image_live": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/svc:aaa",
                "image_new": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/svc:bbb",
                "changes": [{"path": "taskDefinition.containerDefinitions[svc].environment[KEY_0].value", "kind": "changed"}],
                "diff": diff,
            })
        })
        .collect();
    let plan: slipway::planfile::PlanFile = serde_json::from_value(json!({
        "format": 1,
        "environment": "staging",
        "account_id": "111111111111",
        "region": "eu-west-1",
        "cluster": "shop-staging",
        "env_files": [{"path": "staging.hcl", "sha256": "00"}],
        "git": {"sha": "0123456789abcdef0123456789abcdef01234567", "branch": "feature"},
        "slipway_version": "0.1.0",
        "image_tag": "bbb",
        "terraform": null,
        "ecs": {"rendered": {"task_definitions": {}, "services": {}}, "diffs": diffs, "live_digest": "ff"},
        "created_at": "2026-11-22T00:00:00Z",
        "fingerprint": "",
    }))
    .unwrap();
    let path = dir.join(format!("plan-{services}-{lines}-{value}.json"));
    plan.seal().write(&path).unwrap();
    path
}

fn comment(gh: &FakeGitHub, plan: &std::path::Path, token: &str) -> std::process::Output {
    slipway()
        .env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_TOKEN", token)
        .env_remove("GITHUB_STEP_SUMMARY")
        .args(["comment", "--pr", "7", "--plan"])
        .arg(plan)
        .output()
        .unwrap()
}

fn assert_token_hidden(out: &std::process::Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(TOKEN), "the token was printed: {all}");
}

#[tokio::test]
async fn creates_once_then_updates_in_place() {
    let gh = FakeGitHub::start(TOKEN);
    gh.post(
        "/_fake/seed",
        json!({"repo": REPO, "issue": 7, "pull": true, "comments": ["LGTM", "nit: typo"]}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let first = plan_file(dir.path(), 2, 3, "one");
    let out = comment(&gh, &first, TOKEN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_token_hidden(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("created the plan comment"));
    let after_first = gh.comments(REPO, 7).await;
    assert_eq!(after_first.len(), 3);
    let id = after_first[2]["id"].clone();

    let second = plan_file(dir.path(), 2, 3, "two");
    let out = comment(&gh, &second, TOKEN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("updated the plan comment"));
    let after_second = gh.comments(REPO, 7).await;
    assert_eq!(after_second.len(), 3, "updated in place, not added");
    assert_eq!(after_second[2]["id"], id);
    let body = after_second[2]["body"].as_str().unwrap();
    assert!(
        body.starts_with("<!-- slipway:plan env=staging -->"),
        "{body}"
    );
    assert!(body.contains("\"two\""), "{body}");

    let requests = gh.requests().await;
    assert!(
        requests.iter().all(|r| r["authorized"] == true),
        "{requests:#?}"
    );
    assert!(requests
        .iter()
        .all(|r| r["headers"]["x-github-api-version"] == "2022-11-28"));
    let methods: Vec<&str> = requests
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["GET", "POST", "GET", "PATCH"]);
}

#[tokio::test]
async fn finds_its_comment_on_a_later_page() {
    let gh = FakeGitHub::start(TOKEN);
    let mut comments: Vec<Value> = (0..250).map(|i| json!(format!("comment {i}"))).collect();
    comments[230] = json!({"body": "<!-- slipway:plan env=staging -->\nold plan", "login": "github-actions[bot]"});
    gh.post(
        "/_fake/seed",
        json!({"repo": REPO, "issue": 7, "comments": comments}),
    )
    .await;
    let id = gh.comments(REPO, 7).await[230]["id"].clone();
    let dir = tempfile::tempdir().unwrap();
    let out = comment(&gh, &plan_file(dir.path(), 1, 2, "x"), TOKEN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = gh.comments(REPO, 7).await;
    assert_eq!(all.len(), 250, "no new comment");
    assert_eq!(all[230]["id"], id);
    assert!(all[230]["body"].as_str().unwrap().contains("slipway plan"));
    let methods: Vec<String> = gh
        .requests()
        .await
        .iter()
        .map(|r| r["method"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        methods,
        ["GET", "GET", "GET", "PATCH"],
        "three pages of 100, then the update"
    );
}

#[tokio::test]
async fn errors_say_what_is_wrong() {
    let gh = FakeGitHub::start(TOKEN);
    gh.post(
        "/_fake/seed",
        json!({"repo": REPO, "issue": 7, "comments": []}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path(), 1, 2, "x");

    let expect_error = |out: std::process::Output, needle: &str| {
        assert_eq!(out.status.code(), Some(1), "{needle}");
        assert_token_hidden(&out);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
    };

    expect_error(
        comment(&gh, &plan, "wrong-token"),
        "GitHub refused the token (401",
    );

    gh.post("/_fake/fail", json!({"method": "POST", "status": 403, "count": 1, "message": "Resource not accessible by integration"})).await;
    expect_error(comment(&gh, &plan, TOKEN), "needs `pull-requests: write`");

    gh.post(
        "/_fake/fail",
        json!({"method": "GET", "rate_limit": true, "count": 1}),
    )
    .await;
    expect_error(comment(&gh, &plan, TOKEN), "rate limit exhausted");

    let out = slipway()
        .env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_REPOSITORY", "acme/nope")
        .env("GITHUB_TOKEN", TOKEN)
        .args(["comment", "--pr", "7", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    expect_error(out, "404 Not Found for the comments of acme/nope#7");

    gh.post(
        "/_fake/fail",
        json!({"method": "*", "status": 502, "count": 10}),
    )
    .await;
    expect_error(comment(&gh, &plan, TOKEN), "answered 502");
    gh.post("/_fake/reset", json!({})).await;
    gh.post(
        "/_fake/seed",
        json!({"repo": REPO, "issue": 7, "comments": []}),
    )
    .await;

    // A POST answered 500 is not retried (it may have landed): one POST, and a clear error.
    gh.post(
        "/_fake/fail",
        json!({"method": "POST", "status": 500, "count": 1}),
    )
    .await;
    expect_error(comment(&gh, &plan, TOKEN), "run again");
    let posts = gh
        .requests()
        .await
        .iter()
        .filter(|r| r["method"] == "POST")
        .count();
    assert_eq!(posts, 1);
    gh.post("/_fake/reset", json!({})).await;
    gh.post(
        "/_fake/seed",
        json!({"repo": REPO, "issue": 7, "comments": []}),
    )
    .await;

    // Transient 5xx are retried (bounded) and the comment still lands.
    gh.post(
        "/_fake/fail",
        json!({"method": "GET", "status": 503, "count": 2}),
    )
    .await;
    let out = comment(&gh, &plan, TOKEN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(gh.comments(REPO, 7).await.len(), 1);
}

#[tokio::test]
async fn oversized_plans_are_cut_to_fit_and_say_so() {
    let gh = FakeGitHub::start(TOKEN);
    gh.post(
        "/_fake/seed",
        json!({"repo": REPO, "issue": 7, "comments": []}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    // 30 services × 1500 changed lines: far over 65,536 characters in full.
    let plan = plan_file(dir.path(), 30, 1500, "long-value");
    let out = comment(&gh, &plan, TOKEN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body = gh.comments(REPO, 7).await[0]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(body.chars().count() <= 65_536, "{}", body.chars().count());
    assert!(
        body.contains("Cut to fit GitHub's comment limit"),
        "says what was cut"
    );
    assert!(
        body.contains("| `svc29` | update |"),
        "the summary keeps every service"
    );
    assert!(body.contains("Plan fingerprint"));
}

#[tokio::test]
async fn event_file_and_step_summary() {
    let gh = FakeGitHub::start(TOKEN);
    gh.post(
        "/_fake/seed",
        json!({"repo": REPO, "issue": 42, "comments": []}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"action": "synchronize", "number": 42, "pull_request": {"number": 42}}"#,
    )
    .unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let plan = plan_file(dir.path(), 1, 2, "x");
    let out = slipway()
        .env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["--format", "json", "comment", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pr"], 42);
    assert_eq!(v["created"], true);
    assert_eq!(gh.comments(REPO, 42).await.len(), 1);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("# earlier step\n"),
        "appended, not replaced"
    );
    assert!(text.contains("## slipway plan · `staging`"));
}
