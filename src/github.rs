//! GitHub's REST API, for one thing: the plan comment on a pull request, created once and then
//! updated in place.
//!
//! Configuration is what GitHub Actions sets: `GITHUB_API_URL` (default api.github.com),
//! `GITHUB_REPOSITORY`, `GITHUB_TOKEN`, and `GITHUB_EVENT_PATH` for the PR number. The token is
//! only ever sent as a header; it is never printed, logged or part of an error.

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
    #[error("GitHub denied {what} (403 {message}): the token needs `pull-requests: write` (in a workflow: `permissions: pull-requests: write`)")]
    Forbidden { what: String, message: String },
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
    pub repository: String,
}

#[derive(Clone, Debug, Deserialize)]
struct Comment {
    id: u64,
    body: Option<String>,
    html_url: Option<String>,
}

/// What `upsert_comment` did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Posted {
    pub id: u64,
    pub url: Option<String>,
    /// True when a new comment was created, false when the marked one was updated.
    pub created: bool,
}

impl GitHub {
    /// From the environment Actions sets; `repository` overrides `GITHUB_REPOSITORY`.
    pub fn from_env(repository: Option<&str>) -> Result<GitHub, GitHubError> {
        let token = std::env::var("GITHUB_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or(GitHubError::Missing(
                "GITHUB_TOKEN",
                "in a workflow pass `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`",
            ))?;
        let repository = match repository {
            Some(r) => r.to_string(),
            None => std::env::var("GITHUB_REPOSITORY")
                .ok()
                .filter(|r| !r.is_empty())
                .ok_or(GitHubError::Missing(
                    "GITHUB_REPOSITORY",
                    "set it to owner/name, or pass --repository",
                ))?,
        };
        let api = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.github.com".to_string());
        GitHub::new(&api, &repository, &token)
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
        Ok(GitHub {
            http,
            api: api.trim_end_matches('/').to_string(),
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
                return check(resp, what).await;
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

    /// Creates the comment carrying `marker` on issue/PR `number`, or updates it in place.
    pub async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<Posted, GitHubError> {
        let mut url = Some(format!(
            "{}/repos/{}/issues/{number}/comments?per_page=100",
            self.api, self.repository
        ));
        let mut found = None;
        let what = format!("the comments of {}#{number}", self.repository);
        for _ in 0..MAX_PAGES {
            let Some(page_url) = url.take() else { break };
            let resp = self.send(&what, true, || self.http.get(&page_url)).await?;
            url = next_link(resp.headers());
            if let Some(next) = &url {
                if !same_origin(next, &self.api) {
                    return Err(GitHubError::ForeignLink {
                        url: next.clone(),
                        api: self.api.clone(),
                    });
                }
            }
            let comments: Vec<Comment> = resp.json().await.map_err(|e| GitHubError::Rejected {
                what: what.clone(),
                status: 200,
                message: format!("unreadable answer: {e}"),
            })?;
            if let Some(c) = comments
                .into_iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
            {
                found = Some(c);
                break;
            }
        }
        let payload = serde_json::json!({ "body": body });
        let (resp, created) = match &found {
            Some(c) => {
                let target = format!(
                    "{}/repos/{}/issues/comments/{}",
                    self.api, self.repository, c.id
                );
                let what = format!("the update of comment {}", c.id);
                (
                    self.send(&what, true, || self.http.patch(&target).json(&payload))
                        .await?,
                    false,
                )
            }
            None => {
                let target = format!(
                    "{}/repos/{}/issues/{number}/comments",
                    self.api, self.repository
                );
                let what = format!("a new comment on {}#{number}", self.repository);
                (
                    self.send(&what, false, || self.http.post(&target).json(&payload))
                        .await?,
                    true,
                )
            }
        };
        let c: Comment = resp.json().await.map_err(|e| GitHubError::Rejected {
            what: "the comment".into(),
            status: 200,
            message: format!("unreadable answer: {e}"),
        })?;
        Ok(Posted {
            id: c.id,
            url: c.html_url,
            created,
        })
    }
}

/// Maps GitHub's error statuses to errors that say what to do.
async fn check(resp: reqwest::Response, what: &str) -> Result<reqwest::Response, GitHubError> {
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
        403 => GitHubError::Forbidden { what, message },
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

/// The pull request number of the event that started the workflow (`GITHUB_EVENT_PATH`).
pub fn pr_from_event() -> Result<u64, GitHubError> {
    let path = std::env::var("GITHUB_EVENT_PATH").map_err(|_| {
        GitHubError::Missing(
            "GITHUB_EVENT_PATH",
            "outside GitHub Actions pass --pr NUMBER",
        )
    })?;
    let text = std::fs::read_to_string(&path).map_err(|e| GitHubError::Event {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| GitHubError::Event {
        path: path.clone(),
        message: e.to_string(),
    })?;
    v["pull_request"]["number"]
        .as_u64()
        .or_else(|| v["issue"]["number"].as_u64())
        .or_else(|| v["number"].as_u64())
        .ok_or(GitHubError::Event {
            path,
            message: "the event has no pull request number (is this a pull_request workflow?); pass --pr NUMBER".into(),
        })
}

/// Appends Markdown to the job summary when `GITHUB_STEP_SUMMARY` is set.
pub fn append_step_summary(markdown: &str) -> std::io::Result<bool> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
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
