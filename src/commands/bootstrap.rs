//! `slipway bootstrap`: an environment that has never been applied, taken to one that has.
//!
//! 1. validate;
//! 2. render the tfvars (with `--backend`: the state bucket first, from `terraform/bootstrap`
//!    with local state, and `<terraform-dir>/<env>.s3.tfbackend` written);
//! 3. `terraform init`, `workspace select -or-create`;
//! 4. plan, and print its summary;
//! 5. apply the saved plan, behind the environment's approval (the confirmation word at least),
//!    the account and the lock; nothing when the plan changes nothing;
//! 6. read the outputs;
//! 7. check that each GitHub OIDC role exists and that its trust policy pins the repository and
//!    exactly the refs and environments the file names;
//! 8. print what the GitHub repository still needs.
//!
//! A second run changes nothing and says so. Exit 0 when everything checks out, 1 when a step
//! fails or a role is missing or trusts more than it should, 3 when a gate refuses.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{BootstrapArgs, Format};
use crate::exit::Exit;
use crate::gate::approval::Scope;
use crate::output::Printer;
use crate::settings::Settings;
use crate::terraform::{PlanOutcome, Terraform};

/// What the GitHub repository needs for the environment's workflows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Need {
    /// `environment`, `variable` or `secret`.
    pub kind: &'static str,
    pub name: String,
    /// The value (never a secret's), or what to put there.
    pub value: String,
}

