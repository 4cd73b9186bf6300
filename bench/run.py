"""``investigator bench``: fan-out rounds, intake, workers and ClickHouse, measured in one run, one table.

``--quick`` (about a minute and a half): 3 scenarios, 5 s load runs, 10 investigations per worker
count, 500 thousand spans. The full run (under ten minutes on 2 cores): every scenario, 20 s load
runs, 40 investigations, 10 million spans. Every number is measured in this run; the raw results
are also written as JSON to ``artifacts/bench.json``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import clickhouse_bench, fanout, intake, workers

ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "bench.json"


@dataclass(frozen=True)
class Plan:
    """How big each part runs."""

    fanout_limit: int | None
    fanout_repeat: int
    load_seconds: float
    investigations: int
    spans: int


FULL = Plan(fanout_limit=None, fanout_repeat=2, load_seconds=20.0, investigations=40, spans=10_000_000)
QUICK = Plan(fanout_limit=3, fanout_repeat=2, load_seconds=5.0, investigations=10, spans=500_000)


def machine() -> str:
    """nproc, CPU model and Python version."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU ({model}), Python {platform.python_version()}, {platform.system()}"


def _timed(what: str, console: Console, fn: Any) -> Any:
    console.print(f"[dim]bench: {what}...[/dim]")
    started = time.perf_counter()
    result = fn()
    console.print(f"[dim]bench: {what} done in {time.perf_counter() - started:.0f} s[/dim]")
    return result


def _r(x: float) -> str:
    return f"{round(x, 1) + 0.0:.1f}"  # no "-0.0" for a zero that measured a hair below


def _path(row: dict[str, Any]) -> str:
    """The critical path in rounds: tenant resolution, the slowest source, delivery."""
    cp = row["critical_path_rounds"]
    sources = {k: v for k, v in cp.items() if k not in ("fan-out", "delivery", "helpdesk")}
    slowest = max(sources, key=lambda k: sources[k])
    return (
        f"fan-out {_r(cp['fan-out'])} (helpdesk {_r(cp.get('helpdesk', 0.0))}, {slowest} {_r(sources[slowest])})"
        f" + delivery {_r(cp['delivery'])}"
    )


def fanout_rows(table: Table, result: dict[str, Any]) -> None:
    """Part 1: one row per scenario and the mean."""
    for row in result["scenarios"]:
        table.add_row(
            "1 fan-out",
            row["scenario"],
            f"{row['rounds_concurrent']:.1f} rounds",
            f"{row['rounds_sequential']:.1f} rounds",
            f"{row['ratio']}x",
            _path(row),
        )
    mean = result["mean_rounds_concurrent"]
    table.add_row(
        "1 fan-out",
        f"[bold]mean of {len(result['scenarios'])}[/bold]",
        f"[bold]{mean:.1f} rounds[/bold]",
        f"[bold]{result['mean_rounds_sequential']:.1f} rounds[/bold]",
        f"[bold]{result['mean_ratio']}x[/bold]",
        f"target <= 4: {'met' if mean <= 4 else 'NOT met'}; +{result['latency_ms']:.0f} ms/response, "
        f"median of {result['repeat']}",
    )


def intake_rows(table: Table, result: dict[str, Any]) -> None:
    """Part 2: intake vs healthz, and the lost/duplicated check."""
    a, b, c = result["intake"], result["healthz"], result["check"]

    def cell(x: dict[str, Any]) -> str:
        return f"{x['rps']:.0f} req/s, p50 {x['p50_ms']:.0f} ms, p99 {x['p99_ms']:.0f} ms"

    table.add_row(
        "2 intake",
        f"{result['clients']} clients x {result['seconds']:.0f} s",
        cell(a),
        cell(b),
        f"{result['ratio']}",
        f"target >= 0.5: {'met' if result['ratio'] >= 0.5 else 'NOT met'}; server CPU {a['server_cpu_pct']}%/"
        f"{b['server_cpu_pct']}%, load generator {a['loadgen_cpu_pct']}%/{b['loadgen_cpu_pct']}%",
    )
    table.add_row(
        "2 intake",
        "lost / duplicated",
        f"{c['accepted']} accepted, {c['distinct_ids']} distinct",
        f"{c['stored']} stored, {c['enqueued']} enqueued",
        f"{c['lost']} / {c['duplicated']}",
        f"{'ok' if c['ok'] else 'MISMATCH'}; statuses {a['statuses']}, errors {a['errors']}",
    )


def worker_rows(table: Table, result: dict[str, Any]) -> None:
    """Part 3: throughput per worker count."""
    base = result["rows"][0]["per_s"] or 0
    for row in result["rows"]:
        table.add_row(
            "3 workers",
            f"{row['workers']} worker(s) x {row['concurrency']} threads",
            f"{row['per_s']} inv/s ({row['investigations']} inv, {row['notes']} notes)",
            f"queue {row['queue_wait_s']} s + run {row['run_s']} s + deliver {row['deliver_s']} s",
            f"{row['per_s'] / base:.2f}x" if base else "-",
            f"CPU/inv: workers {row['worker_cpu_ms_per_inv']:.0f} ms, "
            f"stand-ins {row['standins_cpu_ms_per_inv']:.0f} ms; e2e p50 {row['end_to_end_s']} s",
        )


def clickhouse_rows(table: Table, result: dict[str, Any]) -> None:
    """Part 4: the connector's queries vs one scan."""
    table.add_row(
        "4 clickhouse",
        f"{result['spans'] / 1e6:.1f}M spans",
        f"investigation {result['investigation_s'] * 1000:.0f} ms ({result['queries_per_investigation']} queries)",
        f"full scan {result['full_scan_s'] * 1000:.0f} ms; attribute scan {result['attribute_scan_s'] * 1000:.0f} ms",
        f"{result['ratio']} / {result['ratio_vs_attribute_scan']}",
        f"rows read {result['rows_read_per_investigation']:,} vs scan {result['rows_read_full_scan']:,}; "
        f"load {result['load_s']} s",
    )


def main(quick: bool = False) -> None:
    """Run every part and print one table (and write ``artifacts/bench.json``)."""
    plan = QUICK if quick else FULL
    console = Console(width=220)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "quick": quick}
    results["fanout"] = _timed(
        "fan-out", console, lambda: fanout.run(repeat=plan.fanout_repeat, limit=plan.fanout_limit)
    )
    results["intake"] = _timed("intake", console, lambda: intake.run(seconds=plan.load_seconds))
    results["workers"] = _timed("workers", console, lambda: workers.run(investigations=plan.investigations))
    results["clickhouse"] = _timed("clickhouse", console, lambda: clickhouse_bench.run(plan.spans))
    results["total_s"] = round(time.perf_counter() - started)
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(results, indent=2, default=str))

    table = Table(title=f"investigator bench{' --quick' if quick else ''}: {results['machine']}")
    for column in ("part", "case", "product", "baseline / ceiling", "ratio", "notes"):
        table.add_column(column)
    fanout_rows(table, results["fanout"])
    table.add_section()
    intake_rows(table, results["intake"])
    table.add_section()
    worker_rows(table, results["workers"])
    table.add_section()
    clickhouse_rows(table, results["clickhouse"])
    console.print(table)
    console.print(
        f"total {results['total_s']} s; ratios: fan-out = sequential/concurrent rounds, intake = intake/healthz "
        "req/s, workers = throughput vs 1 worker, clickhouse = investigation/full scan and /attribute scan. "
        f"Raw numbers: {ARTIFACT}"
    )
