//! The plan file: its integrity, and the fingerprint that counts, which is the one reviewers saw.
//!
//! Integrity alone proves nothing about review: whoever edits a plan file can recompute its
//! sha256. So the fingerprint must also match what was shown to reviewers: `--fingerprint`
//! (the dispatch input, copied from the PR comment; a 12-digit prefix is enough), or else the
//! environment's slipway comment on the pull request, which must have been written by this
//! token's own identity and made for the plan's commit. With neither, an environment whose
//! approval is `required` refuses.

use std::path::Path;

use super::{GateError, Passed, Refusal, Stop};
use crate::github::GitHub;
use crate::planfile::{PlanFile, PlanFileError};
use crate::report::comment::{self, CommentMeta};

/// Reads the plan file; one whose content no longer hashes to its fingerprint is refused.
pub fn load(path: &Path) -> Result<PlanFile, Stop> {
    PlanFile::read(path).map_err(|e| match e {
        PlanFileError::Tampered { .. } => Refusal::new("fingerprint", "tampered", e.to_string())
            .help("download the plan file the plan job uploaded, or plan again")
            .into(),
        other => GateError::Input(other.to_string()).into(),
    })
}

/// Where the reviewed fingerprint comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reviewed {
    /// `--fingerprint HEX`.
    Given(String),
    /// The environment's slipway comment on a pull request.
    Comment {
        pr: u64,
        /// Who wrote it.
        author: String,
        /// Who the token is: the only author whose comment counts.
        token: String,
        /// What its hidden line says; None when it has none (an older or hand-made comment).
        meta: Option<CommentMeta>,
        url: Option<String>,
    },
    /// Nothing shows what was reviewed, and why.
    Nothing(String),
}

/// Whether the plan is the reviewed one.
pub fn decide(plan: &PlanFile, reviewed: &Reviewed, required: bool) -> Result<Passed, Refusal> {
    let short = plan.short_fingerprint().to_string();
    let mismatch = |reviewed: &str, source: &str| {
        Refusal::new(
            "fingerprint",
            "fingerprint-mismatch",
            format!(
                "the plan file's fingerprint is {short}, but {source} shows {}: this is not the plan that was reviewed",
                &reviewed[..reviewed.len().min(12)]
            ),
        )
        .help("apply the plan file of the reviewed run, or plan again and have that reviewed")
    };
    match reviewed {
        Reviewed::Given(hex) => {
            let hex = hex.to_ascii_lowercase();
            if plan.fingerprint.starts_with(&hex) {
                Ok(Passed::new(
                    "fingerprint",
                    format!("{short} is the reviewed fingerprint (--fingerprint)"),
                ))
            } else {
                Err(mismatch(&hex, "--fingerprint"))
            }
        }
        Reviewed::Comment {
            pr,
            author,
            token,
            meta,
            url,
        } => {
            let at = url.clone().unwrap_or_else(|| format!("pull request #{pr}"));
            if !author.eq_ignore_ascii_case(token) {
                return Err(Refusal::new(
                    "fingerprint",
                    "comment-author",
                    format!("the slipway comment for \"{}\" on #{pr} was written by @{author}, not by this token's @{token}: it cannot vouch for the plan", plan.environment),
                )
                .help("pass --fingerprint with the fingerprint the plan job posted"));
            }
            let Some(meta) = meta else {
                return Err(Refusal::new(
                    "fingerprint",
                    "comment-unreadable",
                    format!("the slipway comment on #{pr} does not record a fingerprint (made by an older slipway?)"),
                )
                .help("plan again, or pass --fingerprint"));
            };
            let plan_commit = plan.git.as_ref().map(|g| g.sha.as_str());
            if meta.commit.as_deref() != plan_commit {
                return Err(Refusal::new(
                    "fingerprint",
                    "comment-commit",
                    format!(
                        "the slipway comment on #{pr} was made for commit {}, but the plan for {}",
                        meta.commit.as_deref().map_or("(none)", |c| &c[..c.len().min(12)]),
                        plan_commit.map_or("(none)", |c| &c[..c.len().min(12)])
                    ),
                )
                .help("apply the plan file of the run that made the comment, or plan again"));
            }
            if meta.fingerprint != plan.fingerprint {
                return Err(mismatch(&meta.fingerprint, &format!("the comment ({at})")));
            }
            Ok(Passed::new(
                "fingerprint",
                format!("{short} is the fingerprint the plan comment shows ({at})"),
            ))
        }
        Reviewed::Nothing(why) if required => Err(Refusal::new(
            "fingerprint",
            "not-reviewed",
            format!(
                "environment \"{}\" requires approval, and nothing shows what was reviewed: {why}",
                plan.environment
            ),
        )
        .help("pass --fingerprint with the 12 digits the PR comment shows, or --pr NUMBER so slipway reads the comment")),
        Reviewed::Nothing(why) => Ok(Passed::new(
            "fingerprint",
            format!("approval not required: the plan file applies as it is, its integrity checked ({why})"),
        )),
    }
}

