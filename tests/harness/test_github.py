"""Self-test of tests/harness/github.py, the fake GitHub issue-comment API.

Usage: test_github.py   (exits non-zero on the first failure)

Starts the fake on a free loopback port as a subprocess and drives it with urllib only.
"""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "test-token"
REPO = "acme/widgets"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fake:
    def __init__(self, *extra):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "github.py"), "--port", str(self.port), *extra],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        assert line == f"ready http://127.0.0.1:{self.port}", f"unexpected first line {line!r}"
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=10)
        assert rc == 0, f"fake exited {rc} on SIGTERM"

    def call(self, method, path, body=None, token=TOKEN, ua="slipway-test/1.0", headers=None, raw=None):
        """(status, headers, parsed body) for one request; never raises on HTTP errors."""
        url = path if path.startswith("http") else self.url + path
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", ua)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, hdrs, text = r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            status, hdrs, text = e.code, e.headers, e.read().decode()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return status, hdrs, parsed

    def control(self, method, path, body=None):
        status, _, out = self.call(method, path, body, token=None)
        assert status == 200, f"control {method} {path} -> {status} {out}"
        return out


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"  ok  {what}")


def parse_link(value):
    """{rel: url} from a Link header, checking the exact `<url>; rel="x", ...` shape."""
    parts = value.split(", ")
    out = {}
    for p in parts:
        m = re.fullmatch(r'<([^>]+)>; rel="(\w+)"', p)
        assert m, f"Link part not in GitHub's format: {p!r}"
        out[m.group(2)] = m.group(1)
    return out


def test_create_and_update(f):
    print("create / update in place")
    f.control("POST", "/_fake/reset")
    f.control("POST", "/_fake/seed", {"repo": REPO, "issue": 7, "comments": []})
    st, h, c = f.call("POST", f"/repos/{REPO}/issues/7/comments", {"body": "<!-- slipway -->\nplan: 3 to add"})
    check(st == 201, "POST comment -> 201")
    check(c["id"] == 1000, "first comment id is 1000")
    check(c["body"] == "<!-- slipway -->\nplan: 3 to add", "body echoed")
    check(c["user"] == {**c["user"], "login": "github-actions[bot]", "type": "Bot"}, "author is the token's bot user")
    check(set(c) >= {"id", "node_id", "body", "user", "created_at", "updated_at", "html_url", "url"}, "comment fields")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", c["created_at"]) is not None, "ISO 8601 Z timestamps")
    check(c["url"] == f"{f.url}/repos/{REPO}/issues/comments/1000", "url points at the fake")
    check(c["html_url"] == f"https://github.com/{REPO}/issues/7#issuecomment-1000", "html_url")
    check(h["Location"] == c["url"], "Location header on 201")
    st, _, c2 = f.call("POST", f"/repos/{REPO}/issues/7/comments", {"body": "second"})
    check(st == 201 and c2["id"] == 1001, "ids increase")

    st, _, u = f.call("PATCH", f"/repos/{REPO}/issues/comments/1000", {"body": "<!-- slipway -->\nplan: 0 to add"})
    check(st == 200, "PATCH -> 200")
    check(u["id"] == 1000 and u["body"].endswith("0 to add") and u["created_at"] == c["created_at"], "updated in place")
    comments = f.control("GET", f"/_fake/comments?repo={REPO}&issue=7")
    check([x["id"] for x in comments] == [1000, 1001], "no new comment from PATCH")
    check(comments[0]["body"].endswith("0 to add"), "control view sees the update")
    st, _, lst = f.call("GET", f"/repos/{REPO}/issues/7/comments")
    check(st == 200 and [x["id"] for x in lst] == [1000, 1001], "list returns both, oldest first")
    st, _, _ = f.call("GET", "/repos/ACME/Widgets/issues/7/comments")
    check(st == 200, "owner/repo are case-insensitive")