#[derive(Clone, Debug, Default, Serialize)]
struct Outcome {
    environment: String,
    backend: Option<String>,
    terraform: &'static str,
    changes: usize,
    roles: Vec<RoleCheck>,
    github: Vec<Need>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RoleCheck {
    pub label: String,
    pub name: String,
    pub arn: String,
    /// What is wrong, if anything.
    pub problems: Vec<String>,
}

pub async fn run(s: &Settings, args: &BootstrapArgs, p: &Printer) -> Exit {
    if let Err(code) = super::known_env(s, &args.env, p) {
        return code;
    }
    // 1. Validate: nothing is applied yet, so Terraform's outputs are unknown.
    let git = super::git_for(s, &args.env);
    let loaded = match super::load_valid(
        &s.envs_dir,
        std::slice::from_ref(&args.env),
        &|name| {
            super::scope(
                name,
                None,
                Some(crate::naming::BOOTSTRAP_TAG),
                git.as_ref(),
                true,
            )
        },
        p,
        "bootstrap refused: fix the problems above (`slipway validate` lists them all)",
    ) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let env = &loaded.envs[0];
    // 2. The tfvars.
    let tfvars = crate::render::render_static(env).tfvars;
    let unresolved = crate::render::tfvars::unresolved(&tfvars);
    if !unresolved.is_empty() {
        p.error(format!(
            "the Terraform variables would contain {}: an environment that was never applied cannot take values from Terraform's outputs",
            unresolved.join(", ")
        ));
        return Exit::Error;
    }
    let clients = super::clients(s, env, &args.aws).await;
    let spec = super::GateSpec {
        command: "bootstrap",
        scope: Scope::Full,
        args: &args.gate,
        lock: &args.lock,
        fingerprint: None,
        commit: s.git.as_ref().map(|g| g.sha.as_str()),
        migrations: None,
    };
    let work = s.envs_dir.join("..").join(".slipway").join("bootstrap");
    let work = match std::fs::create_dir_all(&work).and_then(|_| std::fs::canonicalize(&work)) {
        Ok(w) => w,
        Err(e) => {
            p.error(format!("cannot create {}: {e}", work.display()));
            return Exit::Error;
        }
    };
    let mut outcome = Outcome {
        environment: env.name.clone(),
        ..Default::default()
    };
    let mut approved = false;

    // The state bucket, when asked for.
    if args.backend {
        match backend(s, args, env, &clients, &spec, &work, p, &mut approved).await {
            Ok(file) => outcome.backend = Some(file),
            Err(code) => return code,
        }
    }

    // 3. init and the workspace.
    let mut tf = match Terraform::new(&s.terraform, &args.root.terraform_dir, &env.name) {
        Ok(t) => t,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    tf.stream = p.verbose > 0;
    let mut backend_config = args.backend_config.clone();
    let tfbackend = args.root.terraform_dir.join(tfbackend_name(&env.name));
    if backend_config.is_empty() && tfbackend.exists() && has_s3_backend(&args.root.terraform_dir) {
        backend_config.push(tfbackend_name(&env.name));
    }
    p.note(format!(
        "terraform: init and workspace {} in {}",
        env.name,
        tf.dir.display()
    ));
    if let Err(e) = tf.init(&backend_config).await {
        p.error(e);
        return Exit::Error;
    }
    if let Err(e) = tf.select_workspace().await {
        p.error(e);
        return Exit::Error;
    }

    // 4. Plan.
    let var_file = work.join(format!("{}.tfvars.json", env.name));
    let plan_file = work.join(format!("{}.tfplan", env.name));
    let text = serde_json::to_string_pretty(&tfvars).expect("a Value serialises");
    if let Err(e) = std::fs::write(&var_file, text) {
        p.error(format!("cannot write {}: {e}", var_file.display()));
        return Exit::Error;
    }
    let planned = match tf.plan(&var_file, &plan_file).await {
        Ok(o) => o,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    let summary = match tf.show_plan(&plan_file) {
        Ok(sum) => sum,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    if p.format == Format::Text {
        p.note(crate::report::plan::text(&summary).trim_end());
    }
    outcome.changes = summary.counts.changes();

    // 5. Apply, behind the gates; nothing to apply is said, not done.
    if planned == PlanOutcome::Changes {
        let lock = match gates(s, p, env, &clients, &spec, &mut approved).await {
            Ok(l) => l,
            Err(code) => return code,
        };
        p.note(format!(
            "terraform: apply in {} (workspace {})",
            tf.dir.display(),
            env.name
        ));
        tf.stream = true;
        let applied = tf.apply(&plan_file).await;
        if let Some(held) = lock {
            if let Err(e) = held.release().await {
                p.note(format!("warning: the lock was not released: {e}"));
            }
        }
        if let Err(e) = applied {
            p.error(e);
            return Exit::Error;
        }
        outcome.terraform = "applied";
    } else {
        p.note(format!("{}: Terraform has nothing to change", env.name));
        outcome.terraform = "unchanged";
    }

    // 6. The outputs.
    if let Err(e) = tf.outputs().await {
        p.error(e);
        return Exit::Error;
    }

    // 7. The OIDC roles.
    let mut failed = false;
    if let Some(gh) = &env.github {
        for role in &gh.roles {
            match check_role(&clients.iam, env, gh, role).await {
                Ok(c) => {
                    failed |= !c.problems.is_empty();
                    outcome.roles.push(c);
                }
                Err(e) => {
                    p.error(e);
                    return Exit::Error;
                }
            }
        }
    }

    // 8. What GitHub needs.
    outcome.github = github_needs(env, &outcome.roles);
    if p.format == Format::Json {
        p.json(&outcome);
    } else {
        print(p, &outcome);
    }
    if failed {
        p.error(format!(
            "{}: the GitHub OIDC roles above are missing or trust what the environment file does not name",
            env.name
        ));
        return Exit::Error;
    }
    Exit::Ok
}

/// The gates of an apply (once per run): approval and the account, then the lock when its
/// bucket exists (before the backend is bootstrapped it does not: then unlocked, with a note).
async fn gates(
    s: &Settings,
    p: &Printer,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    spec: &super::GateSpec<'_>,
    approved: &mut bool,
) -> Result<Option<crate::gate::lock::Held>, Exit> {
    if !*approved {
        super::approved_account(s, p, env, clients, spec).await?;
        *approved = true;
    }
    if let Some(bucket) = &env.deploy.lock_bucket {
        match clients.s3.head_bucket().bucket(&bucket.v).send().await {
            Ok(_) => {}
            Err(e) => {
                let err = crate::aws::AwsError::from_sdk("s3", "HeadBucket", e);
                if err.is_code("NotFound")
                    || err.is_code("NoSuchBucket")
                    || err.to_string().contains("404")
                {
                    p.note(format!(
                        "warning: the lock bucket {} does not exist yet (`slipway bootstrap --backend` creates it): applying unlocked",
                        bucket.v
                    ));
                    return Ok(None);
                }
                p.error(err);
                return Err(Exit::Error);
            }
        }
    }
    super::take_lock(s, p, env, clients, spec).await
}

fn tfbackend_name(env: &str) -> String {
    format!("{env}.s3.tfbackend")
}

/// Whether the root's configuration declares an S3 backend (the tfbackend file is for it).
fn has_s3_backend(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.path().extension().is_some_and(|x| x == "tf")
                && std::fs::read_to_string(e.path()).is_ok_and(|t| {
                    t.lines()
                        .any(|l| l.trim_start().starts_with("backend \"s3\""))
                })
        })
    })
}

