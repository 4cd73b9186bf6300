"""Escalations into Linear: one issue per idempotency key, one comment per key on an incident's issue.

Linear's ``IssueCreateInput.id`` / ``CommentCreateInput.id`` accept a client UUID, so the id
is derived from the idempotency key: a retry (or a redelivered task) looks the issue up by
that id first and never creates a second one. Mutations are sent once; after a timeout or
5xx the writer looks again before reporting anything, because the write may have landed.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from connectors.linear.client import LinearClient, LinearInputError, LinearNotFoundError
from connectors.linear.config import LinearSettings
from investigator.errors import TerminalError, TransientError
from investigator.retry import RetryPolicy

log = logging.getLogger("connectors.linear.writer")

NAMESPACE = uuid.UUID("5b0f3c39-4c3e-4f0a-9d65-6c8e5d2b7a10")
"""Namespace of the ids derived from idempotency keys (fixed forever: changing it breaks dedupe)."""

_TARGETS: dict[tuple[str, str, str], tuple[dict[str, Any], str | None]] = {}
"""(workspace API URL, team, label) -> (team, label id): stable ids, looked up once per process."""

_SEVERITY_PRIORITY = {"sev1": 1, "sev2": 2, "sev3": 3, "sev4": 4}


def priority_for_severity(severity: str) -> int:
    """Linear priority for a severity: sev1 -> 1 (Urgent) ... sev4 -> 4 (Low); unknown -> 0 (none)."""
    return _SEVERITY_PRIORITY.get(severity.strip().lower(), 0)


def client_uuid(idempotency_key: str, *, kind: str = "issue") -> str:
    """A deterministic UUID for a key: uuid5 with the version bits set to 4.

    Linear documents the client id as "UUID v4 format"; a uuid5 re-stamped as version 4 is
    still a function of the key, so every retry sends the same id."""
    derived = uuid.uuid5(NAMESPACE, f"{kind}:{idempotency_key}")
    return str(uuid.UUID(bytes=derived.bytes, version=4))


def marker(idempotency_key: str) -> str:
    """The line that marks a comment as written for ``idempotency_key``."""
    return f"investigator-ref: {idempotency_key}"


class LinearEscalationWriter:
    """Creates escalation issues and incident comments, idempotently."""

    def __init__(self, settings: LinearSettings, *, retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.client = LinearClient(settings, retry=retry)

    def close(self) -> None:
        """Close the HTTP session."""
        self.client.close()

    # ------------------------------------------------------------------ lookups (retried reads)
    def find_issue(self, issue_id: str) -> dict[str, Any] | None:
        """The issue with this UUID or identifier, or None."""
        try:
            data = self.client.query("IssueById", {"id": issue_id})
        except LinearNotFoundError:
            return None
        issue = data.get("issue")
        return issue if isinstance(issue, dict) else None

    def find_team(self, team_name: str) -> dict[str, Any]:
        """The team whose name or key is ``team_name`` (case-insensitive)."""
        nodes = (self.client.query("TeamsByName", {"name": team_name}).get("teams") or {}).get("nodes") or []
        exact = [t for t in nodes if str(t.get("name", "")).lower() == team_name.lower()]
        team = (exact or nodes or [None])[0]
        if not isinstance(team, dict) or not team.get("id"):
            raise TerminalError(f"linear: no team named {team_name!r}")
        return team

    def find_label(self, name: str) -> str | None:
        """The id of the issue label ``name``, or None when the workspace has none."""
        nodes = (self.client.query("IssueLabelsByName", {"name": name}).get("issueLabels") or {}).get("nodes") or []
        return str(nodes[0]["id"]) if nodes and nodes[0].get("id") else None

    def find_target(self, team_name: str, label: str) -> tuple[dict[str, Any], str | None]:
        """The team and the label id in one round trip, cached per workspace for the process's life
        (team and label ids do not change; an unknown team is never cached)."""
        key = (self.settings.api_url, team_name.lower(), label.lower())
        cached = _TARGETS.get(key)
        if cached is None:
            data = self.client.query("EscalationTarget", {"team": team_name, "label": label})
            nodes = (data.get("teams") or {}).get("nodes") or []
            exact = [t for t in nodes if str(t.get("name", "")).lower() == team_name.lower()]
            team = (exact or nodes or [None])[0]
            if not isinstance(team, dict) or not team.get("id"):
                raise TerminalError(f"linear: no team named {team_name!r}")
            labels = (data.get("issueLabels") or {}).get("nodes") or []
            label_id = str(labels[0]["id"]) if labels and labels[0].get("id") else None
            cached = _TARGETS[key] = (team, label_id)
        return cached

    # ------------------------------------------------------------------ issues
    def escalate(
        self,
        *,
        idempotency_key: str,
        team_name: str,
        title: str,
        body_markdown: str,
        priority: int,
        label: str = "investigator",
        first_attempt: bool = False,
    ) -> dict[str, Any]:
        """Create the escalation issue once per key; returns ``{id, identifier, url, created}``.

        ``first_attempt``: no earlier call with this key can have written, so the look-up before the
        write is skipped (a duplicate client id is still caught by the create itself)."""
        issue_id = client_uuid(idempotency_key)
        if not first_attempt:
            existing = self.find_issue(issue_id)
            if existing:
                return _issue_result(existing, created=False)
        team, label_id = self.find_target(team_name, label or "investigator")
        payload: dict[str, Any] = {
            "id": issue_id,
            "teamId": team["id"],
            "title": title,
            "description": body_markdown,
            "priority": priority,
        }
        if label_id:
            payload["labelIds"] = [label_id]
        try:
            data = self.client.mutate("IssueCreate", {"input": payload})
        except TransientError:
            return self._after_failed_write(issue_id)
        except LinearInputError:
            existing = self.find_issue(issue_id)  # created meanwhile by another delivery: same key, same id
            if existing:
                return _issue_result(existing, created=False)
            raise
        result = data.get("issueCreate") or {}
        if not result.get("success") or not isinstance(result.get("issue"), dict):
            raise TerminalError("linear: issueCreate did not succeed")
        return _issue_result(result["issue"], created=True)

    def _after_failed_write(self, issue_id: str) -> dict[str, Any]:
        existing = self.find_issue(issue_id)
        if existing:
            log.info("linear issueCreate failed in transit but the issue exists: %s", existing.get("identifier"))
            return _issue_result(existing, created=True)
        raise TransientError("linear: issueCreate failed and the issue does not exist; safe to retry")

    # ------------------------------------------------------------------ comments
    def find_comment(self, issue_id: str, idempotency_key: str) -> dict[str, Any] | None:
        """A comment on the issue already written for this key (by marker or derived id)."""
        data = self.client.query("IssueComments", {"id": issue_id, "first": 100})
        comment_id = client_uuid(idempotency_key, kind="comment")
        nodes = ((data.get("issue") or {}).get("comments") or {}).get("nodes") or []
        for node in nodes:
            if node.get("id") == comment_id or marker(idempotency_key) in str(node.get("body") or ""):
                return dict(node)
        return None

    def comment(self, *, idempotency_key: str, issue_id: str, body_markdown: str) -> dict[str, Any]:
        """Comment once per key on ``issue_id`` (UUID or identifier); returns ``{id, url, created}``."""
        existing = self.find_comment(issue_id, idempotency_key)
        if existing:
            return {"id": existing.get("id"), "url": existing.get("url"), "created": False}
        payload = {
            "id": client_uuid(idempotency_key, kind="comment"),
            "issueId": issue_id,
            "body": f"{body_markdown}\n\n{marker(idempotency_key)}",
        }
        try:
            data = self.client.mutate("CommentCreate", {"input": payload})
        except (TransientError, LinearInputError) as exc:
            # a timeout may hide a write that landed; a duplicate id means another delivery wrote it
            existing = self.find_comment(issue_id, idempotency_key)
            if existing:
                created = isinstance(exc, TransientError)
                return {"id": existing.get("id"), "url": existing.get("url"), "created": created}
            raise
        comment = (data.get("commentCreate") or {}).get("comment") or {}
        if not comment.get("id"):
            raise TerminalError("linear: commentCreate did not succeed")
        return {"id": comment["id"], "url": comment.get("url"), "created": True}


def _issue_result(issue: dict[str, Any], *, created: bool) -> dict[str, Any]:
    return {
        "id": issue.get("id"),
        "identifier": issue.get("identifier"),
        "url": issue.get("url"),
        "created": created,
    }
