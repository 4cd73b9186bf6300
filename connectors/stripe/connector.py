"""The Stripe connector: account and entitlement evidence for the ticket's tenant.

Two sequential API rounds: (1) find the customer (Search API on a metadata key, then the
requester's exact email); (2) subscriptions, invoices, charges, disputes and active
entitlements, concurrently on a small thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, ClassVar

from connectors.stripe.analysis import AccountData, Dashboard, StripeObj, account_findings
from connectors.stripe.client import StripeApi, metadata_query
from connectors.stripe.config import StripeSettings
from investigator.connector import CheckResult, Collected, Connector, InvestigationContext
from investigator.errors import SourceError, TerminalError
from investigator.models import Citation, Finding
from investigator.signals import AccountNotFound, finding

log = logging.getLogger("connectors.stripe")


class StripeConnector(Connector):
    """Plan, subscription and payment state, entitlements and charge issues from Stripe."""

    name = "stripe"
    settings_class = StripeSettings
    needs_tenant: ClassVar[bool] = True

    def __init__(self, settings: StripeSettings | None = None) -> None:
        super().__init__(settings or StripeSettings())
        self._api: StripeApi | None = None

    @property
    def config(self) -> StripeSettings:
        """The settings, typed."""
        assert isinstance(self.settings, StripeSettings)
        return self.settings

    def configured(self) -> bool:
        """An API key is set."""
        return self.config.api_key is not None and bool(self.config.api_key.get_secret_value())

    def api(self) -> StripeApi:
        """The (lazily built, thread-safe) API client."""
        if self._api is None:
            self._api = StripeApi(self.config)
        return self._api

    def close(self) -> None:
        """Close the HTTP client."""
        if self._api is not None:
            self._api.close()
            self._api = None

    def check(self) -> CheckResult:
        """List one customer to prove the key works."""
        if not self.configured():
            return CheckResult(self.name, configured=False, missing=["INVESTIGATOR_STRIPE_API_KEY"])
        try:
            self.api().ping()
        except SourceError as exc:
            return CheckResult(self.name, configured=True, reachable=False, detail=str(exc))
        return CheckResult(self.name, configured=True, reachable=True, detail=self.config.api_base)

    # ------------------------------------------------------------------ collect
    def collect(self, ctx: InvestigationContext) -> Collected:
        """Find the tenant's customer, then read its billing state and entitlements."""
        api = self.api()
        customer, searched = self._find_customer(api, ctx)
        if customer is None:
            return Collected(findings=[self._not_found(ctx, searched)], checked=searched, no_data=True)
        data, checked = self._gather(api, customer, ctx)
        dash = Dashboard(self.config.dashboard_url)
        findings = account_findings(data, dash, self.config.duplicate_window_s)
        return Collected(findings=findings, checked=searched + checked)

    def _find_customer(self, api: StripeApi, ctx: InvestigationContext) -> tuple[StripeObj | None, list[str]]:
        searched: list[str] = []
        if ctx.tenant_id:
            query = metadata_query(self.config.tenant_metadata_key, ctx.tenant_id)
            searched.append(f"customers search {query}")
            found = _pick(api.search_customers(query))
            if found is not None:
                return found, searched
        email = ctx.ticket.requester.email
        if self.config.email_fallback and email:
            searched.append("customers with the requester's email")
            return _pick(api.customers_by_email(email)), searched
        return None, searched or ["nothing to search by: no tenant id and no requester email"]

    def _not_found(self, ctx: InvestigationContext, searched: list[str]) -> Finding:
        key = self.config.tenant_metadata_key
        citations = []
        if ctx.tenant_id:
            query = metadata_query(key, ctx.tenant_id)
            citations.append(
                Citation(label="Stripe customer search", query=query, parameters={"endpoint": "/v1/customers/search"})
            )
        if self.config.email_fallback and ctx.ticket.requester.email:
            citations.append(
                Citation(
                    label="Stripe customers by email", parameters={"endpoint": "/v1/customers", "email": "<requester>"}
                )
            )
        who = f"tenant {ctx.tenant_id!r}" if ctx.tenant_id else "an unidentified tenant"
        ways = [f"metadata {key!r}"] if ctx.tenant_id else []
        ways += ["the requester's email"] if any("email" in s for s in searched) else []
        summary = f"No Stripe customer found for {who}" + (f" (searched by {' and '.join(ways)})." if ways else ".")
        facts = AccountNotFound(tenant_id=ctx.tenant_id, searched=searched)
        return finding("stripe", facts, summary, citations=citations, strength=0.3, points_to="account")

    def _gather(self, api: StripeApi, customer: StripeObj, ctx: InvestigationContext) -> tuple[AccountData, list[str]]:
        """The second round: every read runs at once; disputes and entitlements are optional."""
        cid = str(customer["id"])
        since = int((ctx.now - timedelta(days=self.config.lookback_days)).timestamp())
        calls: dict[str, Callable[[], list[StripeObj]]] = {
            "subscriptions": lambda: api.subscriptions(cid),
            "invoices": lambda: api.invoices(cid),
            "charges": lambda: api.charges(cid, since),
            "disputes": lambda: api.disputes(since),
            "entitlements": lambda: api.active_entitlements(cid),
        }
        results: dict[str, list[StripeObj]] = {}
        checked: list[str] = []
        with ThreadPoolExecutor(max_workers=self.config.max_workers, thread_name_prefix="stripe") as pool:
            futures = {name: pool.submit(call) for name, call in calls.items()}
            for name, future in futures.items():
                results[name], note = _outcome(name, future.result if name in _REQUIRED else _tolerant(future.result))
                checked.append(note)
        data = AccountData(customer=customer, **results)
        return data, checked


_REQUIRED = frozenset({"subscriptions", "invoices", "charges"})


def _tolerant(result: Callable[[], list[StripeObj]]) -> Callable[[], list[StripeObj] | TerminalError]:
    """Optional reads (disputes, entitlements): a terminal refusal (e.g. the feature is not enabled
    for this key) is noted, not fatal. Transient errors still make the whole source unavailable."""

    def run() -> list[StripeObj] | TerminalError:
        try:
            return result()
        except TerminalError as exc:
            return exc

    return run


def _outcome(name: str, result: Callable[[], Any]) -> tuple[list[StripeObj], str]:
    value = result()
    if isinstance(value, TerminalError):
        log.info("stripe %s skipped: %s", name, value)
        return [], f"{name}: not readable ({value})"
    return value, f"{name}: {len(value)} read"


def _pick(customers: list[StripeObj]) -> StripeObj | None:
    """The newest live customer among matches."""
    live = [c for c in customers if not c.get("deleted")]
    return max(live, key=lambda c: int(c.get("created") or 0)) if live else None
