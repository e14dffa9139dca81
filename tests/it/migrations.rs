//! Migration safety end to end: `lint-migrations` over the corpus (tests/fixtures/migrations,
//! with the findings each file must give in expected.json), a huge file, Actions annotations,
//! `--base`, the environment's overrides; then the gate on the emulator with the GitHub fake:
//! each side of the override (label only, approver only, both), the flag with the word outside
//! a pull request, the plan recording the findings and the comment showing them, and every
//! refusal making zero mutating AWS calls.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::apply::{Applied, GH_REPO, PR};
use crate::support::{fixtures, git, mutations, slipway};

fn corpus() -> std::path::PathBuf {
    fixtures().join("migrations")
}

fn lint_json(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = slipway()
        .current_dir(dir)
        .args(["--format", "json", "lint-migrations"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn the_corpus_gives_exactly_the_expected_findings() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(corpus().join("expected.json")).unwrap()).unwrap();
    let expected = expected["files"].as_object().unwrap();
    let files: Vec<String> = expected.keys().cloned().collect();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (code, v, err) = lint_json(&corpus(), &args);
    assert_eq!(code, 1, "blocking findings exist: {err}");
    let report = &v["reports"]["files"];
    let mut got: BTreeMap<String, Vec<Value>> =
        files.iter().map(|f| (f.clone(), Vec::new())).collect();
    for f in report["findings"].as_array().unwrap() {
        got.get_mut(f["file"].as_str().unwrap())
            .unwrap()
            .push(json!([f["line"], f["column"], f["rule"], f["severity"]]));
    }
    for (file, want) in expected {
        let mut have = got[file].clone();
        have.sort_by_key(|v| v.to_string());
        let mut want = want.as_array().unwrap().clone();
        want.sort_by_key(|v| v.to_string());
        assert_eq!(have, want, "{file}");
    }
    // Seed 003's eight operations, each at its severity.
    for (file, rule, severity) in [
        ("01_drop_table.sql", "ban-drop-table", "critical"),
        ("02_drop_column.sql", "ban-drop-column", "critical"),
        ("03_truncate.sql", "ban-truncate", "critical"),
        ("04_alter_column_type.sql", "changing-column-type", "high"),
        ("05_rename_column.sql", "renaming-column", "high"),
        ("06_rename_table.sql", "renaming-table", "high"),
        ("07_set_not_null.sql", "adding-not-nullable-field", "medium"),
        ("08_drop_constraint.sql", "ban-drop-constraint", "medium"),
    ] {
        assert!(
            got[file].iter().any(|f| f[2] == rule && f[3] == severity),
            "{file}: {:?}",
            got[file]
        );
    }
    // The same operations inside comments, strings and dollar quotes; seed 004's safe forms.
    assert!(got["09_comments_and_strings.sql"].is_empty());
    assert!(got["10_safe_forms.sql"].is_empty());
    assert_eq!(
        v["blocking"],
        json!(report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["blocking"] == true)
            .count())
    );
}

