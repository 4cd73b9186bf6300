"""One retry policy for every upstream: bounded attempts, exponential backoff with jitter,
``Retry-After`` honoured but capped, a log line before each sleep, terminal errors never retried.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from investigator.errors import RateLimitedError, TransientError

T = TypeVar("T")
log = logging.getLogger("investigator.retry")


@dataclass
class RetryPolicy:
    """How many times and how long to wait. ``sleep`` is injectable so tests count, not wait."""

    max_attempts: int = 3
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    max_retry_after_s: float = 10.0
    jitter: float = 0.25
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, error: TransientError) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_retry_after_s)
        backoff = min(self.base_delay_s * (2 ** (attempt - 1)), self.max_delay_s)
        spread: float = random.uniform(-self.jitter, self.jitter)
        return float(backoff * (1 + spread))

    def call(self, fn: Callable[[], T], *, what: str) -> T:
        """Run ``fn``; retry it on :class:`TransientError` only, up to ``max_attempts``."""
        attempt = 1
        while True:
            try:
                return fn()
            except TransientError as error:
                if attempt >= self.max_attempts:
                    raise
                wait = self.delay(attempt, error)
                if isinstance(error, RateLimitedError) and error.retry_after and error.retry_after > wait:
                    raise  # the upstream wants longer than we may wait: give up now, report unavailable
                log.warning("%s failed (%s); retry %d/%d in %.2fs", what, error, attempt, self.max_attempts - 1, wait)
                self.sleep(wait)
                attempt += 1


NO_RETRY = RetryPolicy(max_attempts=1)
