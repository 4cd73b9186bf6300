"""The scenario traffic loader and the ClickHouse HTTP stand-in over embedded chDB."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import clickhouse_connect
import numpy as np
import pytest

from connectors.clickhouse import OTEL_SCHEMA_PATH
from investigator.sandbox.clickhouse_world import ClickHouseSandbox, schema_statements, stream_rows
from investigator.sandbox.scenario import ClickHouseWorld, TrafficStream

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def make(**values: object) -> TrafficStream:
    base: dict[str, object] = {"tenant": "acme", "service": "api", "route": "POST /v1/charges", "from": "-1h", "to": 0}
    base.update(values)
    return TrafficStream.model_validate(base)


def test_the_packaged_schema_is_the_shared_contract(contracts_dir: Path) -> None:
    assert OTEL_SCHEMA_PATH.read_text() == (contracts_dir / "clickhouse" / "otel_schema.sql").read_text()


def test_schema_statements_rename_every_database_reference() -> None:
    statements = schema_statements("otel_test")
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS otel_test"
    assert all("`otel`." not in s and '"otel".' not in s for s in statements)
    assert len(statements) == 10


def test_requests_are_evenly_spaced_and_stop_before_to() -> None:
    rows = stream_rows(make(rpm=30), 0, NOW)
    assert len(rows.ts_ns) == 1800
    assert set(np.diff(rows.ts_ns)) == {2_000_000_000}
    assert rows.ts_ns[0] == int((NOW - timedelta(hours=1)).timestamp()) * 10**9
    assert rows.ts_ns[-1] < int(NOW.timestamp()) * 10**9


def test_errors_follow_the_floor_rule() -> None:
    rows = stream_rows(make(rpm=60, error_rate=0.25, error_status=503), 0, NOW)
    errors = np.flatnonzero(rows.status == 503)
    assert list(errors[:4]) == [3, 7, 11, 15] and len(errors) == 900
    assert set(rows.status.tolist()) == {200, 503}


def test_durations_are_lognormal_around_the_median_and_seeded_by_stream_index() -> None:
    stream = make(rpm=600, latency_ms=200, to="10h", **{"from": 0})
    first, again, other = stream_rows(stream, 3, NOW), stream_rows(stream, 3, NOW), stream_rows(stream, 4, NOW)
    assert np.array_equal(first.duration_ns, again.duration_ns)
    assert not np.array_equal(first.duration_ns, other.duration_ns)
    ms = first.duration_ns / 1e6
    assert 190 < np.median(ms) < 210
    assert 2.8 < np.percentile(ms, 99) / np.median(ms) < 3.6


def test_loaded_rows_carry_the_exporter_columns_and_attributes() -> None:
    world = ClickHouseWorld(
        traffic=[
            make(rpm=6, error_rate=0.5, error_status=502),
            make(route="POST /in", kind="client", service="webhooks", url="https://h.test/in", event="order.created",
                 rpm=6, status=404),
        ]
    )  # fmt: skip
    with ClickHouseSandbox(world, NOW, http=False) as sandbox:
        client = clickhouse_connect.get_client(dsn="chdb://")
        rows = client.query(
            "SELECT SpanKind, ServiceName, ResourceAttributes['service.name'], SpanAttributes, StatusCode, "
            "length(TraceId), length(SpanId), count() FROM {db:Identifier}.otel_traces GROUP BY ALL ORDER BY ALL",
            parameters={"db": sandbox.database},
        ).result_rows
    assert sandbox.rows == 720
    kinds = {(r[0], r[4], r[3].get("http.response.status_code")): r[7] for r in rows}
    assert kinds == {("Client", "Error", "404"): 360, ("Server", "Error", "502"): 180, ("Server", "Unset", "200"): 180}
    client_attrs = next(r[3] for r in rows if r[0] == "Client")
    assert client_attrs["url.full"] == "https://h.test/in" and client_attrs["webhook.event_type"] == "order.created"
    assert client_attrs["http.request.method"] == "POST" and client_attrs["http.route"] == "/in"
    assert client_attrs["tenant.id"] == "acme" and all(r[5] == 32 and r[6] == 16 for r in rows)
    assert {r[1] for r in rows} == {r[2] for r in rows} == {"api", "webhooks"}


def test_literal_spans_are_loaded_with_relative_timestamps() -> None:
    span = {"Timestamp": "-5m", "SpanName": "GET /x", "ServiceName": "api", "SpanKind": "Server",
            "SpanAttributes": {"tenant.id": "acme"}, "Duration": 1000}  # fmt: skip
    with ClickHouseSandbox(ClickHouseWorld(spans=[span]), NOW, http=False) as sandbox:
        client = clickhouse_connect.get_client(dsn="chdb://")
        [(ts_ms, name)] = client.query(
            "SELECT toUnixTimestamp64Milli(Timestamp), SpanName FROM {db:Identifier}.otel_traces",
            parameters={"db": sandbox.database},
        ).result_rows
    assert ts_ms == int((NOW - timedelta(minutes=5)).timestamp() * 1000) and name == "GET /x"


def test_one_hundred_thousand_rows_load_in_one_go() -> None:
    world = ClickHouseWorld(traffic=[make(tenant=f"t{i}", rpm=100, **{"from": "-25m"}) for i in range(40)])
    started = time.perf_counter()
    with ClickHouseSandbox(world, NOW, http=False) as sandbox:
        elapsed = time.perf_counter() - started
        assert sandbox.rows == 40 * 100 * 25
    print(f"loaded {sandbox.rows} rows in {elapsed:.2f}s")  # recorded, not asserted


def test_two_sandboxes_in_one_process_do_not_see_each_other() -> None:
    one = ClickHouseSandbox(ClickHouseWorld(traffic=[make(rpm=1)]), NOW)
    two = ClickHouseSandbox(ClickHouseWorld(traffic=[make(rpm=2)]), NOW)
    with one, two:
        counts = []
        for box in (one, two):
            client = clickhouse_connect.get_client(dsn=box.dsn, database=box.database)
            counts.append(client.query("SELECT count() FROM otel_traces").result_rows[0][0])
    assert counts == [60, 120]


def test_the_http_standin_binds_parameters_applies_settings_and_reports_errors() -> None:
    with ClickHouseSandbox(ClickHouseWorld(traffic=[make(rpm=10)]), NOW) as sandbox:
        client = clickhouse_connect.get_client(dsn=sandbox.dsn, database=sandbox.database)
        result = client.query(
            "SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tenant.id'] = {t:String}",
            parameters={"t": "acme"},
        )
        assert result.result_rows == [(600,)] and int(result.summary["read_rows"]) >= 600
        assert client.query(
            "SELECT count() FROM otel_traces WHERE SpanName = {t:String}", parameters={"t": "x' OR '1'='1"}
        ).result_rows == [(0,)]
        with pytest.raises(Exception, match="TOO_MANY_ROWS_OR_BYTES"):
            client.query("SELECT * FROM otel_traces", settings={"max_result_rows": 5, "result_overflow_mode": "throw"})
        assert sandbox.connector_settings().dsn == sandbox.dsn == sandbox.env()["INVESTIGATOR_CLICKHOUSE_DSN"]
