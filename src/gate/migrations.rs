//! Migrations: a finding at or above the environment's `migration.block_on` refuses apply,
//! deploy, promote and `migrate run`, unless it was overridden:
//! - on a pull request, by its label (`migration.override_label`, default
//!   `migration-destructive-approved`) **and** an approving review, at the commit being shipped,
//!   by someone in `approval.migration_approvers` (a login, or an `org/team` they are an active
//!   member of), both read through GitHub's API;
//! - outside a pull request, by `--allow-destructive-migration` together with the environment's
//!   confirmation word (`--confirm`).

use std::collections::BTreeMap;

use super::{GateError, Passed, Refusal, Stop};
use crate::env::model::Environment;
use crate::github::{GitHub, Membership};
use crate::migrations::pending::{Report, Verdict};

/// What the override is checked against.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The pull request this run belongs to, when there is one.
    pub pull: Option<PullFacts>,
    /// `--allow-destructive-migration`.
    pub allow_flag: bool,
    /// `--confirm`.
    pub confirm: Option<String>,
}

#[derive(Clone, Debug)]
pub struct PullFacts {
    pub number: u64,
    pub author: String,
    pub labels: Vec<String>,
    /// Who approved at `commit` (their latest standing), other than the author.
    pub approvers: Vec<String>,
    /// Each approver's membership of each team the approvers list names.
    pub teams: BTreeMap<(String, String), Membership>,
    pub commit: String,
}

fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

/// How the refusal can be lifted, in words.
pub fn override_text(env: &Environment) -> String {
    let approvers: Vec<String> = env
        .approval
        .migration_approvers
        .iter()
        .map(|a| format!("@{}", a.v))
        .collect();
    let review = if approvers.is_empty() {
        "an approving review by a migration approver (approval.migration_approvers lists none yet, so no review can count)".to_string()
    } else {
        format!("an approving review by {}", approvers.join(" or "))
    };
    let outside = match &env.approval.confirmation {
        Some(w) => format!("--allow-destructive-migration --confirm {}", w.v),
        None => "--allow-destructive-migration with the confirmation word (approval.confirmation, which this environment does not set)".to_string(),
    };
    format!(
        "the pull request has the label `{}` and {review}; outside a pull request, {outside}",
        env.migrations.override_label.v
    )
}

fn named(blocking: &[&Verdict]) -> String {
    let mut parts: Vec<String> = blocking
        .iter()
        .take(3)
        .map(|v| {
            let f = &v.finding;
            format!(
                "{}:{}:{} {} {} ({})",
                f.file, f.line, f.column, f.severity, f.rule, f.statement
            )
        })
        .collect();
    if blocking.len() > 3 {
        parts.push(format!("and {} more", blocking.len() - 3));
    }
    parts.join("; ")
}

