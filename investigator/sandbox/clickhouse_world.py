"""The scenario's telemetry in an embedded chDB, served over ClickHouse's HTTP interface.

:func:`load_world` creates the OpenTelemetry exporter's tables (``connectors/clickhouse/otel_schema.sql``)
and loads ``clickhouse.traffic`` streams (FORMAT.md, "Traffic streams") plus literal ``spans``:
rows are generated with numpy into a flat staging table (one Arrow insert) and moved into
``otel_traces`` with one ``INSERT ... SELECT`` that builds the attribute maps and hex ids.

:class:`ClickHouseSandbox` owns the data and a :class:`ClickHouseStandIn`, an HTTP server that
answers enough of ClickHouse's HTTP interface for clickhouse-connect (``http://`` DSN) by running
each received query, with its ``param_*`` bound parameters, settings and requested FORMAT, in
the same process's chDB engine. It adds the base stand-in's latency and fault injection, and lets
other processes query the one in-process chDB.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import chdb
import clickhouse_connect
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from connectors.clickhouse import OTEL_SCHEMA_PATH
from connectors.clickhouse.config import ClickHouseSettings, valid_identifier
from investigator.sandbox.scenario import ClickHouseWorld, TrafficStream, relative_seconds
from investigator.sandbox.standin import Injection, Request, Response, StandIn

_NS = 1_000_000_000
_SCHEMA_DB = re.compile(r"(`otel`\.|\"otel\"\.|DATABASE IF NOT EXISTS otel\b)")
_TRAILING_FORMAT = re.compile(r"\s+FORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.IGNORECASE)
_SETTING_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# URL parameters of ClickHouse's HTTP interface that are not query settings.
_TRANSPORT_PARAMS = frozenset(
    {
        "query", "database", "query_id", "session_id", "session_timeout", "session_check", "default_format",
        "compress", "decompress", "wait_end_of_query", "client_protocol_version", "enable_http_compression",
        "send_progress_in_http_headers", "http_headers_progress_interval_ms", "user", "password", "quota_key",
        "buffer_size", "role", "cancel_http_readonly_queries_on_client_close",
    }
)  # fmt: skip

_MOVE_SQL = """
INSERT INTO `{db}`.`otel_traces` (Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind,
    ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage)
SELECT
    fromUnixTimestamp64Nano(r.ts, 'UTC'),
    lower(hex(sipHash128(r.sid, r.i))),
    lower(hex(reinterpretAsFixedString(cityHash64(r.sid, r.i, 'span')))),
    '', '', s.route, s.kind, s.service,
    map('service.name', s.service),
    'investigator.sandbox', '1',
    mapFilter((k, v) -> v != '', map(
        {tenant_attr:String}, s.tenant,
        'http.request.method', s.method,
        'http.route', s.path,
        {status_attr:String}, toString(r.status),
        {url_attr:String}, s.url,
        {event_attr:String}, s.event)),
    r.dur,
    if((s.kind = 'Server' AND r.status >= 500) OR (s.kind = 'Client' AND r.status >= 400), 'Error', 'Unset'),
    ''
FROM `{db}`.`_stage_rows` AS r INNER JOIN `{db}`.`_stage_streams` AS s ON r.sid = s.sid
"""


@dataclass(frozen=True)
class StreamRows:
    """One stream's generated requests (numpy arrays of equal length)."""

    ts_ns: np.ndarray
    duration_ns: np.ndarray
    status: np.ndarray


def stream_rows(stream: TrafficStream, index: int, now: datetime) -> StreamRows:
    """The requests of one stream, exactly by FORMAT.md's rules; ``index`` seeds the durations."""
    now_ns = int(now.timestamp()) * _NS + now.microsecond * 1000
    start_ns = now_ns + round(relative_seconds(stream.from_) * _NS)
    end_ns = now_ns + round(relative_seconds(stream.to) * _NS)
    count = max(0, math.ceil((end_ns - start_ns) / _NS * stream.rpm / 60.0) + 1)
    i = np.arange(count, dtype=np.int64)
    ts = start_ns + np.round(i * (60.0 * _NS / stream.rpm)).astype(np.int64)
    keep = ts < end_ns
    i, ts = i[keep], ts[keep]
    rate = stream.error_rate
    is_error = np.floor((i + 1) * rate) > np.floor(i * rate)
    status = np.where(is_error, stream.error_status, stream.status).astype(np.uint16)
    rng = np.random.default_rng(index)
    duration_ms = stream.latency_ms * np.exp(0.5 * rng.standard_normal(len(i)))
    return StreamRows(ts, np.round(duration_ms * 1e6).astype(np.uint64), status)


def schema_statements(database: str) -> list[str]:
    """The exporter's DDL statements, with the database renamed."""
    valid_identifier(database)
    text = "\n".join(line for line in OTEL_SCHEMA_PATH.read_text().splitlines() if not line.lstrip().startswith("--"))
    renamed = _SCHEMA_DB.sub(lambda m: m.group(0).replace("otel", database), text)
    return [statement.strip() for statement in renamed.split(";") if statement.strip()]


