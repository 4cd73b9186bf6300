"""Pure functions from Stripe objects (current API shapes, plain dicts) to findings. No I/O.

Current shapes (API ``2025-03-31.basil`` and later, see ``contracts/stripe/fixtures3.json``):
billing periods live on subscription *items*; an invoice's subscription is
``parent.subscription_details.subscription`` and its payments are the includable ``payments``
list (``payment.payment_intent``); charges no longer carry ``invoice``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from investigator.models import Citation, Finding
from investigator.signals import BillingState, ChargeIssue, Entitlements, finding

StripeObj = dict[str, Any]

BLOCKING_STATUSES = frozenset({"past_due", "unpaid", "canceled", "incomplete_expired", "paused"})
# Which subscription speaks for the account when there are several: the most telling first.
_STATUS_RANK = {
    "past_due": 0,
    "unpaid": 1,
    "incomplete": 2,
    "active": 3,
    "trialing": 4,
    "paused": 5,
    "incomplete_expired": 6,
    "canceled": 7,
}
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*-?\s*(rpm|rps|rph)\b", re.IGNORECASE)
_PER_MINUTE = {"rpm": 1.0, "rps": 60.0, "rph": 1.0 / 60.0}


@dataclass
class AccountData:
    """Everything read about one customer in the second round."""

    customer: StripeObj
    subscriptions: list[StripeObj] = field(default_factory=list)
    invoices: list[StripeObj] = field(default_factory=list)
    charges: list[StripeObj] = field(default_factory=list)
    disputes: list[StripeObj] = field(default_factory=list)
    entitlements: list[StripeObj] = field(default_factory=list)


class Dashboard:
    """Dashboard links of objects (``/test`` for test-mode objects)."""

    PATHS = {"cus": "customers", "sub": "subscriptions", "in": "invoices", "ch": "payments", "py": "payments"}

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def url(self, obj_id: str, livemode: bool = True) -> str:
        prefix = obj_id.split("_", 1)[0]
        kind = self.PATHS.get(prefix, "disputes" if prefix in ("dp", "du") else "search?query=")
        mode = "" if livemode else "/test"
        joiner = "" if kind.endswith("=") else "/"
        return f"{self.base}{mode}/{kind}{joiner}{obj_id}"

    def cite(self, label: str, obj: StripeObj) -> Citation:
        obj_id = str(obj.get("id", ""))
        return Citation(label=label, url=self.url(obj_id, bool(obj.get("livemode", True))), object_id=obj_id)


# ------------------------------------------------------------------------- small readers
def ts(value: Any) -> datetime | None:
    """Unix seconds -> aware UTC datetime."""
    return datetime.fromtimestamp(int(value), tz=UTC) if isinstance(value, int | float) else None


def _items(sub: StripeObj) -> list[StripeObj]:
    items = sub.get("items") or {}
    return list(items.get("data") or []) if isinstance(items, dict) else []


def plan_of(sub: StripeObj) -> tuple[str | None, StripeObj | None]:
    """The price lookup key of the subscription's first item that has one, and that item."""
    for item in _items(sub):
        price = item.get("price") or {}
        if isinstance(price, dict) and price.get("lookup_key"):
            return str(price["lookup_key"]), item
    items = _items(sub)
    return None, (items[0] if items else None)


def plan_tier(lookup_key: str | None) -> str | None:
    """``growth_monthly`` -> ``growth`` (the first word of the lookup key)."""
    if not lookup_key:
        return None
    first = re.split(r"[_\-\s.:]+", lookup_key.strip(), maxsplit=1)[0]
    return first.lower() or None


def rate_limit_rpm(lookup_keys: Iterable[str]) -> float | None:
    """``api-rate-limit-60rpm`` -> 60.0 (also ``...-5rps`` -> 300.0); the first rate-limit key wins."""
    for key in lookup_keys:
        if "rate" not in key.lower():
            continue
        match = _RATE.search(key)
        if match:
            return float(match.group(1)) * _PER_MINUTE[match.group(2).lower()]
    return None


def main_subscription(subscriptions: list[StripeObj]) -> StripeObj | None:
    """The subscription that speaks for the account: the most telling status, then the newest."""
    if not subscriptions:
        return None
    return min(subscriptions, key=lambda s: (_STATUS_RANK.get(str(s.get("status")), 8), -int(s.get("created") or 0)))