/// The state bucket (and lock table) from the backend root, then the tfbackend file.
#[allow(clippy::too_many_arguments)]
async fn backend(
    s: &Settings,
    args: &BootstrapArgs,
    env: &crate::env::model::Environment,
    clients: &crate::aws::Clients,
    spec: &super::GateSpec<'_>,
    work: &Path,
    p: &Printer,
    approved: &mut bool,
) -> Result<String, Exit> {
    let bucket = match args
        .state_bucket
        .clone()
        .or_else(|| env.deploy.lock_bucket.as_ref().map(|b| b.v.clone()))
    {
        Some(b) => b,
        None => {
            p.error(format!(
                "no state bucket to create for \"{}\": pass --state-bucket NAME or set deploy.lock_bucket",
                env.name
            ));
            return Err(Exit::Error);
        }
    };
    if let Some(problem) = crate::naming::bucket_name_problem(&bucket) {
        p.error(format!("\"{bucket}\" is not an S3 bucket name: {problem}"));
        return Err(Exit::Error);
    }
    let fail = |p: &Printer, e: &dyn std::fmt::Display| {
        p.error(e);
        Exit::Error
    };
    // One workspace per bucket, so that one checkout can bootstrap several accounts.
    let mut tf =
        Terraform::new(&s.terraform, &args.backend_dir, &bucket).map_err(|e| fail(p, &e))?;
    tf.stream = p.verbose > 0;
    p.note(format!(
        "backend: the state bucket {bucket} from {}",
        tf.dir.display()
    ));
    tf.init(&[]).await.map_err(|e| fail(p, &e))?;
    tf.select_workspace().await.map_err(|e| fail(p, &e))?;
    let tags: serde_json::Map<String, serde_json::Value> = env
        .tags
        .iter()
        .map(|(k, v)| (k.v.clone(), serde_json::Value::from(v.v.clone())))
        .collect();
    let vars = serde_json::json!({
        "region": env.region.v,
        "bucket": bucket,
        "lock_table": args.lock_table,
        "tags": tags,
    });
    let var_file = work.join(format!("backend-{bucket}.tfvars.json"));
    let plan_file = work.join(format!("backend-{bucket}.tfplan"));
    std::fs::write(&var_file, vars.to_string()).map_err(|e| fail(p, &e))?;
    let planned = tf
        .plan(&var_file, &plan_file)
        .await
        .map_err(|e| fail(p, &e))?;
    if planned == PlanOutcome::Changes {
        if let Ok(sum) = tf.show_plan(&plan_file) {
            if p.format == Format::Text {
                p.note(crate::report::plan::text(&sum).trim_end());
            }
        }
        if !*approved {
            super::approved_account(s, p, env, clients, spec).await?;
            *approved = true;
        }
        tf.stream = true;
        tf.apply(&plan_file).await.map_err(|e| fail(p, &e))?;
    } else {
        p.note(format!(
            "backend: the state bucket {bucket} exists; nothing to change"
        ));
    }
    let outputs = tf.outputs().await.map_err(|e| fail(p, &e))?;
    let out_bucket = outputs
        .get("bucket")
        .and_then(|v| v.as_str())
        .unwrap_or(&bucket)
        .to_string();
    let mut text = format!(
        "# Written by `slipway bootstrap --backend` for environment {0}: terraform init -backend-config={0}.s3.tfbackend\nbucket       = \"{out_bucket}\"\nkey          = \"slipway/terraform.tfstate\"\nregion       = \"{1}\"\nuse_lockfile = true\n",
        env.name, env.region.v
    );
    if let Some(t) = outputs.get("lock_table").and_then(|v| v.as_str()) {
        text.push_str(&format!("dynamodb_table = \"{t}\"\n"));
    }
    let path: PathBuf = args.root.terraform_dir.join(tfbackend_name(&env.name));
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == text => {}
        Ok(_) if !args.force => {
            p.error(format!(
                "{} exists and says something else: pass --force to overwrite it",
                path.display()
            ));
            return Err(Exit::Error);
        }
        _ => std::fs::write(&path, &text).map_err(|e| fail(p, &e))?,
    }
    Ok(path.display().to_string())
}

