"""Talks to Linear's GraphQL API with gql over httpx and maps every failure in one place.

Linear reports errors in the body (``errors[].extensions.type``, e.g. ``ratelimited``) with
HTTP 200 or 400, and rate-limit state in ``x-ratelimit-*`` headers (resets are UNIX
timestamps); its gateway answers 5xx with a non-GraphQL body. :func:`map_linear_error`
turns all of that into :mod:`investigator.errors` types. Reads go through a bounded
:class:`~investigator.retry.RetryPolicy`; mutations are sent once (``retry=False``).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.httpx import HTTPXTransport

from connectors.linear.config import LinearSettings
from investigator.errors import (
    NotConfiguredError,
    RateLimitedError,
    SourceError,
    SourceTimeoutError,
    TerminalError,
    TransientError,
    error_from_status,
)
from investigator.retry import NO_RETRY, RetryPolicy

log = logging.getLogger("connectors.linear")
QUERIES_DIR = Path(__file__).parent / "queries"
SOURCE = "linear"

_TRANSIENT_TYPES = {"internal error", "network error", "lock timeout", "bootstrap error"}
_AUTH_TYPES = {"authentication error", "forbidden", "feature not accessible", "usage limit exceeded"}
_RESET_HEADERS = (
    ("x-ratelimit-requests-remaining", "x-ratelimit-requests-reset"),
    ("x-ratelimit-complexity-remaining", "x-ratelimit-complexity-reset"),
    ("x-ratelimit-endpoint-requests-remaining", "x-ratelimit-endpoint-requests-reset"),
)


class LinearInputError(TerminalError):
    """Linear refused the input (``invalid input`` / ``user error``); ``linear_type`` says which."""

    def __init__(self, message: str, *, linear_type: str, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.linear_type = linear_type


class LinearNotFoundError(LinearInputError):
    """The referenced entity does not exist ("Entity not found")."""


@functools.cache
def load_document(name: str) -> str:
    """The text of ``queries/<name>.graphql``."""
    return (QUERIES_DIR / f"{name}.graphql").read_text(encoding="utf-8")


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def retry_after_from_headers(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds until Linear lets us in again: ``retry-after``, else the reset of an exhausted budget.

    Reset headers are UNIX timestamps; values above 1e11 are taken as milliseconds."""
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = _number(lowered.get("retry-after"))
    if retry_after is not None:
        return max(retry_after, 0.0)
    now = time.time() if now is None else now
    waits: list[float] = []
    fallback: list[float] = []
    for remaining_key, reset_key in _RESET_HEADERS:
        reset = _number(lowered.get(reset_key))
        if reset is None:
            continue
        wait = max((reset / 1000.0 if reset > 1e11 else reset) - now, 0.0)
        remaining = _number(lowered.get(remaining_key))
        (waits if remaining is not None and remaining <= 0 else fallback).append(wait)
    if waits:
        return max(waits)
    return min(fallback) if fallback else None


def _first_error(errors: list[Any] | None) -> tuple[str, str, str]:
    """(type, code, readable message) of the first GraphQL error."""
    first: dict[str, Any] = errors[0] if errors and isinstance(errors[0], dict) else {}
    ext: dict[str, Any] = first["extensions"] if isinstance(first.get("extensions"), dict) else {}
    kind = str(ext.get("type") or "").lower()
    code = str(ext.get("code") or "").upper()
    message = str(ext.get("userPresentableMessage") or first.get("message") or kind or "unknown error")
    return kind, code, message[:300]


def _map_query_error(exc: TransportQueryError, status: int | None, headers: Mapping[str, str]) -> SourceError:
    kind, code, message = _first_error(exc.errors)
    if kind == "ratelimited" or code == "RATELIMITED":
        return RateLimitedError(
            f"linear: rate limited ({message})", status=status, retry_after=retry_after_from_headers(headers)
        )
    if kind in _AUTH_TYPES or code in ("AUTHENTICATION_ERROR", "FORBIDDEN"):
        return TerminalError(f"linear: {kind or code.lower()}: check the API key and its access ({message})")
    if kind in _TRANSIENT_TYPES or (status is not None and status >= 500):
        return TransientError(f"linear: {kind or 'server error'} ({message})", status=status)
    if kind in ("invalid input", "user error") or code in ("INPUT_ERROR", "BAD_USER_INPUT"):
        cls = (
            LinearNotFoundError
            if "not found" in message.lower() or "could not find" in message.lower()
            else (LinearInputError)
        )
        return cls(f"linear: {kind or code.lower()}: {message}", linear_type=kind or code.lower(), status=status)
    return TerminalError(f"linear: query rejected ({kind or code.lower() or 'graphql error'}: {message})")


