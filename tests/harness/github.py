"""A local fake of GitHub's REST API (version 2022-11-28): the endpoints slipway calls.

Usage: github.py --port N [--state FILE] [--token T] [--login L] [--link-style repositories|repos]

Prints `ready http://127.0.0.1:N` once listening, then serves HTTP/1.1 until SIGTERM/SIGINT or
until its parent dies (it polls, so a killed test run leaves nothing behind). Standard library
only, so it needs nothing from the harness venv.

GitHub endpoints (also reachable as /repositories/{repo_id}/..., the form GitHub itself uses in
Link headers):
  GET   /repos/{owner}/{repo}/issues/{number}/comments?per_page=P&page=K[&since=ISO]
  POST  /repos/{owner}/{repo}/issues/{number}/comments          {"body": "..."}  -> 201
  PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}      {"body": "..."}  -> 200
  GET   /repos/{owner}/{repo}/pulls/{number}                     the pull request (author, head)
  GET   /repos/{owner}/{repo}/pulls/{number}/reviews?per_page=P&page=K
  GET   /orgs/{org}/teams/{team_slug}/memberships/{username}      200 {state, role} or 404
  POST  /graphql  (and /api/graphql)  {"query": "query { viewer { login } }"}: the token's login

Control API (not GitHub's; no auth, not recorded in the request log):
  POST   /_fake/seed      {"repo": "o/n", "issue": 7, "comments": [{"body", "login"?, "type"?}],
                           "pull": bool?, "repo_id": int?}
  POST   /_fake/pull      {"repo": "o/n", "number": 7, "author": "ana", "head_sha": "...",
                           "state"?: "open", "labels"?: ["name", ...]}  (creates the issue as a pull request if needed)
  POST   /_fake/reviews   {"repo": "o/n", "number": 7, "reviews": [{"login", "state", "commit_id",
                           "submitted_at"?}]}  appended, in order
  POST   /_fake/team      {"org": "acme", "slug": "deployers", "members": {"ana": "active",
                           "bo": "pending"}}  replaces the team's memberships
  POST   /_fake/fail      {"method": "GET"|"POST"|"PATCH"|"*", "status": N, "count": 1,
                           "message"?, "path"? (regex), "rate_limit"?, "secondary"?,
                           "retry_after"?, "reset_in"?, "delay_ms"?}
  GET    /_fake/failures  the injected failures still pending
  GET    /_fake/requests  every GitHub-API request received, oldest first
  DELETE /_fake/requests  clear that log
  GET    /_fake/comments?repo=o/n&issue=7
  POST   /_fake/reset     forget everything (repos, comments, failures, log; ids restart at 1000)

Deliberately not emulated: unauthenticated reads of public repos (every request needs the token),
Basic auth, media types other than JSON (body_html/body_text), reactions, locked issues, and
deleting comments.
"""

import argparse
import base64
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSION = "2022-11-28"
MAX_BODY = 65536
FIRST_COMMENT_ID = 1000
FIRST_REPO_ID = 700000
DOCS = "https://docs.github.com/rest"
DOC_LIST = "https://docs.github.com/rest/issues/comments#list-issue-comments"
DOC_CREATE = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
DOC_UPDATE = "https://docs.github.com/rest/issues/comments#update-an-issue-comment"
DOC_RATE = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
UA_MESSAGE = (
    "Request forbidden by administrative rules. Please make sure your request has a User-Agent "
    "header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). "
    "Check https://developer.github.com for other possible causes.\n"
)
REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    409: "Conflict", 410: "Gone", 422: "Unprocessable Entity", 429: "Too Many Requests",
    500: "Server Error", 502: "Server Error", 503: "Service Unavailable", 504: "Gateway Timeout",
}
RATE_LIMIT = 5000


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def error(status, message, doc=DOCS, **extra):
    body = {"message": message, "documentation_url": doc, "status": str(status)}
    body.update(extra)
    return body


