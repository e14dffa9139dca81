//! `slipway apply` end to end: the emulator (with ECS realism), real Terraform on a built-in-only
//! root whose outputs are the emulator's resources (tests/fixtures/apply-root), the GitHub fake
//! (the plan comment, reviews, team membership), and the checkout as a git repository of its
//! own. Every refusal is checked for exit 3, its rule, and zero mutating AWS calls.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::{fixtures, mutations, repo, terraform, FakeGitHub, Stage};

pub const GH_REPO: &str = "scr-platform/scr-platform";
pub const PR: u64 = 7;
const TOKEN: &str = "ghs_apply_tests";

/// One staging environment of the SCR Platform in a checkout of its own (so that tests can move
/// HEAD and edit files), its infrastructure in a fresh emulator, a Terraform workspace holding
/// the emulator's resources as outputs, and a GitHub fake with pull request #7.
pub struct Applied {
    pub stage: Stage,
    pub gh: FakeGitHub,
    pub work: tempfile::TempDir,
}

impl Applied {
    /// `approval` replaces staging's `approval { ... }` block.
    pub async fn up(approval: &str, tags: &[&str], account: Option<&str>) -> Applied {
        let work = tempfile::tempdir().unwrap();
        let envs = work.path().join("repo/envs");
        std::fs::create_dir_all(&envs).unwrap();
        for f in ["_shared.hcl", "staging.hcl", "production.hcl"] {
            std::fs::copy(repo().join("envs").join(f), envs.join(f)).unwrap();
        }
        let staging = std::fs::read_to_string(envs.join("staging.hcl")).unwrap();
        let start = staging
            .find("approval {")
            .expect("staging has an approval block");
        let end = start + staging[start..].find("\n}").unwrap() + 2;
        let edited = format!("{}{approval}{}", &staging[..start], &staging[end..]);
        std::fs::write(envs.join("staging.hcl"), edited).unwrap();
        let a = Applied {
            stage: Stage::up_with(envs.to_str().unwrap(), "staging", tags, account).await,
            gh: FakeGitHub::start(TOKEN),
            work,
        };
        a.git(&["init", "-q", "-b", "main"]);
        a.git(&["add", "."]);
        a.git(&["commit", "-q", "-m", "staging"]);
        std::fs::create_dir_all(a.tf()).unwrap();
        std::fs::copy(
            fixtures().join("apply-root/main.tf"),
            a.tf().join("main.tf"),
        )
        .unwrap();
        a.set_release("1", false);
        a.terraform(&["init", "-input=false", "-no-color"]);
        a.terraform(&["workspace", "new", "staging"]);
        a.terraform(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        a.gh.post(
            "/_fake/pull",
            json!({"repo": GH_REPO, "number": PR, "author": "ana", "head_sha": a.head()}),
        )
        .await;
        a.stage.fast().await;
        a
    }

    pub fn envs(&self) -> PathBuf {
        self.work.path().join("repo/envs")
    }

    pub fn tf(&self) -> PathBuf {
        self.work.path().join("tf")
    }

    pub fn plan_path(&self) -> PathBuf {
        self.work.path().join("plans/staging.json")
    }

    pub fn git(&self, args: &[&str]) -> String {
        crate::support::git(&self.work.path().join("repo"), args)
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// What Terraform plans next: `release` (a change when it differs from the applied one)
    /// and whether its apply fails.
    pub fn set_release(&self, release: &str, fail_apply: bool) {
        let seeded: Value =
            serde_json::from_slice(&std::fs::read(&self.stage.outputs).unwrap()).unwrap();
        std::fs::write(
            self.tf().join("seeded.auto.tfvars.json"),
            json!({"seeded": seeded, "release": release, "fail_apply": fail_apply}).to_string(),
        )
        .unwrap();
    }

    /// The offline Terraform in the root, in workspace staging.
    pub fn terraform(&self, args: &[&str]) -> String {
        let mut c = Command::new(terraform());
        c.current_dir(self.tf()).args(args);
        if args[0] != "init" && args[0] != "workspace" {
            c.env("TF_WORKSPACE", "staging");
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "terraform {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// slipway in this checkout, on this emulator, with the project's Terraform.
    pub fn slipway(&self) -> assert_cmd::Command {
        let mut c = self.stage.slipway();
        c.env("SLIPWAY_TERRAFORM", terraform());
        c
    }

    /// A workflow run by `actor`, as Actions describes it to slipway.
    pub fn actions(&self, event: &str, actor: &str) -> Vec<(&'static str, String)> {
        let mut env = self.gh.actions_env(GH_REPO);
        env.push(("GITHUB_EVENT_NAME", event.into()));
        env.push(("GITHUB_ACTOR", actor.into()));
        env
    }

    /// `slipway plan` of `tag` with Terraform, posting the comment on the pull request (as the
    /// PR workflow does). Returns the plan file's JSON.
    pub fn plan(&self, tag: &str) -> Value {
        let out = self
            .slipway()
            .envs(self.actions("pull_request", "ana"))
            .args(["plan", "--env", "staging", "--image-tag", tag, "--comment"])
            .args(["--pr", &PR.to_string()])
            .arg("--terraform-dir")
            .arg(self.tf())
            .arg("--out")
            .arg(self.plan_path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "plan: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&std::fs::read(self.plan_path()).unwrap()).unwrap()
    }

    /// `slipway plan --no-terraform` of `tag` (the ECS half only, outputs from seed.py).
    pub fn plan_ecs(&self, tag: &str) {
        let out = self
            .slipway()
            .args([
                "plan",
                "--env",
                "staging",
                "--image-tag",
                tag,
                "--no-terraform",
            ])
            .arg("--tf-outputs")
            .arg(&self.stage.outputs)
            .arg("--out")
            .arg(self.plan_path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "plan: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `slipway apply` of an ECS-only plan, in the background.
    pub fn apply_in_background(&self) -> std::process::Child {
        self.stage
            .slipway_process()
            .args([
                "--format",
                "json",
                "apply",
                "--env",
                "staging",
                "--no-smoke",
            ])
            .arg("--plan")
            .arg(self.plan_path())
            .arg("--tf-outputs")
            .arg(&self.stage.outputs)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `slipway apply` of `plan` with `env` and `extra` flags: (exit code, JSON report, stderr).
    pub fn apply(
        &self,
        plan: &Path,
        env: &[(&'static str, String)],
        extra: &[&str],
    ) -> (i32, Value, String) {
        let out = self
            .slipway()
            .envs(env.iter().cloned())
            .args([
                "--format",
                "json",
                "apply",
                "--env",
                "staging",
                "--no-smoke",
            ])
            .arg("--plan")
            .arg(plan)
            .arg("--terraform-dir")
            .arg(self.tf())
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap(), report, stderr)
    }

    pub async fn review(&self, login: &str, state: &str, commit: &str) {
        self.gh
            .post(
                "/_fake/reviews",
                json!({"repo": GH_REPO, "number": PR, "reviews": [{"login": login, "state": state, "commit_id": commit}]}),
            )
            .await;
    }

    /// Each service's image tag, as it runs.
    pub async fn running_tags(&self) -> Vec<(String, String)> {
        let names = self.stage.service_names();
        let live = slipway::live::fetch(
            &self.stage.clients.ecs,
            &self.stage.cluster(),
            &slipway::live::named(&names),
        )
        .await
        .unwrap();
        live.image_tags().into_iter().collect()
    }
}

/// staging, behind every rule there is: the PR's approval, an actor, a word, a trigger.
const STRICT: &str = r#"approval {
  required              = true
  actors                = ["ana"]
  confirmation          = "SHIP"
  events                = ["workflow_dispatch"]
  pull_request_approved = true
}"#;

fn rule(r: &Value) -> String {
    r["refusal"]["rule"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reviewed_plan_lands_and_then_diff_is_clean() {
    let a = Applied::up(STRICT, &["v1"], None).await;
    a.set_release("2", false);
    let plan = a.plan("v1");
    assert_eq!(
        plan["terraform"]["summary"]["replace"], 2,
        "{:#}",
        plan["terraform"]
    );
    let comment = &a.gh.comments(GH_REPO, PR).await[0];
    assert!(comment["body"]
        .as_str()
        .unwrap()
        .contains(plan["fingerprint"].as_str().unwrap()));
    a.review("bo", "APPROVED", &a.head()).await;

    // The dispatch: no --fingerprint, so the one in the PR comment counts.
    let env = a.actions("workflow_dispatch", "ana");
    let (code, r, err) = a.apply(&a.plan_path(), &env, &["--pr", "7", "--confirm", "SHIP"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(r["status"], "applied");
    let gates: Vec<&str> = r["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["detail"].as_str().unwrap())
        .collect();
    assert!(
        gates.iter().any(|g| g.contains("the plan comment shows")),
        "{gates:?}"
    );
    assert!(gates.iter().any(|g| g.contains("approved at")), "{gates:?}");
    assert!(
        r["terraform"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Apply complete! Resources: 2 added, 0 changed, 2 destroyed."),
        "{:#}",
        r["terraform"]
    );
    assert_eq!(a.terraform(&["output", "-raw", "release"]).trim(), "2");
    assert_eq!(
        r["lock"]["released"]["state"], "released",
        "{:#}",
        r["lock"]
    );

    // Exactly what the plan showed: the rendered documents, and nothing left to change.
    let running = a.running_tags().await;
    assert!(running.iter().all(|(_, t)| t == "v1"), "{running:?}");
    let out = a
        .slipway()
        .args([
            "diff",
            "--env",
            "staging",
            "--image-tag",
            "v1",
            "--detailed-exitcode",
        ])
        .arg("--tf-outputs")
        .arg(&a.stage.outputs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The PR comment records the apply.
    let body = a.gh.comments(GH_REPO, PR).await[0]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        body.contains(&format!(
            "Applied by [@ana](https://github.com/{GH_REPO}/actions/runs/4242) at "
        )) && body.contains(": applied"),
        "{body}"
    );
    assert!(body.contains(&plan["fingerprint"].as_str().unwrap()[..12]));

    // Planned again, nothing changes: the apply is a gated no-op.
    let again = a.plan("v1");
    a.review("bo", "APPROVED", &a.head()).await;
    assert_eq!(again["terraform"]["summary"]["replace"], 0);
    let (code, r, err) = a.apply(&a.plan_path(), &env, &["--pr", "7", "--confirm", "SHIP"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(r["status"], "nothing_to_change");
}

/// Every gate's refusal, tried one after another on one environment: each exits 3, names its
/// rule, and makes no mutating AWS call (the emulator's call counter, reset before each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_exits_3_names_its_rule_and_changes_nothing() {
    let a = Applied::up(STRICT, &["v1"], None).await;
    a.set_release("2", false);
    let plan = a.plan("v1");
    let sha = a.head();
    let ok_env = a.actions("workflow_dispatch", "ana");
    let ok_flags = ["--pr", "7", "--confirm", "SHIP"];
    let mut tried: Vec<(String, usize)> = Vec::new();

    let refuse = |name: &'static str,
                  expected: &'static str,
                  plan: PathBuf,
                  env: Vec<(&'static str, String)>,
                  flags: Vec<String>| {
        let a = &a;
        async move {
            a.stage
                .emu
                .control("/_slipway/calls/reset", json!({}))
                .await;
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            let (code, r, err) = a.apply(&plan, &env, &flags);
            assert_eq!(code, 3, "{name}: {err}\n{r:#}");
            assert_eq!(rule(&r), expected, "{name}: {r:#}");
            assert!(!r["refusal"]["message"].as_str().unwrap().is_empty());
            let calls = a.stage.emu.calls().await;
            assert_eq!(mutations(&calls), Vec::<String>::new(), "{name}: {calls:?}");
            (name.to_string(), mutations(&calls).len())
        }
    };
    let flags = |extra: &[&str]| -> Vec<String> { extra.iter().map(|s| s.to_string()).collect() };
    let p = a.plan_path();

    // The fingerprint reviewers saw.
    tried.push(
        refuse(
            "no approval where one is required",
            "not-reviewed",
            p.clone(),
            vec![],
            vec![],
        )
        .await,
    );
    tried.push(
        refuse(
            "fingerprint differs from the reviewed one",
            "fingerprint-mismatch",
            p.clone(),
            ok_env.clone(),
            flags(&[
                "--fingerprint",
                "0123456789ab",
                "--confirm",
                "SHIP",
                "--pr",
                "7",
            ]),
        )
        .await,
    );
    let edited = a.work.path().join("plans/edited.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    doc["image_tag"] = json!("v9");
    std::fs::write(&edited, serde_json::to_string(&doc).unwrap()).unwrap();
    tried.push(
        refuse(
            "plan edited",
            "tampered",
            edited.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    let resealed: slipway::planfile::PlanFile = serde_json::from_value(doc).unwrap();
    resealed.seal().write(&edited).unwrap();
    tried.push(
        refuse(
            "plan edited and re-fingerprinted",
            "fingerprint-mismatch",
            edited.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    // A comment vouching for the edited plan, by someone else than the token, on PR #8.
    let forged = slipway::planfile::PlanFile::read(&edited).unwrap();
    a.gh.post(
        "/_fake/pull",
        json!({"repo": GH_REPO, "number": 8, "author": "mallory", "head_sha": sha}),
    )
    .await;
    let body = format!(
        "{}\n<!-- slipway:plan-meta fingerprint={} commit={sha} -->\nlooks good",
        slipway::report::comment::marker("staging"),
        forged.fingerprint
    );
    a.gh.post(
        "/_fake/seed",
        json!({"repo": GH_REPO, "issue": 8, "pull": true, "comments": [{"body": body, "login": "mallory"}]}),
    )
    .await;
    tried.push(
        refuse(
            "comment by another author",
            "comment-author",
            edited,
            ok_env.clone(),
            flags(&["--pr", "8", "--confirm", "SHIP"]),
        )
        .await,
    );

    // Approval.
    tried.push(
        refuse(
            "event not allowed",
            "event",
            p.clone(),
            a.actions("push", "ana"),
            flags(&ok_flags),
        )
        .await,
    );
    tried.push(
        refuse(
            "actor not allowed",
            "actor",
            p.clone(),
            a.actions("workflow_dispatch", "mallory"),
            flags(&ok_flags),
        )
        .await,
    );
    tried.push(
        refuse(
            "wrong confirmation word",
            "confirmation",
            p.clone(),
            ok_env.clone(),
            flags(&["--pr", "7", "--confirm", "ship"]),
        )
        .await,
    );
    tried.push(
        refuse(
            "PR not approved",
            "not-approved",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    a.review("ana", "APPROVED", &sha).await;
    tried.push(
        refuse(
            "approval only from the PR author",
            "author-approval",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    a.review("bo", "APPROVED", &"0".repeat(40)).await;
    tried.push(
        refuse(
            "approval older than the plan's commit",
            "stale-approval",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    a.review("bo", "APPROVED", &sha).await;

    // Nothing moved since the plan.
    let staging = a.envs().join("staging.hcl");
    let original = std::fs::read_to_string(&staging).unwrap();
    std::fs::write(&staging, format!("{original}\n# an edit\n")).unwrap();
    tried.push(
        refuse(
            "environment file changed",
            "env-file",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    std::fs::write(&staging, &original).unwrap();
    std::fs::write(a.work.path().join("repo/NOTES.md"), "later\n").unwrap();
    a.git(&["add", "NOTES.md"]);
    a.git(&["commit", "-q", "-m", "later"]);
    tried.push(
        refuse(
            "a different HEAD",
            "head",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    a.git(&["reset", "-q", "--hard", &sha]);
    let saved = a
        .work
        .path()
        .join("plans")
        .join(plan["terraform"]["plan_file"].as_str().unwrap());
    let bytes = std::fs::read(&saved).unwrap();
    let mut changed = bytes.clone();
    changed.push(b'\n');
    std::fs::write(&saved, &changed).unwrap();
    tried.push(
        refuse(
            "saved Terraform plan changed",
            "terraform-plan",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    std::fs::write(&saved, &bytes).unwrap();

    // The lock, held by another run.
    let lock = slipway::gate::lock::record(
        "staging",
        "another-run",
        slipway::gate::lock::Holder {
            actor: "bo".into(),
            run_url: Some("https://github.com/x/y/actions/runs/1".into()),
            host: "runner-9".into(),
            pid: 1,
            command: "deploy".into(),
            fingerprint: None,
        },
        std::time::Duration::from_secs(600),
        slipway::gate::lock::now_ms(),
    );
    let s3 = &a.stage.clients.s3;
    s3.put_object()
        .bucket("scr-terraform-state")
        .key("slipway/locks/staging.json")
        .body(serde_json::to_vec(&lock).unwrap().into())
        .send()
        .await
        .unwrap();
    tried.push(
        refuse(
            "lock held",
            "lock-held",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );
    s3.delete_object()
        .bucket("scr-terraform-state")
        .key("slipway/locks/staging.json")
        .send()
        .await
        .unwrap();

    // The live state moved: someone created a service the plan would create.
    a.stage.create_services("v1", &["web".to_string()]).await;
    tried.push(
        refuse(
            "live state changed after the plan",
            "live-state",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );

    // Someone applied Terraform in between: Terraform's saved plan is stale.
    a.set_release("3", false);
    a.terraform(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    tried.push(
        refuse(
            "Terraform saved plan stale",
            "terraform-state",
            p.clone(),
            ok_env.clone(),
            flags(&ok_flags),
        )
        .await,
    );

    println!("refusals tried: {}", tried.len());
    for (name, n) in &tried {
        println!("  {name}: exit 3, {n} mutating AWS calls");
    }
    assert_eq!(tried.len(), 17);
}

/// The last rules: a team member (GitHub's membership API), and the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_membership_and_the_account_are_gates_too() {
    let teams = r#"approval {
  required = true
  teams    = ["scr-platform/deployers"]
}"#;
    let a = Applied::up(teams, &["v1"], None).await;
    a.plan("v1");
    a.gh.post(
        "/_fake/team",
        json!({"org": "scr-platform", "slug": "deployers", "members": {"ana": "active", "bo": "pending"}}),
    )
    .await;
    for (actor, expected) in [("cy", "team"), ("bo", "team")] {
        a.stage
            .emu
            .control("/_slipway/calls/reset", json!({}))
            .await;
        let (code, r, err) = a.apply(
            &a.plan_path(),
            &a.actions("workflow_dispatch", actor),
            &["--pr", "7"],
        );
        assert_eq!(
            (code, rule(&r).as_str()),
            (3, expected),
            "{actor}: {err}\n{r:#}"
        );
        assert_eq!(mutations(&a.stage.emu.calls().await), Vec::<String>::new());
    }
    let (_, r, _) = a.apply(
        &a.plan_path(),
        &a.actions("workflow_dispatch", "bo"),
        &["--pr", "7"],
    );
    assert!(
        r["refusal"]["message"]
            .as_str()
            .unwrap()
            .contains("pending"),
        "{r:#}"
    );
    let requests = a.gh.requests().await;
    assert!(requests
        .iter()
        .any(|q| q["path"] == "/orgs/scr-platform/teams/deployers/memberships/cy"));
    let (code, r, err) = a.apply(
        &a.plan_path(),
        &a.actions("workflow_dispatch", "ana"),
        &["--pr", "7"],
    );
    assert_eq!(code, 0, "an active member applies: {err}\n{r:#}");

    // The same plan, made against an emulator answering as another account.
    let wrong = Applied::up(teams, &["v1"], Some("999999999999")).await;
    let (code, r, err) =
        {
            // Planning reads only; the plan records the environment's account.
            wrong.plan("v1");
            wrong
                .stage
                .emu
                .control("/_slipway/calls/reset", json!({}))
                .await;
            wrong.gh.post(
            "/_fake/team",
            json!({"org": "scr-platform", "slug": "deployers", "members": {"ana": "active"}}),
        )
        .await;
            wrong.apply(
                &wrong.plan_path(),
                &wrong.actions("workflow_dispatch", "ana"),
                &["--pr", "7"],
            )
        };
    assert_eq!(
        (code, rule(&r).as_str()),
        (3, "wrong-account"),
        "{err}\n{r:#}"
    );
    assert_eq!(
        mutations(&wrong.stage.emu.calls().await),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_terraform_apply_touches_no_service() {
    let open = r#"approval {
  required = false
}"#;
    let a = Applied::up(open, &["v1"], None).await;
    a.set_release("2", true);
    let plan = a.plan("v1");
    a.stage
        .emu
        .control("/_slipway/calls/reset", json!({}))
        .await;
    let fp = &plan["fingerprint"].as_str().unwrap()[..12];
    let (code, r, err) = a.apply(&a.plan_path(), &[], &["--fingerprint", fp]);
    assert_eq!(code, 1, "{err}\n{r:#}");
    assert_eq!(r["status"], "terraform_failed");
    let done = r["terraform"]["done"].to_string();
    assert!(
        done.contains("terraform_data.marker"),
        "what Terraform applied: {:#}",
        r["terraform"]
    );
    assert!(r["terraform"]["error"]
        .as_str()
        .unwrap()
        .contains("could not be applied"));
    let calls = a.stage.emu.calls().await;
    for op in ["ECS.CreateService", "ECS.UpdateService"] {
        assert!(
            !calls.contains_key(op),
            "{op} after a failed Terraform apply: {calls:?}"
        );
    }
    assert!(
        err.contains("Terraform's apply did not complete")
            || r["problems"].to_string().contains("did not complete")
    );
    assert_eq!(r["lock"]["released"]["state"], "released");
}