#[test]
fn text_output_names_place_rule_statement_and_advice_and_safe_files_exit_0() {
    let out = slipway()
        .current_dir(corpus())
        .args(["lint-migrations", "02_drop_column.sql"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("02_drop_column.sql:3:19: critical ban-drop-column (blocking)"),
        "{text}"
    );
    assert!(text.contains("| ALTER TABLE users DROP COLUMN IF EXISTS legacy_field;"));
    assert!(text.contains("help: expand/contract"), "{text}");
    assert!(
        !text.contains("::error"),
        "no annotations outside Actions: {text}"
    );

    let ok = slipway()
        .current_dir(corpus())
        .args([
            "lint-migrations",
            "10_safe_forms.sql",
            "09_comments_and_strings.sql",
            "07_set_not_null.sql",
        ])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "medium does not block by default"
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("1 finding in 3 files: 1 medium; 0 block"));

    let missing = slipway()
        .current_dir(corpus())
        .args(["lint-migrations", "nope.sql"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.sql"));
}

#[test]
fn in_actions_findings_are_annotations() {
    let out = slipway()
        .current_dir(corpus())
        .env("GITHUB_ACTIONS", "true")
        .args([
            "lint-migrations",
            "02_drop_column.sql",
            "07_set_not_null.sql",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("::error file=02_drop_column.sql,line=3,col=19,endLine=3,endColumn=53,title=critical ban-drop-column::Dropping a column may break existing clients.%0Aexpand/contract"),
        "{text}"
    );
    assert!(
        text.contains("::warning file=07_set_not_null.sql,line=3,col=38,"),
        "{text}"
    );
}

#[test]
fn huge_files_and_huge_statements_lint_without_trouble() {
    let dir = tempfile::tempdir().unwrap();
    let mut sql = String::from("SET lock_timeout = '2s';\nSET statement_timeout = '0';\n");
    for i in 0..60_000 {
        sql.push_str(&format!(
            "INSERT INTO events (id, kind, body) VALUES ({i}, 'seed', 'DROP TABLE events; -- not a statement');\n"
        ));
    }
    let drop_line = sql.lines().count() + 1;
    sql.push_str("ALTER TABLE events DROP COLUMN IF EXISTS body;\n");
    // One statement of 2 MB (a dollar-quoted function body).
    sql.push_str("CREATE OR REPLACE FUNCTION big() RETURNS text LANGUAGE sql AS $fn$ SELECT '");
    sql.push_str(&"x".repeat(2_000_000));
    sql.push_str("' $fn$;\n");
    assert!(sql.len() > 7_000_000);
    std::fs::write(dir.path().join("huge.sql"), &sql).unwrap();
    let (code, v, err) = lint_json(dir.path(), &["huge.sql"]);
    assert_eq!(code, 1, "{err}");
    let findings = v["reports"]["files"]["findings"].as_array().unwrap();
    let rules: Vec<(&str, u64)> = findings
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        rules,
        vec![("ban-drop-column", drop_line as u64)],
        "{rules:?}"
    );
}

/// A checkout of its own: envs/staging.hcl (one service, `sql` globs) and db/migrations.
fn repo_with_migrations(policy: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("envs")).unwrap();
    std::fs::create_dir_all(root.join("db/migrations")).unwrap();
    std::fs::write(
        root.join("envs/staging.hcl"),
        format!(
            r#"account_id = "111111111111"
region     = "eu-west-1"
cluster    = "shop-staging"
{policy}
service "api" {{
  image  = "ghcr.io/acme/api:${{image_tag}}"
  cpu    = 256
  memory = 512
  port   = 8000
  migration {{
    command = ["alembic", "upgrade", "head"]
    sql     = ["db/migrations/**/*.sql"]
  }}
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("db/migrations/0001_drop.sql"),
        "SET lock_timeout = '1s';\nSET statement_timeout = '1s';\nALTER TABLE users DROP COLUMN IF EXISTS legacy;\n",
    )
    .unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "first"]);
    std::fs::write(
        root.join("db/migrations/0002_add.sql"),
        "SET lock_timeout = '1s';\nSET statement_timeout = '1s';\nALTER TABLE users ADD COLUMN IF NOT EXISTS nickname text NULL;\n",
    )
    .unwrap();
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "second"]);
    dir
}