def invoice_subscription(invoice: StripeObj) -> str | None:
    """The subscription an invoice bills (``parent.subscription_details``; legacy ``subscription``)."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    if isinstance(details, dict) and details.get("subscription"):
        return str(details["subscription"])
    legacy = invoice.get("subscription")
    return legacy if isinstance(legacy, str) else None


def invoices_by_payment_intent(invoices: list[StripeObj]) -> dict[str, str]:
    """payment_intent id -> invoice id, from each invoice's ``payments`` list."""
    mapping: dict[str, str] = {}
    for invoice in invoices:
        payments = invoice.get("payments") or {}
        for payment in payments.get("data") or [] if isinstance(payments, dict) else []:
            pi = (payment.get("payment") or {}).get("payment_intent")
            if isinstance(pi, str):
                mapping[pi] = str(invoice["id"])
    return mapping


def charge_invoice(charge: StripeObj, by_pi: dict[str, str]) -> str | None:
    """The invoice a charge paid for, through its payment intent (or the pre-basil ``invoice``)."""
    legacy = charge.get("invoice")
    if isinstance(legacy, str):
        return legacy
    pi = charge.get("payment_intent")
    return by_pi.get(pi) if isinstance(pi, str) else None


def _newest_first(objs: Iterable[StripeObj]) -> list[StripeObj]:
    return sorted(objs, key=lambda o: int(o.get("created") or 0), reverse=True)


def payment_error(charge: StripeObj) -> str:
    """``card_declined: Your card was declined.``"""
    code, message = charge.get("failure_code"), charge.get("failure_message")
    return ": ".join(str(p) for p in (code, message) if p) or "failed"


# ------------------------------------------------------------------------- findings
def billing_finding(data: AccountData, dash: Dashboard) -> Finding:
    """The :class:`BillingState` of the account, citing the customer, subscription, invoices and charges."""
    customer, sub = data.customer, main_subscription(data.subscriptions)
    unpaid = [i for i in data.invoices if i.get("status") in ("open", "uncollectible")]
    open_invoices = [i for i in unpaid if i.get("status") == "open"]
    failed = _newest_first(c for c in data.charges if c.get("status") == "failed")
    plan, item = plan_of(sub) if sub else (None, None)
    status = str(sub["status"]) if sub and sub.get("status") else None
    facts = BillingState(
        customer_id=str(customer["id"]),
        subscription_id=str(sub["id"]) if sub else None,
        status=status,
        plan=plan,
        plan_tier=plan_tier(plan),
        delinquent=bool(customer.get("delinquent")),
        cancel_at=ts(sub.get("cancel_at")) if sub else None,
        trial_end=ts(sub.get("trial_end")) if sub else None,
        open_invoices=len(open_invoices),
        max_attempt_count=max((int(i.get("attempt_count") or 0) for i in unpaid), default=0),
        last_payment_error=payment_error(failed[0]) if failed else None,
        failed_charges=len(failed),
        blocks_service=status in BLOCKING_STATUSES,
        uncollectible_invoices=len(unpaid) - len(open_invoices),
        amount_remaining=sum(int(i.get("amount_remaining") or 0) for i in unpaid),
        currency=(unpaid[0].get("currency") if unpaid else None) or (sub.get("currency") if sub else None),
        current_period_start=ts(item.get("current_period_start")) if item else None,
        current_period_end=ts(item.get("current_period_end")) if item else None,
        next_payment_attempt=max((ts(i.get("next_payment_attempt")) for i in open_invoices), default=None, key=_dt_key),
        last_failure_code=str(failed[0]["failure_code"]) if failed and failed[0].get("failure_code") else None,
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")) if sub else False,
        proration_lines=len(prorated := proration_lines(data.invoices)),
        proration_amount=sum(int(line.get("amount") or 0) for line in prorated),
    )
    citations = [dash.cite("Stripe customer", customer)]
    citations += [dash.cite(f"subscription ({status})", sub)] if sub else []
    citations += [dash.cite(f"invoice {i.get('number') or i['id']} ({i.get('status')})", i) for i in unpaid]
    citations += [dash.cite(f"failed charge ({payment_error(c)})", c) for c in failed[:5]]
    troubled = facts.blocks_service or bool(unpaid) or bool(failed)
    return finding(
        "stripe",
        facts,
        _billing_summary(facts),
        citations=citations,
        strength=0.9 if facts.blocks_service else (0.6 if troubled else 0.3),
        points_to="billing" if troubled else None,
    )


