"""The signal vocabulary: every Finding ``kind`` and the typed ``facts`` it carries.

Connectors build findings with :func:`finding`, the policy reads them back with
``FactsModel.of(finding)``. This module is the contract between ``connectors/``
and ``investigator.policy``; neither imports the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from investigator.models import Citation, Finding, SourceName, TimeWindow


class Facts(BaseModel):
    """Base for typed finding facts; ``KIND`` is the Finding.kind it belongs to."""

    model_config = ConfigDict(extra="allow")
    KIND: ClassVar[str]

    @classmethod
    def of(cls, f: Finding) -> Self:
        return cls.model_validate(f.facts)


def finding(
    source: SourceName,
    facts: Facts,
    summary: str,
    *,
    citations: list[Citation] | None = None,
    strength: float = 0.5,
    points_to: str | None = None,
    window: TimeWindow | None = None,
    detail: str | None = None,
) -> Finding:
    """Build a Finding whose kind and facts come from a typed facts model."""
    return Finding(
        source=source,
        kind=facts.KIND,
        summary=summary,
        detail=detail,
        window=window,
        strength=strength,
        points_to=points_to,
        facts=facts.model_dump(mode="json"),
        citations=citations or [],
    )


# --------------------------------------------------------------------------- telemetry
class RouteAnomaly(Facts):
    """The tenant's server-side errors (5xx) on a route in the window vs its baseline.

    ``ongoing`` is False when the errors stopped before the end of the window
    (``last_error_at`` well before now)."""

    KIND: ClassVar[str] = "error_rate"
    service: str
    route: str
    requests: int
    errors: int
    error_rate: float
    baseline_error_rate: float
    status_codes: dict[str, int]
    onset: datetime | None = None
    last_error_at: datetime | None = None
    ongoing: bool = True
    sustained: bool = False  # also elevated through the baseline (a standing problem)
    platform_wide: bool = False  # all tenants' traffic aggregated (the ticket's tenant is unknown)


class LatencyAnomaly(Facts):
    """Latency percentiles on a route in the window vs the tenant's baseline."""

    KIND: ClassVar[str] = "latency"
    service: str
    route: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    baseline_p50_ms: float
    baseline_p95_ms: float
    baseline_p99_ms: float
    factor: float  # window p50 / baseline p50
    onset: datetime | None = None
    ongoing: bool = True
    sustained: bool = False
    platform_wide: bool = False  # all tenants' traffic aggregated (the ticket's tenant is unknown)


class ClientErrors(Facts):
    """4xx answered to the tenant's own requests, by category.

    ``category``: rate_limited (429), auth (401/403), payment_required (402),
    client (other 4xx)."""

    KIND: ClassVar[str] = "client_errors"
    category: str
    service: str
    routes: list[str]
    status_codes: dict[str, int]
    errors: int
    requests: int
    error_rate: float
    baseline_error_rate: float
    onset: datetime | None = None
    ongoing: bool = True
    accepted_rpm: float | None = None  # successful requests per minute while limited (rate_limited)
    peak_accepted_rpm: float | None = None
    sustained: bool = False  # elevated through the whole lookback (no onset)
    platform_wide: bool = False  # all tenants' traffic aggregated (the ticket's tenant is unknown)


class BlastRadius(Facts):
    """Other tenants with the same anomaly on the same routes in the same window."""

    KIND: ClassVar[str] = "blast_radius"
    anomaly: str  # error_rate | latency | client_errors
    service: str
    route: str
    tenants: list[str]  # other tenants affected (not the ticket's)
    tenants_checked: int
    includes_ticket_tenant: bool = True


class WebhookDeliveries(Facts):
    """Outbound webhook deliveries (client spans) for the tenant."""

    KIND: ClassVar[str] = "webhook_deliveries"
    service: str
    destination: str
    event_types: list[str]
    attempts: int
    failures: int
    status_codes: dict[str, int]
    customer_endpoint_failed: bool  # the failures are HTTP answers from the customer's endpoint
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    recovered_at: datetime | None = None
    ongoing: bool = False
    retries_succeeded: bool = False
    other_destinations_failing: int = 0


class MissingTraffic(Facts):
    """A route or event type whose volume fell to (near) zero against its baseline."""

    KIND: ClassVar[str] = "missing_traffic"
    service: str
    route: str
    event_type: str | None = None
    baseline_rpm: float
    window_rpm: float
    since: datetime | None = None


class TelemetrySummary(Facts):
    """What telemetry checked for the tenant, present even when all is normal."""

    KIND: ClassVar[str] = "telemetry_summary"
    tenant_found: bool
    routes: list[str]
    requests: int
    anomalies: int
    services: list[str] = []


