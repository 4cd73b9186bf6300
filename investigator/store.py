"""Investigations in Redis: the record (status, timestamps, ticket, packet), its source reports,
the per-ticket index, webhook dedupe keys and the one-shot claims that make side effects happen once.

Keys (all under ``<prefix>:``)::

    inv:<id>                hash: status, timestamps, ticket, context, packet (JSON fields)
    inv:<id>:reports        hash: source -> SourceReport JSON
    inv:<id>:claims         hash: claim name -> owner (finalisation, chord launch, deliveries)
    ticket:<helpdesk>:<id>  sorted set of investigation ids, scored by creation time
    delivery:<helpdesk>:<event id>   the investigation a webhook delivery created (SET NX + TTL)
    outbox                  sorted set of investigation ids waiting to be handed to Celery,
                            scored by when they are due (a relay leases them by pushing the score ahead)

Redis with AOF (``appendonly yes``) keeps all of it across restarts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import redis
from pydantic import BaseModel, ConfigDict, Field

from investigator.connector import InvestigationContext
from investigator.models import EvidencePacket, SourceReport, Ticket

_RELEASE_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Intake in one atomic step: dedupe on the delivery id, persist the record (linked to the ticket's
# previous investigation), index it by ticket, and put it in the outbox. Nothing is half-written.
# The webhook metric (accepted or duplicate) is counted in the same step.
# KEYS: delivery, inv, ticket index, outbox, metrics hash. ARGV: id, ttl, created (epoch s), metric field
# prefix, field, value, ...
_ACCEPT = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[5], ARGV[4] .. '|duplicate', 1)
  return redis.call('GET', KEYS[1])
end
redis.call('HINCRBY', KEYS[5], ARGV[4] .. '|accepted', 1)
local previous = redis.call('ZREVRANGE', KEYS[3], 0, 0)
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
if previous[1] then redis.call('HSET', KEYS[2], 'previous_id', previous[1]) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return false
"""
# Lease due outbox entries: push their score ahead by the lease, so a relay that dies before handing
# them over does not lose them (another relay takes them once the lease has passed).
# KEYS: outbox. ARGV: now, lease until, limit.
_LEASE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return due
"""
_CLAIM = """
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if not owner then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
if owner == ARGV[2] then return 2 end
return 0
"""


class Status(StrEnum):
    """Life of an investigation: queued -> running -> decided -> delivered (or delivery_failed)."""

    QUEUED = "queued"
    RUNNING = "running"
    DECIDED = "decided"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"

    @property
    def open(self) -> bool:
        """True while the evidence is still being gathered."""
        return self in (Status.QUEUED, Status.RUNNING)


class Record(BaseModel):
    """One investigation as stored."""

    model_config = ConfigDict(extra="ignore")
    id: str
    status: Status
    helpdesk: str
    ticket_id: str
    event_id: str
    event_type: str
    ticket: Ticket
    created_at: datetime
    started_at: datetime | None = None
    decided_at: datetime | None = None
    delivered_at: datetime | None = None
    finalized_by: str | None = None
    previous_id: str | None = Field(default=None, description="the ticket's investigation before this one")
    packet: EvidencePacket | None = None

    def summary(self) -> dict[str, Any]:
        """The record without the packet, for listings."""
        data = self.model_dump(mode="json", exclude={"packet", "ticket"})
        if self.packet is not None and self.packet.recommendation is not None:
            data["action"] = self.packet.recommendation.action.value
            data["severity"] = self.packet.recommendation.severity.value
        return data


def _fields(record: Record) -> dict[str, str]:
    """The record as hash fields (JSON for the structured ones), without the packet."""
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in record.model_dump(mode="json", exclude={"packet"}).items()
        if value is not None
    }


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Investigation storage over one Redis client (decoded responses)."""

    def __init__(self, client: redis.Redis, *, prefix: str = "investigator") -> None:
        self.redis = client
        self.prefix = prefix
        self._release = client.register_script(_RELEASE_IF_OWNER)
        self._claim = client.register_script(_CLAIM)
        self._accept = client.register_script(_ACCEPT)
        self._lease = client.register_script(_LEASE)

    @classmethod
    def from_url(cls, url: str, *, socket_timeout_s: float = 3.0, prefix: str = "investigator") -> Store:
        """A store on ``url`` with short socket timeouts, so a dead Redis is noticed in seconds."""
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=socket_timeout_s,
            socket_keepalive=True,
            health_check_interval=10,
            retry_on_timeout=False,
        )
        return cls(client, prefix=prefix)

    # ------------------------------------------------------------------ keys
    def key(self, *parts: str) -> str:
        """A namespaced key."""
        return ":".join((self.prefix, *parts))

    def _inv(self, inv_id: str, suffix: str | None = None) -> str:
        return self.key("inv", inv_id, suffix) if suffix else self.key("inv", inv_id)

    def _ticket(self, helpdesk: str, ticket_id: str) -> str:
        return self.key("ticket", helpdesk, ticket_id)

    def ping(self) -> bool:
        """True when Redis answers."""
        return bool(self.redis.ping())

    # ------------------------------------------------------------------ webhook dedupe
    def claim_delivery(self, helpdesk: str, event_id: str, inv_id: str, ttl_s: int) -> str | None:
        """Remember that ``event_id`` created ``inv_id``; returns the earlier id when it was seen before."""
        key = self.key("delivery", helpdesk, event_id)
        if self.redis.set(key, inv_id, nx=True, ex=ttl_s):
            return None
        existing = self.redis.get(key)
        return str(existing) if existing else None

    def release_delivery(self, helpdesk: str, event_id: str, inv_id: str) -> None:
        """Forget the delivery (only if it still names ``inv_id``), so the helpdesk's retry is accepted."""
        self._release(keys=[self.key("delivery", helpdesk, event_id)], args=[inv_id])

    # ------------------------------------------------------------------ transactional outbox
    @property
    def outbox(self) -> str:
        return self.key("outbox")

    def accept_delivery(self, record: Record, ttl_s: int, *, metrics_key: str) -> str | None:
        """In one atomic step: claim the delivery id, persist ``record`` (its ``previous_id`` set to the
        ticket's newest investigation), index it, put it in the outbox and count the webhook in
        ``metrics_key``. Returns the earlier investigation's id when the delivery was seen before (then
        only the duplicate is counted)."""
        args: list[Any] = [record.id, ttl_s, record.created_at.timestamp(), record.helpdesk]
        for name, value in _fields(record).items():
            if name != "previous_id":
                args += [name, value]
        keys = [
            self.key("delivery", record.helpdesk, record.event_id),
            self._inv(record.id),
            self._ticket(record.helpdesk, record.ticket_id),
            self.outbox,
            metrics_key,
        ]
        existing = self._accept(keys=keys, args=args)
        return str(existing) if existing else None

    def lease_outbox(self, *, lease_s: float, limit: int = 100) -> list[str]:
        """Ids due for hand-over to the broker, leased for ``lease_s`` seconds."""
        now = datetime.now(UTC).timestamp()
        return [str(i) for i in self._lease(keys=[self.outbox], args=[now, now + lease_s, limit])]

    def outbox_done(self, inv_id: str) -> None:
        """The id was handed to the broker."""
        self.redis.zrem(self.outbox, inv_id)

    def outbox_size(self) -> int:
        """Ids still waiting (or leased)."""
        return int(self.redis.zcard(self.outbox))

    # ------------------------------------------------------------------ records
    def create(self, record: Record) -> None:
        """Persist a new record and index it by ticket, in one transaction."""
        fields: dict[Any, Any] = _fields(record)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self._inv(record.id), mapping=fields)
        pipe.zadd(self._ticket(record.helpdesk, record.ticket_id), {record.id: record.created_at.timestamp()})
        pipe.execute()

    def delete(self, record: Record) -> None:
        """Remove a record and everything hanging off it (used when enqueueing failed)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self._inv(record.id), self._inv(record.id, "reports"), self._inv(record.id, "claims"))
        pipe.zrem(self._ticket(record.helpdesk, record.ticket_id), record.id)
        pipe.execute()

    def get(self, inv_id: str) -> Record | None:
        """The record, or None."""
        raw = self.redis.hgetall(self._inv(inv_id))
        if not raw:
            return None
        data: dict[str, Any] = {str(k): v for k, v in raw.items()}
        for name in ("ticket", "packet"):
            if name in data:
                data[name] = json.loads(data[name])
        data.pop("context", None)
        return Record.model_validate(data)

    def set_status(self, inv_id: str, status: Status, **fields: str) -> None:
        """Move the record to ``status`` (and set extra string fields)."""
        mapping: dict[Any, Any] = {"status": status.value, **fields}
        self.redis.hset(self._inv(inv_id), mapping=mapping)

    def mark_started(self, inv_id: str) -> datetime | None:
        """Set ``started_at`` the first time only; returns it when this call set it."""
        started = _now()
        if self.redis.hsetnx(self._inv(inv_id), "started_at", started.isoformat()):
            self.redis.hset(self._inv(inv_id), "status", Status.RUNNING.value)
            return started
        return None

    def for_ticket(self, helpdesk: str, ticket_id: str) -> list[Record]:
        """Every investigation of a ticket, newest first."""
        ids = self.redis.zrevrange(self._ticket(helpdesk, ticket_id), 0, -1)
        records = (self.get(str(i)) for i in ids)
        return [r for r in records if r is not None]

    def latest_for_ticket(self, helpdesk: str, ticket_id: str) -> str | None:
        """The newest investigation id of a ticket."""
        ids = self.redis.zrevrange(self._ticket(helpdesk, ticket_id), 0, 0)
        return str(ids[0]) if ids else None

    # ------------------------------------------------------------------ context, reports, packet
    def save_context(self, inv_id: str, ctx: InvestigationContext) -> None:
        """The resolved context the source tasks run with."""
        self.redis.hset(self._inv(inv_id), "context", ctx.model_dump_json())

    def context(self, inv_id: str) -> InvestigationContext | None:
        """The stored context, or None before the start task ran."""
        raw = self.redis.hget(self._inv(inv_id), "context")
        return InvestigationContext.model_validate_json(raw) if raw else None

    def save_report(self, inv_id: str, report: SourceReport) -> None:
        """One source's report."""
        self.redis.hset(self._inv(inv_id, "reports"), report.source, report.model_dump_json())

    def reports(self, inv_id: str) -> dict[str, SourceReport]:
        """Every report stored so far, by source."""
        raw = self.redis.hgetall(self._inv(inv_id, "reports"))
        return {str(name): SourceReport.model_validate_json(value) for name, value in raw.items()}

    def save_packet(self, inv_id: str, packet: EvidencePacket, status: Status, **fields: str) -> None:
        """The packet and the status it brings (``decided``, ``delivered``...)."""
        stamp = {Status.DECIDED: "decided_at", Status.DELIVERED: "delivered_at"}.get(status)
        extra = {stamp: _now().isoformat()} if stamp else {}
        mapping: dict[Any, Any] = {"packet": packet.model_dump_json(), "status": status.value, **extra, **fields}
        self.redis.hset(self._inv(inv_id), mapping=mapping)

    def previous_packet(self, record: Record) -> EvidencePacket | None:
        """The packet of the investigation before this one on the same ticket, if it has one."""
        if not record.previous_id:
            return None
        previous = self.get(record.previous_id)
        return previous.packet if previous else None

    # ------------------------------------------------------------------ one-shot claims
    def claim(self, inv_id: str, name: str, owner: str) -> bool:
        """Take the claim ``name`` for ``owner``; True when it is (or already was) ``owner``'s.

        Re-entrant for the same owner, so a redelivered task finishes what it started,
        and exclusive between owners (the chord's body and the watchdog).
        """
        return int(self._claim(keys=[self._inv(inv_id, "claims")], args=[name, owner])) > 0

    def claimed(self, inv_id: str, name: str) -> str | None:
        """Who holds the claim ``name``, if anyone."""
        owner = self.redis.hget(self._inv(inv_id, "claims"), name)
        return str(owner) if owner else None

    def first_time(self, inv_id: str, name: str, owner: str) -> bool:
        """True only for the very first caller ever to mark ``name`` (never re-entrant)."""
        return bool(self.redis.hsetnx(self._inv(inv_id, "claims"), name, owner))
