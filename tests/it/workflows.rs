//! `slipway workflows`: the generated GitHub Actions workflows of both example systems pass
//! zizmor (pedantic) and actionlint (with shellcheck) with no finding, every slipway command
//! line in them parses with slipway's own command line, and `--check` catches drift. A
//! negative control shows each linter does find problems when there are some.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;

use crate::support::{fixtures, repo, slipway};

fn tools() -> PathBuf {
    let dir = std::env::var_os("SLIPWAY_ACTIONS_VENV")
        .map_or_else(|| repo().join(".venv-actions"), PathBuf::from)
        .join("bin");
    assert!(
        dir.join("zizmor").exists() && dir.join("actionlint").exists(),
        "{} has no zizmor/actionlint: run `make actions-lint-tools` (make test does)",
        dir.display()
    );
    dir
}

/// zizmor's and actionlint's verdicts on some workflow files: (exit code, output) each.
fn lint(files: &[PathBuf]) -> ((i32, String), (i32, String)) {
    let bin = tools();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |tool: &str, args: &[&str]| {
        let out = Command::new(bin.join(tool))
            .args(args)
            .args(files)
            .env("PATH", &path)
            .env_remove("GITHUB_TOKEN")
            .env_remove("GH_TOKEN")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    (
        run(
            "zizmor",
            &[
                "--offline",
                "--no-progress",
                "--color=never",
                "--persona=pedantic",
            ],
        ),
        run("actionlint", &["-no-color"]),
    )
}

fn generate(envs: &Path, out: &Path) -> (Vec<PathBuf>, String) {
    let a = slipway()
        .arg("--envs-dir")
        .arg(envs)
        .arg("workflows")
        .arg("--out")
        .arg(out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let mut files: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    (files, stderr)
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect()
}

#[test]
fn generated_workflows_pass_zizmor_and_actionlint() {
    for (envs, expected) in [
        (
            repo().join("envs"),
            vec![
                "slipway-apply.yml",
                "slipway-deploy.yml",
                "slipway-plan.yml",
                "slipway-rollback.yml",
            ],
        ),
        (
            repo().join("examples/specboard/envs"),
            vec![
                "slipway-deploy.yml",
                "slipway-promote.yml",
                "slipway-rollback.yml",
            ],
        ),
    ] {
        let out = tempfile::tempdir().unwrap();
        let (files, _) = generate(&envs, out.path());
        assert_eq!(names(&files), expected, "{}", envs.display());
        let ((z, zout), (a, aout)) = lint(&files);
        assert_eq!(z, 0, "zizmor on {}:\n{zout}", envs.display());
        assert!(zout.contains("No findings"), "{zout}");
        assert_eq!(a, 0, "actionlint on {}:\n{aout}", envs.display());
        assert_eq!(aout.trim(), "", "{aout}");
    }
}

#[test]
fn the_linters_do_find_problems() {
    let bad = vec![fixtures().join("workflows-bad/bad.yml")];
    let ((z, zout), (a, aout)) = lint(&bad);
    // zizmor exits 11..=14 by the worst finding's severity.
    assert!((11..=14).contains(&z), "zizmor exit {z}:\n{zout}");
    for rule in ["template-injection", "unpinned-uses", "artipacked"] {
        assert!(zout.contains(rule), "zizmor missed {rule}:\n{zout}");
    }
    assert_eq!(a, 1, "actionlint:\n{aout}");
    assert!(aout.contains("SC2086"), "shellcheck did not run:\n{aout}");
    assert!(aout.contains("potentially untrusted"), "{aout}");
}

#[test]
fn notes_say_what_was_left_out() {
    let out = tempfile::tempdir().unwrap();
    let (_, stderr) = generate(&repo().join("examples/specboard/envs"), out.path());
    for env in ["staging", "production"] {
        assert!(
            stderr.contains(&format!("note: {env}: no github role trusts pull requests")),
            "{stderr}"
        );
    }
    let out = tempfile::tempdir().unwrap();
    let (_, stderr) = generate(&repo().join("envs"), out.path());
    assert_eq!(
        stderr.trim(),
        "note: production: deploys on push, but needs its confirmation word, which nobody types on a push: it is deployed through slipway-apply.yml"
    );
}

/// The environment variables the workflows' scripts set, with values of the right shape.
fn value_of(var: &str) -> &'static str {
    match var {
        "PR" | "PR_NUMBER" => "7",
        "FINGERPRINT" => "0123456789ab",
        "ENV_NAME" => "staging",
        "SHA" => "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "TAG" => "v1.2.3",
        "BASE_REF" => "main",
        "CONFIRM" => "DEPLOY",
        "SERVICE" => "api",
        "RUNNER_TEMP" => "/tmp/runner",
        other => panic!("a workflow script uses ${other}, which this test does not know"),
    }
}

/// A shell command line as the shell would hand it over: `${X:+words}` expanded as if X were
/// set, `$X` replaced, double quotes removed, split on spaces.
fn words(line: &str) -> Vec<String> {
    let mut s = line.to_string();
    while let Some(start) = s.find("${") {
        let end = start + s[start..].find('}').expect("closed ${");
        let inner = &s[start + 2..end];
        let replacement = match inner.split_once(":+") {
            Some((_, words)) => words.to_string(),
            None => format!("${inner}"),
        };
        s.replace_range(start..=end, &replacement);
    }
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            let mut var = String::new();
            while let Some(&n) = chars.peek() {
                if n.is_ascii_alphanumeric() || n == '_' {
                    var.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push_str(value_of(&var));
        } else if c != '"' {
            out.push(c);
        }
    }
    out.split_whitespace().map(str::to_string).collect()
}

/// Every `slipway ...` command the workflows run (continuation lines joined).
fn slipway_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim().trim_start_matches("run: ");
        if let Some(c) = current.as_mut() {
            c.push(' ');
            c.push_str(t.trim_end_matches('\\'));
        } else if t.starts_with("slipway ") {
            current = Some(t.trim_end_matches('\\').to_string());
        }
        if !t.ends_with('\\') {
            if let Some(c) = current.take() {
                commands.push(c);
            }
        }
    }
    commands
}

