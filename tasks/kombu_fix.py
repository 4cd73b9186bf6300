"""Work around a worker crash on broker connection loss (celery 5.7.0 / kombu 5.7.0, Redis).

On a lost connection the consumer collects the connection (which sets ``transport.client`` to
None) and then closes it; closing the channel calls ``QoS.restore_unacked``, which builds a new
Redis client from ``transport.client`` and raises ``AttributeError: 'NoneType' object has no
attribute 'hostname'``; a task that was running meanwhile then acks on the dead channel
and fails the same way (``'NoneType' object has no attribute 'client'``). ``ignore_errors``
only swallows connection errors, so the worker logs "Unrecoverable error" and exits instead of
reconnecting (reproduced by
``tests/integration/test_crash_recovery.py``, the Redis-restart test). The same
``conninfo.hostname`` failure on a collected connection is reported upstream in kombu #582 and
#970, and a worker that stops consuming after a Redis reset in celery #10205.

Skipping the restore (or the late ack) at that moment loses nothing: the unacknowledged
messages stay in Redis's ``unacked`` hash and index, and ``restore_visible`` puts them back on the queue once they are
older than the visibility timeout (on the next worker start, or the periodic sweep).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

log = logging.getLogger("tasks.kombu_fix")
_PATCHED = "_investigator_patched"


def _collected(qos: Any) -> bool:
    connection = getattr(qos.channel, "connection", None)
    return connection is None or getattr(connection, "client", None) is None


def _guard(name: str, outcome: str) -> None:
    qos = kombu_redis.QoS
    original = getattr(qos, name)
    if getattr(original, _PATCHED, False):
        return

    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except AttributeError:
            if not _collected(self):
                raise
            log.warning("broker connection already collected: %s", outcome)
            return None

    setattr(guarded, _PATCHED, True)
    setattr(qos, name, guarded)


def install() -> None:
    """Make the Redis QoS tolerate a channel whose connection was already collected (idempotent)."""
    _guard("restore_unacked", "unacked messages stay in Redis and are restored after the visibility timeout")
    _guard("ack", "the message stays unacked and is redelivered after the visibility timeout (tasks are idempotent)")
    _guard("reject", "the message stays unacked and is redelivered after the visibility timeout")
