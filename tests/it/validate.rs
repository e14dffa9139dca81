use crate::support::{repo, scrub, slipway};

#[test]
fn example_systems_validate_cleanly() {
    for dir in ["envs", "examples/specboard/envs"] {
        let out = slipway()
            .current_dir(repo())
            .args(["--envs-dir", dir, "validate", "--strict"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("production") && stdout.contains("staging"),
            "{stdout}"
        );
    }
}

#[test]
fn validate_selects_environments_and_rejects_unknown_names() {
    slipway()
        .current_dir(repo())
        .args(["validate", "--env", "staging"])
        .assert()
        .success()
        .stdout("ok: 1 environment valid (staging)\n");
    let out = slipway()
        .current_dir(repo())
        .args(["validate", "--env", "prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no environment `prod`")
            && err.contains("(did you mean `production`?)")
            && err.contains("production, staging"),
        "{err}"
    );
}

/// All problems are reported at once, each at its token, in JSON with line and column.
#[test]
fn json_diagnostics_carry_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dev.hcl"),
        "account_id = \"12345\"\nregion = \"eu-west-1\"\ncluster = \"dev\"\nservice \"api\" {\n  image = \"nginx:1\"\n  cpu = 256\n  memory = 4096\n  desierd_count = 2\n}\n",
    )
    .unwrap();
    let out = slipway()
        .args(["--envs-dir"])
        .arg(dir.path())
        .args(["validate", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let diags = v["diagnostics"].as_array().unwrap();
    let find = |code: &str| {
        diags
            .iter()
            .find(|d| d["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {v}"))
    };
    let acct = find("invalid-account-id");
    assert_eq!(
        (
            acct["start"]["line"].as_u64(),
            acct["start"]["column"].as_u64()
        ),
        (Some(1), Some(14))
    );
    let mem = find("fargate-size");
    assert_eq!(mem["start"]["line"], 7);
    let typo = find("unknown-attribute");
    assert_eq!(typo["start"]["line"], 8);
    assert!(typo["help"].as_str().unwrap().contains("desired_count"));
    assert!(scrub(&String::from_utf8_lossy(&out.stdout), dir.path()).contains("[DIR]/dev.hcl"));
}

#[test]
fn strict_turns_secret_looking_variables_into_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dev.hcl"),
        "account_id = \"123456789012\"\nregion = \"eu-west-1\"\ncluster = \"dev\"\nservice \"api\" {\n  image = \"nginx:1\"\n  cpu = 256\n  memory = 512\n  environment = { STRIPE_SECRET_KEY = \"sk_live_do_not_print\" }\n}\n",
    )
    .unwrap();
    let out = slipway()
        .arg("--envs-dir")
        .arg(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("looks like a secret"), "{err}");
    assert!(
        !err.contains("sk_live_do_not_print"),
        "a secret-looking value was printed: {err}"
    );
    let out = slipway()
        .arg("--envs-dir")
        .arg(dir.path())
        .args(["validate", "--strict"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn version_is_printed() {
    slipway()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("slipway {}\n", env!("CARGO_PKG_VERSION")));
}
