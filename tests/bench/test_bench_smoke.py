"""Each benchmark runs end to end with tiny parameters and returns the numbers the table prints.

No timing is asserted (the machine is noisy); what is asserted is that every part measured what
it claims: both latencies and both modes, every accepted webhook stored once, every
investigation delivered with a note, the ClickHouse spans loaded."""

from __future__ import annotations

import pytest
import redis
from rich.table import Table

from bench import clickhouse_bench, fanout, intake, run, workers


@pytest.fixture(scope="module")
def bench_redis() -> redis.Redis:
    client = redis.Redis.from_url(intake.REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


def test_fanout_replays_one_scenario_at_both_latencies_in_both_modes_with_delivery() -> None:
    result = fanout.run(latency_ms=50.0, repeat=1, limit=1)

    (row,) = result["scenarios"]
    assert set(row["wall_s"]) == {"conc0", "conc1", "seq0", "seq1"}
    assert {"fan-out", "delivery", "clickhouse"} <= set(row["critical_path_rounds"])
    assert row["calls"]["clickhouse"] > 0, "the ClickHouse stand-in was queried over HTTP"
    assert result["mean_rounds_concurrent"] == row["rounds_concurrent"]
    table = Table()
    for _ in range(6):
        table.add_column()
    run.fanout_rows(table, result)
    assert table.row_count == 2


def test_intake_load_stores_every_accepted_webhook_exactly_once(bench_redis: redis.Redis) -> None:
    result = intake.run(seconds=0.5, clients=4, max_requests=60)

    assert result["intake"]["requests"] > 0 and result["healthz"]["requests"] > 0
    assert result["intake"]["statuses"] == {202: result["intake"]["requests"]}
    check = result["check"]
    assert check["ok"] and check["lost"] == 0 and check["duplicated"] == 0
    assert check["stored"] == check["accepted"] == check["enqueued"] == result["intake"]["requests"]
    assert bench_redis.dbsize() == 0, "the bench database is flushed afterwards"


def test_workers_deliver_a_note_for_every_webhook(bench_redis: redis.Redis) -> None:
    result = workers.run(counts=(1,), investigations=2, latency_ms=0.0, concurrency=4)

    (row,) = result["rows"]
    assert row["investigations"] == row["delivered"] == row["notes"] == 2
    assert row["worker_cpu_ms_per_inv"] > 0
    assert row["queue_wait_s"] >= 0 and row["run_s"] > 0


def test_clickhouse_bench_loads_the_spans_and_runs_the_connector_queries() -> None:
    result = clickhouse_bench.run(5_000, repeat=1)

    assert result["spans"] >= 5_000
    assert result["queries_per_investigation"] >= 1
    assert result["full_scan_count"] == result["spans"]


def test_machine_line_names_the_cpu_count_and_python() -> None:
    line = run.machine()

    assert "CPU" in line and "Python" in line
