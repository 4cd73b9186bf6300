"""The product's vocabulary: tickets, findings, source reports, the evidence packet.

Everything here is a pydantic v2 model and does no I/O. The JSON form of
:class:`EvidencePacket` is the product's public output format.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SourceName = Literal["clickhouse", "linear", "stripe", "github", "helpdesk"]
SOURCE_NAMES: tuple[SourceName, ...] = ("helpdesk", "clickhouse", "linear", "stripe", "github")


class Model(BaseModel):
    """Base for all domain models: strict about unknown fields, immutable-ish by convention."""

    model_config = ConfigDict(extra="forbid")


class Requester(Model):
    """Who opened the ticket (personal data: redacted before it reaches engineers)."""

    email: str | None = None
    name: str | None = None


class Ticket(Model):
    """A helpdesk ticket normalised from any helpdesk's webhook."""

    helpdesk: str = Field(description="generic, zendesk, intercom, front, helpscout, freshdesk")
    id: str
    subject: str = ""
    description: str = ""
    requester: Requester = Field(default_factory=Requester)
    tenant_id: str | None = Field(default=None, description="None until the helpdesk source resolves it")
    priority: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    url: str | None = None
    organization_id: str | None = Field(default=None, description="helpdesk organization, when known")
    event: str | None = Field(default=None, description="ticket.created, ticket.updated, ...")
    event_id: str | None = Field(default=None, description="the helpdesk's delivery id (dedupe key)")

    @property
    def text(self) -> str:
        """Subject and description, for keyword matching."""
        return f"{self.subject}\n{self.description}"


class TimeWindow(Model):
    """A half-open interval [start, end)."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


class Citation(Model):
    """Where a claim comes from: a link, a query with its parameters, an object id."""

    label: str
    url: str | None = None
    query: str | None = None
    parameters: dict[str, Any] | None = None
    object_id: str | None = None


class Finding(Model):
    """One observation from one source.

    ``kind`` names the signal (see :mod:`investigator.signals`), ``facts`` holds its
    structured values, which is what the decision policy reads; ``summary`` is what
    people read. ``strength`` (0..1) says how strongly the observation points at
    ``points_to`` (an explanation such as ``customer_endpoint`` or ``deploy``).
    """

    source: SourceName
    kind: str
    summary: str
    detail: str | None = None
    window: TimeWindow | None = None
    strength: float = Field(default=0.5, ge=0.0, le=1.0)
    points_to: str | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    citations: list[Citation] = Field(default_factory=list)
    id: str = ""

    def model_post_init(self, __context: Any) -> None:
        if not self.id:
            digest = hashlib.sha256(f"{self.source}|{self.kind}|{self.summary}".encode()).hexdigest()
            self.id = f"{self.source}:{self.kind}:{digest[:8]}"


class SourceStatus(StrEnum):
    """How one source's run ended. ``no_data`` is evidence, not failure."""

    OK = "ok"
    NO_DATA = "no_data"
    NOT_CONFIGURED = "not_configured"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


class SourceReport(Model):
    """One source's result within an investigation."""

    source: SourceName
    status: SourceStatus
    findings: list[Finding] = Field(default_factory=list)
    checked: list[str] = Field(default_factory=list, description="what was looked at, for no_data")
    reason: str | None = None
    duration_ms: float = 0.0
    resolved_tenant: str | None = Field(default=None, description="helpdesk only: the tenant it found")
    ticket_update: dict[str, Any] | None = Field(
        default=None, description="helpdesk only: ticket fields learnt from the helpdesk API"
    )

    @property
    def usable(self) -> bool:
        return self.status in (SourceStatus.OK, SourceStatus.NO_DATA)


class Action(StrEnum):
    """The four recommendations of DOMAIN.md."""

    RESOLVE = "resolve"
    INVESTIGATE = "investigate"
    ESCALATE = "escalate"
    INCIDENT = "incident"


class Severity(StrEnum):
    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"


class ChecklistItem(Model):
    """One of the six questions of DOMAIN.md."""

    key: str
    question: str
    answered: bool
    answer: str | None = None
    reason: str | None = Field(default=None, description="why it could not be answered")
    findings: list[str] = Field(default_factory=list, description="finding ids")
    sources: list[SourceName] = Field(default_factory=list)


class Reason(Model):
    """One sentence of the recommendation's explanation, pointing at findings."""

    text: str
    rule: str | None = None
    findings: list[str] = Field(default_factory=list)

    def __str__(self) -> str:
        return self.text


class SLA(Model):
    """Deadlines computed from the ticket's time (None: backlog)."""

    acknowledge_by: datetime | None = None
    first_update_by: datetime | None = None
    resolve_by: datetime | None = None
    policy: str = ""


class RuleOutcome(Model):
    """What one policy rule concluded (shadow rules are reported, not acted on)."""

    rule: str
    mode: Literal["active", "shadow"] = "active"
    fired: bool
    action: Action | None = None
    explanation: str = ""
    findings: list[str] = Field(default_factory=list)


class Recommendation(Model):
    """The product's judgment with its explanation."""

    action: Action
    severity: Severity
    team: str | None = None
    route: str | None = Field(default=None, description="on-call route for sev1")
    impact: Literal["low", "high"] = "low"
    certainty: Literal["low", "high"] = "low"
    headline: str = ""
    ask: str = ""
    reasons: list[str] = Field(default_factory=list)
    reason_details: list[Reason] = Field(default_factory=list)
    sla: SLA = Field(default_factory=SLA)
    next_steps: list[str] = Field(default_factory=list)
    draft_reply: str | None = None
    rules: list[RuleOutcome] = Field(default_factory=list)
    unavailable_sources: list[SourceName] = Field(default_factory=list)


class EvidencePacket(Model):
    """Everything one investigation found and concluded."""

    investigation_id: str
    ticket: Ticket
    window: TimeWindow
    baseline: TimeWindow
    now: datetime
    reports: list[SourceReport] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    checklist: list[ChecklistItem] = Field(default_factory=list)
    recommendation: Recommendation | None = None
    deliveries: list[dict[str, Any]] = Field(default_factory=list)
    page_url: str | None = None

    def report(self, source: SourceName) -> SourceReport | None:
        return next((r for r in self.reports if r.source == source), None)

    def findings_of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]
