//! GitHub's API, for what slipway needs of a pull request: the plan comment (created once, then
//! updated in place, and read back by `apply` with its author), the pull request's author, head
//! and reviews, team membership, and who the token is.
//!
//! Configuration is what GitHub Actions sets (resolved in [`crate::settings::Actions`]):
//! `GITHUB_API_URL` (default api.github.com), `GITHUB_GRAPHQL_URL`, `GITHUB_REPOSITORY`,
//! `GITHUB_TOKEN`, and `GITHUB_EVENT_PATH` for the PR number. The token is only ever sent as a
//! header, and only to the API's own host; it is never printed, logged or part of an error.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::StatusCode;
use serde::Deserialize;

const API_VERSION: &str = "2022-11-28";
/// Attempts per request when GitHub answers 5xx or a secondary rate limit.
const ATTEMPTS: u32 = 3;
/// Pages of comments read at most (100 per page) while looking for the marker.
const MAX_PAGES: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    #[error("cannot read the GitHub event file {path}: {message}")]
    Event { path: String, message: String },
    #[error("GitHub refused the token (401 {message}): set GITHUB_TOKEN to a token that can write pull request comments")]
    Unauthorized { message: String },
    #[error("GitHub API rate limit exhausted (403 {message}); it resets at {reset}")]
    RateLimited { message: String, reset: String },
    #[error("GitHub denied {what} (403 {message}): the token needs {needs}")]
    Forbidden {
        what: String,
        message: String,
        needs: &'static str,
    },
    #[error("GitHub answered 404 Not Found for {what}: check GITHUB_REPOSITORY and the PR number, and that the token can see the repository")]
    NotFound { what: String },
    #[error("GitHub rejected {what} ({status} {message})")]
    Rejected {
        what: String,
        status: u16,
        message: String,
    },
    #[error("GitHub answered {status} to {what} {attempts} time(s) in a row; run again: the comment is found by its marker and updated in place, never duplicated")]
    Unavailable {
        what: String,
        status: u16,
        attempts: u32,
    },
    #[error(
        "GitHub's Link header points at {url}, not at {api}: refusing to send the token there"
    )]
    ForeignLink { url: String, api: String },
    #[error("cannot reach GitHub at {url}: {message}")]
    Transport { url: String, message: String },
}

#[derive(Clone, Debug)]
pub struct GitHub {
    http: reqwest::Client,
    api: String,
    graphql: String,
    pub repository: String,
}

#[derive(Clone, Debug, Deserialize)]
struct Comment {
    id: u64,
    body: Option<String>,
    html_url: Option<String>,
    user: Option<User>,
}

#[derive(Clone, Debug, Deserialize)]
struct User {
    login: String,
}

/// A comment found on a pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundComment {
    pub id: u64,
    pub body: String,
    /// The login that wrote it.
    pub author: String,
    pub url: Option<String>,
}

/// What `apply` needs to know of a pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub author: String,
    /// The commit at the head of the pull request now.
    pub head_sha: String,
    /// open, closed
    pub state: String,
    /// The names of its labels.
    pub labels: Vec<String>,
}

/// One review of a pull request.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Review {
    pub login: String,
    /// APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    pub state: String,
    /// The commit the review was made on.
    pub commit_id: Option<String>,
    pub submitted_at: Option<String>,
}

/// Someone's membership of a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    Active,
    /// Invited, not yet accepted: not a member for slipway's purposes.
    Pending,
    None,
}

/// What a 403 means for each kind of request: the permission the token lacks.
const NEEDS_COMMENTS: &str =
    "`pull-requests: write` (in a workflow: `permissions: pull-requests: write`)";
const NEEDS_PULLS: &str =
    "`pull-requests: read` (in a workflow: `permissions: pull-requests: read`)";
const NEEDS_MEMBERS: &str = "the organisation's `members: read` permission: the workflow's GITHUB_TOKEN cannot read team membership; pass a GitHub App installation token (actions/create-github-app-token) or a fine-grained token as GITHUB_TOKEN";

/// What `upsert_comment` did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Posted {
    pub id: u64,
    pub url: Option<String>,
    /// True when a new comment was created, false when the marked one was updated.
    pub created: bool,
}