class State:
    """Everything the fake knows; one lock guards it all."""

    def __init__(self, path=None):
        self.lock = threading.RLock()
        self.path = path
        self.requests = []
        self.failures = []
        self.rate_used = 0
        self.rate_reset = int(time.time()) + 3600
        self.clear()
        if path and os.path.exists(path):
            with open(path) as f:
                saved = json.load(f)
            self.repos = saved["repos"]
            self.next_comment_id = saved["next_comment_id"]
            self.next_repo_id = saved["next_repo_id"]
            self.teams = saved.get("teams", {})

    def clear(self):
        # repos: lower-cased "owner/name" -> {"full_name", "id", "issues": {"7": {"pull", "comments": [...]}},
        #         "pulls": {"7": {"author", "head_sha", "state", "reviews": [...]}}}
        self.repos = {}
        # teams: "org/slug" (lower-cased) -> {login (lower-cased): "active" | "pending"}
        self.teams = {}
        self.next_review_id = 5000
        self.next_comment_id = FIRST_COMMENT_ID
        self.next_repo_id = FIRST_REPO_ID

    def save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(
                {"repos": self.repos, "next_comment_id": self.next_comment_id, "next_repo_id": self.next_repo_id,
                 "teams": self.teams},
                f,
            )
        os.replace(tmp, self.path)

    def repo(self, full_name, create=False, repo_id=None):
        key = full_name.lower()
        r = self.repos.get(key)
        if r is None and create:
            if repo_id is None:
                repo_id = self.next_repo_id
                self.next_repo_id += 1
            r = self.repos[key] = {"full_name": full_name, "id": int(repo_id), "issues": {}}
        return r

    def repo_by_id(self, repo_id):
        for r in self.repos.values():
            if str(r["id"]) == str(repo_id):
                return r
        return None

    def new_comment(self, repo, number, body, login, type_=None):
        cid = self.next_comment_id
        self.next_comment_id += 1
        ts = now_iso()
        return {
            "id": cid,
            "issue": number,
            "body": body,
            "login": login,
            "type": type_ or ("Bot" if login.endswith("[bot]") else "User"),
            "created_at": ts,
            "updated_at": ts,
        }

    def find_comment(self, repo, comment_id):
        for number, issue in repo["issues"].items():
            for c in issue["comments"]:
                if c["id"] == comment_id:
                    return issue, c
        return None, None

    def take_failure(self, method, path):
        for f in self.failures:
            if f["method"] not in ("*", method):
                continue
            if f.get("path") and not re.search(f["path"], path):
                continue
            f["count"] -= 1
            if f["count"] <= 0:
                self.failures.remove(f)
            return f
        return None


def render(repo, issue_pull, c, base):
    """A stored comment as GitHub returns it. API URLs point at this fake (like a GHES host would)."""
    full = repo["full_name"]
    kind = "pull" if issue_pull else "issues"
    node = base64.b64encode(f"012:IssueComment{c['id']}".encode()).decode().rstrip("=")
    return {
        "url": f"{base}/repos/{full}/issues/comments/{c['id']}",
        "html_url": f"https://github.com/{full}/{kind}/{c['issue']}#issuecomment-{c['id']}",
        "issue_url": f"{base}/repos/{full}/issues/{c['issue']}",
        "id": c["id"],
        "node_id": f"IC_{node}",
        "user": {
            "login": c["login"],
            "id": 1 + (sum(map(ord, c["login"])) % 100000),
            "type": c["type"],
            "site_admin": False,
        },
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
        "author_association": "NONE" if c["type"] == "Bot" else "MEMBER",
        "body": c["body"],
        "performed_via_github_app": None,
    }