def proration_lines(invoices: list[StripeObj]) -> list[StripeObj]:
    """Invoice line items that are prorations (current API: ``parent.subscription_item_details.proration``)."""
    lines: list[StripeObj] = []
    for invoice in invoices:
        for line in (invoice.get("lines") or {}).get("data") or []:
            details = ((line.get("parent") or {}).get("subscription_item_details")) or {}
            if details.get("proration") or line.get("proration"):
                lines.append(line)
    return lines


def _dt_key(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


def _billing_summary(f: BillingState) -> str:
    if f.subscription_id is None:
        return f"Stripe customer {f.customer_id} has no subscription."
    text = f"Subscription {f.subscription_id} ({f.plan or 'no lookup key'}) is {f.status}"
    if f.blocks_service:
        text += " (blocks service)"
    unpaid = f.open_invoices + int(f.uncollectible_invoices)
    text += f"; {unpaid} unpaid invoice(s)" if unpaid else "; no unpaid invoices"
    if f.max_attempt_count:
        text += f", up to {f.max_attempt_count} payment attempts"
    if f.failed_charges:
        text += f"; {f.failed_charges} failed charge(s), last: {f.last_payment_error}"
    if f.cancel_at:
        text += f"; cancels at {f.cancel_at:%Y-%m-%d}"
    if f.trial_end and f.status == "trialing":
        text += f"; trial ends {f.trial_end:%Y-%m-%d}"
    if f.proration_lines:
        text += f"; {f.proration_lines} prorated line(s) from a plan change, net {f.proration_amount / 100:.2f}"
    return text.rstrip(".") + "."


def entitlements_finding(data: AccountData, dash: Dashboard) -> Finding | None:
    """The customer's active entitlements, with the rate limit parsed from a lookup key."""
    keys = [str(e["lookup_key"]) for e in data.entitlements if e.get("lookup_key")]
    if not keys:
        return None
    plan, _ = plan_of(main_subscription(data.subscriptions) or {})
    rpm = rate_limit_rpm(keys)
    facts = Entitlements(
        customer_id=str(data.customer["id"]), lookup_keys=keys, rate_limit_rpm=rpm, plan=plan, plan_tier=plan_tier(plan)
    )
    summary = f"Active entitlements: {', '.join(keys)}" + (f" (API rate limit {rpm:g} requests/min)" if rpm else "")
    citations = [dash.cite("Stripe customer (entitlements)", data.customer)]
    citations += [
        Citation(label=f"entitlement {e.get('lookup_key')}", object_id=str(e["id"])) for e in data.entitlements
    ]
    return finding(
        "stripe", facts, summary + ".", citations=citations, strength=0.5, points_to="plan_limit" if rpm else None
    )


def duplicate_groups(charges: list[StripeObj], by_pi: dict[str, str], window_s: int) -> list[list[StripeObj]]:
    """Succeeded, unrefunded charges of the same amount for the same invoice (any interval) or, when
    the invoice is unknown, with the same description within ``window_s`` seconds of each other."""
    groups: dict[tuple[Any, ...], list[StripeObj]] = defaultdict(list)
    for charge in charges:
        if charge.get("status") != "succeeded" or charge.get("refunded"):
            continue
        invoice = charge_invoice(charge, by_pi)
        link = ("invoice", invoice) if invoice else ("description", charge.get("description"))
        if link[1]:
            groups[(charge.get("currency"), charge.get("amount"), *link)].append(charge)
    found: list[list[StripeObj]] = []
    for key, members in groups.items():
        members.sort(key=lambda c: int(c.get("created") or 0))
        cluster = [members[0]]
        for charge in members[1:]:
            close = int(charge.get("created") or 0) - int(cluster[-1].get("created") or 0) <= window_s
            if key[2] == "invoice" or close:
                cluster.append(charge)
                continue
            found += [cluster] if len(cluster) > 1 else []
            cluster = [charge]
        found += [cluster] if len(cluster) > 1 else []
    return found


def charge_findings(data: AccountData, dash: Dashboard, window_s: int) -> list[Finding]:
    """Duplicate, refunded and disputed charges as :class:`ChargeIssue` findings."""
    cid = str(data.customer["id"])
    by_pi = invoices_by_payment_intent(data.invoices)
    out: list[Finding] = []
    for group in duplicate_groups(data.charges, by_pi, window_s):
        ids = [str(c["id"]) for c in group]
        first = group[0]
        facts = ChargeIssue(
            customer_id=cid,
            issue="duplicate",
            charge_ids=ids,
            amount=int(first["amount"]),
            currency=str(first["currency"]),
        )
        summary = f"Possible duplicate charge: {len(ids)} succeeded charges of {_money(first)} ({', '.join(ids)})."
        citations = [dash.cite("duplicate charge", c) for c in group]
        out.append(finding("stripe", facts, summary, citations=citations, strength=0.7, points_to="billing"))
    for charge in _newest_first(c for c in data.charges if c.get("refunded") or int(c.get("amount_refunded") or 0)):
        refunded = int(charge.get("amount_refunded") or charge.get("amount") or 0)
        facts = ChargeIssue(
            customer_id=cid,
            issue="refunded",
            charge_ids=[str(charge["id"])],
            amount=refunded,
            currency=str(charge["currency"]),
        )
        summary = f"Charge {charge['id']} was refunded ({_money({**charge, 'amount': refunded})})."
        out.append(finding("stripe", facts, summary, citations=[dash.cite("refunded charge", charge)], strength=0.4))
    out += _dispute_findings(data, dash)
    return out


def _dispute_findings(data: AccountData, dash: Dashboard) -> list[Finding]:
    cid = str(data.customer["id"])
    charges = {str(c["id"]): c for c in data.charges}
    pis = {str(c["payment_intent"]): str(c["id"]) for c in data.charges if isinstance(c.get("payment_intent"), str)}
    out: list[Finding] = []
    seen: set[str] = set()
    for dispute in _newest_first(data.disputes):
        charge_id = dispute.get("charge") if isinstance(dispute.get("charge"), str) else None
        charge_id = charge_id if charge_id in charges else pis.get(str(dispute.get("payment_intent")))
        if charge_id is None:
            continue  # another customer's dispute
        seen.add(charge_id)
        facts = ChargeIssue(
            customer_id=cid,
            issue="disputed",
            charge_ids=[charge_id],
            amount=int(dispute.get("amount") or 0),
            currency=str(dispute.get("currency") or charges[charge_id].get("currency")),
            dispute_id=str(dispute["id"]),
            dispute_status=dispute.get("status"),
            reason=dispute.get("reason"),
        )
        summary = (
            f"Charge {charge_id} is disputed ({dispute.get('reason')}, {dispute.get('status')}): {_money(dispute)}."
        )
        citations = [dash.cite("dispute", dispute), dash.cite("disputed charge", charges[charge_id])]
        out.append(finding("stripe", facts, summary, citations=citations, strength=0.6, points_to="billing"))
    for charge_id, charge in charges.items():
        if charge.get("disputed") and charge_id not in seen:
            facts = ChargeIssue(
                customer_id=cid,
                issue="disputed",
                charge_ids=[charge_id],
                amount=int(charge.get("amount") or 0),
                currency=str(charge.get("currency")),
            )
            summary = f"Charge {charge_id} is marked disputed ({_money(charge)})."
            citations = [dash.cite("disputed charge", charge)]
            out.append(finding("stripe", facts, summary, citations=citations, strength=0.6, points_to="billing"))
    return out


def _money(obj: StripeObj) -> str:
    return f"{int(obj.get('amount') or 0) / 100:.2f} {str(obj.get('currency') or '').upper()}".strip()


def account_findings(data: AccountData, dash: Dashboard, duplicate_window_s: int) -> list[Finding]:
    """Every finding for one customer: billing state, entitlements, charge issues."""
    findings = [billing_finding(data, dash)]
    entitlements = entitlements_finding(data, dash)
    findings += [entitlements] if entitlements else []
    return findings + charge_findings(data, dash, duplicate_window_s)
