"""Prometheus metrics kept in Redis, so web and every worker process add to the same numbers.

Workers and the API record with the ``record_*`` functions (a few ``HINCRBY`` each); ``/metrics``
renders them with :class:`RedisCollector`. This avoids prometheus_client's multiprocess mode,
which needs a shared directory that web and worker containers do not have.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
QUEUE_BUCKETS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
PREFIX = "investigator:metrics"


def _key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


def _observe(client: redis.Redis, name: str, value: float, buckets: tuple[float, ...]) -> None:
    pipe = client.pipeline(transaction=False)
    for bound in buckets:
        if value <= bound:
            pipe.hincrby(_key(name), f"le:{bound}", 1)
    pipe.hincrby(_key(name), "count", 1)
    pipe.hincrbyfloat(_key(name), "sum", value)
    pipe.execute()


def record_decision(client: redis.Redis, action: str) -> None:
    """One investigation finished with ``action``."""
    client.hincrby(_key("investigations"), action, 1)


def record_source(client: redis.Redis, source: str, status: str, duration_s: float) -> None:
    """One source run: its outcome and how long it took."""
    client.hincrby(_key("source_runs"), f"{source}|{status}", 1)
    _observe(client, f"source_latency:{source}", duration_s, LATENCY_BUCKETS)


def record_queue_time(client: redis.Redis, seconds: float) -> None:
    """Time from the webhook's 202 to a worker starting the investigation."""
    _observe(client, "queue_time", seconds, QUEUE_BUCKETS)


def webhooks_key() -> str:
    """The hash counting webhook deliveries by ``helpdesk|outcome`` (the intake's outbox script writes it too)."""
    return _key("webhooks")


def record_webhook(client: redis.Redis, helpdesk: str, outcome: str) -> None:
    """One webhook delivery and what intake answered (accepted, duplicate, unauthorized...)."""
    client.hincrby(_key("webhooks"), f"{helpdesk}|{outcome}", 1)


def record_finalization(client: redis.Redis, by: str) -> None:
    """Who finalised an investigation: the chord's body or the watchdog."""
    client.hincrby(_key("finalized"), by, 1)


def _histogram(
    client: redis.Redis,
    name: str,
    key: str,
    doc: str,
    labels: dict[str, str],
    buckets: tuple[float, ...],
    family: HistogramMetricFamily | None = None,
) -> HistogramMetricFamily:
    raw = client.hgetall(_key(key))
    family = family or HistogramMetricFamily(name, doc, labels=list(labels))
    if raw:
        pairs = [(str(b), float(raw.get(f"le:{b}", 0))) for b in buckets]
        pairs.append(("+Inf", float(raw.get("count", 0))))
        family.add_metric(list(labels.values()), pairs, float(raw.get("sum", 0.0)))
    return family


class RedisCollector(Collector):
    """Reads the counters and histograms that every process wrote to Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        """The metric families, read fresh on each scrape."""
        yield self._counter(
            "investigator_investigations", "Investigations finished, by action", "investigations", ["action"]
        )
        yield self._counter(
            "investigator_source_runs",
            "Source runs by source and status (failures: unavailable, error)",
            "source_runs",
            ["source", "status"],
        )
        yield self._counter(
            "investigator_webhooks", "Webhook deliveries by helpdesk and outcome", "webhooks", ["helpdesk", "outcome"]
        )
        yield self._counter(
            "investigator_finalizations", "Investigations finalised, by the chord or the watchdog", "finalized", ["by"]
        )
        latency = HistogramMetricFamily("investigator_source_latency_seconds", "Source run latency", labels=["source"])
        for key in sorted(self.client.scan_iter(_key("source_latency:*"))):
            source = str(key).rsplit(":", 1)[-1]
            _histogram(self.client, "", f"source_latency:{source}", "", {"source": source}, LATENCY_BUCKETS, latency)
        yield latency
        yield _histogram(
            self.client,
            "investigator_queue_time_seconds",
            "queue_time",
            "Time from intake to a worker starting the investigation",
            {},
            QUEUE_BUCKETS,
        )

    def _counter(self, name: str, doc: str, key: str, labels: list[str]) -> CounterMetricFamily:
        family = CounterMetricFamily(name, doc, labels=labels)
        for field, value in sorted(self.client.hgetall(_key(key)).items()):
            family.add_metric(str(field).split("|"), float(value))
        return family


def render(client: redis.Redis) -> bytes:
    """The Prometheus text exposition of every metric."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(client))
    return bytes(generate_latest(registry))