/// GetRole, and the trust policy held to the environment file: the GitHub OIDC provider of the
/// account, the audience, and `sub` claims that are exactly the role's subjects (each pinned
/// to the repository).
async fn check_role(
    iam: &aws_sdk_iam::Client,
    env: &crate::env::model::Environment,
    gh: &crate::env::model::Github,
    role: &crate::env::model::OidcRole,
) -> Result<RoleCheck, crate::aws::AwsError> {
    let arn = format!(
        "arn:{}:iam::{}:role/{}",
        crate::naming::partition(&env.region.v),
        env.account_id.v,
        role.name
    );
    let mut check = RoleCheck {
        label: role.label.v.clone(),
        name: role.name.clone(),
        arn,
        problems: Vec::new(),
    };
    let doc = match iam.get_role().role_name(&role.name).send().await {
        Ok(out) => out
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .map(str::to_string)
            .unwrap_or_default(),
        Err(e) => {
            let err = crate::aws::AwsError::from_sdk("iam", "GetRole", e);
            if err.is_code("NoSuchEntity") {
                check.problems.push("the role does not exist".into());
                return Ok(check);
            }
            return Err(err);
        }
    };
    let expected: Vec<String> = role.subjects.iter().map(|s| s.claim.clone()).collect();
    check.problems = trust_problems(&doc, &gh.repository.v, &gh.audience.v, &expected);
    Ok(check)
}