def test_pagination(f):
    print("pagination over 250 seeded comments")
    f.control("POST", "/_fake/reset")
    bodies = [{"body": f"noise {i}", "login": "someone"} for i in range(250)]
    bodies[210] = {"body": "<!-- slipway:plan -->\nmarker", "login": "github-actions[bot]"}
    seeded = f.control("POST", "/_fake/seed", {"repo": REPO, "issue": 7, "comments": bodies})
    check(seeded["total"] == 250 and seeded["comments"][0]["id"] == 1000, "seeded 250 from id 1000")

    url = f"/repos/{REPO}/issues/7/comments?per_page=100"
    pages, links = [], []
    while url:
        st, h, body = f.call("GET", url)
        assert st == 200, (st, body)
        pages.append(body)
        link = parse_link(h["Link"]) if h.get("Link") else {}
        links.append((h.get("Link"), link))
        url = link.get("next")
    check([len(p) for p in pages] == [100, 100, 50], "3 pages of 100, 100, 50 following rel=next")
    ids = [c["id"] for p in pages for c in p]
    check(ids == list(range(1000, 1250)), "every comment once, in order")
    repo_id = seeded["repo_id"]
    base = f"{f.url}/repositories/{repo_id}/issues/7/comments"
    check(
        links[0][0] == f'<{base}?per_page=100&page=2>; rel="next", <{base}?per_page=100&page=3>; rel="last"',
        "page 1 Link is exactly next, last",
    )
    check(list(links[1][1]) == ["prev", "next", "last", "first"], "page 2 Link has prev, next, last, first (GitHub's order)")
    check(list(links[2][1]) == ["prev", "first"], "last page has no next")
    marker = [c for c in pages[2] if c["body"].startswith("<!-- slipway:plan -->")]
    check(len(marker) == 1 and marker[0]["id"] == 1210 and marker[0]["user"]["type"] == "Bot", "marker found on page 3")

    st, h, body = f.call("GET", f"/repos/{REPO}/issues/7/comments")
    check(len(body) == 30 and "page=9" in parse_link(h["Link"])["last"], "default per_page is 30")
    st, h, body = f.call("GET", f"/repos/{REPO}/issues/7/comments?per_page=500")
    check(len(body) == 100, "per_page capped at 100")
    st, h, body = f.call("GET", f"/repos/{REPO}/issues/7/comments?per_page=100&page=4")
    check(st == 200 and body == [], "page past the end is an empty array")
    f.control("POST", "/_fake/seed", {"repo": REPO, "issue": 8, "comments": ["a", "b"]})
    st, h, body = f.call("GET", f"/repos/{REPO}/issues/8/comments?per_page=100")
    check(len(body) == 2 and h.get("Link") is None, "no Link header when everything fits")

    f2 = Fake("--link-style", "repos")
    try:
        f2.control("POST", "/_fake/seed", {"repo": REPO, "issue": 7, "comments": ["x"] * 3})
        st, h, _ = f2.call("GET", f"/repos/{REPO}/issues/7/comments?per_page=2")
        check(parse_link(h["Link"])["next"] == f"{f2.url}/repos/{REPO}/issues/7/comments?per_page=2&page=2",
              "--link-style repos keeps /repos/ URLs")
    finally:
        f2.stop()