ROUTES = [
    ("comments", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/([^/]+)/comments/?$")),
    ("comments", re.compile(r"^/repositories/(\d+)/issues/([^/]+)/comments/?$")),
    ("comment", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/([^/]+)/?$")),
    ("comment", re.compile(r"^/repositories/(\d+)/issues/comments/([^/]+)/?$")),
    ("pull", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls/([^/]+)/?$")),
    ("reviews", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls/([^/]+)/reviews/?$")),
    ("reviews", re.compile(r"^/repositories/(\d+)/pulls/([^/]+)/reviews/?$")),
]
MEMBERSHIP = re.compile(r"^/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)/?$")
GRAPHQL_PATHS = ("/graphql", "/api/graphql")
DOC_PULL = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request"
DOC_REVIEWS = "https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request"
DOC_MEMBERSHIP = "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""

    # quiet: tests read the request log instead
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # --- plumbing -------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.server.state

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def base_url(self) -> str:
        return "http://" + (self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}")

    def send(self, status, body, headers=None, content_type="application/json; charset=utf-8"):
        if isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body, indent=2).encode()
        if getattr(self, "entry", None) is not None:
            self.entry["status"] = status  # before the client can see the response and read the log
        self.send_response(status, REASONS.get(status))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def rate_headers(self, remaining=None, reset=None):
        st = self.state
        if time.time() >= st.rate_reset:
            st.rate_used, st.rate_reset = 0, int(time.time()) + 3600
        if remaining is None:
            remaining = max(0, RATE_LIMIT - st.rate_used)
        return {
            "X-RateLimit-Limit": RATE_LIMIT,
            "X-RateLimit-Remaining": remaining,
            "X-RateLimit-Reset": reset if reset is not None else st.rate_reset,
            "X-RateLimit-Used": RATE_LIMIT - remaining,
            "X-RateLimit-Resource": "core",
        }

    def dispatch(self):
        self.entry = None
        raw = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        path, query_string = url.path, url.query
        if path.startswith("/_fake/"):
            with self.state.lock:
                try:
                    return self.control(path, query_string, raw)
                except (ValueError, KeyError, TypeError) as e:
                    return self.send(400, {"message": f"bad control request: {e!r}"})
        entry = {
            "seq": None,
            "time": time.time(),
            "method": self.command,
            "path": path,
            "query": {k: (v[0] if len(v) == 1 else v) for k, v in urllib.parse.parse_qs(query_string).items()},
            "query_string": query_string,
            "headers": {
                k.lower(): ("<redacted>" if k.lower() == "authorization" else v) for k, v in self.headers.items()
            },
            "authorized": self.token_ok() is True,
            "body": None,
            "status": None,
        }
        if raw:
            text = raw.decode("utf-8", "replace")
            try:
                entry["body"] = json.loads(text)
            except ValueError:
                entry["body"] = text
        with self.state.lock:
            entry["seq"] = len(self.state.requests) + 1
            self.state.requests.append(entry)
        self.entry = entry
        self.api(path, query_string, raw)

    def token_ok(self):
        """True if the token is right, False if wrong or malformed, None if absent."""
        auth = self.headers.get("Authorization")
        if auth is None:
            return None
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return False
        return token.strip() == self.server.token

    # --- the GitHub API -------------------------------------------------------------------

    def api(self, path, query_string, raw):
        st = self.state
        if not (self.headers.get("User-Agent") or "").strip():
            return self.send(403, UA_MESSAGE, content_type="text/plain; charset=utf-8")

        with st.lock:
            fail = st.take_failure(self.command, path)
        if fail:
            return self.injected(fail)

        version = self.headers.get("X-GitHub-Api-Version")
        if version is not None and version != API_VERSION:
            return self.send(400, error(
                400, f"API version '{version}' is not supported.", "https://docs.github.com/rest/overview/api-versions"
            ))

        ok = self.token_ok()
        if ok is not True:
            msg = "Requires authentication" if ok is None else "Bad credentials"
            return self.send(401, error(401, msg))

        with st.lock:
            st.rate_used += 1
            rl = self.rate_headers()
            rl["X-GitHub-Api-Version-Selected"] = API_VERSION
            rl["X-GitHub-Media-Type"] = "github.v3; format=json"
            if path in GRAPHQL_PATHS and self.command == "POST":
                return self.graphql(raw, rl)
            m = MEMBERSHIP.match(path)
            if m and self.command == "GET":
                org, slug, login = (urllib.parse.unquote(g) for g in m.groups())
                state = st.teams.get(f"{org}/{slug}".lower(), {}).get(login.lower())
                if state is None:
                    return self.send(404, error(404, "Not Found", DOC_MEMBERSHIP), rl)
                return self.send(200, {
                    "url": f"{self.base_url()}/organizations/1/team/1/memberships/{login}",
                    "role": "member",
                    "state": state,
                }, rl)
            for kind, rx in ROUTES:
                m = rx.match(path)
                if not m:
                    continue
                groups = m.groups()
                if len(groups) == 3:
                    repo = st.repo(f"{urllib.parse.unquote(groups[0])}/{urllib.parse.unquote(groups[1])}")
                    arg = groups[2]
                else:
                    repo = st.repo_by_id(groups[0])
                    arg = groups[1]
                if kind == "comments" and self.command == "GET":
                    return self.list_comments(repo, arg, query_string, rl)
                if kind == "comments" and self.command == "POST":
                    return self.create_comment(repo, arg, raw, rl)
                if kind == "comment" and self.command == "PATCH":
                    return self.update_comment(repo, arg, raw, rl)
                if kind == "pull" and self.command == "GET":
                    return self.get_pull(repo, arg, rl)
                if kind == "reviews" and self.command == "GET":
                    return self.list_reviews(repo, arg, query_string, rl)
                break
            return self.send(404, error(404, "Not Found"), rl)

    def injected(self, f):
        if f.get("delay_ms"):
            time.sleep(f["delay_ms"] / 1000)
        status = f["status"]
        headers = {}
        if f.get("rate_limit"):
            reset = int(time.time()) + int(f.get("reset_in", 60))
            headers = self.rate_headers(remaining=0, reset=reset)
            message = f.get("message") or (
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
                "please include the request ID 0000:0000:0000000:0000000:00000000."
            )
            body = error(status, message, DOC_RATE)
        elif f.get("secondary"):
            headers = {"Retry-After": int(f.get("retry_after", 60))}
            message = f.get("message") or (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                "If you reach out to GitHub Support for help, please include the request ID "
                "0000:0000:0000000:0000000:00000000."
            )
            body = error(status, message, DOC_RATE)
        else:
            body = error(status, f.get("message") or REASONS.get(status, "Error"))
        if f.get("retry_after") is not None:
            headers["Retry-After"] = int(f["retry_after"])
        return self.send(status, body, headers)

    def issue(self, repo, number):
        if repo is None or not re.fullmatch(r"\d+", number):
            return None
        return repo["issues"].get(str(int(number)))

    def parse_comment_body(self, raw, doc, rl):
        """The validated body string, or None after sending the error GitHub would."""
        try:
            payload = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            self.send(400, error(400, "Problems parsing JSON", doc), rl)
            return None
        if not isinstance(payload, dict):
            self.send(400, error(400, "Problems parsing JSON", doc), rl)
            return None
        if "body" not in payload:
            self.send(422, error(422, "Invalid request.\n\n\"body\" wasn't supplied.", doc), rl)
            return None
        body = payload["body"]
        if not isinstance(body, str):
            self.send(422, error(422, f"Invalid request.\n\nFor 'properties/body', {json.dumps(body)} is not a string.", doc), rl)
            return None
        if len(body) > MAX_BODY:
            self.send(422, error(422, "Validation Failed", doc, errors=[{
                "resource": "IssueComment",
                "code": "custom",
                "field": "body",
                "message": f"body is too long (maximum is {MAX_BODY} characters)",
            }]), rl)
            return None
        return body

    def list_comments(self, repo, number, query_string, rl):
        issue = self.issue(repo, number)
        if issue is None:
            return self.send(404, error(404, "Not Found", DOC_LIST), rl)
        q = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
        qd = dict(q)

        def num(name, default):
            try:
                v = int(qd.get(name, ""))
            except ValueError:
                return default
            return v if v >= 1 else default

        per_page = min(num("per_page", 30), 100)
        page = num("page", 1)
        comments = issue["comments"]
        since = qd.get("since")
        if since:
            comments = [c for c in comments if c["updated_at"] >= since.replace("+00:00", "Z")]
        total = len(comments)
        last = max(1, -(-total // per_page))
        chunk = comments[(page - 1) * per_page: page * per_page]
        body = [render(repo, issue["pull"], c, self.base_url()) for c in chunk]

        headers = dict(rl)
        if total > per_page:
            # GitHub's Link points at /repositories/{id}/... and keeps the caller's query, page last.
            if self.server.link_style == "repositories":
                link_path = f"/repositories/{repo['id']}/issues/{int(number)}/comments"
            else:
                link_path = f"/repos/{repo['full_name']}/issues/{int(number)}/comments"

            def link(p):
                params = [(k, v) for k, v in q if k != "page"] + [("page", str(p))]
                return f"<{self.base_url()}{link_path}?{urllib.parse.urlencode(params)}>"

            rels = []
            if page > 1:
                rels.append(f'{link(min(page - 1, last))}; rel="prev"')
            if page < last:
                rels.append(f'{link(page + 1)}; rel="next"')
                rels.append(f'{link(last)}; rel="last"')
            if page > 1:
                rels.append(f'{link(1)}; rel="first"')
            headers["Link"] = ", ".join(rels)
        return self.send(200, body, headers)

    def create_comment(self, repo, number, raw, rl):
        issue = self.issue(repo, number)
        if issue is None:
            return self.send(404, error(404, "Not Found", DOC_CREATE), rl)
        body = self.parse_comment_body(raw, DOC_CREATE, rl)
        if body is None:
            return
        c = self.state.new_comment(repo, int(number), body, self.server.login)
        issue["comments"].append(c)
        self.state.save()
        out = render(repo, issue["pull"], c, self.base_url())
        return self.send(201, out, dict(rl, Location=out["url"]))

    def update_comment(self, repo, comment_id, raw, rl):
        issue, c = (None, None)
        if repo is not None and re.fullmatch(r"\d+", comment_id):
            issue, c = self.state.find_comment(repo, int(comment_id))
        if c is None:
            return self.send(404, error(404, "Not Found", DOC_UPDATE), rl)
        body = self.parse_comment_body(raw, DOC_UPDATE, rl)
        if body is None:
            return
        c["body"] = body
        c["updated_at"] = now_iso()
        self.state.save()
        return self.send(200, render(repo, issue["pull"], c, self.base_url()), rl)

    def graphql(self, raw, rl):
        """Only the viewer query: who the token is (an App token's bot login included)."""
        try:
            query = json.loads(raw.decode("utf-8"))["query"]
        except (ValueError, KeyError, TypeError):
            return self.send(400, {"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"}, rl)
        if "viewer" not in query:
            return self.send(200, {"errors": [{"message": "this fake answers the viewer query only"}]}, rl)
        return self.send(200, {"data": {"viewer": {"login": self.server.login}}}, rl)

    def get_pull(self, repo, number, rl):
        pull = repo and re.fullmatch(r"\d+", number) and repo.get("pulls", {}).get(str(int(number)))
        if not pull:
            return self.send(404, error(404, "Not Found", DOC_PULL), rl)
        full = repo["full_name"]
        return self.send(200, {
            "url": f"{self.base_url()}/repos/{full}/pulls/{int(number)}",
            "number": int(number),
            "state": pull["state"],
            "user": {"login": pull["author"], "type": "User"},
            "head": {"sha": pull["head_sha"], "ref": pull.get("head_ref", "feature")},
            "base": {"ref": "main"},
            # GitHub's label objects; slipway reads only the names.
            "labels": [{"id": 7000 + i, "name": n, "color": "ededed", "default": False}
                       for i, n in enumerate(pull.get("labels", []))],
            "html_url": f"https://github.com/{full}/pull/{int(number)}",
        }, rl)

    def list_reviews(self, repo, number, query_string, rl):
        pull = repo and re.fullmatch(r"\d+", number) and repo.get("pulls", {}).get(str(int(number)))
        if not pull:
            return self.send(404, error(404, "Not Found", DOC_REVIEWS), rl)
        q = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
        qd = dict(q)
        per_page = min(int(qd.get("per_page", 30) or 30), 100)
        page = max(int(qd.get("page", 1) or 1), 1)
        reviews = pull.get("reviews", [])
        last = max(1, -(-len(reviews) // per_page))
        chunk = reviews[(page - 1) * per_page: page * per_page]
        body = [{
            "id": r["id"],
            "user": {"login": r["login"], "type": "User"},
            "body": r.get("body", ""),
            "state": r["state"],
            "commit_id": r["commit_id"],
            "submitted_at": r.get("submitted_at"),
            "author_association": "MEMBER",
        } for r in chunk]
        headers = dict(rl)
        if page < last:
            params = [(k, v) for k, v in q if k != "page"] + [("page", str(page + 1))]
            headers["Link"] = (
                f'<{self.base_url()}/repositories/{repo["id"]}/pulls/{int(number)}/reviews?'
                f'{urllib.parse.urlencode(params)}>; rel="next"'
            )
        return self.send(200, body, headers)

    # --- control API ----------------------------------------------------------------------

    def control(self, path, query_string, raw):
        st = self.state
        payload = json.loads(raw) if raw else {}
        q = dict(urllib.parse.parse_qsl(query_string))
        route = (self.command, path.rstrip("/"))
        if route == ("POST", "/_fake/seed"):
            full = payload["repo"]
            if not re.fullmatch(r"[^/\s]+/[^/\s]+", full):
                raise ValueError("repo must be owner/name")
            repo = st.repo(full, create=True, repo_id=payload.get("repo_id"))
            number = int(payload["issue"])
            issue = repo["issues"].setdefault(str(number), {"pull": bool(payload.get("pull", False)), "comments": []})
            if "pull" in payload:
                issue["pull"] = bool(payload["pull"])
            added = []
            for item in payload.get("comments", []):
                if isinstance(item, str):
                    item = {"body": item}
                c = st.new_comment(repo, number, item["body"], item.get("login", "octocat"), item.get("type"))
                issue["comments"].append(c)
                added.append(render(repo, issue["pull"], c, self.base_url()))
            st.save()
            return self.send(200, {
                "repo": repo["full_name"], "repo_id": repo["id"], "issue": number,
                "total": len(issue["comments"]), "comments": added,
            })
        if route == ("POST", "/_fake/pull"):
            repo = st.repo(payload["repo"], create=True)
            number = int(payload["number"])
            issue = repo["issues"].setdefault(str(number), {"pull": True, "comments": []})
            issue["pull"] = True
            pulls = repo.setdefault("pulls", {})
            pull = pulls.setdefault(str(number), {"reviews": []})
            pull.update({
                "author": payload["author"],
                "head_sha": payload["head_sha"],
                "state": payload.get("state", "open"),
                "labels": list(payload.get("labels", [])),
            })
            st.save()
            return self.send(200, {"repo": repo["full_name"], "number": number, "pull": pull})
        if route == ("POST", "/_fake/reviews"):
            repo = st.repo(payload["repo"])
            pull = repo and repo.get("pulls", {}).get(str(int(payload["number"])))
            if not pull:
                return self.send(404, {"message": "seed the pull request first (/_fake/pull)"})
            for r in payload.get("reviews", []):
                pull["reviews"].append({
                    "id": st.next_review_id,
                    "login": r["login"],
                    "state": r["state"],
                    "commit_id": r["commit_id"],
                    "submitted_at": r.get("submitted_at") or now_iso(),
                })
                st.next_review_id += 1
            st.save()
            return self.send(200, {"reviews": pull["reviews"]})
        if route == ("POST", "/_fake/team"):
            members = {k.lower(): v for k, v in payload.get("members", {}).items()}
            if any(v not in ("active", "pending") for v in members.values()):
                raise ValueError("membership state must be active or pending")
            st.teams[f"{payload['org']}/{payload['slug']}".lower()] = members
            st.save()
            return self.send(200, {"team": f"{payload['org']}/{payload['slug']}", "members": members})
        if route == ("POST", "/_fake/fail"):
            method = str(payload.get("method", "*")).upper()
            status = int(payload.get("status", 403 if payload.get("rate_limit") else 500))
            f = {"method": method, "status": status, "count": int(payload.get("count", 1))}
            for k in ("message", "path", "rate_limit", "secondary", "retry_after", "reset_in", "delay_ms"):
                if k in payload:
                    f[k] = payload[k]
            if f["count"] > 0:
                st.failures.append(f)
            return self.send(200, {"pending": st.failures})
        if route == ("GET", "/_fake/failures"):
            return self.send(200, st.failures)
        if route == ("GET", "/_fake/requests"):
            return self.send(200, st.requests)
        if route == ("DELETE", "/_fake/requests"):
            st.requests.clear()
            return self.send(200, {"ok": True})
        if route == ("GET", "/_fake/comments"):
            repo = st.repo(q["repo"])
            issue = repo and repo["issues"].get(str(int(q["issue"])))
            if issue is None:
                return self.send(404, {"message": "Not Found"})
            return self.send(200, [render(repo, issue["pull"], c, self.base_url()) for c in issue["comments"]])
        if route == ("POST", "/_fake/reset"):
            st.clear()
            st.failures.clear()
            st.requests.clear()
            st.rate_used = 0
            st.save()
            return self.send(200, {"ok": True})
        return self.send(404, {"message": "Not Found"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state", help="JSON file: loaded at start if present, rewritten after every change")
    ap.add_argument("--token", default="test-token", help="the one valid token (default: test-token)")
    ap.add_argument("--login", default="github-actions[bot]", help="author of comments created through the API")
    ap.add_argument(
        "--link-style", choices=("repositories", "repos"), default="repositories",
        help="Link header URLs as /repositories/{id}/... (GitHub's own, default) or /repos/{owner}/{repo}/...",
    )
    args = ap.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args.state)
    server.token = args.token
    server.login = args.login
    server.link_style = args.link_style
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    print(f"ready http://127.0.0.1:{server.server_address[1]}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:
            break
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