def _stream_table(streams: list[TrafficStream]) -> pa.Table:
    method, path = zip(*[[*s.route.split(" ", 1), ""][:2] for s in streams], strict=True) if streams else ((), ())
    return pa.table(
        {
            "sid": pa.array(range(len(streams)), pa.uint32()),
            "tenant": [s.tenant for s in streams],
            "service": [s.service for s in streams],
            "route": [s.route for s in streams],
            "kind": ["Client" if s.kind == "client" else "Server" for s in streams],
            "method": list(method),
            "path": list(path),
            "url": [s.url or "" for s in streams],
            "event": [s.event or "" for s in streams],
        }
    )


def _rows_table(streams: list[TrafficStream], now: datetime) -> pa.Table:
    parts = [stream_rows(stream, index, now) for index, stream in enumerate(streams)]
    sizes = [len(p.ts_ns) for p in parts]
    return pa.table(
        {
            "sid": np.repeat(np.arange(len(parts), dtype=np.uint32), sizes),
            "i": np.concatenate([np.arange(n, dtype=np.uint32) for n in sizes]) if parts else np.array([], np.uint32),
            "ts": np.concatenate([p.ts_ns for p in parts]) if parts else np.array([], np.int64),
            "dur": np.concatenate([p.duration_ns for p in parts]) if parts else np.array([], np.uint64),
            "status": np.concatenate([p.status for p in parts]) if parts else np.array([], np.uint16),
        }
    )


def load_traffic(
    client: Any, database: str, streams: list[TrafficStream], now: datetime, settings: ClickHouseSettings
) -> int:
    """Generate every stream's rows and insert them into ``otel_traces`` in one statement; returns the row count."""
    db = valid_identifier(database)
    rows = _rows_table(streams, now)
    client.command(
        f"CREATE TABLE `{db}`.`_stage_streams` (sid UInt32, tenant String, service String, route String, "
        "kind String, method String, path String, url String, event String) ENGINE = Memory"
    )
    client.command(
        f"CREATE TABLE `{db}`.`_stage_rows` (sid UInt32, i UInt32, ts Int64, dur UInt64, status UInt16) ENGINE = Memory"
    )
    try:
        client.insert_arrow(f"{db}._stage_streams", _stream_table(streams))
        client.insert_arrow(f"{db}._stage_rows", rows)
        client.command(
            _MOVE_SQL.replace("{db}", db),
            parameters={
                "tenant_attr": settings.tenant_attribute,
                "status_attr": settings.status_attribute,
                "url_attr": settings.url_attribute,
                "event_attr": settings.event_attribute,
            },
        )
    finally:
        client.command(f"DROP TABLE IF EXISTS `{db}`.`_stage_streams`")
        client.command(f"DROP TABLE IF EXISTS `{db}`.`_stage_rows`")
    return int(rows.num_rows)


def _span_value(column: str, value: Any, now: datetime) -> Any:
    if column == "Timestamp" and isinstance(value, str | int | float):
        try:
            return datetime.fromtimestamp(now.timestamp() + relative_seconds(value), UTC)
        except ValueError:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value


def load_spans(client: Any, database: str, spans: list[dict[str, Any]], now: datetime) -> int:
    """Insert literal span rows (column name -> value) in one insert; relative Timestamps count from ``now``."""
    if not spans:
        return 0
    columns = sorted({key for span in spans for key in span})
    defaults: dict[str, Any] = {
        name: ({} if ctype.startswith("Map") else 0 if ctype.startswith(("UInt", "Int")) else "")
        for name, ctype in client.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'otel_traces'",
            parameters={"db": database},
        ).result_rows
    }
    data = [[_span_value(c, span.get(c, defaults.get(c, "")), now) for c in columns] for span in spans]
    client.insert(f"{valid_identifier(database)}.otel_traces", data, column_names=columns)
    return len(data)


def load_world(
    client: Any, database: str, world: ClickHouseWorld | None, now: datetime, settings: ClickHouseSettings
) -> int:
    """Create the exporter's tables in ``database`` and load the world's traffic and spans."""
    for statement in schema_statements(database):
        client.command(statement)
    if world is None:
        return 0
    return load_traffic(client, database, world.traffic, now, settings) + load_spans(client, database, world.spans, now)