def map_linear_error(exc: BaseException, *, status: int | None, headers: Mapping[str, str]) -> SourceError:
    """The one place where gql/httpx failures become :mod:`investigator.errors` types."""
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, TransportQueryError):
        return _map_query_error(exc, status, headers)
    if isinstance(exc, TransportServerError):
        code = exc.code or status or 500
        return error_from_status(SOURCE, code, retry_after=retry_after_from_headers(headers))
    if isinstance(exc, TransportConnectionFailed | httpx.TransportError):
        cause = exc.__cause__ if isinstance(exc, TransportConnectionFailed) else exc
        if isinstance(cause, httpx.TimeoutException):
            return SourceTimeoutError("linear: the request timed out")
        return TransientError(f"linear: connection failed ({type(cause).__name__})")
    if isinstance(exc, TransportProtocolError):
        if status is not None and status >= 500:
            return error_from_status(SOURCE, status)
        return TerminalError("linear: malformed answer (not a GraphQL JSON result)", status=status)
    return TerminalError(f"linear: unexpected failure ({type(exc).__name__})")


class LinearClient:
    """A small GraphQL client for Linear: one gql session (one httpx pool), requests serialised."""

    def __init__(self, settings: LinearSettings, retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy(max_attempts=settings.max_attempts)
        self._lock = threading.Lock()
        self._session: Any = None
        self._gql: Client | None = None
        self._seen: dict[str, Any] = {}

    def _authorization(self) -> str:
        if self.settings.api_key is None or not self.settings.api_key.get_secret_value():
            raise NotConfiguredError("linear: api_key is not set (INVESTIGATOR_LINEAR_API_KEY)")
        return self.settings.api_key.get_secret_value()

    def query(self, name: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a read document, retrying transient failures within the policy."""
        return self.retry.call(lambda: self._execute(name, variables), what=f"linear {name}")

    def mutate(self, name: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Run a mutation exactly once: never retried blindly (the caller checks what happened)."""
        return NO_RETRY.call(lambda: self._execute(name, variables), what=f"linear {name}")

    def close(self) -> None:
        """Close the HTTP session."""
        with self._lock:
            if self._gql is not None and self._session is not None:
                self._gql.close_sync()  # type: ignore[no-untyped-call]
            self._gql = self._session = None

    def _connect(self) -> Any:
        if self._session is None:
            transport = HTTPXTransport(
                url=self.settings.api_url,
                headers={"Authorization": self._authorization(), "User-Agent": "investigator-linear/0.1"},
                timeout=httpx.Timeout(self.settings.timeout_s),
                event_hooks={"response": [self._remember]},
            )
            self._gql = Client(transport=transport, fetch_schema_from_transport=False)
            self._session = self._gql.connect_sync()  # type: ignore[no-untyped-call]
        return self._session

    def _remember(self, response: httpx.Response) -> None:
        self._seen = {"status": response.status_code, "headers": response.headers}

    def _execute(self, name: str, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        request = GraphQLRequest(load_document(name), variable_values=dict(variables or {}), operation_name=name)
        with self._lock:
            session = self._connect()
            self._seen = {}
            try:
                result: dict[str, Any] = session.execute(request)
            except Exception as exc:  # mapped once, below; the raw exception never escapes
                seen = self._seen
                error = map_linear_error(exc, status=seen.get("status"), headers=seen.get("headers") or {})
                log.info("linear %s failed: %s", name, error)
                raise error from None
        if not isinstance(result, dict):
            raise TerminalError("linear: malformed answer (data is not an object)")
        return result
