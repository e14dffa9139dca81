//! Approval: the environment's `approval` block, checked in this order, each rule only when it
//! is set: `events` (the trigger), `actors` and `teams` (who; either admits), `confirmation`
//! (the word typed with `--confirm`), `pull_request_approved` (approving reviews on the pull
//! request at the commit being applied, by someone other than its author).
//!
//! `rollback` checks only `events` and `actors`: an emergency must not wait on a review.

use std::collections::BTreeMap;

use super::{GateError, Passed, Refusal, Stop};
use crate::env::model::Approval;
use crate::github::{GitHub, Membership, PullRequest, Review};

/// Which rules a command is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every rule: apply, deploy, promote, migrate run.
    Full,
    /// `events` and `actors` only: rollback.
    TriggerAndActor,
}

/// What the rules are checked against.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// `GITHUB_EVENT_NAME`, or `local` outside Actions.
    pub event: String,
    /// `GITHUB_ACTOR`.
    pub actor: Option<String>,
    /// `--confirm`.
    pub confirm: Option<String>,
    /// The actor's membership of each team the rules name (gathered only when needed).
    pub teams: BTreeMap<String, Membership>,
    /// The pull request (gathered only for `pull_request_approved`).
    pub pull_request: Option<PullFacts>,
}

#[derive(Clone, Debug)]
pub struct PullFacts {
    pub pull: PullRequest,
    pub reviews: Vec<Review>,
    /// The commit approvals must be for: the plan's (apply) or HEAD's (deploy).
    pub commit: String,
}

/// Each reviewer's standing: their latest review that is not a comment (GitHub's rule).
pub fn standings(reviews: &[Review]) -> BTreeMap<&str, &Review> {
    let mut latest: BTreeMap<&str, &Review> = BTreeMap::new();
    for r in reviews {
        if matches!(
            r.state.as_str(),
            "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
        ) {
            latest.insert(r.login.as_str(), r);
        }
    }
    latest
}

fn refuse(rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::new("approval", rule, message)
}

