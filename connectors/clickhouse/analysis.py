"""Anomaly detection on bucketed series: errors, client-error categories, latency, missing traffic.

Each check compares the level after a change point with the level before it; a level that is
high through the whole lookback (no change point) is ``sustained`` when it is high in absolute terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from connectors.clickhouse.config import ClickHouseSettings
from connectors.clickhouse.series import Array, Series, find_shift

CATEGORIES: dict[str, Callable[[int], bool]] = {
    "rate_limited": lambda c: c == 429,
    "auth": lambda c: c in (401, 403),
    "payment_required": lambda c: c == 402,
    "client": lambda c: 400 <= c < 500 and c not in (401, 402, 403, 429),
}


def is_server_error(code: int) -> bool:
    return code >= 500


def is_success(code: int) -> bool:
    return 100 <= code < 400


@dataclass(frozen=True)
class Grid:
    """The bucket grid of the lookback: bucket ``b`` covers [start_ms + b*bucket_ms, start_ms + (b+1)*bucket_ms)."""

    start_ms: int
    bucket_ms: int
    buckets: int
    window_bucket: int  # first bucket of the investigation window

    def at(self, bucket: int) -> int:
        return self.start_ms + bucket * self.bucket_ms

    @property
    def end_ms(self) -> int:
        return self.at(self.buckets)


@dataclass(frozen=True)
class Anomaly:
    """One detected anomaly on one series: ``kind`` error_rate | client_errors | latency."""

    kind: str
    series: Series
    category: str | None
    start: int  # first bucket after onset (or the window's first bucket when sustained)
    end: int  # bucket after the last anomalous one (== grid.buckets when ongoing)
    sustained: bool
    onset_ms: int | None
    inside: float
    outside: float


class Detector:
    """Applies the settings' thresholds to series on one grid."""

    def __init__(self, settings: ClickHouseSettings, grid: Grid) -> None:
        self.s = settings
        self.grid = grid
        self.min_segment = max(1, -(-settings.min_segment_minutes * 60_000 // grid.bucket_ms))

    def rate(self, series: Series, kind: str, predicate: Callable[[int], bool], category: str | None) -> Anomaly | None:
        """An error-rate anomaly (5xx, or one 4xx category) on a series."""
        errors = series.count(predicate).astype(np.float64)
        n = series.n.astype(np.float64)
        shift = find_shift(errors, n, self.min_segment, self.s.min_requests)
        if (
            shift
            and shift.end > self.grid.window_bucket
            and self.rate_departs(shift.inside, shift.outside)
            and errors[shift.start : shift.end].sum() >= 3
        ):
            onset = self._first_failure(series, shift.start) or self.grid.at(shift.start)
            return Anomaly(kind, series, category, shift.start, shift.end, False, onset, shift.inside, shift.outside)
        w = self.grid.window_bucket
        win_n, base_n = n[w:].sum(), n[:w].sum()
        if win_n < self.s.min_requests:
            return None
        win_rate = errors[w:].sum() / win_n
        base_rate = errors[:w].sum() / base_n if base_n else 0.0
        if win_rate >= self.s.sustained_error_rate:
            return Anomaly(kind, series, category, w, self.grid.buckets, True, None, win_rate, base_rate)
        return None

    def rate_departs(self, inside: float, outside: float) -> bool:
        """A clear rise of an error rate."""
        return inside >= self.s.error_rate_min and inside >= outside * self.s.error_rate_factor + 0.01

    def latency(self, series: Series) -> Anomaly | None:
        """A latency (p50) anomaly on a series."""
        n = series.n.astype(np.float64)
        p50 = np.nan_to_num(series.p50, nan=0.0)
        shift = find_shift(p50 * n, n, self.min_segment, self.s.min_requests)
        if shift and shift.end > self.grid.window_bucket and self.latency_departs(shift.inside, shift.outside):
            onset = self.grid.at(shift.start)
            return Anomaly("latency", series, None, shift.start, shift.end, False, onset, shift.inside, shift.outside)
        w = self.grid.window_bucket
        if n[w:].sum() < self.s.min_requests:
            return None
        win_p50 = weighted_median(series.p50[w:], n[w:])
        if win_p50 >= self.s.sustained_latency_ms:
            base = weighted_median(series.p50[:w], n[:w]) if n[:w].sum() else 0.0
            return Anomaly("latency", series, None, w, self.grid.buckets, True, None, win_p50, base)
        return None

    def latency_departs(self, inside: float, outside: float) -> bool:
        """A clear rise of a p50."""
        return inside >= outside * self.s.latency_factor and inside - outside >= self.s.latency_min_delta_ms

    def missing(self, series: Series) -> tuple[int, float, float] | None:
        """(first low bucket, normal rpm, recent rpm) when the volume fell below ``missing_ratio`` of normal."""
        run_min = max(1, -(-self.s.missing_min_minutes * 60_000 // self.grid.bucket_ms))
        n = series.n.astype(np.float64)
        active = np.flatnonzero(n)
        if not len(active) or active[0] >= len(n) - run_min:
            return None
        minutes = self.grid.bucket_ms / 60_000
        normal_rpm = n[active[0] : len(n) - run_min].mean() / minutes
        if normal_rpm < self.s.missing_min_rpm:
            return None
        low = n < self.s.missing_ratio * normal_rpm * minutes
        run = 0
        while run < len(n) and low[len(n) - 1 - run]:
            run += 1
        if run < run_min:
            return None
        first = len(n) - run
        normal_rpm = n[active[0] : first].mean() / minutes  # the level before the drop
        return first, float(normal_rpm), float(n[first:].sum() / (run * minutes))

    def _first_failure(self, series: Series, bucket: int) -> int | None:
        value = int(series.first_failure[bucket])
        return value if value > 0 else None


def weighted_median(values: Array, weights: Array) -> float:
    """Median of per-bucket values weighted by their request counts (NaN buckets ignored)."""
    mask = ~np.isnan(values) & (weights > 0)
    if not mask.any():
        return 0.0
    v, w = values[mask], weights[mask]
    order = np.argsort(v)
    cumulative = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])