def test_errors(f):
    print("errors")
    f.control("POST", "/_fake/reset")
    f.control("POST", "/_fake/seed", {"repo": REPO, "issue": 7})
    path = f"/repos/{REPO}/issues/7/comments"

    st, _, b = f.call("GET", path, token="wrong")
    check(st == 401 and b == {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                              "status": "401"}, "wrong token -> 401 Bad credentials")
    st, _, b = f.call("GET", path, headers={"Authorization": f"token {TOKEN}"}, token=None)
    check(st == 200, "`token <t>` scheme accepted")
    st, _, b = f.call("POST", path, {"body": "x"}, token=None)
    check(st == 401 and b["message"] == "Requires authentication", "missing token -> 401")
    conn = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})  # http.client adds no User-Agent
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    check(r.status == 403 and "User-Agent" in text, "no User-Agent header -> 403")
    st, _, b = f.call("GET", path, ua="")
    check(st == 403, "empty User-Agent -> 403")

    f.control("POST", "/_fake/fail", {"method": "GET", "status": 403, "rate_limit": True, "count": 1})
    st, h, b = f.call("GET", path)
    check(st == 403 and b["message"].startswith("API rate limit exceeded for "), "rate limit -> 403")
    check(h["x-ratelimit-remaining"] == "0" and int(h["x-ratelimit-reset"]) > time.time(), "rate limit headers")
    st, h, _ = f.call("GET", path)
    check(st == 200 and int(h["x-ratelimit-remaining"]) > 0, "rate limit injection used up after count")

    st, _, b = f.call("GET", f"/repos/{REPO}/issues/99/comments")
    check(st == 404 and b["message"] == "Not Found", "unknown issue -> 404")
    st, _, b = f.call("GET", "/repos/nobody/nothing/issues/7/comments")
    check(st == 404 and b["message"] == "Not Found", "unknown repo -> 404")
    st, _, b = f.call("POST", "/repos/nobody/nothing/issues/7/comments", {"body": "x"})
    check(st == 404, "POST to unknown repo -> 404")
    st, _, b = f.call("PATCH", f"/repos/{REPO}/issues/comments/424242", {"body": "x"})
    check(st == 404 and b["message"] == "Not Found", "PATCH unknown comment -> 404")

    f.control("POST", "/_fake/fail", {"method": "POST", "status": 502, "count": 2})
    f.control("POST", "/_fake/fail", {"method": "*", "status": 503, "count": 1, "message": "down for maintenance"})
    st, _, _ = f.call("GET", path)
    check(st == 503, "`*` failure matches GET")
    st1, _, b1 = f.call("POST", path, {"body": "x"})
    st2, _, _ = f.call("POST", path, {"body": "x"})
    st3, _, c = f.call("POST", path, {"body": "x"})
    check((st1, st2, st3) == (502, 502, 201) and "message" in b1, "502 twice, then success")
    check(f.control("GET", "/_fake/failures") == [], "no failures left pending")
    f.control("POST", "/_fake/fail", {"method": "PATCH", "status": 500})
    st, _, b = f.call("PATCH", f"/repos/{REPO}/issues/comments/{c['id']}", {"body": "y"})
    check(st == 500 and b["message"] == "Server Error", "500 on PATCH, default count 1")

    st, _, b = f.call("POST", path, {"body": "x" * 65537})
    check(st == 422 and b["message"] == "Validation Failed" and b["errors"] == [{
        "resource": "IssueComment", "code": "custom", "field": "body",
        "message": "body is too long (maximum is 65536 characters)"}], "65537 chars -> 422")
    st, _, _ = f.call("POST", path, {"body": "é" * 65536})
    check(st == 201, "exactly 65536 characters (multi-byte) accepted")
    st, _, b = f.call("PATCH", f"/repos/{REPO}/issues/comments/{c['id']}", {"body": "x" * 70000})
    check(st == 422, "PATCH too long -> 422")
    st, _, b = f.call("POST", path, raw=b"{not json")
    check(st == 400 and b["message"] == "Problems parsing JSON", "bad JSON -> 400")
    st, _, b = f.call("POST", path, {"text": "x"})
    check(st == 422 and "wasn't supplied" in b["message"], "missing body -> 422")


def test_request_log(f):
    print("request log")
    f.control("POST", "/_fake/reset")
    f.control("POST", "/_fake/seed", {"repo": REPO, "issue": 7})
    f.call("POST", f"/repos/{REPO}/issues/7/comments", {"body": "hello"})
    f.call("GET", f"/repos/{REPO}/issues/7/comments?per_page=50&page=1")
    f.call("GET", f"/repos/{REPO}/issues/7/comments", token="nope")
    log = f.control("GET", "/_fake/requests")
    check(len(log) == 3, "three API requests logged, control calls not")
    post, get, bad = log
    check(post["method"] == "POST" and post["path"] == f"/repos/{REPO}/issues/7/comments", "method and path")
    check(post["body"] == {"body": "hello"} and post["status"] == 201, "JSON body and status recorded")
    check(post["headers"]["authorization"] == "<redacted>" and post["authorized"] is True, "authorization redacted")
    check(TOKEN not in json.dumps(log), "token appears nowhere in the log")
    check(post["headers"]["accept"] == "application/vnd.github+json", "Accept recorded")
    check(post["headers"]["user-agent"] == "slipway-test/1.0", "User-Agent recorded")
    check(get["query"] == {"per_page": "50", "page": "1"} and get["body"] is None, "query recorded")
    check(bad["authorized"] is False and bad["status"] == 401, "unauthorized request recorded")
    f.control("DELETE", "/_fake/requests")
    check(f.control("GET", "/_fake/requests") == [], "log cleared")


