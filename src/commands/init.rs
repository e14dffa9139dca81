//! `slipway init`: writes an environment file.
//!
//! - `--from-cluster CLUSTER` adopts what runs: the services (all, or `--service`), their task
//!   definitions, target groups and listener rules, autoscaling and ECR repositories are read
//!   (reads only), written as `<NAME>.hcl` ([`crate::adopt`]), rendered again from a staged copy
//!   of the environments directory and compared with what runs, the way `slipway diff` does.
//!   Only a file that renders back to exactly what runs is written.
//! - Without it, a new environment is scaffolded ([`crate::adopt::scaffold`]): `_shared.hcl`
//!   (unless it exists) and `<NAME>.hcl`, from flags or, on a terminal, from questions. The
//!   files are loaded and their tfvars rendered before they are written.
//!
//! An existing file is never overwritten without `--force`; nothing is written when anything
//! fails.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::adopt::{self, scaffold, Residual};
use crate::cli::{Format, InitArgs};
use crate::exit::Exit;
use crate::output::Printer;
use crate::settings::Settings;

pub async fn run(s: &Settings, args: &InitArgs, p: &Printer) -> Exit {
    if let Err(e) = check_env_name(&args.env) {
        p.error(e);
        return Exit::Error;
    }
    match &args.from_cluster {
        Some(cluster) => from_cluster(s, args, cluster, p).await,
        None => new_environment(s, args, p).await,
    }
}

fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.starts_with('_')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        return Err(format!(
            "\"{name}\" is not an environment name: use letters, digits, `-` and `_`, not starting with `_`"
        ));
    }
    Ok(())
}

/// Refuses to overwrite `paths` that exist, unless `--force`.
fn refuse_existing(paths: &[PathBuf], force: bool) -> Result<(), String> {
    let existing: Vec<String> = paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if existing.is_empty() || force {
        return Ok(());
    }
    Err(format!(
        "{} already exist{}: pass --force to overwrite",
        existing.join(" and "),
        if existing.len() == 1 { "s" } else { "" }
    ))
}

