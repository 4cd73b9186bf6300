"""The outbox relay: hands investigations the intake stored to Celery (transactional outbox).

The intake writes the record and its outbox entry in one atomic Redis step and answers at once;
this relay, running in every worker node, leases due entries (so two relays never publish the same
entry at the same time, and a relay that dies mid-way loses nothing: its lease runs out and another
relay takes the entry), publishes ``investigator.start`` for each, then removes the entry. A publish
repeated after a crash is harmless: the start task launches an investigation once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

from investigator.store import Store

log = logging.getLogger("tasks.relay")


class OutboxRelay:
    """Moves outbox entries to the broker until stopped."""

    def __init__(
        self,
        store: Store,
        publish: Callable[[str], None],
        *,
        lease_s: float = 30.0,
        batch: int = 100,
        idle_s: float = 0.05,
        error_backoff_s: float = 1.0,
    ) -> None:
        self.store = store
        self.publish = publish
        self.lease_s = lease_s
        self.batch = batch
        self.idle_s = idle_s
        self.error_backoff_s = error_backoff_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def relay_once(self) -> int:
        """Publish what is due now; returns how many entries were handed over."""
        handed = 0
        for inv_id in self.store.lease_outbox(lease_s=self.lease_s, limit=self.batch):
            self.publish(inv_id)
            self.store.outbox_done(inv_id)
            handed += 1
        return handed

    def run(self) -> None:
        """Loop until :meth:`stop`; Redis or broker outages are waited out, never fatal."""
        while not self._stop.is_set():
            try:
                handed = self.relay_once()
            except (redis.RedisError, OSError, ConnectionError) as exc:
                log.warning("outbox relay paused: %s", type(exc).__name__)
                self._stop.wait(self.error_backoff_s)
                continue
            except Exception:  # a bug must not kill the worker's relay silently
                log.exception("outbox relay failed; retrying")
                self._stop.wait(self.error_backoff_s)
                continue
            if handed < self.batch:
                self._stop.wait(self.idle_s)

    def start(self) -> None:
        """Run in a daemon thread."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="outbox-relay", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the loop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