def test_state_file():
    print("state file and lifecycle")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "state.json")
        f = Fake("--state", path, "--token", "other")
        try:
            f.control("POST", "/_fake/seed", {"repo": REPO, "issue": 3, "comments": ["one"]})
            st, _, _ = f.call("POST", f"/repos/{REPO}/issues/3/comments", {"body": "two"}, token="other")
            check(st == 201, "--token sets the valid token")
        finally:
            f.stop()
        f = Fake("--state", path, "--token", "other")
        try:
            st, _, body = f.call("GET", f"/repos/{REPO}/issues/3/comments", token="other")
            check([c["body"] for c in body] == ["one", "two"], "state survives a restart")
            st, _, c = f.call("POST", f"/repos/{REPO}/issues/3/comments", {"body": "three"}, token="other")
            check(c["id"] == 1002, "ids continue after a restart")
        finally:
            f.stop()

    # parent death: a shell parent that exits leaves the fake orphaned; it must exit on its own.
    port = free_port()
    script = os.path.join(HERE, "github.py")
    sh = subprocess.Popen(
        ["sh", "-c", f'"{sys.executable}" "{script}" --port {port} & echo $!; sleep 1'],
        stdout=subprocess.PIPE, text=True,
    )
    child = int(sh.stdout.readline())
    sh.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with open(f"/proc/{child}/stat") as st:
                if st.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break  # exited; whoever adopted it has not reaped it yet
        except FileNotFoundError:
            break
        time.sleep(0.2)
    else:
        os.kill(child, 15)
        raise AssertionError("fake outlived its parent")
    check(True, "exits when its parent dies")


def test_reviews_teams_and_viewer(f):
    f.control("POST", "/_fake/reset")
    status, _, _ = f.call("GET", f"/repos/{REPO}/pulls/7")
    check(status == 404, "an unknown pull request is 404")
    f.control("POST", "/_fake/pull", {"repo": REPO, "number": 7, "author": "ana", "head_sha": "c2"})
    status, _, pull = f.call("GET", f"/repos/{REPO}/pulls/7")
    check(status == 200 and pull["user"]["login"] == "ana" and pull["head"]["sha"] == "c2", f"the pull request: {pull}")
    reviews = [{"login": f"r{i}", "state": "APPROVED", "commit_id": "c2"} for i in range(3)]
    f.control("POST", "/_fake/reviews", {"repo": REPO, "number": 7, "reviews": reviews})
    status, hdrs, page = f.call("GET", f"/repos/{REPO}/pulls/7/reviews?per_page=2")
    check(status == 200 and [r["user"]["login"] for r in page] == ["r0", "r1"], f"first page of reviews: {page}")
    nxt = parse_link(hdrs.get("Link")).get("next")
    check(nxt and "/repositories/" in nxt, f"Link to the next page: {hdrs.get('Link')}")
    status, _, page = f.call("GET", nxt)
    check([r["user"]["login"] for r in page] == ["r2"] and page[0]["commit_id"] == "c2", f"second page: {page}")
    f.control("POST", "/_fake/team", {"org": "acme", "slug": "deployers", "members": {"Ana": "active", "bo": "pending"}})
    status, _, m = f.call("GET", "/orgs/acme/teams/deployers/memberships/ana")
    check(status == 200 and m["state"] == "active", f"an active member (login case ignored): {m}")
    status, _, m = f.call("GET", "/orgs/acme/teams/deployers/memberships/bo")
    check(m["state"] == "pending", "a pending member")
    status, _, _ = f.call("GET", "/orgs/acme/teams/deployers/memberships/cy")
    check(status == 404, "not a member is 404, as GitHub answers")
    status, _, v = f.call("POST", "/graphql", {"query": "query { viewer { login } }"})
    check(status == 200 and v["data"]["viewer"]["login"] == "github-actions[bot]", f"the token's login: {v}")
    status, _, _ = f.call("POST", "/graphql", {"query": "query { viewer { login } }"}, token="wrong")
    check(status == 401, "GraphQL needs the token too")
    check(True, "pull requests, reviews, team memberships and the viewer")


def main() -> int:
    f = Fake()
    try:
        test_create_and_update(f)
        test_pagination(f)
        test_errors(f)
        test_request_log(f)
        test_reviews_teams_and_viewer(f)
    finally:
        f.stop()
    test_state_file()
    print("all passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
