//! The contract between `slipway render` and the Terraform root in `terraform/`, checked without
//! the AWS provider (which cannot be installed offline):
//! - parsed with hcl-rs: every variable the root declares is produced by render (or has a
//!   default), every variable render produces is declared, every output render reads is declared;
//! - with the real Terraform: the root's variable declarations alone (copied into an empty root)
//!   accept the rendered tfvars of both example systems and of an environment with a site the
//!   root creates, so the types match; and modules/static-site accepts the name slipway gives it.

use std::collections::BTreeSet;

use slipway::render::tfvars::VARIABLES;
use slipway::render::REQUIRED_OUTPUTS;

use crate::support::{repo, slipway, terraform};

struct Root {
    /// (name, has a default)
    variables: Vec<(String, bool)>,
    outputs: BTreeSet<String>,
}

fn parse_root() -> Root {
    let mut variables = Vec::new();
    let mut outputs = BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("terraform")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("tf") {
            continue;
        }
        let body: hcl::Body = hcl::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for block in body.blocks() {
            let Some(label) = block.labels().first().map(|l| l.as_str().to_string()) else {
                continue;
            };
            match block.identifier() {
                "variable" => variables.push((
                    label,
                    block.body().attributes().any(|a| a.key() == "default"),
                )),
                "output" => {
                    outputs.insert(label);
                }
                _ => {}
            }
        }
    }
    Root { variables, outputs }
}

#[test]
fn root_declares_what_render_produces_and_exports_what_render_reads() {
    let root = parse_root();
    let declared: BTreeSet<&str> = root.variables.iter().map(|(n, _)| n.as_str()).collect();
    let rendered: BTreeSet<&str> = VARIABLES.iter().copied().collect();
    let undeclared: Vec<_> = rendered.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "render produces variables terraform/ does not declare: {undeclared:?}"
    );
    let unfed: Vec<_> = root
        .variables
        .iter()
        .filter(|(n, default)| !default && !rendered.contains(n.as_str()))
        .map(|(n, _)| n)
        .collect();
    assert!(
        unfed.is_empty(),
        "terraform/ declares required variables render does not produce: {unfed:?}"
    );
    for (name, _) in REQUIRED_OUTPUTS {
        assert!(
            root.outputs.contains(*name),
            "render reads output `{name}`, which terraform/ does not declare"
        );
    }
    assert!(
        root.outputs.contains(slipway::env::schema::SITES_OUTPUT),
        "a site without a bucket reads output `sites`, which terraform/ does not declare"
    );
}

#[test]
fn rendered_tfvars_type_check_against_the_root_variables() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("vars-only");
    std::fs::create_dir(&root).unwrap();
    std::fs::copy(
        repo().join("terraform/variables.tf"),
        root.join("variables.tf"),
    )
    .unwrap();
    let init = std::process::Command::new(terraform())
        .args(["init", "-input=false", "-backend=false"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    // SCR staging with a site the root creates, on a cluster name long enough to be shortened.
    let with_site = work.path().join("with-site");
    std::fs::create_dir(&with_site).unwrap();
    for f in ["_shared.hcl", "staging.hcl"] {
        std::fs::copy(repo().join("envs").join(f), with_site.join(f)).unwrap();
    }
    let staging = with_site.join("staging.hcl");
    let text = std::fs::read_to_string(&staging).unwrap();
    std::fs::write(
        &staging,
        format!(
            "{text}\nsite \"Marketing_Frontend_for_Campaigns\" {{\n  dir             = \"frontend/dist\"\n  aliases         = [\"www.example.com\"]\n  certificate_arn = \"arn:aws:acm:us-east-1:111111111111:certificate/0c1d2e3f\"\n  spa             = true\n}}\n"
        ),
    )
    .unwrap();
    let with_site = with_site.to_string_lossy().into_owned();
    let mut site_names = Vec::new();
    for (dir, env) in [
        ("envs", "staging"),
        ("envs", "production"),
        ("examples/specboard/envs", "staging"),
        ("examples/specboard/envs", "production"),
        (with_site.as_str(), "staging"),
    ] {
        let out_dir = work.path().join(format!("{}-{env}", dir.replace('/', "_")));
        slipway()
            .current_dir(repo())
            .args([
                "--envs-dir",
                dir,
                "render",
                "--env",
                env,
                "--only",
                "tfvars",
                "--out",
            ])
            .arg(&out_dir)
            .assert()
            .success();
        let plan = std::process::Command::new(terraform())
            .args(["plan", "-input=false", "-no-color", "-refresh=false"])
            .arg(format!(
                "-var-file={}",
                out_dir.join("tfvars.json").display()
            ))
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            plan.status.success(),
            "{dir}/{env}: terraform rejects the rendered tfvars:\n{}{}",
            String::from_utf8_lossy(&plan.stdout),
            String::from_utf8_lossy(&plan.stderr)
        );
        let tfvars: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("tfvars.json")).unwrap()).unwrap();
        for site in tfvars["sites"].as_object().unwrap().values() {
            site_names.push(site["name"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(site_names.len(), 1, "{site_names:?}");

    // The module's own validation takes the name render gives the site.
    let module = work.path().join("site-vars-only");
    std::fs::create_dir(&module).unwrap();
    std::fs::copy(
        repo().join("modules/static-site/variables.tf"),
        module.join("variables.tf"),
    )
    .unwrap();
    for (name, ok) in [(site_names[0].as_str(), true), (&"a".repeat(37), false)] {
        let plan = std::process::Command::new(terraform())
            .args(["plan", "-input=false", "-no-color", "-refresh=false"])
            .arg(format!("-var=name={name}"))
            .current_dir(&module)
            .output()
            .unwrap();
        assert_eq!(
            plan.status.success(),
            ok,
            "modules/static-site with name {name}:\n{}{}",
            String::from_utf8_lossy(&plan.stdout),
            String::from_utf8_lossy(&plan.stderr)
        );
    }
}
