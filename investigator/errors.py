"""Upstream failures, classified once: transient (retry, then ``unavailable``) or terminal (``error``).

Modelled on dlt's Terminal/Transient exceptions and Airbyte's error mapping table:
connectors map their vendor's errors into these in one place, and the pipeline turns
them into a :class:`~investigator.models.SourceReport` status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorAction(StrEnum):
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    FAIL = "fail"
    IGNORE = "ignore"


class SourceError(Exception):
    """Base of every error a connector raises on purpose. ``str()`` never holds secrets."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(SourceError):
    """Timeouts, 5xx, connection errors: worth retrying; reported ``unavailable``."""


class RateLimitedError(TransientError):
    """The upstream asked us to slow down; ``retry_after`` seconds if it said."""

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class SourceTimeoutError(TransientError):
    """The source did not answer within its deadline."""


class TerminalError(SourceError):
    """Bad credentials, bad request, malformed answer: retrying will not help; reported ``error``."""


class NotConfiguredError(TerminalError):
    """The source lacks required settings."""


@dataclass(frozen=True)
class StatusRule:
    action: ErrorAction
    message: str


# One table for HTTP statuses, shared by every HTTP connector (Airbyte's DEFAULT_ERROR_MAPPING).
HTTP_STATUS_TABLE: dict[int, StatusRule] = {
    400: StatusRule(ErrorAction.FAIL, "the upstream rejected the request as malformed"),
    401: StatusRule(ErrorAction.FAIL, "authentication failed: check the token"),
    403: StatusRule(ErrorAction.FAIL, "forbidden: the token lacks permission"),
    404: StatusRule(ErrorAction.IGNORE, "not found"),
    408: StatusRule(ErrorAction.RETRY, "the upstream timed out"),
    409: StatusRule(ErrorAction.RETRY, "conflict, retryable"),
    429: StatusRule(ErrorAction.RATE_LIMITED, "rate limited by the upstream"),
    500: StatusRule(ErrorAction.RETRY, "upstream internal error"),
    502: StatusRule(ErrorAction.RETRY, "upstream bad gateway"),
    503: StatusRule(ErrorAction.RETRY, "upstream unavailable"),
    504: StatusRule(ErrorAction.RETRY, "upstream gateway timeout"),
}


def classify_status(status: int) -> StatusRule:
    """The action for an HTTP status (unknown 5xx retry, unknown 4xx fail)."""
    if status in HTTP_STATUS_TABLE:
        return HTTP_STATUS_TABLE[status]
    if status >= 500:
        return StatusRule(ErrorAction.RETRY, f"upstream error {status}")
    if status >= 400:
        return StatusRule(ErrorAction.FAIL, f"upstream refused the request ({status})")
    return StatusRule(ErrorAction.IGNORE, "ok")


def error_from_status(source: str, status: int, *, retry_after: float | None = None, detail: str = "") -> SourceError:
    """Sentry's ``ApiError.from_response``: one typed error for an upstream status."""
    rule = classify_status(status)
    message = f"{source}: HTTP {status}: {rule.message}" + (f" ({detail})" if detail else "")
    if rule.action is ErrorAction.RATE_LIMITED:
        return RateLimitedError(message, status=status, retry_after=retry_after)
    if rule.action is ErrorAction.RETRY:
        return TransientError(message, status=status)
    return TerminalError(message, status=status)
