"""Delivery glue for the tasks: sinks that remember a transient failure (so the task can retry
with the upstream's Retry-After), and one delivery run under a short-lived lock.
"""

from __future__ import annotations

from typing import Any

from investigator.delivery import EscalationSink, NoteSink, deliver
from investigator.errors import TransientError
from investigator.models import EvidencePacket
from investigator.service import Runtime
from investigator.store import Record


class Recording:
    """Wraps a sink; re-raises everything, but keeps the last transient error for the retry decision."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.transient: TransientError | None = None

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self.sink, method)(**kwargs)
            return result
        except TransientError as exc:
            self.transient = exc
            raise

    def post_private_note(self, **kwargs: Any) -> dict[str, Any]:
        """Forward to the note sink."""
        return self._call("post_private_note", **kwargs)

    def escalate(self, **kwargs: Any) -> dict[str, Any]:
        """Forward to the escalation sink."""
        return self._call("escalate", **kwargs)

    def comment(self, **kwargs: Any) -> dict[str, Any]:
        """Forward to the escalation sink."""
        return self._call("comment", **kwargs)

    def close(self) -> None:
        """Close the wrapped writer's HTTP pool, if it has one."""
        close = getattr(self.sink, "close", None)
        if callable(close):
            close()


def deliver_once(
    record: Record, rt: Runtime, notes: Recording, escalations: Recording, *, first_attempt: bool
) -> EvidencePacket:
    """Deliver the record's packet (with the previous packet of the ticket, for "what changed").

    ``first_attempt`` only when this investigation's own record shows no earlier attempt: the
    sinks then skip their read-before-write; any retry or redelivery reads first."""
    assert record.packet is not None
    previous = rt.store.previous_packet(record)
    note_sink: NoteSink | None = notes if notes.sink is not None else None
    escalation_sink: EscalationSink | None = escalations if escalations.sink is not None else None
    try:
        return deliver(
            record.packet, note_sink, escalation_sink, rt.page_url(record.id), previous, first_attempt=first_attempt
        )
    finally:
        notes.close()
        escalations.close()
