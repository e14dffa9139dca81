//! Property test over the loader: whatever bytes an environment file holds, loading and
//! validating it returns diagnostics and never panics.
//!
//! `loader_never_panics` runs a bounded number of cases in every `make test`;
//! `loader_never_panics_for_a_while` (ignored by default) runs until SLIPWAY_FUZZ_SECS elapse
//! and is what `make fuzz` runs.

use crate::support::repo;

fn seeds() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["envs", "examples/specboard/envs"] {
        for e in std::fs::read_dir(repo().join(dir)).unwrap() {
            let p = e.unwrap().path();
            out.push(std::fs::read_to_string(p).unwrap());
        }
    }
    out
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    "\"",
    ",",
    "\n",
    " ",
    "${",
    "%{",
    "<<EOT\n",
    "EOT\n",
    "tf.",
    "image_tag",
    "git.sha",
    "env.name",
    "service \"x\" {",
    "cpu = 256",
    "memory = 512",
    "null",
    "true",
    "-1",
    "99999999999999999999",
    "1.5",
    "\\",
    "#",
    "//",
    "/*",
    "*/",
    "é",
    "\u{0}",
    "for x in [1]: x",
    "? :",
    "!",
    "...",
    "*",
    ".0",
    "[0]",
    "count = \"2\"",
    "👍",
];

/// Loads one mutated file (as an environment, and as the shared file under a valid one).
fn check(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fuzz.hcl"), text).unwrap();
    let loaded = slipway::env::load(dir.path(), &[], &|name| slipway::env::Scope {
        env_name: name.to_string(),
        allow_unknown: true,
        ..Default::default()
    })
    .unwrap();
    // Every diagnostic must render, and point inside its file.
    for d in &loaded.diagnostics {
        if let Some(loc) = &d.loc {
            assert!(
                loc.span.end <= text.len() && loc.span.start <= loc.span.end,
                "{d:?}"
            );
        }
        let _ = loaded.sources.render(d, false, 100);
    }
    for env in &loaded.envs {
        let _ = slipway::render::render_static(env);
    }
}

/// Runs batches of `cases` until `deadline` (one batch without one); returns how many files
/// were actually loaded.
fn run(cases: u32, deadline: Option<std::time::Instant>) -> u64 {
    crate::mutate::run(&seeds(), TOKENS, 12, cases, deadline, &check)
}

#[test]
fn loader_never_panics() {
    assert!(run(256, None) >= 256);
    for raw in [
        "",
        "{",
        "service",
        "service \"a\" {",
        "a = ",
        "a = [",
        "= 1",
        "\u{feff}a = 1",
        "a = \"${",
        "x { y { z {",
    ] {
        check(raw);
    }
}

#[test]
#[ignore = "long-running: `make fuzz` runs it for SLIPWAY_FUZZ_SECS seconds"]
fn loader_never_panics_for_a_while() {
    crate::mutate::for_a_while("mutated environment files loaded", run);
}
