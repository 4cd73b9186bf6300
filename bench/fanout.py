"""Fan-out benchmark: how many sequential API rounds one investigation pays, delivery included.

Every scenario is replayed against its stand-ins with 0 ms and with ``latency_ms`` added to every
response, once with the concurrent pipeline and once with ``sequential=True``. The added wall time
divided by the added latency is the number of API calls that happen one after another (rounds).

The timer covers the investigation and its delivery only (the same steps as
:func:`investigator.replay.replay`), not the start-up of the stand-ins, whose chDB load varies by
a second or more and would drown the signal. Per-source rounds come from ``packet.reports``
durations; calls per source from the stand-ins' request logs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from investigator.models import EvidencePacket
from investigator.replay import deliver_in, investigate_in, scenario_settings
from investigator.sandbox.scenario import Scenario, load_scenario, scenario_files
from investigator.sandbox.world import ReplayWorld, injections_for

SCENARIOS = Path(__file__).resolve().parents[1].parent / "shared" / "scenarios"


@dataclass
class Timing:
    """One timed replay: wall of fan-out and delivery, per-source durations, calls per stand-in."""

    investigate_s: float
    deliver_s: float
    sources_ms: dict[str, float]
    calls: dict[str, int]
    delivery_calls: dict[str, int]

    @property
    def wall_s(self) -> float:
        """Investigation plus delivery."""
        return self.investigate_s + self.deliver_s


def _calls(world: ReplayWorld) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, sandbox in world.sandboxes.items():
        standin = getattr(sandbox, "standin", sandbox)  # the ClickHouse sandbox serves through its stand-in
        counts[name] = len(getattr(standin, "calls", []))
    return counts


def close_world(world: ReplayWorld) -> None:
    """Stop every stand-in at once: each HTTP server takes up to its 0.5 s poll interval to stop."""
    with ThreadPoolExecutor(max_workers=len(world.sandboxes) or 1) as pool:
        list(pool.map(lambda sandbox: sandbox.stop(), list(world.sandboxes.values())))
    world.sandboxes.clear()


def set_latency(world: ReplayWorld, latency_ms: float) -> None:
    """Change the latency every stand-in of a running world adds (they share the injection objects)."""
    for injection in world.injections.values():
        injection.latency_ms = latency_ms


def timed_run(world: ReplayWorld, scenario: Scenario, *, sequential: bool) -> Timing:
    """One investigation and its delivery against a running world, each timed (the steps of
    :func:`investigator.replay.replay`)."""
    settings = scenario_settings(scenario)
    started = time.perf_counter()
    packet: EvidencePacket = investigate_in(world, settings, sequential=sequential)
    investigated = time.perf_counter()
    before = _calls(world)
    deliver_in(world, settings, packet)
    delivered = time.perf_counter()
    after = _calls(world)
    return Timing(
        investigate_s=investigated - started,
        deliver_s=delivered - investigated,
        sources_ms={r.source: r.duration_ms for r in packet.reports},
        calls=before,
        delivery_calls={k: after[k] - before[k] for k in after if after[k] != before[k]},
    )


@dataclass
class ScenarioResult:
    """Medians for one scenario, and the rounds they imply."""

    name: str
    latency_ms: float
    walls: dict[str, list[float]] = field(default_factory=dict)  # "conc0", "conc200", "seq0", "seq200"
    timings: dict[str, list[Timing]] = field(default_factory=dict)

    def median(self, key: str) -> float:
        """Median wall seconds of one measurement."""
        return statistics.median(self.walls[key])

    def rounds(self, mode: str) -> float:
        """(wall at latency - wall at 0) / latency for ``conc`` or ``seq``."""
        return (self.median(f"{mode}1") - self.median(f"{mode}0")) / (self.latency_ms / 1000)

    def source_rounds(self) -> dict[str, float]:
        """Rounds each source pays in the concurrent run, plus the delivery and the whole fan-out."""
        slow, fast = self.timings["conc1"], self.timings["conc0"]
        lat = self.latency_ms

        def med(items: list[Timing], pick: Callable[[Timing], float]) -> float:
            return float(statistics.median(pick(t) for t in items))

        def source_ms(name: str) -> Callable[[Timing], float]:
            return lambda t: t.sources_ms.get(name, 0.0)

        out = {src: (med(slow, source_ms(src)) - med(fast, source_ms(src))) / lat for src in slow[0].sources_ms}
        out["fan-out"] = (med(slow, lambda t: t.investigate_s) - med(fast, lambda t: t.investigate_s)) * 1000 / lat
        out["delivery"] = (med(slow, lambda t: t.deliver_s) - med(fast, lambda t: t.deliver_s)) * 1000 / lat
        return out

    def summary(self) -> dict[str, Any]:
        """The numbers for the table and the JSON dump."""
        conc, seq = self.rounds("conc"), self.rounds("seq")
        first = self.timings["conc1"][0]
        return {
            "scenario": self.name,
            "wall_s": {k: round(self.median(k), 3) for k in self.walls},
            "rounds_concurrent": round(conc, 2),
            "rounds_sequential": round(seq, 2),
            "ratio": round(seq / conc, 2) if conc > 0 else None,
            "critical_path_rounds": {k: round(v, 2) for k, v in self.source_rounds().items()},
            "calls": first.calls,
            "delivery_calls": first.delivery_calls,
        }


def measure(scenario: Scenario, latency_ms: float, repeat: int) -> ScenarioResult:
    """Every combination ``repeat`` times on one world, interleaved so drift of the machine hits all alike.

    The world is warmed up first, as a long-lived worker is: connection pools and the stable look-ups
    (ClickHouse client, Linear team ids) are made once per process, not per investigation."""
    result = ScenarioResult(scenario.name, latency_ms)
    world = ReplayWorld(scenario, injections_for(scenario, None, 0.0)).__enter__()
    try:
        timed_run(world, scenario, sequential=False)  # warm-up
        for _ in range(repeat):
            for mode, sequential in (("conc", False), ("seq", True)):
                for level, lat in (("0", 0.0), ("1", latency_ms)):
                    set_latency(world, lat)
                    timing = timed_run(world, scenario, sequential=sequential)
                    result.walls.setdefault(mode + level, []).append(timing.wall_s)
                    result.timings.setdefault(mode + level, []).append(timing)
    finally:
        close_world(world)
    return result


def run(
    folder: Path = SCENARIOS, *, latency_ms: float = 200.0, repeat: int = 2, limit: int | None = None
) -> dict[str, Any]:
    """Measure every scenario of ``folder`` (the first ``limit`` when given); returns per-scenario and mean."""
    files = scenario_files(folder)[:limit] if limit else scenario_files(folder)
    scenarios = [load_scenario(f) for f in files]
    rows = [measure(s, latency_ms, repeat).summary() for s in scenarios]
    conc = statistics.mean(r["rounds_concurrent"] for r in rows)
    seq = statistics.mean(r["rounds_sequential"] for r in rows)
    return {
        "latency_ms": latency_ms,
        "repeat": repeat,
        "scenarios": rows,
        "mean_rounds_concurrent": round(conc, 2),
        "mean_rounds_sequential": round(seq, 2),
        "mean_ratio": round(seq / conc, 2) if conc > 0 else None,
    }