#[test]
fn globs_base_and_the_environments_overrides() {
    let dir = repo_with_migrations("");
    let root = dir.path();
    // Every file the globs match: the old DROP COLUMN blocks.
    let (code, v, err) = lint_json(root, &["--env", "staging"]);
    assert_eq!(code, 1, "{err}");
    let r = &v["reports"]["staging"];
    assert_eq!(
        r["files"],
        json!(["db/migrations/0001_drop.sql", "db/migrations/0002_add.sql"])
    );
    // Only what changed since the first commit: the safe file.
    let (code, v, err) = lint_json(root, &["--env", "staging", "--base", "HEAD~1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        v["reports"]["staging"]["files"],
        json!(["db/migrations/0002_add.sql"])
    );
    assert_eq!(
        v["reports"]["staging"]["scope"]["api"].as_str().unwrap()[..14],
        *"changed since "
    );
    // Generated SQL that git does not track cannot be old: it counts whatever the base.
    std::fs::write(
        root.join("db/migrations/0003_generated.sql"),
        "SET lock_timeout = '1s';\nSET statement_timeout = '1s';\nDROP TABLE IF EXISTS carts;\n",
    )
    .unwrap();
    let (code, v, err) = lint_json(root, &["--env", "staging", "--base", "HEAD~1"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        v["reports"]["staging"]["files"],
        json!([
            "db/migrations/0002_add.sql",
            "db/migrations/0003_generated.sql"
        ])
    );
    std::fs::remove_file(root.join("db/migrations/0003_generated.sql")).unwrap();
    // A base this clone does not have is a clear error.
    let (code, _, err) = lint_json(root, &["--env", "staging", "--base", "no-such-ref"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no-such-ref") && err.contains("fetch-depth"),
        "{err}"
    );

    // The environment lowers the rule: nothing blocks.
    let lowered = repo_with_migrations(
        "migration {\n  block_on = \"critical\"\n  rules = { \"ban-drop-column\" = \"high\", \"require-lock-timeout\" = \"off\" }\n}\n",
    );
    let (code, v, err) = lint_json(lowered.path(), &["--env", "staging"]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    let f = &v["reports"]["staging"]["findings"][0];
    assert_eq!(
        (
            f["rule"].as_str(),
            f["severity"].as_str(),
            f["blocking"].as_bool()
        ),
        (Some("ban-drop-column"), Some("high"), Some(false))
    );

    // Unknown rules and severities are errors at their place.
    let bad = repo_with_migrations(
        "migration {\n  block_on = \"severe\"\n  rules = { \"ban-everything\" = \"low\" }\n}\n",
    );
    let out = slipway()
        .current_dir(bad.path())
        .args(["validate"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("staging.hcl:5:"), "{err}");
    assert!(
        err.contains("`ban-everything` is not a migration rule"),
        "{err}"
    );
    assert!(err.contains("not a severity"), "{err}");
}

// ---- the gate, on the emulator ----

const GATED: &str = r#"approval {
  required            = true
  confirmation        = "SHIP"
  events              = ["workflow_dispatch", "local"]
  migration_approvers = ["dba-dora"]
}"#;

/// The SCR staging checkout of the apply tests, with the api service's migration naming
/// db/migrations/*.sql and a committed DROP COLUMN among them.
async fn gated() -> Applied {
    let a = Applied::up(GATED, &["v1", "v2", "v3"], None).await;
    let shared = a.envs().join("_shared.hcl");
    let text = std::fs::read_to_string(&shared).unwrap();
    let edited = text.replacen(
        "  migration {\n    command = [\"alembic\", \"upgrade\", \"head\"]",
        "  migration {\n    command = [\"alembic\", \"upgrade\", \"head\"]\n    sql     = [\"db/migrations/*.sql\"]",
        1,
    );
    assert_ne!(edited, text, "_shared.hcl has the api migration block");
    std::fs::write(&shared, edited).unwrap();
    let db = a.work.path().join("repo/db/migrations");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join("0007_drop_legacy.sql"),
        "SET lock_timeout = '2s';\nSET statement_timeout = '60s';\nALTER TABLE users DROP COLUMN IF EXISTS legacy_field;\n",
    )
    .unwrap();
    a.git(&["add", "."]);
    a.git(&["commit", "-q", "-m", "drop legacy_field"]);
    a.gh.post(
        "/_fake/pull",
        json!({"repo": GH_REPO, "number": PR, "author": "ana", "head_sha": a.head()}),
    )
    .await;
    a
}

/// `slipway deploy` of `tag` with `env` and `extra`: (exit code, stdout+stderr, mutating calls).
async fn deploy(
    a: &Applied,
    tag: &str,
    env: &[(&'static str, String)],
    extra: &[&str],
) -> (i32, String, Vec<String>) {
    a.stage
        .emu
        .control("/_slipway/calls/reset", json!({}))
        .await;
    let out = a
        .slipway()
        .envs(env.iter().cloned())
        .args([
            "deploy",
            "--env",
            "staging",
            "--image-tag",
            tag,
            "--no-smoke",
        ])
        .arg("--tf-outputs")
        .arg(&a.stage.outputs)
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = a.stage.emu.calls().await;
    (out.status.code().unwrap(), text, mutations(&calls))
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_a_pull_request_the_flag_and_the_word_override_and_nothing_else_does() {
    let a = gated().await;
    let none: Vec<String> = Vec::new();

    let (code, text, muts) = deploy(&a, "v2", &[], &["--confirm", "SHIP"]).await;
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("refused (migrations destructive-migration)"),
        "{text}"
    );
    assert!(
        text.contains("db/migrations/0007_drop_legacy.sql:3:19 critical ban-drop-column"),
        "{text}"
    );
    assert!(
        text.contains("--allow-destructive-migration --confirm SHIP"),
        "{text}"
    );
    assert!(text.contains("`migration-destructive-approved`"), "{text}");
    assert_eq!(muts, none, "{text}");

    let (code, text, muts) = deploy(
        &a,
        "v2",
        &[],
        &["--allow-destructive-migration", "--confirm", "ship"],
    )
    .await;
    assert_eq!(code, 3, "a wrong word: {text}");
    assert_eq!(muts, none, "{text}");

    // migrate run is held to the same gate.
    a.stage
        .emu
        .control("/_slipway/calls/reset", json!({}))
        .await;
    let out = a
        .slipway()
        .args([
            "migrate",
            "run",
            "--env",
            "staging",
            "--image-tag",
            "v1",
            "--confirm",
            "SHIP",
        ])
        .arg("--tf-outputs")
        .arg(&a.stage.outputs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("destructive-migration"), "{err}");
    assert_eq!(mutations(&a.stage.emu.calls().await), none);

    let (code, text, _) = deploy(
        &a,
        "v2",
        &[],
        &["--allow-destructive-migration", "--confirm", "SHIP"],
    )
    .await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("api"), "{text}");

    // The live revisions now carry this commit: nothing changed since, nothing to gate.
    let (code, text, _) = deploy(&a, "v3", &[], &["--confirm", "SHIP"]).await;
    assert_eq!(
        code, 0,
        "files changed since the live revision's commit only: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_pull_request_the_label_and_a_migration_approver_are_both_needed() {
    let a = gated().await;
    let env = a.actions("workflow_dispatch", "ana");
    let none: Vec<String> = Vec::new();
    let pr = ["--pr", "7", "--confirm", "SHIP"];
    let head = a.head();
    let set_labels = |labels: Vec<&'static str>| {
        let a = &a;
        let head = head.clone();
        async move {
            a.gh.post(
                "/_fake/pull",
                json!({"repo": GH_REPO, "number": PR, "author": "ana", "head_sha": head, "labels": labels}),
            )
            .await;
        }
    };

    // Label only.
    set_labels(vec!["migration-destructive-approved"]).await;
    let (code, text, muts) = deploy(&a, "v2", &env, &pr).await;
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("migration-approver-missing"), "{text}");
    assert_eq!(muts, none);
    // The flag does not stand in for a review on a pull request.
    let mut with_flag = pr.to_vec();
    with_flag.push("--allow-destructive-migration");
    let (code, text, muts) = deploy(&a, "v2", &env, &with_flag).await;
    assert_eq!(code, 3, "{text}");
    assert_eq!(muts, none);

    // An approval by someone who is not a migration approver, and one at an older commit.
    a.review("bob", "APPROVED", &head).await;
    a.review(
        "dba-dora",
        "APPROVED",
        "0000000000000000000000000000000000000000",
    )
    .await;
    let (code, text, muts) = deploy(&a, "v2", &env, &pr).await;
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("migration-approver-missing"), "{text}");
    assert_eq!(muts, none);

    // Approver only.
    a.review("dba-dora", "APPROVED", &head).await;
    set_labels(vec!["needs-review"]).await;
    let (code, text, muts) = deploy(&a, "v2", &env, &pr).await;
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("override-label-missing"), "{text}");
    assert_eq!(muts, none);

    // Both.
    set_labels(vec!["needs-review", "migration-destructive-approved"]).await;
    let (code, text, _) = deploy(&a, "v2", &env, &pr).await;
    assert_eq!(code, 0, "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_records_the_findings_the_comment_shows_them_and_apply_refuses() {
    let a = gated().await;
    a.set_release("2", false);
    let plan = a.plan("v2");
    let m = &plan["migrations"];
    assert_eq!(
        m["files"],
        json!(["db/migrations/0007_drop_legacy.sql"]),
        "{m:#}"
    );
    assert_eq!(m["findings"][0]["rule"], "ban-drop-column");
    assert_eq!(m["findings"][0]["blocking"], true);

    // The comment's Migrations section.
    let comments =
        a.gh.get(&format!("/_fake/comments?repo={GH_REPO}&issue={PR}"))
            .await;
    let body = comments[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("### Migrations"), "{body}");
    assert!(body.contains("🔴 critical: 1"), "{body}");
    assert!(
        body.contains("`ban-drop-column` `db/migrations/0007_drop_legacy.sql:3` (blocking)"),
        "{body}"
    );
    assert!(
        body.contains("label `migration-destructive-approved`"),
        "{body}"
    );

    // The findings are in the fingerprint: the plan edited to drop them is refused as tampered.
    let mut edited = plan.clone();
    edited["migrations"]["findings"] = json!([]);
    let tampered = a.work.path().join("plans/tampered.json");
    std::fs::write(&tampered, serde_json::to_vec_pretty(&edited).unwrap()).unwrap();

    let env = a.actions("workflow_dispatch", "ana");
    for (plan_file, flags, rule) in [
        (
            a.plan_path(),
            vec!["--pr", "7", "--confirm", "SHIP"],
            "override-label-missing",
        ),
        (tampered, vec!["--pr", "7", "--confirm", "SHIP"], "tampered"),
    ] {
        a.stage
            .emu
            .control("/_slipway/calls/reset", json!({}))
            .await;
        let (code, r, err) = a.apply(&plan_file, &env, &flags);
        assert_eq!(code, 3, "{err}\n{r:#}");
        assert_eq!(r["refusal"]["rule"], rule, "{r:#}");
        assert_eq!(mutations(&a.stage.emu.calls().await), Vec::<String>::new());
    }

    // Label and approver: the gate passes and the apply goes on.
    a.gh.post(
        "/_fake/pull",
        json!({"repo": GH_REPO, "number": PR, "author": "ana", "head_sha": a.head(), "labels": ["migration-destructive-approved"]}),
    )
    .await;
    a.review("dba-dora", "APPROVED", &a.head()).await;
    let (code, r, err) = a.apply(&a.plan_path(), &env, &["--pr", "7", "--confirm", "SHIP"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    let gates = r["gates"].to_string();
    assert!(gates.contains("overridden on pull request #7"), "{gates}");
}
