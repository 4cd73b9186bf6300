"""Talks to ClickHouse (a server over HTTP, or an embedded chDB) and maps its errors, once.

Queries are ``.sql`` files in ``queries/``. Values (tenant, routes, times, attribute keys) are
always server-side bound parameters ``{name:Type}``; only identifiers from the settings (the
database and table, and the route column or attribute) are put into the text, through
``string.Template`` after :func:`~connectors.clickhouse.config.valid_identifier` validated them.
Every query runs with ``max_execution_time``, ``max_result_rows`` (overflow throws) and ``readonly``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import clickhouse_connect
import clickhouse_connect.common
from clickhouse_connect.driver.exceptions import ClickHouseError, DatabaseError, OperationalError

from connectors.clickhouse.config import ClickHouseSettings, valid_identifier
from investigator.errors import (
    RateLimitedError,
    SourceError,
    SourceTimeoutError,
    TerminalError,
    TransientError,
)
from investigator.retry import RetryPolicy

log = logging.getLogger("connectors.clickhouse")
QUERIES = Path(__file__).with_name("queries")

# ClickHouse server error codes (src/Common/ErrorCodes.cpp).
_LIMIT_CODES = {158: "max_rows_to_read", 159: "max_execution_time", 160: "too slow", 396: "max_result_rows"}
_TRANSIENT_CODES = {
    3: "unexpected end of stream",
    32: "end of file",
    202: "too many simultaneous queries",
    203: "no free connection",
    209: "socket timeout",
    210: "network error",
    241: "memory limit exceeded",
    242: "table is read-only",
    394: "query was cancelled",
}
_TERMINAL_CODES = {
    47: "unknown column or identifier",
    60: "unknown table",
    62: "syntax error",
    81: "unknown database",
    164: "readonly: the query is not allowed",
    192: "unknown user",
    497: "access denied",
    516: "authentication failed",
}
_HTTP_STATUS = re.compile(r"HTTP status (\d{3})")
_CODE = re.compile(r"\bcode: (\d+)", re.IGNORECASE)


@dataclass
class QueryResult:
    """Rows of one query, with the exact text and parameters that produced them (for citations)."""

    name: str
    text: str
    parameters: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    read_rows: int | None = None


def map_error(exc: BaseException, settings: ClickHouseSettings) -> SourceError:
    """The one place clickhouse-connect / chDB errors become Transient or Terminal errors."""
    if isinstance(exc, SourceError):
        return exc
    text = str(exc)
    code = getattr(exc, "code", None)
    if code is None:
        match = _CODE.search(text)
        code = int(match.group(1)) if match else None
    if code in _LIMIT_CODES:
        limit = _LIMIT_CODES[code]
        value = {"max_execution_time": f"{settings.max_execution_time}s", "max_result_rows": settings.max_result_rows}
        return TerminalError(f"clickhouse: query exceeded the {limit} limit ({value.get(limit, 'server limit')})")
    if code in _TERMINAL_CODES:
        return TerminalError(f"clickhouse: {_TERMINAL_CODES[code]} (code {code})")
    if code in _TRANSIENT_CODES:
        if code == 202:
            return RateLimitedError(f"clickhouse: {_TRANSIENT_CODES[code]}", status=429)
        return TransientError(f"clickhouse: {_TRANSIENT_CODES[code]} (code {code})")
    status_match = _HTTP_STATUS.search(text)
    if status_match:
        status = int(status_match.group(1))
        if status == 429:
            return RateLimitedError("clickhouse: HTTP 429: rate limited", status=429)
        if status >= 500:
            return TransientError(f"clickhouse: HTTP {status}: server unavailable", status=status)
        return TerminalError(f"clickhouse: HTTP {status}: request refused", status=status)
    lowered = text.lower()
    if "unexpected response" in lowered:
        return TerminalError("clickhouse: malformed answer from the server")
    if "timed out" in lowered or "timeout" in lowered:
        return SourceTimeoutError("clickhouse: no answer within the client timeout")
    if isinstance(exc, OperationalError | ConnectionError | OSError):
        return TransientError("clickhouse: connection failed")
    if isinstance(exc, DatabaseError) and code is not None:
        return TerminalError(f"clickhouse: server error (code {code})")
    return TerminalError(f"clickhouse: malformed or unexpected answer ({type(exc).__name__})")


class _ClientPool:
    """One clickhouse-connect client per server and user, shared by every investigation of the process.

    Creating a client costs sequential round trips (server version and time zone, the settings
    table); paying them once per process instead of once per investigation keeps them off the
    investigation's critical path. Clients are made without a session id, so threads may share them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}

    def get(self, key: tuple[str, str, str], make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._clients:
                self._clients[key] = make()
            return self._clients[key]

    def discard(self, key: tuple[str, str, str], client: Any) -> None:
        with self._lock:
            if self._clients.get(key) is client:
                del self._clients[key]
        try:
            client.close()
        except Exception as exc:  # closing a broken client must not hide the original failure
            log.debug("closing a clickhouse client failed: %s", type(exc).__name__)


_POOL = _ClientPool()
# The protocol-version probe is one more sequential round trip per new client; the HTTP formats used here
# do not need it.
clickhouse_connect.common.set_setting("use_protocol_version", False)


@cache
def _query_template(name: str) -> string.Template:
    return string.Template((QUERIES / f"{name}.sql").read_text(encoding="utf-8"))


class ClickHouseClient:
    """A read-only query runner with guardrails, bounded retries and mapped errors."""

    def __init__(self, settings: ClickHouseSettings, retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy(max_attempts=settings.retries + 1)
        self._client: Any = None

    # ----------------------------------------------------------------- text
    def render(self, name: str) -> str:
        """The query text with validated identifiers in place; values stay ``{name:Type}`` placeholders."""
        s = self.settings
        table = f"`{valid_identifier(s.database)}`.`{valid_identifier(s.table)}`"
        route = f"SpanAttributes['{valid_identifier(s.route_attribute)}']" if s.route_attribute else "SpanName"
        return _query_template(name).substitute(table=table, route=route)

    def attribute_parameters(self) -> dict[str, Any]:
        """Attribute keys, bound as parameters like every other value."""
        s = self.settings
        return {
            "tenant_attr": s.tenant_attribute,
            "status_attr": s.status_attribute,
            "url_attr": s.url_attribute,
            "event_attr": s.event_attribute,
        }

    def query_settings(self) -> dict[str, Any]:
        s = self.settings
        return {
            "max_execution_time": s.max_execution_time,
            "max_result_rows": s.max_result_rows,
            "result_overflow_mode": "throw",
            "readonly": 2,
            # read the attribute map once per query instead of once per looked-up key
            "optimize_functions_to_subcolumns": 0,
        }

    # ----------------------------------------------------------------- calls
    def query(self, name: str, parameters: dict[str, Any]) -> QueryResult:
        """Run ``queries/<name>.sql`` with bound ``parameters``; retries transient failures (bounded)."""
        text = self.render(name)
        used = {key: value for key, value in parameters.items() if "{" + key + ":" in text}
        return self.retry.call(lambda: self._run(name, text, used), what=f"clickhouse {name}")

    def _run(self, name: str, text: str, parameters: dict[str, Any]) -> QueryResult:
        try:
            result = self._connection().query(text, parameters=parameters, settings=self.query_settings())
            rows = [dict(row) for row in result.named_results()]
        except (ClickHouseError, OSError, ValueError, TypeError, IndexError, KeyError, RuntimeError) as exc:
            self._reset_on_failure()
            error = map_error(exc, self.settings)
            log.info("clickhouse query %s failed: %s", name, error)
            raise error from None
        read = (result.summary or {}).get("read_rows")
        return QueryResult(name, text, parameters, rows, int(read) if read not in (None, "") else None)

    def _pool_key(self) -> tuple[str, str, str]:
        s = self.settings
        password = s.password.get_secret_value() if s.password else ""
        return (s.dsn, s.username or "", hashlib.sha256(password.encode()).hexdigest())

    def _make_client(self) -> Any:
        s = self.settings
        options: dict[str, Any] = {"autogenerate_session_id": False}
        if not s.dsn.startswith("chdb:"):
            options |= {
                "connect_timeout": s.connect_timeout_s,
                "send_receive_timeout": s.timeout_s,
                "query_retries": 0,
                "username": s.username,
                "password": s.password.get_secret_value() if s.password else "",
            }
            options = {key: value for key, value in options.items() if value is not None}
        return clickhouse_connect.get_client(dsn=s.dsn, **options)

    def _connection(self) -> Any:
        if self._client is None:
            self._client = _POOL.get(self._pool_key(), self._make_client)
        return self._client

    def _reset_on_failure(self) -> None:
        """Drop a client whose connection may be broken (a new one is made on the next call)."""
        if self._client is not None and not self.settings.dsn.startswith("chdb:"):
            _POOL.discard(self._pool_key(), self._client)
            self._client = None

    def close(self) -> None:
        """Release the shared client (it stays pooled for the next investigation)."""
        self._client = None
