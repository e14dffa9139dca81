//! The malformed corpus: every case's diagnostics (location and message) are pinned by a
//! snapshot, and no case may panic or exit with anything but 1.

use crate::support::{fixtures, scrub, slipway};

#[test]
fn malformed_corpus_diagnostics() {
    let root = fixtures().join("malformed");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 30,
        "the corpus has {} cases, expected at least 30",
        cases.len()
    );
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        // Run from the corpus directory with a relative path, so the rendered report (which
        // wraps at a fixed width) does not depend on where the repository is checked out.
        let mut cmd = slipway();
        cmd.current_dir(&root)
            .arg("--envs-dir")
            .arg(&name)
            .args(["validate", "--strict"]);
        let outputs = case.join("tf-outputs.json");
        if outputs.exists() {
            cmd.arg("--tf-outputs")
                .arg(format!("{name}/tf-outputs.json"));
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).replace(&format!("{name}/"), "[DIR]/");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: expected exit 1\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name} panicked:\n{stderr}");
        let mut json_cmd = slipway();
        json_cmd
            .arg("--envs-dir")
            .arg(&case)
            .args(["validate", "--strict", "--format", "json"]);
        if outputs.exists() {
            json_cmd.arg("--tf-outputs").arg(&outputs);
        }
        let json = json_cmd.output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let summary: Vec<String> = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{}:{}:{} {}[{}] {}",
                    scrub(d["file"].as_str().unwrap_or("-"), &case),
                    d["start"]["line"],
                    d["start"]["column"],
                    d["severity"].as_str().unwrap(),
                    d["code"].as_str().unwrap(),
                    d["message"].as_str().unwrap()
                )
            })
            .collect();
        assert!(!summary.is_empty(), "{name}: no diagnostic");
        insta::with_settings!({ snapshot_suffix => name.clone(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("malformed", format!("{}\n\n{}", summary.join("\n"), stderr));
        });
    }
}