/// Decides every rule in order; the first that fails refuses.
pub fn decide(
    env: &str,
    rules: &Approval,
    facts: &Facts,
    scope: Scope,
) -> Result<Vec<Passed>, Refusal> {
    let mut passed = Vec::new();
    let strings = |v: &[crate::env::model::Sp<String>]| -> Vec<String> {
        v.iter().map(|s| s.v.clone()).collect()
    };

    // 1. The trigger.
    let events = strings(&rules.events);
    if !events.is_empty() {
        if !events.contains(&facts.event) {
            let mut r = refuse(
                "event",
                format!(
                    "environment \"{env}\" may be changed from {} only; this run is `{}`",
                    events.join(", "),
                    facts.event
                ),
            );
            if facts.event == "local" {
                r = r.help("run it from the workflow, or add \"local\" to approval.events to allow it from a terminal");
            }
            return Err(r);
        }
        passed.push(Passed::new("approval", format!("event {}", facts.event)));
    }

    // 2. Who: a listed actor, or an active member of a listed team.
    let actors = strings(&rules.actors);
    let teams = match scope {
        Scope::Full => strings(&rules.teams),
        Scope::TriggerAndActor => Vec::new(),
    };
    if !actors.is_empty() || !teams.is_empty() {
        let Some(actor) = facts.actor.as_deref() else {
            return Err(refuse(
                "actor",
                format!("environment \"{env}\" may be changed by named people only, and GITHUB_ACTOR is not set: slipway cannot tell who this is"),
            )
            .help("run it from the workflow (GitHub Actions sets GITHUB_ACTOR)"));
        };
        if actors.iter().any(|a| a.eq_ignore_ascii_case(actor)) {
            passed.push(Passed::new("approval", format!("actor @{actor} is listed")));
        } else if let Some(team) = teams
            .iter()
            .find(|t| facts.teams.get(*t) == Some(&Membership::Active))
        {
            passed.push(Passed::new(
                "approval",
                format!("@{actor} is an active member of {team}"),
            ));
        } else if teams.is_empty() {
            return Err(refuse(
                "actor",
                format!(
                    "@{actor} may not change environment \"{env}\": approval.actors is {}",
                    actors.join(", ")
                ),
            ));
        } else {
            let pending: Vec<&String> = teams
                .iter()
                .filter(|t| facts.teams.get(*t) == Some(&Membership::Pending))
                .collect();
            let mut msg = format!("@{actor} is not an active member of {}", teams.join(", "));
            if !actors.is_empty() {
                msg.push_str(&format!(
                    " and not in approval.actors ({})",
                    actors.join(", ")
                ));
            }
            if !pending.is_empty() {
                msg.push_str(&format!(
                    " (the invitation to {} is still pending)",
                    pending
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            return Err(refuse("team", msg));
        }
    }
    if scope == Scope::TriggerAndActor {
        return Ok(passed);
    }

    // 3. The confirmation word.
    if let Some(word) = &rules.confirmation {
        match facts.confirm.as_deref() {
            Some(given) if given == word.v => {
                passed.push(Passed::new("approval", "confirmation word given"));
            }
            Some(given) => {
                return Err(refuse(
                    "confirmation",
                    format!("--confirm `{given}` is not environment \"{env}\"'s confirmation word"),
                )
                .help(format!("pass --confirm {}", word.v)))
            }
            None => {
                return Err(refuse(
                    "confirmation",
                    format!("environment \"{env}\" needs its confirmation word"),
                )
                .help(format!("pass --confirm {}", word.v)))
            }
        }
    }

    // 4. Approving reviews on the pull request, at the commit being applied.
    if rules.pull_request_approved {
        let needed = rules.approvals_needed();
        let Some(pr) = &facts.pull_request else {
            return Err(refuse(
                "pull-request",
                format!("environment \"{env}\" needs {needed} approving review(s) on the pull request, and no pull request is known"),
            )
            .help("pass --pr NUMBER (in a workflow_dispatch, the `pr` input)"));
        };
        passed.push(reviews(env, pr, needed)?);
    }
    Ok(passed)
}

/// The pull request rule: at least `needed` reviewers other than the author whose latest
/// review approves `pr.commit`, and nobody's latest review asking for changes.
fn reviews(env: &str, pr: &PullFacts, needed: usize) -> Result<Passed, Refusal> {
    let n = pr.pull.number;
    let short = |s: &str| s.chars().take(12).collect::<String>();
    if pr.pull.head_sha != pr.commit {
        return Err(refuse(
            "pull-request-moved",
            format!(
                "pull request #{n} is now at {}, but this is {}: its reviews are for other code",
                short(&pr.pull.head_sha),
                short(&pr.commit)
            ),
        )
        .help("plan again on the pull request's head, then apply that plan"));
    }
    let latest = standings(&pr.reviews);
    let author = pr.pull.author.as_str();
    let mut approvers = Vec::new();
    let mut stale = Vec::new();
    let mut by_author = false;
    for (login, r) in &latest {
        if login.eq_ignore_ascii_case(author) {
            by_author |= r.state == "APPROVED";
            continue;
        }
        match r.state.as_str() {
            "CHANGES_REQUESTED" => {
                return Err(refuse(
                    "changes-requested",
                    format!("@{login} requested changes on pull request #{n}"),
                ))
            }
            "APPROVED" if r.commit_id.as_deref() == Some(pr.commit.as_str()) => {
                approvers.push(format!("@{login}"))
            }
            "APPROVED" => stale.push(format!(
                "@{login} approved {}",
                short(r.commit_id.as_deref().unwrap_or("an older commit"))
            )),
            _ => {}
        }
    }
    if approvers.len() >= needed {
        return Ok(Passed::new(
            "approval",
            format!(
                "pull request #{n} approved at {} by {}",
                short(&pr.commit),
                approvers.join(", ")
            ),
        ));
    }
    let mut msg = format!(
        "environment \"{env}\" needs {needed} approving review(s) on pull request #{n} at {} by someone other than its author @{author}; it has {}",
        short(&pr.commit),
        approvers.len()
    );
    let rule = if !stale.is_empty() {
        msg.push_str(&format!(
            " (not counted, made before this commit: {})",
            stale.join(", ")
        ));
        "stale-approval"
    } else if by_author {
        msg.push_str(" (the author's own approval does not count)");
        "author-approval"
    } else {
        "not-approved"
    };
    Err(refuse(rule, msg).help("ask for a review of the pull request's head, then apply again"))
}

/// Gathers what `rules` need to be decided: GitHub is asked only for rules that are set (team
/// membership only when the actor is not listed in `actors`).
pub async fn facts(
    s: &crate::settings::Settings,
    rules: &Approval,
    scope: Scope,
    confirm: Option<&str>,
    pr: Option<u64>,
    commit: Option<&str>,
    github: &mut Option<GitHub>,
) -> Result<Facts, Stop> {
    let mut facts = Facts {
        event: s.event(),
        actor: s.actions.actor.clone(),
        confirm: confirm.map(str::to_string),
        ..Default::default()
    };
    let listed = facts
        .actor
        .as_deref()
        .is_some_and(|a| rules.actors.iter().any(|x| x.v.eq_ignore_ascii_case(a)));
    let need_teams = scope == Scope::Full && !rules.teams.is_empty() && !listed;
    let need_pull = scope == Scope::Full && rules.pull_request_approved && pr.is_some();
    if !(need_pull || need_teams && facts.actor.is_some()) {
        return Ok(facts);
    }
    let gh = match github {
        Some(gh) => gh,
        None => github.insert(GitHub::from_settings(&s.actions, None)?),
    };
    if need_teams {
        if let Some(actor) = facts.actor.clone() {
            for team in &rules.teams {
                let (org, slug) = team.v.split_once('/').ok_or_else(|| {
                    GateError::Input(format!("team \"{}\" is not org/slug", team.v))
                })?;
                let m = gh.team_membership(org, slug, &actor).await?;
                facts.teams.insert(team.v.clone(), m);
                if m == Membership::Active {
                    break;
                }
            }
        }
    }
    if let (true, Some(number)) = (need_pull, pr) {
        let commit = commit.ok_or_else(|| {
            GateError::Input(
                "no commit to check the pull request's reviews against (not a git checkout?)"
                    .into(),
            )
        })?;
        facts.pull_request = Some(PullFacts {
            pull: gh.pull_request(number).await?,
            reviews: gh.reviews(number).await?,
            commit: commit.to_string(),
        });
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{FileId, Loc};
    use crate::env::model::Sp;

    fn sp(s: &str) -> Sp<String> {
        Sp::new(s.to_string(), Loc::new(FileId(0), 0..0))
    }

    fn rules() -> Approval {
        Approval {
            required: true,
            ..Default::default()
        }
    }

    fn facts(event: &str, actor: Option<&str>) -> Facts {
        Facts {
            event: event.into(),
            actor: actor.map(str::to_string),
            ..Default::default()
        }
    }

    fn review(login: &str, state: &str, commit: &str) -> Review {
        Review {
            login: login.into(),
            state: state.into(),
            commit_id: Some(commit.into()),
            submitted_at: None,
        }
    }

    fn pull(reviews: Vec<Review>) -> PullFacts {
        PullFacts {
            pull: PullRequest {
                number: 7,
                author: "ana".into(),
                head_sha: "c2".into(),
                state: "open".into(),
                labels: vec![],
            },
            reviews,
            commit: "c2".into(),
        }
    }

    fn rule_of(r: Result<Vec<Passed>, Refusal>) -> &'static str {
        r.map_or_else(|e| e.rule, |_| "passed")
    }

    #[test]
    fn events_are_checked_first() {
        let mut r = rules();
        r.events = vec![sp("workflow_dispatch")];
        r.confirmation = Some(sp("DEPLOY"));
        let f = facts("local", None);
        let refusal = decide("production", &r, &f, Scope::Full).unwrap_err();
        assert_eq!(refusal.rule, "event");
        assert!(refusal.help.unwrap().contains("\"local\""));
        let mut f = facts("workflow_dispatch", None);
        f.confirm = Some("DEPLOY".into());
        assert_eq!(rule_of(decide("production", &r, &f, Scope::Full)), "passed");
    }

    #[test]
    fn actors_and_teams_either_admit() {
        let mut r = rules();
        r.actors = vec![sp("Ana")];
        r.teams = vec![sp("acme/deployers")];
        assert_eq!(
            rule_of(decide("p", &r, &facts("push", Some("ana")), Scope::Full)),
            "passed"
        );
        let mut f = facts("push", Some("bo"));
        assert_eq!(rule_of(decide("p", &r, &f, Scope::Full)), "team");
        f.teams.insert("acme/deployers".into(), Membership::Pending);
        let e = decide("p", &r, &f, Scope::Full).unwrap_err();
        assert!(e.message.contains("pending"), "{e}");
        f.teams.insert("acme/deployers".into(), Membership::Active);
        assert_eq!(rule_of(decide("p", &r, &f, Scope::Full)), "passed");
        // No actor at all: nobody can be admitted.
        assert_eq!(
            rule_of(decide("p", &r, &facts("push", None), Scope::Full)),
            "actor"
        );
        // Actors alone.
        r.teams.clear();
        assert_eq!(
            rule_of(decide("p", &r, &facts("push", Some("bo")), Scope::Full)),
            "actor"
        );
    }

    #[test]
    fn the_confirmation_word_must_match_exactly() {
        let mut r = rules();
        r.confirmation = Some(sp("DEPLOY"));
        let mut f = facts("local", None);
        assert_eq!(rule_of(decide("p", &r, &f, Scope::Full)), "confirmation");
        f.confirm = Some("deploy".into());
        let e = decide("p", &r, &f, Scope::Full).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("pass --confirm DEPLOY"));
        f.confirm = Some("DEPLOY".into());
        assert_eq!(rule_of(decide("p", &r, &f, Scope::Full)), "passed");
    }

    #[test]
    fn rollback_is_held_to_events_and_actors_only() {
        let mut r = rules();
        r.confirmation = Some(sp("DEPLOY"));
        r.teams = vec![sp("acme/deployers")];
        r.pull_request_approved = true;
        r.events = vec![sp("workflow_dispatch")];
        let f = facts("workflow_dispatch", Some("bo"));
        assert_eq!(
            rule_of(decide("p", &r, &f, Scope::TriggerAndActor)),
            "passed"
        );
        r.actors = vec![sp("ana")];
        assert_eq!(
            rule_of(decide("p", &r, &f, Scope::TriggerAndActor)),
            "actor"
        );
        assert_eq!(
            rule_of(decide(
                "p",
                &r,
                &facts("push", Some("ana")),
                Scope::TriggerAndActor
            )),
            "event"
        );
    }

    #[test]
    fn pull_request_approvals_count_at_the_commit_and_not_by_the_author() {
        let mut r = rules();
        r.pull_request_approved = true;
        let with = |reviews: Vec<Review>| Facts {
            pull_request: Some(pull(reviews)),
            ..facts("workflow_dispatch", Some("ci"))
        };
        assert_eq!(
            rule_of(decide("p", &r, &facts("x", None), Scope::Full)),
            "pull-request"
        );
        assert_eq!(
            rule_of(decide("p", &r, &with(vec![]), Scope::Full)),
            "not-approved"
        );
        assert_eq!(
            rule_of(decide(
                "p",
                &r,
                &with(vec![review("ana", "APPROVED", "c2")]),
                Scope::Full
            )),
            "author-approval"
        );
        assert_eq!(
            rule_of(decide(
                "p",
                &r,
                &with(vec![review("bo", "APPROVED", "c1")]),
                Scope::Full
            )),
            "stale-approval"
        );
        assert_eq!(
            rule_of(decide(
                "p",
                &r,
                &with(vec![review("bo", "APPROVED", "c2")]),
                Scope::Full
            )),
            "passed"
        );
        // A later comment does not undo an approval; a later request for changes does.
        let reviews = vec![
            review("bo", "APPROVED", "c2"),
            review("bo", "COMMENTED", "c2"),
        ];
        assert_eq!(
            rule_of(decide("p", &r, &with(reviews), Scope::Full)),
            "passed"
        );
        let reviews = vec![
            review("bo", "APPROVED", "c2"),
            review("cy", "CHANGES_REQUESTED", "c2"),
        ];
        assert_eq!(
            rule_of(decide("p", &r, &with(reviews), Scope::Full)),
            "changes-requested"
        );
        let reviews = vec![
            review("bo", "APPROVED", "c2"),
            review("bo", "DISMISSED", "c2"),
        ];
        assert_eq!(
            rule_of(decide("p", &r, &with(reviews), Scope::Full)),
            "not-approved"
        );
        // Two needed, one given.
        r.min_approvals = Some(Sp::new(2, Loc::new(FileId(0), 0..0)));
        let reviews = vec![review("bo", "APPROVED", "c2")];
        let e = decide("p", &r, &with(reviews), Scope::Full).unwrap_err();
        assert!(e.message.contains("needs 2"), "{e}");
        let reviews = vec![
            review("bo", "APPROVED", "c2"),
            review("cy", "APPROVED", "c2"),
        ];
        assert_eq!(
            rule_of(decide("p", &r, &with(reviews), Scope::Full)),
            "passed"
        );
    }

    #[test]
    fn a_pull_request_that_moved_on_is_refused() {
        let mut r = rules();
        r.pull_request_approved = true;
        let mut p = pull(vec![review("bo", "APPROVED", "c3")]);
        p.pull.head_sha = "c3".into();
        let f = Facts {
            pull_request: Some(p),
            ..facts("workflow_dispatch", None)
        };
        assert_eq!(
            rule_of(decide("p", &r, &f, Scope::Full)),
            "pull-request-moved"
        );
    }
}