class ClickHouseStandIn(StandIn):
    """ClickHouse's HTTP interface over this process's embedded chDB engine."""

    name = "clickhouse"

    def __init__(self, injection: Injection | None = None) -> None:
        super().__init__(injection)
        self._engine_lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        sql, output_format = self._statement(request)
        params = {key[6:]: values[0] for key, values in request.query.items() if key.startswith("param_")}
        settings = {
            key: values[0]
            for key, values in request.query.items()
            if not key.startswith("param_") and key not in _TRANSPORT_PARAMS
        }
        with self._engine_lock:
            conn = chdb.connect(":memory:")  # type: ignore[no-untyped-call]
            try:
                database = request.arg("database")
                if database:
                    conn.query("USE " + valid_identifier(database))
                for key, value in settings.items():
                    if not _SETTING_NAME.match(key):
                        return self._error(115, f"Code: 115. DB::Exception: Unknown setting {key}. (UNKNOWN_SETTING)")
                    conn.query(
                        f"SET {key} = '{value.replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}'"
                    )
                result = conn.query(sql, output_format, params=params)
            except Exception as exc:  # chDB raises its errors as ChdbError/RuntimeError with the server text
                message = str(exc)
                code = re.search(r"Code: (\d+)", message)
                return self._error(int(code.group(1)) if code else 1000, message)
            finally:
                conn.close()
        summary = {
            "read_rows": str(result.storage_rows_read()),
            "result_rows": str(result.rows_read()),
            "read_bytes": str(result.storage_bytes_read()),
            "elapsed_ns": str(int(result.elapsed() * 1e9)),
        }
        headers = {
            "Content-Type": "application/octet-stream",
            "X-ClickHouse-Format": output_format,
            "X-ClickHouse-Summary": json.dumps(summary),
            "X-ClickHouse-Query-Id": request.arg("query_id") or str(uuid.uuid4()),
            "X-ClickHouse-Timezone": "UTC",
        }
        return Response(200, result.bytes(), headers)

    @staticmethod
    def _statement(request: Request) -> tuple[str, str]:
        body = request.body.decode("utf-8")
        query = request.arg("query")
        sql = f"{query}\n{body}" if query and body else (query or body)
        output_format = request.arg("default_format") or "TabSeparated"
        match = _TRAILING_FORMAT.search(sql)
        if match:
            output_format, sql = match.group(1), sql[: match.start()]
        return sql, output_format

    @staticmethod
    def _error(code: int, message: str) -> Response:
        status = 500 if code in (159, 241, 202) else 400
        return Response(
            status, message.encode(), {"Content-Type": "text/plain", "X-ClickHouse-Exception-Code": str(code)}
        )

    def rate_limit_response(self) -> Response:
        return Response(
            429,
            b"Code: 202. DB::Exception: Too many simultaneous queries. (TOO_MANY_SIMULTANEOUS_QUERIES)",
            {"Content-Type": "text/plain", "X-ClickHouse-Exception-Code": "202", "Retry-After": "1"},
        )

    def server_error_response(self) -> Response:
        return Response(503, b"Service Unavailable", {"Content-Type": "text/plain"})


class ClickHouseSandbox:
    """The scenario's traces in the process's in-memory chDB, served by a :class:`ClickHouseStandIn`.

    Each sandbox loads into its own database (``otel_<hex>`` unless ``database`` is given), so
    several can live in one process; :meth:`connector_settings` points the real connector at it.
    ``http=False`` skips the HTTP server: the settings then use the embedded ``chdb://`` DSN
    (no fault injection possible there)."""

    def __init__(
        self,
        world: ClickHouseWorld | None,
        now: datetime,
        injection: Injection | None = None,
        *,
        database: str | None = None,
        http: bool = True,
        settings: ClickHouseSettings | None = None,
    ) -> None:
        self.world = world
        self.now = now
        self.injection = injection
        self.database = valid_identifier(database or f"otel_{uuid.uuid4().hex[:12]}")
        self.http = http
        self.base_settings = settings or ClickHouseSettings()
        self.rows = 0
        self.standin: ClickHouseStandIn | None = None
        self._client: Any = None

    def start(self) -> str:
        """Load the data and start the HTTP server; returns the DSN the connector should use."""
        self._client = clickhouse_connect.get_client(dsn="chdb://")
        self.rows = load_world(self._client, self.database, self.world, self.now, self.base_settings)
        if self.http:
            self.standin = ClickHouseStandIn(self.injection)
            self.standin.start()
        return self.dsn

    @property
    def dsn(self) -> str:
        return self.standin.url if self.standin is not None else "chdb://"

    def connector_settings(self, **overrides: Any) -> ClickHouseSettings:
        """Settings that point the real connector at this sandbox's data."""
        values = self.base_settings.model_dump(exclude={"toml_section"})
        values.update({"dsn": self.dsn, "database": self.database, **overrides})
        return ClickHouseSettings(**values)

    def env(self) -> dict[str, str]:
        """The same, as environment variables (for worker processes)."""
        return {"INVESTIGATOR_CLICKHOUSE_DSN": self.dsn, "INVESTIGATOR_CLICKHOUSE_DATABASE": self.database}

    def stop(self) -> None:
        """Stop the server and drop the sandbox's database."""
        if self.standin is not None:
            self.standin.stop()
            self.standin = None
        if self._client is not None:
            self._client.command(f"DROP DATABASE IF EXISTS `{self.database}`")
            self._client.close()
            self._client = None

    def __enter__(self) -> ClickHouseSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
