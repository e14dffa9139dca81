//! What a new user meets first: a typo in an environment name, an AWS that cannot be reached,
//! no credentials. Each is one clear line that says what to do (the SDK's dump only with -v),
//! exit 1, and nothing run that did not need to be.

use crate::support::{repo, slipway};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn a_typo_in_the_environment_is_named_before_anything_runs() {
    for args in [
        &["deploy", "--env", "stagin", "--image-tag", "x"][..],
        &["plan", "--env", "stagin"][..],
        &["diff", "--env", "stagin"][..],
        &["rollback", "--env", "stagin"][..],
        &["render", "--env", "stagin"][..],
    ] {
        // A Terraform that cannot run proves none was started.
        let out = slipway()
            .current_dir(repo())
            .env("SLIPWAY_TERRAFORM", "/nonexistent/terraform")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .args(args)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("no environment `stagin` in envs (did you mean `staging`?)"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("terraform") && !err.contains("\u{1b}["),
            "{args:?}: {err}"
        );
    }
}

fn unreachable(extra: &[&str]) -> (Option<i32>, String, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = slipway()
        .current_dir(repo())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .args(extra)
        .args(["status", "--env", "staging", "--aws-timeout", "5"])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        stderr(&out),
    )
}

#[test]
fn an_unreachable_aws_is_one_line_and_status_prints_no_table() {
    let (code, stdout, err) = unreachable(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        stdout.is_empty(),
        "no empty table after the error: {stdout}"
    );
    assert!(
        err.contains("cannot reach AWS at http://127.0.0.1:") && err.contains("connection refused"),
        "{err}"
    );
    assert!(
        !err.contains("DispatchFailure"),
        "the SDK's dump is for -v: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (_, _, verbose) = unreachable(&["-v"]);
    assert!(verbose.contains("AWS SDK: dispatch failure"), "{verbose}");
}

#[test]
fn no_credentials_say_where_slipway_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = slipway()
        .current_dir(repo())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        )
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["status", "--env", "staging", "--aws-timeout", "5"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no AWS credentials"), "{err}");
    assert!(err.contains("set AWS_PROFILE"), "{err}");
    assert!(!err.contains("CredentialsNotLoaded"), "{err}");
}
