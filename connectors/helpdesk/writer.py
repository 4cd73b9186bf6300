"""Writes the evidence packet to the Zendesk ticket as a private (internal) note, idempotently.

The note carries a visible marker line ``Investigation <key>``. Before writing, and again
after a write whose outcome is unknown (timeout, 5xx, connection drop), the writer reads
the ticket's comments and returns the existing note when the marker is there. The write
itself is never retried here: a caller that retries the whole call is safe, because the
next call reads before it writes.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import httpx

from connectors.helpdesk.client import ZendeskClient
from connectors.helpdesk.config import ZendeskSettings
from investigator.errors import RateLimitedError, TransientError
from investigator.retry import RetryPolicy

log = logging.getLogger("connectors.helpdesk.writer")


def marker(idempotency_key: str) -> str:
    """The visible marker line of a note."""
    return f"Investigation {idempotency_key}"


def _marker_pattern(idempotency_key: str) -> re.Pattern[str]:
    # Not a prefix of a longer key: "Investigation inv-1" must not match "Investigation inv-12".
    return re.compile(re.escape(marker(idempotency_key)) + r"(?![\w-])")


def has_marker(comment: dict[str, Any], idempotency_key: str) -> bool:
    """True when the comment's text or HTML carries the marker of this key."""
    pattern = _marker_pattern(idempotency_key)
    escaped = re.compile(re.escape(html.escape(marker(idempotency_key))) + r"(?![\w-])")
    texts = (comment.get("plain_body"), comment.get("body"))
    return any(isinstance(t, str) and pattern.search(t) for t in texts) or bool(
        isinstance(comment.get("html_body"), str) and escaped.search(comment["html_body"])
    )


class ZendeskNoteWriter:
    """Posts private notes to Zendesk tickets, at most once per idempotency key."""

    def __init__(
        self,
        settings: ZendeskSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._client = ZendeskClient(settings, retry=retry, transport=transport)

    def find_note(self, ticket_id: str, idempotency_key: str) -> dict[str, Any] | None:
        """The comment of the ticket carrying this key's marker, if any (reads are retried, bounded)."""
        thread = self._client.thread(ticket_id)
        return next((c for c in reversed(thread.comments) if has_marker(c, idempotency_key)), None)

    def post_private_note(
        self, *, ticket_id: str, html_body: str, idempotency_key: str, first_attempt: bool = False
    ) -> dict[str, Any]:
        """Add ``html_body`` as an internal note unless this key's note is already there.

        Returns ``{"comment_found": bool, "created": bool}``: ``comment_found`` when the note was
        seen by reading the ticket (before writing, or to confirm a write whose answer was lost),
        ``created`` when this call's write landed. Raises :class:`TransientError` when the outcome
        stays unknown (safe to retry the call) and :class:`TerminalError` on refusals.

        ``first_attempt``: the caller knows no earlier call with this key can have written (its own
        delivery record says so), so the read before the write is skipped: one round trip, not two.
        """
        if not first_attempt and self.find_note(ticket_id, idempotency_key) is not None:
            log.info("zendesk note for %s already on ticket %s", idempotency_key, ticket_id)
            return {"comment_found": True, "created": False}
        body = f"{html_body}\n<p>{html.escape(marker(idempotency_key))}</p>"
        try:
            self._client.add_comment(ticket_id, {"html_body": body, "public": False})
        except RateLimitedError:
            raise  # refused before writing: nothing landed
        except TransientError as exc:
            log.warning("zendesk note write on ticket %s has an unknown outcome (%s); checking", ticket_id, exc)
            if self.find_note(ticket_id, idempotency_key) is not None:
                return {"comment_found": True, "created": True}
            raise
        return {"comment_found": False, "created": True}

    def close(self) -> None:
        """Close the HTTP pool."""
        self._client.close()
