"""The helpdesk source: reads the Zendesk ticket, resolves the tenant, reports the conversation.

It is the source that RESOLVES the tenant (``needs_tenant = False``): the tenant is the
ticket organization's ``external_id`` (configurable). One sideloaded round trip fetches
ticket, users and organizations; the comments and the organization's prior tickets are
then read concurrently.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

import httpx

from connectors.helpdesk.client import Thread, ZendeskClient
from connectors.helpdesk.config import ZendeskSettings
from connectors.helpdesk.thread import parse_time, similarity, summarize
from investigator.connector import CheckResult, Collected, Connector, InvestigationContext
from investigator.errors import NotConfiguredError, SourceError
from investigator.models import Citation, Finding, SourceName
from investigator.retry import RetryPolicy
from investigator.signals import Conversation, PriorTicket, TenantUnresolved, finding

SOURCE: SourceName = "helpdesk"
T = TypeVar("T")
GENERIC_CHECKED = "generic webhook: the ticket carries no thread; tenant from the webhook"


def _field(obj: dict[str, Any], dotted: str) -> Any:
    """``obj['a']['b']`` for ``a.b``; None when any step is missing."""
    value: Any = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _by_id(items: Any, wanted: Any) -> dict[str, Any] | None:
    if wanted is None or not isinstance(items, list):
        return None
    return next((i for i in items if isinstance(i, dict) and str(i.get("id")) == str(wanted)), None)


def _outcome(future: Future[T], what: str, checked: list[str]) -> T | None:
    """A secondary read's result; its failure is noted in ``checked`` instead of failing the source."""
    try:
        return future.result()
    except SourceError as exc:
        checked.append(f"{what} unavailable: {exc}")
        return None