/// Decides. `Ok` lists how the gate passed.
pub fn decide(env: &Environment, report: &Report, facts: &Facts) -> Result<Vec<Passed>, Refusal> {
    let blocking: Vec<&Verdict> = report.blocking().collect();
    if blocking.is_empty() {
        if report.files.is_empty() {
            return Ok(Vec::new());
        }
        return Ok(vec![Passed::new(
            "migrations",
            format!(
                "{} file(s), {} finding(s), none at or above {}",
                report.files.len(),
                report.findings.len(),
                env.migrations.block_on.v
            ),
        )]);
    }
    let what = format!(
        "environment \"{}\" would run {} blocking migration finding(s): {}",
        env.name,
        blocking.len(),
        named(&blocking)
    );
    let help = format!("to run them anyway: {}", override_text(env));
    let label = &env.migrations.override_label.v;
    if let Some(pr) = &facts.pull {
        let has_label = pr.labels.iter().any(|l| l == label);
        let approved_by: Vec<&String> = pr
            .approvers
            .iter()
            .filter(|login| is_approver(env, login, &pr.teams))
            .collect();
        return match (has_label, approved_by.first()) {
            (true, Some(who)) => Ok(vec![Passed::new(
                "migrations",
                format!(
                    "{} blocking finding(s) overridden on pull request #{}: label `{label}` and approval by @{who} at {}",
                    blocking.len(),
                    pr.number,
                    short(&pr.commit)
                ),
            )]),
            (false, approver) => Err(Refusal::new(
                "migrations",
                "override-label-missing",
                format!(
                    "{what}; pull request #{} does not have the label `{label}`{}",
                    pr.number,
                    if approver.is_some() { " (a migration approver did approve)" } else { ", and no migration approver approved it" }
                ),
            )
            .help(help)),
            (true, None) => Err(Refusal::new(
                "migrations",
                "migration-approver-missing",
                format!(
                    "{what}; pull request #{} has the label `{label}` but no approving review at {} by a migration approver",
                    pr.number,
                    short(&pr.commit)
                ),
            )
            .help(help)),
        };
    }
    let word = env.approval.confirmation.as_ref().map(|w| w.v.as_str());
    match (facts.allow_flag, word, facts.confirm.as_deref()) {
        (true, Some(w), Some(c)) if w == c => Ok(vec![Passed::new(
            "migrations",
            format!(
                "{} blocking finding(s) allowed with --allow-destructive-migration and the confirmation word",
                blocking.len()
            ),
        )]),
        (true, Some(_), _) => Err(Refusal::new(
            "migrations",
            "migration-confirmation",
            format!("{what}; --allow-destructive-migration needs the environment's confirmation word, and --confirm does not give it"),
        )
        .help(help)),
        (true, None, _) => Err(Refusal::new(
            "migrations",
            "migration-confirmation",
            format!("{what}; --allow-destructive-migration needs a confirmation word, and environment \"{}\" sets none (approval.confirmation)", env.name),
        )
        .help(help)),
        (false, _, _) => Err(Refusal::new("migrations", "destructive-migration", what).help(help)),
    }
}

fn is_approver(
    env: &Environment,
    login: &str,
    teams: &BTreeMap<(String, String), Membership>,
) -> bool {
    env.approval.migration_approvers.iter().any(|a| {
        if a.v.contains('/') {
            teams.get(&(login.to_lowercase(), a.v.clone())) == Some(&Membership::Active)
        } else {
            a.v.eq_ignore_ascii_case(login)
        }
    })
}