/// What is wrong with a role's trust policy (IAM answers it URL-encoded).
pub fn trust_problems(
    document: &str,
    repository: &str,
    audience: &str,
    expected: &[String],
) -> Vec<String> {
    let decoded = percent_decode(document);
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(&decoded) else {
        return vec!["its trust policy is not JSON".into()];
    };
    let statements: Vec<&serde_json::Value> = match &policy["Statement"] {
        serde_json::Value::Array(a) => a.iter().collect(),
        s @ serde_json::Value::Object(_) => vec![s],
        _ => Vec::new(),
    };
    let mut problems = Vec::new();
    let mut subs: Vec<String> = Vec::new();
    let mut audiences: Vec<String> = Vec::new();
    let mut github = false;
    let strings = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    for st in statements {
        if st["Effect"] != "Allow" {
            continue;
        }
        let federated = strings(&st["Principal"]["Federated"]);
        if !federated
            .iter()
            .any(|f| f.ends_with(":oidc-provider/token.actions.githubusercontent.com"))
        {
            if !st["Principal"].is_null() {
                problems.push(format!(
                    "it trusts a principal other than GitHub's OIDC provider: {}",
                    st["Principal"]
                ));
            }
            continue;
        }
        github = true;
        let actions = strings(&st["Action"]);
        if !actions.iter().any(|a| a == "sts:AssumeRoleWithWebIdentity") {
            problems.push("GitHub may not assume it (no sts:AssumeRoleWithWebIdentity)".into());
        }
        for op in [
            "StringEquals",
            "StringLike",
            "ForAnyValue:StringLike",
            "ForAnyValue:StringEquals",
        ] {
            let c = &st["Condition"][op];
            subs.extend(strings(&c["token.actions.githubusercontent.com:sub"]));
            audiences.extend(strings(&c["token.actions.githubusercontent.com:aud"]));
        }
    }
    if !github {
        problems.push("it does not trust GitHub's OIDC provider".into());
        return problems;
    }
    if !audiences.iter().any(|a| a == audience) {
        problems.push(format!("its audience is not {audience}"));
    }
    let prefix = format!("repo:{repository}:");
    for s in &subs {
        if !s.starts_with(&prefix) {
            problems.push(format!(
                "it trusts \"{s}\", which is not pinned to {repository}"
            ));
        } else if !expected.contains(s) {
            problems.push(format!(
                "it trusts \"{s}\", which the environment file does not name"
            ));
        }
    }
    for e in expected {
        if !subs.contains(e) {
            problems.push(format!(
                "it does not trust \"{e}\", which the environment file names"
            ));
        }
    }
    if subs.is_empty() {
        problems
            .push("it names no `sub` claim: any workflow of any repository could assume it".into());
    }
    problems
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The GitHub environments, variables and secrets the environment's workflows use.
pub fn github_needs(env: &crate::env::model::Environment, roles: &[RoleCheck]) -> Vec<Need> {
    let mut out = Vec::new();
    let Some(gh) = &env.github else {
        return out;
    };
    let mut environments: Vec<String> = gh
        .roles
        .iter()
        .flat_map(|r| r.subjects.iter())
        .filter_map(|s| {
            s.claim
                .rsplit_once(":environment:")
                .map(|(_, e)| e.to_string())
        })
        .collect();
    environments.sort();
    environments.dedup();
    for e in environments {
        out.push(Need {
            kind: "environment",
            name: e.clone(),
            value: if env.approval.required {
                "with required reviewers (the jobs that change it wait for them)".into()
            } else {
                "the jobs that change it run in it".into()
            },
        });
    }
    out.push(Need {
        kind: "variable",
        name: "SLIPWAY_GIT_URL".into(),
        value: "the git URL the workflows install slipway from (`slipway workflows`)".into(),
    });
    for r in roles {
        out.push(Need {
            kind: "variable",
            name: format!(
                "{}_{}_ROLE_ARN",
                env.name.to_ascii_uppercase().replace('-', "_"),
                r.label.to_ascii_uppercase().replace('-', "_")
            ),
            value: r.arn.clone(),
        });
    }
    if !env.approval.teams.is_empty() {
        out.push(Need {
            kind: "variable",
            name: "SLIPWAY_APP_CLIENT_ID".into(),
            value: "the client id of a GitHub App that can read the organisation's members".into(),
        });
        out.push(Need {
            kind: "secret",
            name: "SLIPWAY_APP_PRIVATE_KEY".into(),
            value: "that App's private key".into(),
        });
    }
    out
}

fn print(p: &Printer, o: &Outcome) {
    let verb = if o.terraform == "applied" {
        "applied"
    } else {
        "nothing to change"
    };
    p.line(format!(
        "bootstrap {}: Terraform {verb}{}",
        o.environment,
        o.backend
            .as_ref()
            .map_or(String::new(), |b| format!("; backend in {b}"))
    ));
    if !o.roles.is_empty() {
        p.line("GitHub OIDC roles:");
        for r in &o.roles {
            if r.problems.is_empty() {
                p.line(format!("  ok    {:<10} {}", r.label, r.arn));
            } else {
                p.line(format!("  FAIL  {:<10} {}", r.label, r.arn));
                for pr in &r.problems {
                    p.line(format!("          {pr}"));
                }
            }
        }
    }
    if !o.github.is_empty() {
        p.line("What the GitHub repository needs:");
        let rows: Vec<[String; 3]> = o
            .github
            .iter()
            .map(|n| [n.kind.to_string(), n.name.clone(), n.value.clone()])
            .collect();
        let mut t = tabled::builder::Builder::default();
        t.push_record(["kind", "name", "value"]);
        for r in rows {
            t.push_record(r);
        }
        p.line(
            t.build()
                .with(tabled::settings::Style::rounded())
                .to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(subs: &[&str]) -> String {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": subs,
                }}
            }]
        })
        .to_string()
    }

    #[test]
    fn trust_must_be_exactly_what_the_file_names() {
        let expected = vec!["repo:acme/shop:ref:refs/heads/main".to_string()];
        assert!(trust_problems(
            &policy(&["repo:acme/shop:ref:refs/heads/main"]),
            "acme/shop",
            "sts.amazonaws.com",
            &expected
        )
        .is_empty());
        let p = trust_problems(
            &policy(&["repo:acme/*"]),
            "acme/shop",
            "sts.amazonaws.com",
            &expected,
        );
        assert!(
            p.iter().any(|x| x.contains("not pinned to acme/shop")),
            "{p:?}"
        );
        assert!(p.iter().any(|x| x.contains("does not trust")), "{p:?}");
        let p = trust_problems(
            &policy(&[
                "repo:acme/shop:ref:refs/heads/main",
                "repo:acme/shop:pull_request",
            ]),
            "acme/shop",
            "sts.amazonaws.com",
            &expected,
        );
        assert_eq!(p, ["it trusts \"repo:acme/shop:pull_request\", which the environment file does not name"]);
        // IAM answers the document URL-encoded.
        let encoded = policy(&["repo:acme/shop:ref:refs/heads/main"])
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace(':', "%3A");
        assert!(trust_problems(&encoded, "acme/shop", "sts.amazonaws.com", &expected).is_empty());
    }
}