async fn from_cluster(s: &Settings, args: &InitArgs, cluster: &str, p: &Printer) -> Exit {
    let target = s.envs_dir.join(format!("{}.hcl", args.env));
    if let Err(e) = refuse_existing(std::slice::from_ref(&target), args.force) {
        p.error(e);
        return Exit::Error;
    }
    let config = aws_config(s, args, args.region.clone()).await;
    let Some(region) = config.region().map(|r| r.to_string()) else {
        p.error("no AWS region: pass --region or set AWS_REGION (or a profile's region)");
        return Exit::Error;
    };
    let clients = crate::aws::Clients::new(&config);
    p.note(format!("reading cluster {cluster} in {region}"));
    let started = std::time::Instant::now();
    let req = adopt::read::Request {
        cluster,
        region: &region,
        services: &args.services,
    };
    let (live, mut notes) = match adopt::read::cluster(&clients, &req).await {
        Ok(r) => r,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    if live.services.is_empty() {
        for n in &notes {
            p.note(format!("note: {n}"));
        }
        p.error(format!(
            "cluster {cluster} runs no Fargate service to adopt"
        ));
        return Exit::Error;
    }
    let read_secs = started.elapsed().as_secs_f64();

    // Pass 1: the typed attributes; pass 2: what they do not cover, through raw/task_raw.
    let mut residuals: BTreeMap<String, Residual> = BTreeMap::new();
    let mut written = adopt::write(&live, &args.env, &residuals);
    for pass in 0..2 {
        let rendered = match render_staged(&s.envs_dir, &args.env, &written.text, &written) {
            Ok(r) => r,
            Err(e) => {
                p.error(format!("the adopted file does not render: {e}"));
                return Exit::Error;
            }
        };
        let mismatched = compare(&live, &written, &rendered);
        if mismatched.is_empty() {
            break;
        }
        if pass == 1 {
            p.error(format!(
                "the adopted file would not render what runs, so nothing was written:\n{}",
                mismatched
                    .iter()
                    .map(|(svc, paths)| format!("  {svc}: {}", paths.join(", ")))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
            return Exit::Error;
        }
        for a in &written.services {
            let Some(found) = live.services.iter().find(|f| f.live.name == a.service_name) else {
                continue;
            };
            let Some(td) = rendered.task_definitions.get(&a.label) else {
                continue;
            };
            let r = adopt::residual(
                &crate::diff::normalise_task_definition(td),
                &crate::diff::normalise_task_definition(&adopt::without_withheld(
                    &found.task_definition,
                )),
            );
            if !r.is_empty() {
                residuals.insert(a.label.clone(), r);
            }
        }
        written = adopt::write(&live, &args.env, &residuals);
    }
    notes.extend(written.notes.iter().cloned());

    // A second adopted environment: what the files say alike moves into _shared.hcl.
    let mut files = vec![(format!("{}.hcl", args.env), written.text.clone())];
    match share(&s.envs_dir, &args.env, &written, &live) {
        Ok(Some(shared)) => {
            notes.push(format!(
                "what {} have in common is now in {} (each file keeps what is its own)",
                shared
                    .iter()
                    .filter(|(n, _)| n != crate::env::SHARED_FILE)
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(" and "),
                crate::env::SHARED_FILE
            ));
            files = shared;
        }
        Ok(None) => {}
        Err(why) => notes.push(why),
    }
    if let Err(e) = std::fs::create_dir_all(&s.envs_dir) {
        p.error(format!("cannot create {}: {e}", s.envs_dir.display()));
        return Exit::Error;
    }
    for (name, text) in &files {
        let path = s.envs_dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            p.error(format!("cannot write {}: {e}", path.display()));
            return Exit::Error;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if p.format == Format::Json {
        let mut v = adopt::summary(&written, &target.display().to_string());
        v["seconds"] = serde_json::json!({ "read": read_secs, "total": secs });
        v["files"] = serde_json::json!(files
            .iter()
            .map(|(n, _)| s.envs_dir.join(n).display().to_string())
            .collect::<Vec<_>>());
        p.json(&v);
    } else {
        p.line(format!(
            "adopted {} service{} of {cluster} into {} ({secs:.1}s):",
            written.services.len(),
            if written.services.len() == 1 { "" } else { "s" },
            target.display()
        ));
        for a in &written.services {
            p.line(format!(
                "  {:<20} ECS service {}, container {}, image {}",
                a.label, a.service_name, a.container, a.image
            ));
            if !a.raw.is_empty() {
                p.line(format!("  {:<20} through raw: {}", "", a.raw.join(", ")));
            }
        }
        if files.len() > 1 {
            p.line(format!(
                "wrote {}",
                files
                    .iter()
                    .map(|(n, _)| s.envs_dir.join(n).display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for n in &notes {
        p.note(format!("note: {n}"));
    }
    p.note(format!(
        "next: `slipway diff --env {0}` compares it with what runs (nothing to change), then `slipway deploy --env {0} --image-tag <tag>`",
        args.env
    ));
    Exit::Ok
}

async fn aws_config(
    s: &Settings,
    args: &InitArgs,
    region: Option<String>,
) -> aws_config::SdkConfig {
    let timeouts = crate::aws::Timeouts {
        operation: std::time::Duration::from_secs(args.aws.aws_timeout.max(1)),
        attempt: std::time::Duration::from_secs(args.aws.aws_timeout.clamp(1, 10)),
        ..Default::default()
    };
    crate::aws::sdk_config(&crate::aws::AwsOptions {
        region,
        profile: args.aws.profile.clone(),
        endpoint_url: s.aws_endpoint_url.clone(),
        timeouts,
    })
    .await
}

/// The first line of every file `init --from-cluster` writes.
const ADOPTED: &str = "# Adopted by `slipway init --from-cluster";

/// `_shared.hcl` and the rewritten environment files, when the environments directory holds no
/// shared file yet, every other environment file was written by `init --from-cluster`, and the
/// files repeat a service. Checked before anything is written: the new environment still
/// renders what runs, and every other environment renders exactly as before.
fn share(
    envs_dir: &Path,
    env: &str,
    written: &adopt::Written,
    live: &adopt::Cluster,
) -> Result<Option<Vec<(String, String)>>, String> {
    if envs_dir.join(crate::env::SHARED_FILE).exists() {
        return Ok(None);
    }
    let others: Vec<(String, PathBuf)> = crate::env::discover(envs_dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|(n, _)| n != env)
        .collect();
    if others.is_empty() {
        return Ok(None);
    }
    let mut files = Vec::new();
    for (name, path) in &others {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !text.starts_with(ADOPTED) {
            return Err(format!(
                "{} was not written by `slipway init --from-cluster`, so no {} was made from it and {env}.hcl",
                path.display(),
                crate::env::SHARED_FILE
            ));
        }
        files.push((format!("{name}.hcl"), text));
    }
    files.push((format!("{env}.hcl"), written.text.clone()));
    let Some((shared, rest)) = adopt::shared::extract(&files) else {
        return Ok(None);
    };
    let mut out = vec![(crate::env::SHARED_FILE.to_string(), shared)];
    out.extend(rest);
    let staged = stage(envs_dir, &out)?;
    // The new environment still renders what runs...
    let rendered = render_dir(staged.path(), env, written)?;
    if !compare(live, written, &rendered).is_empty() {
        return Err(format!(
            "{} was not made: with it {env} would not render what runs",
            crate::env::SHARED_FILE
        ));
    }
    // ...and every other one exactly what it rendered before.
    for (name, _) in &others {
        if fingerprint(envs_dir, name) != fingerprint(staged.path(), name) {
            return Err(format!(
                "{} was not made: with it {name} would render differently",
                crate::env::SHARED_FILE
            ));
        }
    }
    Ok(Some(out))
}

/// What an environment renders without Terraform outputs (tfvars, and the ECS documents or why
/// they do not render), as one comparable value.
fn fingerprint(dir: &Path, env: &str) -> String {
    let outputs = adopt::no_outputs();
    let loaded = match crate::env::load(dir, &[env.to_string()], &|name| {
        super::scope(name, Some(&outputs), Some("compare"), None, false)
    }) {
        Ok(l) => l,
        Err(e) => return format!("load: {e}"),
    };
    if loaded.has_errors(false) || loaded.envs.is_empty() {
        let mut msgs: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect();
        msgs.sort();
        return format!("invalid: {}", msgs.join("; "));
    }
    let e = &loaded.envs[0];
    let tfvars = crate::render::render_static(e).tfvars;
    let ecs = crate::render::render_ecs(
        e,
        &outputs,
        &crate::render::Inputs {
            image_tag: Some("compare".into()),
            ..Default::default()
        },
    )
    .map(|ecs| serde_json::to_value(&ecs).unwrap_or_default())
    .unwrap_or_else(|d| {
        serde_json::Value::from(d.iter().map(|x| x.message.clone()).collect::<Vec<_>>())
    });
    serde_json::json!({ "tfvars": tfvars, "ecs": ecs }).to_string()
}

/// The environments directory as it would be with `text` as `<env>.hcl`, in a temporary
/// directory, loaded and rendered without Terraform outputs.
fn render_staged(
    envs_dir: &Path,
    env: &str,
    text: &str,
    written: &adopt::Written,
) -> Result<crate::render::Ecs, String> {
    let staged = stage(envs_dir, &[(format!("{env}.hcl"), text.to_string())])?;
    render_dir(staged.path(), env, written)
}

/// `env` of the environments directory `dir`, loaded and rendered without Terraform outputs,
/// each service with the tag it runs.
fn render_dir(
    dir: &Path,
    env: &str,
    written: &adopt::Written,
) -> Result<crate::render::Ecs, String> {
    let outputs = adopt::no_outputs();
    let loaded = crate::env::load(dir, &[env.to_string()], &|name| {
        super::scope(name, Some(&outputs), None, None, false)
    })
    .map_err(|e| e.to_string())?;
    if loaded.has_errors(false) {
        let msgs: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::diag::Severity::Error)
            .map(|d| format!("[{}] {}", d.code, d.message))
            .collect();
        return Err(msgs.join("; "));
    }
    // Each service keeps the tag it runs.
    let mut tags = BTreeMap::new();
    for a in &written.services {
        if let Some(t) = crate::live::image_tag(&a.image) {
            tags.insert(a.label.clone(), t.to_string());
        }
    }
    crate::render::render_ecs(
        &loaded.envs[0],
        &outputs,
        &crate::render::Inputs {
            live_image_tags: tags,
            ..Default::default()
        },
    )
    .map_err(|diags| {
        diags
            .iter()
            .map(|d| format!("[{}] {}", d.code, d.message))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// A copy of the environment files of `envs_dir` with `files` written over them.
fn stage(envs_dir: &Path, files: &[(String, String)]) -> Result<tempfile_dir::Dir, String> {
    let dir =
        tempfile_dir::Dir::new().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    if let Ok(entries) = std::fs::read_dir(envs_dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) == Some("hcl") {
                let name = e.file_name();
                std::fs::copy(&path, dir.path().join(&name))
                    .map_err(|err| format!("{}: {err}", path.display()))?;
            }
        }
    }
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

/// Per adopted service, the paths at which the rendered documents differ from what runs.
fn compare(
    live: &adopt::Cluster,
    written: &adopt::Written,
    rendered: &crate::render::Ecs,
) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for a in &written.services {
        let Some(found) = live.services.iter().find(|f| f.live.name == a.service_name) else {
            continue;
        };
        let pair = rendered
            .task_definitions
            .get(&a.label)
            .zip(rendered.services.get(&a.label));
        let td = adopt::without_withheld(&found.task_definition);
        let entry = crate::diff::LiveEntry {
            task_definition_arn: &found.live.task_definition,
            task_definition: &td,
            settings: &found.live.settings,
        };
        let ctx = crate::diff::Context {
            autoscaling: found.scaling.as_ref().map(|s| (s.min, s.max)),
            container: Some(a.container.clone()),
        };
        let d = crate::diff::service(&a.label, pair, Some(entry), ctx);
        if d.has_changes() {
            let mut paths: Vec<String> = d.changes.iter().map(|c| c.path.clone()).collect();
            if paths.is_empty() {
                paths.push("(not rendered)".into());
            }
            out.push((a.label.clone(), paths));
        }
    }
    out
}

/// A temporary directory removed when dropped (std only).
mod tempfile_dir {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new() -> std::io::Result<Dir> {
            use std::sync::atomic::{AtomicU32, Ordering};
            static SEQ: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "slipway-init-{}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path)?;
            Ok(Dir(path))
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

// --- a new environment ------------------------------------------------------------------------

async fn new_environment(s: &Settings, args: &InitArgs, p: &Printer) -> Exit {
    let shared_path = s.envs_dir.join(crate::env::SHARED_FILE);
    let env_path = s.envs_dir.join(format!("{}.hcl", args.env));
    let shared_exists = shared_path.exists();
    if let Err(e) = refuse_existing(std::slice::from_ref(&env_path), args.force) {
        p.error(e);
        return Exit::Error;
    }
    let interactive = !args.no_input && std::io::stdin().is_terminal();
    let default_region = if args.region.is_none() {
        aws_config(s, args, None)
            .await
            .region()
            .map(|r| r.to_string())
    } else {
        None
    };
    let answers = match questions(args, interactive, default_region, shared_exists) {
        Ok(a) => a,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    let shared = shared_exists
        .then(|| scaffold::Shared::of(&std::fs::read_to_string(&shared_path).unwrap_or_default()));
    let files = scaffold::files(&args.env, &answers, shared);
    // What is written must load, validate and render its tfvars.
    let staged = match stage(
        &s.envs_dir,
        &files
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect::<Vec<_>>(),
    ) {
        Ok(d) => d,
        Err(e) => {
            p.error(e);
            return Exit::Error;
        }
    };
    let loaded = match super::load_valid(
        staged.path(),
        std::slice::from_ref(&args.env),
        &|name| super::scope(name, None, Some(crate::naming::BOOTSTRAP_TAG), None, true),
        p,
        "error: the scaffolded files do not validate (with the existing _shared.hcl); nothing was written",
    ) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let tfvars = crate::render::render_static(&loaded.envs[0]).tfvars;
    if !crate::render::tfvars::unresolved(&tfvars).is_empty() {
        p.error("the scaffolded files leave Terraform variables unresolved; nothing was written");
        return Exit::Error;
    }
    if let Err(e) = std::fs::create_dir_all(&s.envs_dir) {
        p.error(format!("cannot create {}: {e}", s.envs_dir.display()));
        return Exit::Error;
    }
    let mut wrote = Vec::new();
    for (name, text) in &files {
        let path = s.envs_dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            p.error(format!("cannot write {}: {e}", path.display()));
            return Exit::Error;
        }
        wrote.push(path.display().to_string());
    }
    if p.format == Format::Json {
        p.json(&serde_json::json!({ "files": wrote, "environment": args.env }));
    } else {
        for w in &wrote {
            p.line(w);
        }
    }
    p.note(format!(
        "next: `slipway validate`, then `slipway bootstrap --env {}` creates its infrastructure",
        args.env
    ));
    Exit::Ok
}

/// The scaffold's answers: flags first; on a terminal, questions for what they leave out.
fn questions(
    args: &InitArgs,
    interactive: bool,
    default_region: Option<String>,
    shared_exists: bool,
) -> Result<scaffold::Answers, String> {
    let mut missing = Vec::new();
    let mut ask = |flag: &str,
                   question: &str,
                   given: Option<String>,
                   default: Option<String>,
                   required: bool|
     -> Option<String> {
        if given.is_some() {
            return given;
        }
        if interactive {
            let shown = default
                .as_deref()
                .map_or(String::new(), |d| format!(" [{d}]"));
            eprint!("{question}{shown}: ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            let line = line.trim().to_string();
            if !line.is_empty() {
                return Some(line);
            }
            if default.is_some() {
                return default;
            }
        } else if default.is_some() {
            return default;
        }
        if required {
            missing.push(flag.to_string());
        }
        None
    };
    let account = ask(
        "--account",
        "AWS account id (12 digits)",
        args.account.clone(),
        None,
        true,
    );
    let region = ask(
        "--region",
        "AWS region",
        args.region.clone(),
        default_region,
        true,
    );
    let cluster = ask(
        "--cluster",
        "ECS cluster name",
        args.cluster.clone(),
        Some(args.env.clone()),
        true,
    );
    let github_repo = ask(
        "--github-repo",
        "GitHub repository that deploys it (owner/name, empty for none)",
        args.github_repo.clone(),
        None,
        false,
    );
    // With a _shared.hcl, the services are those it declares.
    let services_line = if args.services.is_empty() && !shared_exists {
        ask(
            "--service",
            "Services (NAME or NAME:PORT, comma-separated)",
            None,
            None,
            true,
        )
    } else {
        Some(args.services.join(","))
    };
    if !missing.is_empty() {
        return Err(format!(
            "a new environment needs {} (stdin is not a terminal, or --no-input was given)",
            missing.join(", ")
        ));
    }
    let account = account.unwrap_or_default();
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "--account \"{account}\" is not a 12-digit AWS account id"
        ));
    }
    let mut services = Vec::new();
    for item in services_line.unwrap_or_default().split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, port) =
            match item.split_once(':') {
                Some((n, p)) => (
                    n.to_string(),
                    Some(p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| {
                        format!("--service {item}: \"{p}\" is not a port (1-65535)")
                    })?),
                ),
                None => (item.to_string(), None),
            };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err(format!(
                "--service {item}: \"{name}\" is not a service name (letters, digits, `-`, `_`)"
            ));
        }
        if services
            .iter()
            .any(|s: &scaffold::NewService| s.name == name)
        {
            return Err(format!("--service {name} is given twice"));
        }
        services.push(scaffold::NewService { name, port });
    }
    if services.is_empty() && !shared_exists {
        return Err("a new environment needs at least one --service NAME[:PORT]".into());
    }
    if !services.is_empty() && shared_exists {
        return Err(format!(
            "{} exists and declares the services: --service is for a first environment (add services to {} instead)",
            crate::env::SHARED_FILE,
            crate::env::SHARED_FILE
        ));
    }
    if let Some(r) = &github_repo {
        if r.split('/').count() != 2 || r.split('/').any(str::is_empty) || r.contains('*') {
            return Err(format!("--github-repo \"{r}\" is not owner/name"));
        }
    }
    Ok(scaffold::Answers {
        account,
        region: region.unwrap_or_default(),
        cluster: cluster.unwrap_or_default(),
        github_repo,
        services,
    })
}