class ZendeskConnector(Connector):
    """Zendesk: ticket + requester + organization, the thread, prior tickets of the organization."""

    name: ClassVar[SourceName] = SOURCE
    settings_class: ClassVar[type[ZendeskSettings]] = ZendeskSettings
    needs_tenant: ClassVar[bool] = False

    def __init__(
        self,
        settings: ZendeskSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings)
        self.settings: ZendeskSettings = settings
        self._retry = retry
        self._transport = transport
        self._client: ZendeskClient | None = None
        self._bundles: dict[str, dict[str, Any]] = {}  # ticket id -> sideloaded bundle read by resolve()

    # ----------------------------------------------------------------- Connector
    def configured(self) -> bool:
        """True when base URL (or subdomain), email and API token are set."""
        return not self.settings.missing()

    def check(self) -> CheckResult:
        """Settings present, and the token can read ``users/me``."""
        missing = self.settings.missing()
        if missing:
            return CheckResult(source=SOURCE, configured=False, missing=missing, detail="Zendesk is not configured")
        try:
            me = self.client().me()
        except SourceError as exc:
            return CheckResult(source=SOURCE, configured=True, reachable=False, detail=str(exc))
        role = (me.get("user") or {}).get("role")
        return CheckResult(source=SOURCE, configured=True, reachable=True, detail=f"authenticated (role {role})")

    def collect(self, ctx: InvestigationContext) -> Collected:
        """Zendesk tickets: read the helpdesk; other helpdesks: nothing to read, no network."""
        if ctx.ticket.helpdesk != "zendesk":
            checked = (
                GENERIC_CHECKED
                if ctx.ticket.helpdesk == "generic"
                else (f"{ctx.ticket.helpdesk} webhook: no helpdesk API is read for it; tenant from the webhook")
            )
            return Collected(no_data=True, checked=[checked])
        if not self.configured():
            raise NotConfiguredError(
                "helpdesk: Zendesk ticket but Zendesk is not configured; set "
                + ", ".join(f"INVESTIGATOR_HELPDESK_{m.split(' ')[0].upper()}" for m in self.settings.missing())
            )
        return self._collect_zendesk(ctx)

    def resolve(self, ctx: InvestigationContext) -> Collected | None:
        """One sideloaded read (ticket, users, organizations): the tenant and ticket fields, early.

        ``collect`` reuses the bundle, so resolving first costs no extra round trip."""
        if ctx.ticket.helpdesk != "zendesk" or not self.configured():
            return None
        bundle = self.client().ticket(ctx.ticket.id)
        self._bundles[str(ctx.ticket.id)] = bundle
        ticket: dict[str, Any] = bundle["ticket"]
        org = _by_id(bundle.get("organizations"), ticket.get("organization_id"))
        users = {str(u.get("id")): u for u in bundle.get("users") or [] if isinstance(u, dict)}
        return Collected(
            no_data=True,
            resolved_tenant=self._tenant(org),
            ticket_update=self._ticket_update(ticket, users, org),
        )

    def client(self) -> ZendeskClient:
        """The (lazily built) API client."""
        if self._client is None:
            self._client = ZendeskClient(self.settings, retry=self._retry, transport=self._transport)
        return self._client

    def close(self) -> None:
        """Close the HTTP pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # ----------------------------------------------------------------- Zendesk
    def _collect_zendesk(self, ctx: InvestigationContext) -> Collected:
        """The ticket read must succeed (it resolves the tenant); comments and search degrade to ``checked``."""
        client = self.client()
        bundle = self._bundles.pop(str(ctx.ticket.id), None) or client.ticket(ctx.ticket.id)
        ticket: dict[str, Any] = bundle["ticket"]
        org = _by_id(bundle.get("organizations"), ticket.get("organization_id"))
        since = (ctx.now - timedelta(days=self.settings.lookback_days)).date().isoformat()
        query = f"type:ticket organization:{ticket.get('organization_id')} created>{since}"
        checked: list[str] = []
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="zendesk") as pool:
            thread_future = pool.submit(client.thread, ctx.ticket.id)
            search_future = pool.submit(client.search_tickets, query) if ticket.get("organization_id") else None
            thread = _outcome(thread_future, "comments", checked)
            prior = _outcome(search_future, "prior-ticket search", checked) if search_future else []
        users = {str(u.get("id")): u for u in bundle.get("users") or [] if isinstance(u, dict)}
        findings: list[Finding] = []
        if thread is not None:
            users |= thread.users
            findings.append(self._conversation(ticket, org, thread, users))
            read = f"{len(thread.comments)} comments, {thread.pages} page(s)"
            checked.insert(0, f"zendesk ticket {ticket.get('id')}: {read}")
            if thread.truncated:
                checked.append(f"comments truncated after {self.settings.max_pages} pages")
        findings += self._prior_tickets(ticket, prior or [], query)
        checked.append(f"zendesk search: {query}" if search_future else "no organization: no prior-ticket search")
        tenant = self._tenant(org)
        if tenant is None:
            findings.append(self._unresolved(ticket, org))
        return Collected(
            findings=findings,
            checked=checked,
            resolved_tenant=tenant,
            ticket_update=self._ticket_update(ticket, users, org),
        )

    def _tenant(self, org: dict[str, Any] | None) -> str | None:
        value = _field(org, self.settings.tenant_field) if org else None
        if value is None or isinstance(value, dict | list):
            return None
        return str(value).strip() or None

    def agent_url(self, ticket_id: Any) -> str:
        """The agent-facing link of a ticket."""
        return f"{self.client().base}/agent/tickets/{ticket_id}"

    def _ticket_citation(self, ticket: dict[str, Any]) -> Citation:
        return Citation(
            label=f"Zendesk ticket #{ticket.get('id')}",
            url=self.agent_url(ticket.get("id")),
            object_id=str(ticket.get("id")),
        )

    def _conversation(
        self, ticket: dict[str, Any], org: dict[str, Any] | None, thread: Thread, users: dict[str, dict[str, Any]]
    ) -> Finding:
        summary = summarize(thread.comments, users, ticket.get("requester_id"))
        facts = Conversation(
            public_replies=summary.public_replies,
            acknowledged=summary.acknowledged,
            promises=summary.promises,
            last_agent_reply_at=summary.last_agent_reply_at,
            organization=(org or {}).get("name"),
            organization_tags=[str(t) for t in (org or {}).get("tags") or []],
        )
        if summary.acknowledged:
            text = f"Support replied publicly {summary.public_replies} time(s)"
            text += f"; promised: {'; '.join(repr(p) for p in summary.promises)}" if summary.promises else ""
        else:
            text = "No public agent reply yet: the customer has not been acknowledged"
        citations = [self._ticket_citation(ticket)] + [
            Citation(label=f"Zendesk comment {cid}", url=self.agent_url(ticket.get("id")), object_id=cid)
            for cid in summary.agent_comment_ids
        ]
        return finding(SOURCE, facts, text, citations=citations, strength=0.4)

    def _prior_tickets(self, ticket: dict[str, Any], results: list[dict[str, Any]], query: str) -> list[Finding]:
        found: list[Finding] = []
        subject = str(ticket.get("subject") or "")
        for other in results:
            if str(other.get("id")) == str(ticket.get("id")):
                continue
            score = similarity(subject, str(other.get("subject") or ""))
            if score < self.settings.similarity_threshold:
                continue
            facts = PriorTicket(
                ticket_id=str(other.get("id")),
                subject=str(other.get("subject") or ""),
                status=str(other.get("status") or ""),
                created_at=parse_time(other.get("created_at")),
                similarity=score,
            )
            citations = [
                Citation(
                    label=f"Zendesk ticket #{other.get('id')}",
                    url=self.agent_url(other.get("id")),
                    object_id=str(other.get("id")),
                ),
                Citation(label="Zendesk search", query=query, parameters={"similarity_threshold": score}),
            ]
            text = f"Prior ticket #{facts.ticket_id} ({facts.status}) with a similar subject: {facts.subject!r}"
            found.append(finding(SOURCE, facts, text, citations=citations, strength=min(0.3 + score / 2, 0.8)))
        return found

    def _unresolved(self, ticket: dict[str, Any], org: dict[str, Any] | None) -> Finding:
        org_id = ticket.get("organization_id")
        if org_id is None:
            why = "the ticket has no organization"
        elif org is None:
            why = f"organization {org_id} was not returned by Zendesk"
        else:
            why = f"organization {org.get('name')!r} has no {self.settings.tenant_field}"
        facts = TenantUnresolved(organization_id=str(org_id) if org_id is not None else None, why=why)
        return finding(SOURCE, facts, f"Tenant unidentified: {why}", citations=[self._ticket_citation(ticket)])

    def _ticket_update(
        self, ticket: dict[str, Any], users: dict[str, dict[str, Any]], org: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Ticket fields learnt from the API (JSON values; merge with ``Ticket.model_validate``)."""
        requester = users.get(str(ticket.get("requester_id"))) or {}
        org_id = ticket.get("organization_id")
        return {
            "subject": str(ticket.get("subject") or ""),
            "description": str(ticket.get("description") or ""),
            "requester": {"email": requester.get("email"), "name": requester.get("name")},
            "tags": [str(t) for t in ticket.get("tags") or []],
            "priority": str(ticket["priority"]).lower() if ticket.get("priority") else None,
            "created_at": ticket.get("created_at"),
            "organization_id": str(org_id) if org_id is not None else None,
            "url": self.agent_url(ticket.get("id")),
        }