/// Gathers the facts onto `given` (the flag and the word): the pull request's only when
/// something blocks and a pull request is known.
pub async fn facts(
    s: &crate::settings::Settings,
    env: &Environment,
    report: &Report,
    given: Facts,
    pr: Option<u64>,
    commit: Option<&str>,
    github: &mut Option<GitHub>,
) -> Result<Facts, Stop> {
    let mut facts = given;
    let (Some(number), true) = (pr, report.blocking().next().is_some()) else {
        return Ok(facts);
    };
    let commit = commit.ok_or_else(|| {
        GateError::Input(
            "no commit to check the migration approver's review against (not a git checkout?)"
                .into(),
        )
    })?;
    let gh = match github {
        Some(gh) => gh,
        None => github.insert(GitHub::from_settings(&s.actions, None)?),
    };
    let pull = gh.pull_request(number).await?;
    let reviews = gh.reviews(number).await?;
    let approvers: Vec<String> = super::approval::standings(&reviews)
        .into_iter()
        .filter(|(login, r)| {
            r.state == "APPROVED"
                && r.commit_id.as_deref() == Some(commit)
                && !login.eq_ignore_ascii_case(&pull.author)
        })
        .map(|(login, _)| login.to_string())
        .collect();
    let mut teams = BTreeMap::new();
    for team in env
        .approval
        .migration_approvers
        .iter()
        .filter(|a| a.v.contains('/'))
    {
        let (org, slug) = team.v.split_once('/').unwrap_or_default();
        for login in &approvers {
            let m = gh.team_membership(org, slug, login).await?;
            teams.insert((login.to_lowercase(), team.v.clone()), m);
        }
    }
    facts.pull = Some(PullFacts {
        number,
        author: pull.author,
        labels: pull.labels,
        approvers,
        teams,
        commit: commit.to_string(),
    });
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{FileId, Loc};
    use crate::env::model::Sp;
    use crate::migrations::pending::Verdict;
    use crate::migrations::{Finding, Severity};

    fn sp<T>(v: T) -> Sp<T> {
        Sp::new(v, Loc::new(FileId(0), 0..0))
    }

    fn env() -> Environment {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("envs");
        let loaded = crate::env::load(&dir, &["production".to_string()], &|n| {
            crate::commands::scope(n, None, None, None, true)
        })
        .expect("envs/production.hcl loads");
        let mut e = loaded.envs.into_iter().next().expect("production");
        e.approval.migration_approvers =
            vec![sp("dba-dora".to_string()), sp("acme/dba".to_string())];
        e.approval.confirmation = Some(sp("DEPLOY".to_string()));
        e
    }

    fn report(severity: Severity) -> Report {
        Report {
            scope: BTreeMap::new(),
            files: vec!["db/0003.sql".into()],
            findings: vec![Verdict {
                blocking: severity >= Severity::High,
                block_on: Severity::High,
                finding: Finding {
                    file: "db/0003.sql".into(),
                    line: 5,
                    column: 1,
                    end_line: 5,
                    end_column: 30,
                    rule: "ban-drop-column".into(),
                    severity,
                    message: "Dropping a column may break existing clients.".into(),
                    statement: "ALTER TABLE users DROP COLUMN legacy;".into(),
                    help: None,
                },
            }],
            override_text: String::new(),
        }
    }

    fn pull(labels: &[&str], approvers: &[&str]) -> Facts {
        Facts {
            pull: Some(PullFacts {
                number: 7,
                author: "ana".into(),
                labels: labels.iter().map(|s| s.to_string()).collect(),
                approvers: approvers.iter().map(|s| s.to_string()).collect(),
                teams: BTreeMap::new(),
                commit: "c2".into(),
            }),
            ..Default::default()
        }
    }

    fn rule(r: Result<Vec<Passed>, Refusal>) -> &'static str {
        r.map_or_else(|e| e.rule, |_| "passed")
    }

    #[test]
    fn nothing_blocking_passes() {
        assert_eq!(
            rule(decide(&env(), &report(Severity::Medium), &Facts::default())),
            "passed"
        );
    }

    #[test]
    fn a_pull_request_needs_the_label_and_an_approver() {
        let e = env();
        let r = report(Severity::Critical);
        let l = "migration-destructive-approved";
        assert_eq!(
            rule(decide(&e, &r, &pull(&[l], &[]))),
            "migration-approver-missing"
        );
        assert_eq!(
            rule(decide(&e, &r, &pull(&[], &["dba-dora"]))),
            "override-label-missing"
        );
        assert_eq!(
            rule(decide(&e, &r, &pull(&[l], &["bob"]))),
            "migration-approver-missing"
        );
        assert_eq!(rule(decide(&e, &r, &pull(&[l], &["DBA-Dora"]))), "passed");
    }

    #[test]
    fn a_team_approver_must_be_an_active_member() {
        let e = env();
        let r = report(Severity::Critical);
        let mut f = pull(&["migration-destructive-approved"], &["tom"]);
        let key = ("tom".to_string(), "acme/dba".to_string());
        if let Some(p) = f.pull.as_mut() {
            p.teams.insert(key.clone(), Membership::Pending);
        }
        assert_eq!(rule(decide(&e, &r, &f)), "migration-approver-missing");
        if let Some(p) = f.pull.as_mut() {
            p.teams.insert(key, Membership::Active);
        }
        assert_eq!(rule(decide(&e, &r, &f)), "passed");
    }

    #[test]
    fn outside_a_pull_request_the_flag_needs_the_word() {
        let e = env();
        let r = report(Severity::High);
        let f = |flag: bool, word: Option<&str>| Facts {
            allow_flag: flag,
            confirm: word.map(str::to_string),
            pull: None,
        };
        assert_eq!(
            rule(decide(&e, &r, &f(false, Some("DEPLOY")))),
            "destructive-migration"
        );
        assert_eq!(
            rule(decide(&e, &r, &f(true, None))),
            "migration-confirmation"
        );
        assert_eq!(
            rule(decide(&e, &r, &f(true, Some("deploy")))),
            "migration-confirmation"
        );
        assert_eq!(rule(decide(&e, &r, &f(true, Some("DEPLOY")))), "passed");
        let refusal = decide(&e, &r, &f(false, None)).unwrap_err();
        assert!(
            refusal
                .message
                .contains("db/0003.sql:5:1 critical ban-drop-column")
                || refusal
                    .message
                    .contains("db/0003.sql:5:1 high ban-drop-column"),
            "{}",
            refusal.message
        );
        assert!(refusal
            .help
            .unwrap()
            .contains("--allow-destructive-migration --confirm DEPLOY"));
    }
}
