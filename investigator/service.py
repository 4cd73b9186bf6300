"""The service's moving parts outside HTTP and Celery: accepting a webhook delivery exactly once,
and what a worker needs (settings, store, decision engine, connectors, delivery sinks, links).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import redis

from investigator import metrics
from investigator.config import Settings
from investigator.connector import Connector
from investigator.delivery import EscalationSink, NoteSink
from investigator.intake import IntakeEvent
from investigator.pipeline import PipelineOptions, new_investigation_id
from investigator.policy.engine import Engine, decider
from investigator.registry import build_connectors, pipeline_options
from investigator.store import Record, Status, Store

log = logging.getLogger("investigator.service")


class ServiceUnavailableError(Exception):
    """Redis or the broker is down: nothing was written, the helpdesk should retry (503)."""


@dataclass(frozen=True)
class Accepted:
    """The answer to a webhook delivery."""

    investigation_id: str
    url: str
    duplicate: bool


def page_signature(settings: Settings, inv_id: str) -> str | None:
    """A per-investigation capability for the agents' page link (HMAC of the id with the API token)."""
    if settings.api_token is None:
        return None
    key = settings.api_token.get_secret_value().encode()
    return hmac.new(key, f"page:{inv_id}".encode(), hashlib.sha256).hexdigest()[:32]


def investigation_url(settings: Settings, inv_id: str) -> str:
    """The JSON resource of an investigation."""
    return f"{settings.public_url.rstrip('/')}/investigations/{inv_id}"


def page_url(settings: Settings, inv_id: str) -> str:
    """The agents' page, signed so it opens from the helpdesk note without the bearer token."""
    sig = page_signature(settings, inv_id)
    return f"{investigation_url(settings, inv_id)}/page" + (f"?sig={sig}" if sig else "")


class IntakeService:
    """Dedupe, persist, enqueue: all or nothing.

    By default the hand-over to Celery goes through a transactional outbox: one atomic Redis script
    dedupes, persists, indexes and queues the id in the outbox, and the workers' relay
    (``tasks/relay.py``) publishes it. The webhook answer then costs one Redis round trip, whatever
    the broker is doing. With an explicit ``enqueue`` (a direct publish), the intake publishes itself
    and undoes the record if publishing fails.
    """

    def __init__(self, settings: Settings, store: Store, enqueue: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.enqueue = enqueue

    def accept(self, event: IntakeEvent) -> Accepted:
        """Start an investigation for a verified delivery, or return the one it already started."""
        if self.enqueue is None:
            return self._accept_into_outbox(event)
        return self._accept_and_publish(event, self.enqueue)

    def _accept_into_outbox(self, event: IntakeEvent) -> Accepted:
        record = self._record(new_investigation_id(), event, previous=None)
        try:
            existing = self.store.accept_delivery(
                record, self.settings.dedupe_ttl_s, metrics_key=metrics.webhooks_key()
            )
        except redis.RedisError as exc:
            raise ServiceUnavailableError(f"redis: {type(exc).__name__}") from exc
        inv_id = existing or record.id
        return Accepted(inv_id, investigation_url(self.settings, inv_id), duplicate=existing is not None)

    def _accept_and_publish(self, event: IntakeEvent, enqueue: Callable[[str], None]) -> Accepted:
        inv_id = new_investigation_id()
        try:
            existing = self.store.claim_delivery(event.helpdesk, event.event_id, inv_id, self.settings.dedupe_ttl_s)
            if existing is not None:
                self.count(event.helpdesk, "duplicate")
                return Accepted(existing, investigation_url(self.settings, existing), duplicate=True)
            record = self._record(inv_id, event, self.store.latest_for_ticket(event.helpdesk, event.ticket.id))
            self.store.create(record)
        except redis.RedisError as exc:
            raise ServiceUnavailableError(f"redis: {type(exc).__name__}") from exc
        try:
            enqueue(inv_id)
        except Exception as exc:
            log.warning("enqueue of %s failed (%s); undoing the intake", inv_id, type(exc).__name__)
            self._undo(record, event)
            raise ServiceUnavailableError(f"broker: {type(exc).__name__}") from exc
        self.count(event.helpdesk, "accepted")
        return Accepted(inv_id, investigation_url(self.settings, inv_id), duplicate=False)

    def count(self, helpdesk: str, outcome: str) -> None:
        """Count a webhook outcome (accepted, duplicate, unauthorized...); a metrics failure is only logged."""
        try:
            metrics.record_webhook(self.store.redis, helpdesk, outcome)
        except redis.RedisError:
            log.debug("webhook metric not recorded")

    def _record(self, inv_id: str, event: IntakeEvent, previous: str | None) -> Record:
        return Record(
            id=inv_id,
            status=Status.QUEUED,
            helpdesk=event.helpdesk,
            ticket_id=event.ticket.id,
            event_id=event.event_id,
            event_type=event.event_type,
            ticket=event.ticket,
            created_at=datetime.now(UTC),
            previous_id=previous,
        )

    def _undo(self, record: Record, event: IntakeEvent) -> None:
        try:
            self.store.delete(record)
            self.store.release_delivery(event.helpdesk, event.event_id, record.id)
        except redis.RedisError:
            log.error("could not undo intake of %s; the record stays queued without a task", record.id)


class Runtime:
    """What a worker process needs, built once from the environment."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    @cached_property
    def store(self) -> Store:
        """The investigation store (socket timeouts generous enough for a busy Redis)."""
        return Store.from_url(self.settings.redis_url, socket_timeout_s=10.0)

    @property
    def redis(self) -> redis.Redis:
        """The store's Redis client (metrics write here too)."""
        return self.store.redis

    @cached_property
    def engine(self) -> Engine:
        """The decision policy."""
        services = {name: svc.team for name, svc in self.settings.services.items() if svc.team}
        policy = str(self.settings.policy_file) if self.settings.policy_file else None
        return decider(services, list(self.settings.compliance_critical_events), policy)

    @cached_property
    def options(self) -> PipelineOptions:
        """Pipeline options from the settings."""
        return pipeline_options(self.settings)

    def connectors(self, names: list[str] | None = None) -> dict[str, Connector]:
        """Fresh connectors (one set per task: clients are not shared across threads)."""
        built = build_connectors(self.settings)
        return {n: c for n, c in built.items() if names is None or n in names}

    def note_sink(self, helpdesk: str) -> NoteSink | None:
        """The helpdesk's note writer, when the product can write to that helpdesk."""
        if helpdesk != "zendesk":
            return None
        from connectors.helpdesk.config import ZendeskSettings
        from connectors.helpdesk.writer import ZendeskNoteWriter

        zendesk = ZendeskSettings()
        return ZendeskNoteWriter(zendesk) if not zendesk.missing() else None

    def escalation_sink(self) -> EscalationSink | None:
        """The Linear escalation writer, when Linear is configured."""
        from connectors.linear.config import LinearSettings
        from connectors.linear.writer import LinearEscalationWriter

        linear = LinearSettings()
        return LinearEscalationWriter(linear) if getattr(linear, "api_key", None) else None

    def page_url(self, inv_id: str) -> str:
        """The agents' page link put in notes and issues."""
        return page_url(self.settings, inv_id)

    def record_metric(self, fn: Callable[..., None], *args: Any) -> None:
        """Record a metric; a metrics failure never fails the investigation."""
        try:
            fn(self.redis, *args)
        except redis.RedisError:
            log.warning("metric %s not recorded: redis unavailable", getattr(fn, "__name__", fn))


__all__ = ["Accepted", "IntakeService", "Runtime", "ServiceUnavailableError", "metrics", "page_url"]
