"""Bucketed traffic series built from the aggregate query rows, and the change-point search on them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


class SeriesKey(NamedTuple):
    service: str
    route: str
    kind: str
    url: str
    event: str


@dataclass
class Series:
    """One key's per-bucket counts: requests, requests by status code, duration quantiles (ms), failure times."""

    key: SeriesKey
    n: Array
    status: dict[int, Array]
    p50: Array
    p95: Array
    p99: Array
    first_failure: Array = field(repr=False)
    last_failure: Array = field(repr=False)

    @classmethod
    def empty(cls, key: SeriesKey, buckets: int) -> Series:
        nan = np.full(buckets, np.nan)
        zeros = np.zeros(buckets, dtype=np.int64)
        return cls(key, zeros.copy(), {}, nan.copy(), nan.copy(), nan.copy(), zeros.copy(), zeros.copy())

    def count(self, predicate: Callable[[int], bool]) -> Array:
        """Requests per bucket whose status satisfies ``predicate``."""
        total = np.zeros_like(self.n)
        for code, values in self.status.items():
            if predicate(code):
                total = total + values
        return total

    def codes(self, predicate: Callable[[int], bool], lo: int = 0, hi: int | None = None) -> dict[str, int]:
        """Counts by status code over buckets [lo, hi)."""
        out = {str(code): int(values[lo:hi].sum()) for code, values in sorted(self.status.items()) if predicate(code)}
        return {code: count for code, count in out.items() if count}


def build_series(rows: Iterable[dict[str, Any]], buckets: int) -> dict[SeriesKey, Series]:
    """Series per key from rows of ``tenant_series.sql`` / ``platform_series.sql``."""
    out: dict[SeriesKey, Series] = {}
    for row in rows:
        b = int(row["bucket"])
        if not 0 <= b < buckets:
            continue
        key = SeriesKey(row["service"], row["route"], row["kind"], row["url"] or "", row["event"] or "")
        series = out.get(key) or out.setdefault(key, Series.empty(key, buckets))
        series.n[b] += int(row["requests"])
        for code, count in (row["statuses"] or {}).items():
            series.status.setdefault(int(code), np.zeros(buckets, dtype=np.int64))[b] += int(count)
        q = [float(v) / 1e6 for v in row["q"]]
        series.p50[b], series.p95[b], series.p99[b] = q[0], q[1], q[2]
        series.first_failure[b] = int(row["first_failure_ms"])
        series.last_failure[b] = int(row["last_failure_ms"])
    return out


def merge(items: list[Series], key: SeriesKey) -> Series:
    """Sum several series (e.g. the event types of one webhook destination)."""
    buckets = len(items[0].n)
    merged = Series.empty(key, buckets)
    for s in items:
        merged.n = merged.n + s.n
        for code, values in s.status.items():
            merged.status[code] = merged.status.get(code, np.zeros(buckets, dtype=np.int64)) + values
        first = np.where(s.first_failure > 0, s.first_failure, np.iinfo(np.int64).max)
        current = np.where(merged.first_failure > 0, merged.first_failure, np.iinfo(np.int64).max)
        low = np.minimum(first, current)
        merged.first_failure = np.where(low == np.iinfo(np.int64).max, 0, low)
        merged.last_failure = np.maximum(merged.last_failure, s.last_failure)
    return merged


@dataclass(frozen=True)
class Shift:
    """A segment [start, end) of buckets whose level differs from the rest."""

    start: int
    end: int
    inside: float
    outside: float
    inside_weight: float
    outside_weight: float


def find_shift(num: Array, den: Array, min_segment: int, min_weight: float) -> Shift | None:
    """The upward level shift that best separates the series (an epidemic change point).

    ``num / den`` per bucket is the metric (errors / requests, or p50 x requests / requests).
    Searches every segment [i, j) with at least ``min_segment`` buckets before it and in it,
    and at least ``min_weight`` of ``den`` on each side, for the one whose weighted mean rises
    above the rest's by the largest between-groups sum of squares. ``j`` may be the end (ongoing)."""
    size = len(den)
    if size < 2 * min_segment:
        return None
    cn = np.concatenate([[0.0], np.cumsum(num, dtype=np.float64)])
    cd = np.concatenate([[0.0], np.cumsum(den, dtype=np.float64)])
    i = np.arange(min_segment, size - min_segment + 1)[:, None]
    j = np.arange(size + 1)[None, :]
    valid = j - i >= min_segment
    w_in = cd[j] - cd[i]
    n_in = cn[j] - cn[i]
    w_out = cd[size] - w_in
    n_out = cn[size] - n_in
    valid &= (w_in >= min_weight) & (w_out >= min_weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_in = np.where(valid, n_in / np.where(w_in > 0, w_in, 1), 0.0)
        m_out = np.where(valid, n_out / np.where(w_out > 0, w_out, 1), 0.0)
        score = np.where(valid & (m_in > m_out), w_in * w_out / (w_in + w_out) * (m_in - m_out) ** 2, -1.0)
    if score.max() <= 0:
        return None
    row, col = np.unravel_index(int(np.argmax(score)), score.shape)
    start, end = int(i[row, 0]), int(col)
    return Shift(
        start, end, float(m_in[row, col]), float(m_out[row, col]), float(w_in[row, col]), float(w_out[row, col])
    )