/// Finds what the reviewers saw: `--fingerprint`, else the PR comment (when a pull request is
/// known: `--pr`, or the event in Actions), else nothing.
pub async fn reviewed(
    s: &crate::settings::Settings,
    plan: &PlanFile,
    given: Option<&str>,
    pr: Option<u64>,
    github: &mut Option<GitHub>,
) -> Result<Reviewed, Stop> {
    if let Some(hex) = given {
        return Ok(Reviewed::Given(hex.to_string()));
    }
    let pr = match pr {
        Some(n) => n,
        None if s.actions.running => {
            match crate::github::pr_from_event(s.actions.event_path.as_deref()) {
                Ok(n) => n,
                Err(e) => {
                    return Ok(Reviewed::Nothing(format!(
                        "no --fingerprint, and no pull request: {e}"
                    )))
                }
            }
        }
        None => {
            return Ok(Reviewed::Nothing(
                "no --fingerprint, and no --pr to read the plan comment from".into(),
            ))
        }
    };
    let gh = match github {
        Some(gh) => gh,
        None => github.insert(GitHub::from_settings(&s.actions, None)?),
    };
    let Some(found) = gh
        .find_comment(pr, &comment::marker(&plan.environment))
        .await?
    else {
        return Ok(Reviewed::Nothing(format!(
            "pull request #{pr} has no slipway comment for \"{}\"",
            plan.environment
        )));
    };
    let token = gh.viewer().await?;
    Ok(Reviewed::Comment {
        pr,
        author: found.author,
        token,
        meta: comment::meta(&found.body),
        url: found.url,
    })
}

/// Parses `--fingerprint`: hex, 12 to 64 digits.
pub fn parse_fingerprint(s: &str) -> Result<String, String> {
    let s = s.trim();
    if !(12..=64).contains(&s.len()) || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{s}` is not a plan fingerprint: give at least its first 12 hex digits (the PR comment shows them)"
        ));
    }
    Ok(s.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanFile {
        crate::planfile::sample("production")
    }

    fn comment(author: &str, fingerprint: &str, commit: &str) -> Reviewed {
        Reviewed::Comment {
            pr: 7,
            author: author.into(),
            token: "github-actions[bot]".into(),
            meta: Some(CommentMeta {
                fingerprint: fingerprint.into(),
                commit: Some(commit.into()),
            }),
            url: None,
        }
    }

    fn rule(r: Result<Passed, Refusal>) -> &'static str {
        r.map_or_else(|e| e.rule, |_| "passed")
    }

    #[test]
    fn a_given_prefix_must_match() {
        let p = plan();
        let ok = Reviewed::Given(p.fingerprint[..12].to_ascii_uppercase());
        assert_eq!(rule(decide(&p, &ok, true)), "passed");
        let other = Reviewed::Given("0".repeat(12));
        assert_eq!(rule(decide(&p, &other, true)), "fingerprint-mismatch");
    }

    #[test]
    fn the_comment_must_be_ours_for_this_commit_and_this_plan() {
        let p = plan();
        let sha = p.git.as_ref().unwrap().sha.clone();
        let fp = p.fingerprint.clone();
        assert_eq!(
            rule(decide(&p, &comment("github-actions[bot]", &fp, &sha), true)),
            "passed"
        );
        assert_eq!(
            rule(decide(&p, &comment("mallory", &fp, &sha), true)),
            "comment-author"
        );
        assert_eq!(
            rule(decide(
                &p,
                &comment("github-actions[bot]", &fp, "beef"),
                true
            )),
            "comment-commit"
        );
        assert_eq!(
            rule(decide(
                &p,
                &comment("github-actions[bot]", &"a".repeat(64), &sha),
                true
            )),
            "fingerprint-mismatch"
        );
    }

    #[test]
    fn nothing_reviewed_refuses_only_where_approval_is_required() {
        let p = plan();
        let nothing = Reviewed::Nothing("no --fingerprint".into());
        assert_eq!(rule(decide(&p, &nothing, true)), "not-reviewed");
        assert_eq!(rule(decide(&p, &nothing, false)), "passed");
    }

    #[test]
    fn fingerprints_parse_as_hex_prefixes() {
        assert_eq!(parse_fingerprint("ABCDEF012345").unwrap(), "abcdef012345");
        assert!(parse_fingerprint("abc").is_err());
        assert!(parse_fingerprint("zzzzzzzzzzzz").is_err());
    }
}