impl GitHub {
    /// From what Actions sets; `repository` overrides `GITHUB_REPOSITORY`.
    pub fn from_settings(
        actions: &crate::settings::Actions,
        repository: Option<&str>,
    ) -> Result<GitHub, GitHubError> {
        let token = actions.token.as_ref().ok_or(GitHubError::Missing(
            "GITHUB_TOKEN",
            "in a workflow pass `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`",
        ))?;
        let repository = match repository.or(actions.repository.as_deref()) {
            Some(r) => r.to_string(),
            None => {
                return Err(GitHubError::Missing(
                    "GITHUB_REPOSITORY",
                    "set it to owner/name, or pass --repository",
                ))
            }
        };
        let mut gh = GitHub::new(&actions.api_url, &repository, token.expose())?;
        if let Some(g) = &actions.graphql_url {
            // The token goes to GitHub's own host only.
            if !same_origin(g, &gh.api) {
                return Err(GitHubError::ForeignLink {
                    url: g.clone(),
                    api: gh.api.clone(),
                });
            }
            gh.graphql = g.clone();
        }
        Ok(gh)
    }

    pub fn new(api: &str, repository: &str, token: &str) -> Result<GitHub, GitHubError> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            GitHubError::Missing(
                "a valid GITHUB_TOKEN",
                "the token has characters a header cannot carry",
            )
        })?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            "X-GitHub-Api-Version",
            HeaderValue::from_static(API_VERSION),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("slipway/", env!("CARGO_PKG_VERSION"))),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| GitHubError::Transport {
                url: api.to_string(),
                message: e.to_string(),
            })?;
        let api = api.trim_end_matches('/').to_string();
        // GitHub Enterprise Server serves REST under /api/v3 and GraphQL at /api/graphql.
        let graphql = match api.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{api}/graphql"),
        };
        Ok(GitHub {
            http,
            api,
            graphql,
            repository: repository.to_string(),
        })
    }

    /// Sends a request, retrying rate limits (429, secondary 403) and, for idempotent requests,
    /// 5xx answers, a bounded number of times. A POST is not retried on 5xx: it may have landed,
    /// and a second one would duplicate the comment.
    async fn send(
        &self,
        what: &str,
        idempotent: bool,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, GitHubError> {
        self.send_needing(what, idempotent, NEEDS_COMMENTS, make)
            .await
    }

    /// [`GitHub::send`], naming the permission a 403 means the token lacks.
    async fn send_needing(
        &self,
        what: &str,
        idempotent: bool,
        needs: &'static str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, GitHubError> {
        let mut last_status = 0;
        for attempt in 1..=ATTEMPTS {
            let resp = make().send().await.map_err(|e| GitHubError::Transport {
                url: self.api.clone(),
                // Without the URL's query: reqwest errors print the URL, never headers.
                message: e.without_url().to_string(),
            })?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let secondary = status == StatusCode::FORBIDDEN && retry_after.is_some();
            let limited = status == StatusCode::TOO_MANY_REQUESTS || secondary;
            if !(limited || (status.is_server_error() && idempotent)) {
                if status.is_server_error() {
                    return Err(GitHubError::Unavailable {
                        what: what.to_string(),
                        status: status.as_u16(),
                        attempts: attempt,
                    });
                }
                return check(resp, what, needs).await;
            }
            last_status = status.as_u16();
            if attempt < ATTEMPTS {
                let wait = retry_after
                    .map_or(Duration::from_millis(500 * 2u64.pow(attempt - 1)), |s| {
                        Duration::from_secs(s.min(10))
                    });
                tokio::time::sleep(wait).await;
            }
        }
        Err(GitHubError::Unavailable {
            what: what.to_string(),
            status: last_status,
            attempts: ATTEMPTS,
        })
    }

    /// The first comment on issue/PR `number` whose body contains `marker`, across every page.
    pub async fn find_comment(
        &self,
        number: u64,
        marker: &str,
    ) -> Result<Option<FoundComment>, GitHubError> {
        let what = format!("the comments of {}#{number}", self.repository);
        let mut found = None;
        self.pages(
            &format!(
                "{}/repos/{}/issues/{number}/comments?per_page=100",
                self.api, self.repository
            ),
            &what,
            NEEDS_COMMENTS,
            |page: Vec<Comment>| {
                found = page
                    .into_iter()
                    .find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)));
                found.is_none()
            },
        )
        .await?;
        Ok(found.map(|c| FoundComment {
            id: c.id,
            body: c.body.unwrap_or_default(),
            author: c.user.map(|u| u.login).unwrap_or_default(),
            url: c.html_url,
        }))
    }

    /// Reads pages of a list, following `Link: rel="next"` (only on the API's own host), until
    /// `each` returns false or [`MAX_PAGES`] were read.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        first: &str,
        what: &str,
        needs: &'static str,
        mut each: impl FnMut(Vec<T>) -> bool,
    ) -> Result<(), GitHubError> {
        let mut url = Some(first.to_string());
        for _ in 0..MAX_PAGES {
            let Some(page_url) = url.take() else { break };
            let resp = self
                .send_needing(what, true, needs, || self.http.get(&page_url))
                .await?;
            url = next_link(resp.headers());
            if let Some(next) = &url {
                if !same_origin(next, &self.api) {
                    return Err(GitHubError::ForeignLink {
                        url: next.clone(),
                        api: self.api.clone(),
                    });
                }
            }
            let items: Vec<T> = resp.json().await.map_err(|e| GitHubError::Rejected {
                what: what.to_string(),
                status: 200,
                message: format!("unreadable answer: {e}"),
            })?;
            if !each(items) {
                break;
            }
        }
        Ok(())
    }

    /// Replaces the body of comment `id`.
    pub async fn update_comment(&self, id: u64, body: &str) -> Result<Posted, GitHubError> {
        let payload = serde_json::json!({ "body": body });
        let target = format!(
            "{}/repos/{}/issues/comments/{id}",
            self.api, self.repository
        );
        let what = format!("the update of comment {id}");
        let resp = self
            .send(&what, true, || self.http.patch(&target).json(&payload))
            .await?;
        let c: Comment = read_json(resp, "the comment").await?;
        Ok(Posted {
            id: c.id,
            url: c.html_url,
            created: false,
        })
    }

    /// Creates the comment carrying `marker` on issue/PR `number`, or updates it in place.
    pub async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<Posted, GitHubError> {
        if let Some(c) = self.find_comment(number, marker).await? {
            return self.update_comment(c.id, body).await;
        }
        let payload = serde_json::json!({ "body": body });
        let target = format!(
            "{}/repos/{}/issues/{number}/comments",
            self.api, self.repository
        );
        let what = format!("a new comment on {}#{number}", self.repository);
        let resp = self
            .send(&what, false, || self.http.post(&target).json(&payload))
            .await?;
        let c: Comment = read_json(resp, "the comment").await?;
        Ok(Posted {
            id: c.id,
            url: c.html_url,
            created: true,
        })
    }

    /// Who the token is: GraphQL's `viewer`, which answers for user tokens and for GitHub App
    /// installation tokens alike (REST `GET /user` refuses the latter), e.g.
    /// `github-actions[bot]` for a workflow's GITHUB_TOKEN.
    pub async fn viewer(&self) -> Result<String, GitHubError> {
        let payload = serde_json::json!({ "query": "query { viewer { login } }" });
        let what = "who the token is (GraphQL viewer)";
        let resp = self
            .send_needing(what, true, NEEDS_PULLS, || {
                self.http.post(&self.graphql).json(&payload)
            })
            .await?;
        let v: serde_json::Value = read_json(resp, what).await?;
        v["data"]["viewer"]["login"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| GitHubError::Rejected {
                what: what.to_string(),
                status: 200,
                message: v["errors"][0]["message"]
                    .as_str()
                    .unwrap_or("no viewer in the answer")
                    .to_string(),
            })
    }

    /// The pull request's author, head commit and state.
    pub async fn pull_request(&self, number: u64) -> Result<PullRequest, GitHubError> {
        let what = format!("pull request {}#{number}", self.repository);
        let url = format!("{}/repos/{}/pulls/{number}", self.api, self.repository);
        let resp = self
            .send_needing(&what, true, NEEDS_PULLS, || self.http.get(&url))
            .await?;
        let v: serde_json::Value = read_json(resp, &what).await?;
        let field = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_string);
        Ok(PullRequest {
            number,
            author: field("/user/login").unwrap_or_default(),
            head_sha: field("/head/sha").unwrap_or_default(),
            state: field("/state").unwrap_or_default(),
            labels: v["labels"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .filter_map(|l| l["name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Every review of the pull request, oldest first.
    pub async fn reviews(&self, number: u64) -> Result<Vec<Review>, GitHubError> {
        #[derive(Deserialize)]
        struct Raw {
            user: Option<User>,
            state: String,
            commit_id: Option<String>,
            submitted_at: Option<String>,
        }
        let what = format!("the reviews of {}#{number}", self.repository);
        let mut out = Vec::new();
        self.pages(
            &format!(
                "{}/repos/{}/pulls/{number}/reviews?per_page=100",
                self.api, self.repository
            ),
            &what,
            NEEDS_PULLS,
            |page: Vec<Raw>| {
                out.extend(page.into_iter().map(|r| Review {
                    login: r.user.map(|u| u.login).unwrap_or_default(),
                    state: r.state,
                    commit_id: r.commit_id,
                    submitted_at: r.submitted_at,
                }));
                true
            },
        )
        .await?;
        Ok(out)
    }

    /// `login`'s membership of team `org/slug`.
    pub async fn team_membership(
        &self,
        org: &str,
        slug: &str,
        login: &str,
    ) -> Result<Membership, GitHubError> {
        let what = format!("the membership of {login} in team {org}/{slug}");
        let url = format!("{}/orgs/{org}/teams/{slug}/memberships/{login}", self.api);
        let resp = match self
            .send_needing(&what, true, NEEDS_MEMBERS, || self.http.get(&url))
            .await
        {
            Ok(r) => r,
            // GitHub answers 404 for "not a member" (and for a team the token cannot see).
            Err(GitHubError::NotFound { .. }) => return Ok(Membership::None),
            Err(e) => return Err(e),
        };
        let v: serde_json::Value = read_json(resp, &what).await?;
        Ok(match v["state"].as_str() {
            Some("active") => Membership::Active,
            Some("pending") => Membership::Pending,
            _ => Membership::None,
        })
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    what: &str,
) -> Result<T, GitHubError> {
    resp.json().await.map_err(|e| GitHubError::Rejected {
        what: what.to_string(),
        status: 200,
        message: format!("unreadable answer: {e}"),
    })
}

/// Maps GitHub's error statuses to errors that say what to do.
async fn check(
    resp: reqwest::Response,
    what: &str,
    needs: &'static str,
) -> Result<reqwest::Response, GitHubError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| text.chars().take(200).collect());
    let what = what.to_string();
    Err(match status.as_u16() {
        401 => GitHubError::Unauthorized { message },
        403 if headers
            .get("x-ratelimit-remaining")
            .is_some_and(|v| v.as_bytes() == b"0") =>
        {
            let reset = headers
                .get("x-ratelimit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .map_or_else(|| "an unknown time".to_string(), crate::planfile::timestamp);
            GitHubError::RateLimited { message, reset }
        }
        403 => GitHubError::Forbidden {
            what,
            message,
            needs,
        },
        404 => GitHubError::NotFound { what },
        s => GitHubError::Rejected {
            what,
            status: s,
            message,
        },
    })
}

/// Whether two URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    let origin = |u: &str| {
        let (scheme, rest) = u.split_once("://").unwrap_or(("", u));
        let host = rest.split('/').next().unwrap_or("");
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        )
    };
    origin(a) == origin(b)
}

/// The `rel="next"` URL of a `Link` header, followed as given.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// The pull request number of the event that started the workflow (`GITHUB_EVENT_PATH`): a
/// `pull_request` event's, an issue comment's, or a `workflow_dispatch` input named `pr`.
pub fn pr_from_event(event_path: Option<&std::path::Path>) -> Result<u64, GitHubError> {
    let path = event_path.ok_or(GitHubError::Missing(
        "GITHUB_EVENT_PATH",
        "outside GitHub Actions pass --pr NUMBER",
    ))?;
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| GitHubError::Event {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| GitHubError::Event {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    v["pull_request"]["number"]
        .as_u64()
        .or_else(|| v["issue"]["number"].as_u64())
        .or_else(|| v["number"].as_u64())
        .or_else(|| match &v["inputs"]["pr"] {
            serde_json::Value::String(s) => s.trim().trim_start_matches('#').parse().ok(),
            n => n.as_u64(),
        })
        .ok_or(GitHubError::Event {
            path: shown,
            message: "the event has no pull request number (is this a pull_request workflow?); pass --pr NUMBER".into(),
        })
}

/// Appends Markdown to the job summary file (`GITHUB_STEP_SUMMARY`), when there is one.
pub fn append_step_summary(
    summary: Option<&std::path::Path>,
    markdown: &str,
) -> std::io::Result<bool> {
    let Some(path) = summary else {
        return Ok(false);
    };
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{markdown}")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_followed_as_given() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2>; rel=\"next\", <https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=3>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2")
        );
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://x/?page=1>; rel=\"prev\", <https://x/?page=1>; rel=\"first\"",
            ),
        );
        assert_eq!(next_link(&h), None);
    }
}