# --------------------------------------------------------------------------- known issues
class KnownIssue(Facts):
    """A Linear issue that matches the ticket or the evidence."""

    KIND: ClassVar[str] = "known_issue"
    identifier: str
    title: str
    url: str
    state: str
    state_type: str  # triage|backlog|unstarted|started|completed|canceled
    team: str
    priority: int
    labels: list[str]
    is_incident: bool
    fix_status: str  # none | in_progress | merged | shipped
    workaround: str | None = None
    eta: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    match_score: float  # relevance to the ticket text, 0..1
    matched_on: list[str]  # why it matched: "route POST /v1/exports", "status 504", "keyword export"...
    mentioned_routes: list[str] = []  # "METHOD /path" found in title/description, for matching telemetry
    mentioned_status_codes: list[int] = []
    linked_prs: list[dict[str, Any]] = []  # {title, url, state} from attachments
    description_excerpt: str = ""


class PriorTicket(Facts):
    """An earlier ticket of the same organization with a similar subject."""

    KIND: ClassVar[str] = "prior_ticket"
    ticket_id: str
    subject: str
    status: str
    created_at: datetime | None = None
    similarity: float


# --------------------------------------------------------------------------- account
class BillingState(Facts):
    """The Stripe subscription and its payment state."""

    KIND: ClassVar[str] = "billing_state"
    customer_id: str
    subscription_id: str | None = None
    status: str | None = None  # active|past_due|unpaid|canceled|trialing|incomplete...
    plan: str | None = None  # price lookup key
    plan_tier: str | None = None  # starter|growth|enterprise (prefix of the lookup key)
    delinquent: bool = False
    cancel_at: datetime | None = None
    trial_end: datetime | None = None
    open_invoices: int = 0
    max_attempt_count: int = 0
    last_payment_error: str | None = None
    failed_charges: int = 0
    blocks_service: bool = False  # past_due / unpaid / canceled / incomplete_expired
    # optional, added by the Stripe connector
    uncollectible_invoices: int = 0
    amount_remaining: int = 0  # smallest currency unit, over open + uncollectible invoices
    currency: str | None = None
    current_period_start: datetime | None = None  # from the plan's subscription item
    current_period_end: datetime | None = None
    next_payment_attempt: datetime | None = None  # Smart Retries' next attempt on an open invoice
    last_failure_code: str | None = None  # e.g. card_declined
    cancel_at_period_end: bool = False
    proration_lines: int = 0  # prorated line items on the recent invoices (plan changes mid-period)
    proration_amount: int = 0  # their net amount, smallest currency unit


class Entitlements(Facts):
    """Active entitlements; ``rate_limit_rpm`` parsed from a rate-limit lookup key."""

    KIND: ClassVar[str] = "entitlements"
    customer_id: str
    lookup_keys: list[str]
    rate_limit_rpm: float | None = None
    plan: str | None = None  # optional: the subscription's price lookup key
    plan_tier: str | None = None


class ChargeIssue(Facts):
    """Duplicate, refunded or disputed charges."""

    KIND: ClassVar[str] = "charge_issue"
    customer_id: str
    issue: str  # duplicate | refunded | disputed | failed
    charge_ids: list[str]
    amount: int
    currency: str
    dispute_id: str | None = None  # optional (disputed): the dispute object
    dispute_status: str | None = None
    reason: str | None = None


class AccountNotFound(Facts):
    KIND: ClassVar[str] = "account_not_found"
    tenant_id: str | None
    searched: list[str]


# --------------------------------------------------------------------------- changes
class Deployment(Facts):
    """A production deployment of a configured service."""

    KIND: ClassVar[str] = "deployment"
    service: str
    repo: str
    team: str | None = None
    deployment_id: int
    sha: str
    environment: str
    created_at: datetime
    finished_at: datetime | None = None
    state: str  # latest status state
    previous_sha: str | None = None
    commits: list[str] = []  # first lines of commit messages
    pull_requests: list[dict[str, Any]] = []  # {number, title, url}
    files: list[str] = []
    suggested_owners: list[str] = []  # from CODEOWNERS for the changed files


class Release(Facts):
    KIND: ClassVar[str] = "release"
    service: str
    repo: str
    tag: str
    name: str | None = None
    published_at: datetime | None = None
    url: str | None = None


# --------------------------------------------------------------------------- conversation
class TicketSignal(Facts):
    """What the ticket text itself says (never decisive alone except security reports).

    ``signal``: security_report | data_integrity_report | outage_claim | billing_question |
    feature_request | how_to."""

    KIND: ClassVar[str] = "ticket_signal"
    signal: str
    phrases: list[str]


class Conversation(Facts):
    """What support already told the customer on the thread."""

    KIND: ClassVar[str] = "conversation"
    public_replies: int
    acknowledged: bool
    promises: list[str]
    last_agent_reply_at: datetime | None = None
    organization: str | None = None
    organization_tags: list[str] = []


class TenantUnresolved(Facts):
    KIND: ClassVar[str] = "tenant_unresolved"
    organization_id: str | None
    why: str


ALL_FACTS: tuple[type[Facts], ...] = (
    RouteAnomaly,
    LatencyAnomaly,
    ClientErrors,
    BlastRadius,
    WebhookDeliveries,
    MissingTraffic,
    TelemetrySummary,
    KnownIssue,
    PriorTicket,
    BillingState,
    Entitlements,
    ChargeIssue,
    AccountNotFound,
    Deployment,
    Release,
    TicketSignal,
    Conversation,
    TenantUnresolved,
)