#[test]
fn every_slipway_command_in_the_workflows_parses() {
    let mut seen = std::collections::BTreeSet::new();
    for envs in [repo().join("envs"), repo().join("examples/specboard/envs")] {
        let out = tempfile::tempdir().unwrap();
        let (files, _) = generate(&envs, out.path());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let commands = slipway_commands(&text);
            assert!(!commands.is_empty(), "{} runs no slipway", f.display());
            for c in commands {
                let argv = words(&c);
                if let Err(e) = slipway::cli::Cli::try_parse_from(&argv) {
                    panic!("{}: `{c}` does not parse:\n{e}", f.display());
                }
                seen.insert(argv[3].clone());
            }
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["apply", "deploy", "plan", "promote", "rollback"]
    );
}

#[test]
fn check_passes_on_fresh_output_and_fails_on_drift() {
    let out = tempfile::tempdir().unwrap();
    generate(&repo().join("envs"), out.path());
    let check = || {
        let mut c = slipway();
        c.arg("--envs-dir")
            .arg(repo().join("envs"))
            .arg("workflows")
            .arg("--check")
            .arg("--out")
            .arg(out.path());
        c
    };
    check().assert().success();

    // A hand edit: the diff names the file and shows the line.
    let plan = out.path().join("slipway-plan.yml");
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(
        &plan,
        text.replace("timeout-minutes: 60", "timeout-minutes: 5"),
    )
    .unwrap();
    let a = check().assert().code(1);
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(stdout.contains("-    timeout-minutes: 5"), "{stdout}");
    assert!(stdout.contains("+    timeout-minutes: 60"), "{stdout}");
    assert!(stderr.contains("slipway-plan.yml"), "{stderr}");

    // A missing file is drift too; writing again mends both.
    std::fs::remove_file(out.path().join("slipway-rollback.yml")).unwrap();
    check().assert().code(1);
    generate(&repo().join("envs"), out.path());
    check().assert().success();

    // A workflow slipway wrote that the files no longer imply: --check names it, writing
    // removes it; a workflow of the team's own is never touched.
    let old = out.path().join("slipway-promote.yml");
    std::fs::write(&old, format!("{}\nname: old\n", slipway::workflows::HEADER)).unwrap();
    let own = out.path().join("slipway-lint.yml");
    std::fs::write(&own, "name: our own\n").unwrap();
    let a = check().assert().code(1);
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(stdout.contains("no longer implied"), "{stdout}");
    generate(&repo().join("envs"), out.path());
    assert!(!old.exists());
    assert!(own.exists());
    check().assert().success();
}
