"""GitHub REST objects for the stand-in: scenario objects completed with the fields the API returns.

Scenario files hold trimmed objects (a user with a login and an id, a pull request without its
URL templates); these helpers fill in what ``api.github.com`` would send, without overwriting
anything the scenario says, so answers validate against the contract's schemas.
"""

from __future__ import annotations

import copy
import hashlib
import zlib
from typing import Any

API = "https://api.github.com"
WEB = "https://github.com"
UPLOADS = "https://uploads.github.com"
EPOCH = "2020-01-01T00:00:00Z"


def _fill(target: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    for key, value in defaults.items():
        target.setdefault(key, value)
    return target


def _num(text: str) -> int:
    return zlib.crc32(text.encode()) or 1


def user(value: Any) -> Any:
    """A ``simple-user`` (``None`` stays ``None``)."""
    if not isinstance(value, dict):
        return value
    out = copy.deepcopy(value)
    login = str(out.get("login") or "ghost")
    url = f"{API}/users/{login}"
    return _fill(
        out,
        {
            "login": login,
            "id": _num(login),
            "node_id": f"U_{_num(login)}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{_num(login)}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{WEB}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": "User",
            "site_admin": False,
        },
    )


def repository(full_name: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``repository`` object for ``owner/name``."""
    owner, _, name = full_name.partition("/")
    url = f"{API}/repos/{full_name}"
    out = copy.deepcopy(given or {})
    out.pop("owner", None)
    templates = {
        "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
        "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
        "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
        "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
        "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
        "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
        "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
        "git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
        "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}",
        "labels_url": "/labels{/name}", "languages_url": "/languages", "merges_url": "/merges",
        "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
        "pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "stargazers_url": "/stargazers",
        "statuses_url": "/statuses/{sha}", "subscribers_url": "/subscribers", "subscription_url": "/subscription",
        "tags_url": "/tags", "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
    }  # fmt: skip
    defaults: dict[str, Any] = {key: url + suffix for key, suffix in templates.items()}
    defaults.update(
        {
            "id": _num(full_name), "node_id": f"R_{_num(full_name)}", "name": name, "full_name": full_name,
            "owner": user({"login": owner, "type": "Organization"}), "private": True, "description": None,
            "fork": False, "url": url, "html_url": f"{WEB}/{full_name}", "clone_url": f"{WEB}/{full_name}.git",
            "git_url": f"git://github.com/{full_name}.git", "ssh_url": f"git@github.com:{full_name}.git",
            "svn_url": f"{WEB}/{full_name}", "mirror_url": None, "homepage": None, "language": "Python",
            "default_branch": "main", "forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0,
            "watchers_count": 0, "open_issues": 0, "open_issues_count": 0, "size": 1024, "has_downloads": True,
            "has_issues": True, "has_projects": False, "has_wiki": False, "has_pages": False, "archived": False,
            "disabled": False, "license": None, "pushed_at": EPOCH, "created_at": EPOCH, "updated_at": EPOCH,
            "visibility": "private",
        }
    )  # fmt: skip
    return _fill(out, defaults)


def deployment(value: dict[str, Any], full_name: str) -> dict[str, Any]:
    """A ``deployment``."""
    out = copy.deepcopy(value)
    url = f"{API}/repos/{full_name}/deployments/{out.get('id')}"
    out["creator"] = user(out.get("creator"))
    stamp = out.get("created_at", EPOCH)
    return _fill(
        out,
        {
            "url": url, "node_id": f"DE_{out.get('id')}", "ref": "main", "task": "deploy", "payload": {},
            "environment": "production", "original_environment": out.get("environment", "production"),
            "description": None, "creator": None, "created_at": stamp, "updated_at": stamp,
            "statuses_url": f"{url}/statuses", "repository_url": f"{API}/repos/{full_name}",
        },
    )  # fmt: skip


def status(value: dict[str, Any], full_name: str, deployment_id: str) -> dict[str, Any]:
    """A ``deployment-status``."""
    out = copy.deepcopy(value)
    deployment_url = f"{API}/repos/{full_name}/deployments/{deployment_id}"
    out["creator"] = user(out.get("creator"))
    stamp = out.get("created_at", EPOCH)
    return _fill(
        out,
        {
            "url": f"{deployment_url}/statuses/{out.get('id')}", "node_id": f"DES_{out.get('id')}",
            "description": "", "target_url": "", "environment_url": "", "log_url": "", "creator": None,
            "created_at": stamp, "updated_at": stamp, "deployment_url": deployment_url,
            "repository_url": f"{API}/repos/{full_name}",
        },
    )  # fmt: skip


def commit(value: dict[str, Any], full_name: str) -> dict[str, Any]:
    """A ``commit`` (without ``files``, as in a comparison's commit list)."""
    out = copy.deepcopy(value)
    out.pop("files", None)
    sha = str(out.get("sha"))
    url = f"{API}/repos/{full_name}/commits/{sha}"
    inner = out.setdefault("commit", {})
    _fill(inner, {"url": f"{API}/repos/{full_name}/git/commits/{sha}", "message": "", "comment_count": 0})
    inner.setdefault("author", None)
    inner.setdefault("committer", inner.get("author"))
    tree_sha = hashlib.sha1(sha.encode()).hexdigest()
    inner.setdefault("tree", {"sha": tree_sha, "url": f"{API}/repos/{full_name}/git/trees/{tree_sha}"})
    out["author"] = user(out.get("author"))
    out["committer"] = user(out.get("committer"))
    parents = [dict(p) for p in out.get("parents") or []]
    for p in parents:
        p.setdefault("url", f"{API}/repos/{full_name}/commits/{p.get('sha')}")
    out["parents"] = parents
    return _fill(
        out,
        {
            "url": url, "node_id": f"C_{sha[:12]}", "html_url": f"{WEB}/{full_name}/commit/{sha}",
            "comments_url": f"{url}/comments", "author": None, "committer": None,
        },
    )  # fmt: skip


def diff_entry(value: dict[str, Any], full_name: str, head: str) -> dict[str, Any]:
    """A ``diff-entry`` (a changed file of a comparison)."""
    out = copy.deepcopy(value)
    name = str(out.get("filename"))
    return _fill(
        out,
        {
            "sha": hashlib.sha1(name.encode()).hexdigest(), "status": "modified", "additions": 0, "deletions": 0,
            "changes": 0, "blob_url": f"{WEB}/{full_name}/blob/{head}/{name}",
            "raw_url": f"{WEB}/{full_name}/raw/{head}/{name}",
            "contents_url": f"{API}/repos/{full_name}/contents/{name}?ref={head}",
        },
    )  # fmt: skip


def comparison(
    full_name: str,
    base: str,
    head: str,
    base_commit: dict[str, Any],
    commits: list[dict[str, Any]],
    files: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """A ``commit-comparison``: commits oldest first, changed files on the one page."""
    basehead = f"{base}...{head}"
    return {
        "url": f"{API}/repos/{full_name}/compare/{basehead}",
        "html_url": f"{WEB}/{full_name}/compare/{basehead}",
        "permalink_url": f"{WEB}/{full_name}/compare/{basehead}",
        "diff_url": f"{WEB}/{full_name}/compare/{basehead}.diff",
        "patch_url": f"{WEB}/{full_name}/compare/{basehead}.patch",
        "base_commit": commit(base_commit, full_name),
        "merge_base_commit": commit(base_commit, full_name),
        "status": "ahead" if commits else "identical",
        "ahead_by": len(commits),
        "behind_by": 0,
        "total_commits": len(commits),
        "commits": commits,
        "files": [diff_entry(f, full_name, head) for f in files.values()],
    }


def _link(href: str) -> dict[str, str]:
    return {"href": href}


def pull(value: dict[str, Any], full_name: str) -> dict[str, Any]:
    """A ``pull-request-simple`` (with ``merged`` and counts when the scenario has them)."""
    out = copy.deepcopy(value)
    number = out.get("number")
    url = f"{API}/repos/{full_name}/pulls/{number}"
    issue = f"{API}/repos/{full_name}/issues/{number}"
    html = f"{WEB}/{full_name}/pull/{number}"
    out["user"] = user(out.get("user"))
    for side in ("head", "base"):
        ref = dict(out.get(side) or {})
        ref["repo"] = repository(full_name, ref.get("repo"))
        ref["user"] = user(ref.get("user"))
        _fill(ref, {"label": f"{full_name.split('/')[0]}:{ref.get('ref', 'main')}", "ref": "main", "sha": ""})
        out[side] = ref
    comment_tpl = f"{API}/repos/{full_name}/pulls/comments{{/number}}"
    statuses = f"{API}/repos/{full_name}/statuses/{(out.get('head') or {}).get('sha', '')}"
    links = {
        "self": _link(url), "html": _link(html), "issue": _link(issue), "comments": _link(f"{issue}/comments"),
        "review_comments": _link(f"{url}/comments"), "review_comment": _link(comment_tpl),
        "commits": _link(f"{url}/commits"), "statuses": _link(statuses),
    }  # fmt: skip
    return _fill(
        out,
        {
            "url": url, "id": _num(url), "node_id": f"PR_{_num(url)}", "html_url": html, "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch", "issue_url": issue, "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments", "review_comment_url": links["review_comment"]["href"],
            "comments_url": f"{issue}/comments", "statuses_url": statuses, "state": "open", "locked": False,
            "body": None, "labels": [], "milestone": None, "assignee": None, "assignees": [],
            "requested_reviewers": [], "requested_teams": [], "created_at": EPOCH, "updated_at": EPOCH,
            "closed_at": None, "merged_at": None, "merge_commit_sha": None, "_links": links,
            "author_association": "MEMBER", "auto_merge": None, "draft": False,
        },
    )  # fmt: skip


def release(value: dict[str, Any], full_name: str) -> dict[str, Any]:
    """A ``release``."""
    out = copy.deepcopy(value)
    rid = out.get("id") or _num(f"{full_name}:{out.get('tag_name')}")
    url = f"{API}/repos/{full_name}/releases/{rid}"
    tag = str(out.get("tag_name", "v0"))
    out["author"] = user(out.get("author") or {"login": "github-actions[bot]", "type": "Bot"})
    return _fill(
        out,
        {
            "id": rid, "url": url, "node_id": f"RE_{rid}", "html_url": f"{WEB}/{full_name}/releases/tag/{tag}",
            "assets_url": f"{url}/assets",
            "upload_url": f"{UPLOADS}/repos/{full_name}/releases/{rid}/assets{{?name,label}}",
            "tarball_url": f"{API}/repos/{full_name}/tarball/{tag}",
            "zipball_url": f"{API}/repos/{full_name}/zipball/{tag}",
            "tag_name": tag, "target_commitish": "main", "name": tag, "body": None, "draft": False,
            "prerelease": False, "created_at": out.get("published_at", EPOCH), "published_at": None, "assets": [],
        },
    )  # fmt: skip


def content_file(full_name: str, path: str, raw: bytes, encoded: str) -> dict[str, Any]:
    """A ``content-file`` holding ``raw`` (base64 ``encoded``)."""
    sha = hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()
    url = f"{API}/repos/{full_name}/contents/{path}?ref=main"
    html = f"{WEB}/{full_name}/blob/main/{path}"
    git = f"{API}/repos/{full_name}/git/blobs/{sha}"
    return {
        "type": "file", "encoding": "base64", "size": len(raw), "name": path.rsplit("/", 1)[-1], "path": path,
        "content": encoded, "sha": sha, "url": url, "git_url": git, "html_url": html,
        "download_url": f"https://raw.githubusercontent.com/{full_name}/main/{path}",
        "_links": {"self": url, "git": git, "html": html},
    }  # fmt: skip
