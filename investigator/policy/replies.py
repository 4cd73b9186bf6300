"""The words of a recommendation: headline and ask, next steps, and the draft reply to the customer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from investigator.models import Action
from investigator.signals import BillingState, ClientErrors, WebhookDeliveries

if TYPE_CHECKING:
    from investigator.policy.assessment import Assessment
    from investigator.policy.rules import Verdict


def ts(moment: datetime | str | None) -> str:
    """An exact UTC timestamp for people: ``2026-11-20 08:10 UTC``."""
    if moment is None:
        return "unknown time"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def headline_and_ask(v: Verdict, a: Assessment) -> tuple[str, str]:
    """Line one: business impact. Line two: the ask."""
    tenant = a.packet.ticket.tenant_id or "an unidentified tenant"
    s = v.symptom
    if s is not None:
        scope = f"{s.tenants_affected} tenants" if s.other_tenants else f"tenant {tenant} only"
        since = f" since {ts(s.onset)}" if s.onset else (" for the whole lookback" if s.sustained else "")
        impact = f"Impact: {s.label} for {scope}{since}" + (" (ongoing)." if s.ongoing else " (stopped).")
    elif v.action is Action.INCIDENT:
        impact = f"Impact: possible security or data-integrity exposure reported by {tenant}."
    else:
        impact = f"Impact: no anomaly found for {tenant}; the customer's report is not yet confirmed by evidence."
    team = v.team or "the owning team"
    ask = {
        Action.INCIDENT: f"Ask: open an incident now, page {team} on-call, and take ownership of customer comms.",
        Action.ESCALATE: f"Ask: {team} to take this ticket ({v.severity}) and decide the fix or rollback.",
        Action.RESOLVE: "Ask: support resolves with the steps and the draft reply below; no engineering needed.",
        Action.INVESTIGATE: "Ask: support gathers what is missing (below) before deciding; no escalation yet.",
    }[v.action]
    return impact, ask


def next_steps(v: Verdict, a: Assessment) -> list[str]:
    """Playbook steps for support outcomes; hand-over steps for escalations."""
    if v.action in (Action.RESOLVE, Action.INVESTIGATE):
        steps = a.policy.steps(v.playbook or ("investigate" if v.action is Action.INVESTIGATE else ""))
        if v.chosen and v.chosen.kind == "known_issue_fix":
            if v.chosen.facts.get("workaround"):
                steps.append(f"Workaround to share: {v.chosen.facts['workaround']}")
            if v.chosen.facts.get("eta"):
                steps.append(f"Fix ETA to share: {v.chosen.facts['eta']}")
        for source in a.unavailable:
            steps.append(f"Check {source} by hand: it was unavailable during the investigation.")
        return steps
    steps = [
        f"Hand over to {v.team or 'the owning team'} with this packet; the SLA clock starts at the ticket's time.",
        "Tell the customer engineering is engaged and when the next update is due (first-update deadline below).",
    ]
    if v.action is Action.INCIDENT:
        steps.insert(0, a.policy.escalation.incident_route or "Open an incident and page on-call.")
    if v.chosen and v.chosen.kind == "deploy":
        owners = v.chosen.facts.get("owners") or []
        steps.append(
            "Rollback decision on the correlated deploy"
            + (
                f" (CODEOWNERS: {', '.join(owners)})"  # type: ignore[arg-type]
                if owners
                else ""
            )
            + "."
        )
    if v.chosen and v.chosen.kind in ("active_incident", "known_issue_open"):
        steps.append("Link this ticket to the existing issue instead of opening a new one.")
    return steps


def draft_reply(v: Verdict, a: Assessment) -> str | None:
    """A reply support can send, with exact timestamps from the evidence."""
    name = (a.packet.ticket.requester.name or "there").split(" ")[0]
    body = _reply_body(v, a)
    if body is None:
        return None
    return f"Hi {name},\n\n{body}\n\nBest regards,\nSupport"


def _reply_body(v: Verdict, a: Assessment) -> str | None:
    e = v.chosen
    kind = e.kind if e else v.playbook
    s = v.symptom
    if kind == "customer_endpoint" and s is not None:
        w = WebhookDeliveries.of(s.finding)
        codes = ", ".join(f"HTTP {c}" for c in sorted(w.status_codes))
        recovered = (
            (
                f" It recovered at {ts(w.recovered_at)}"
                + (
                    ", and our automatic retries then delivered the events that had failed."
                    if w.retries_succeeded
                    else "."
                )
            )
            if w.recovered_at
            else ""
        )
        return (
            f"We looked into the webhook deliveries to {w.destination}. Between {ts(w.first_failure_at)} and "
            f"{ts(w.last_failure_at)} your endpoint answered our deliveries with {codes}, so they could not be "
            f"accepted.{recovered} Nothing changed on our side. To avoid a repeat, please make the endpoint answer "
            "2xx quickly and process events asynchronously; the webhook log lets you replay any event you still "
            "miss."
        )
    if kind == "plan_limit" and s is not None and e is not None:
        c = ClientErrors.of(s.finding)
        return (
            f"Since {ts(c.onset)} your requests to {', '.join(c.routes)} exceed your plan's limit of "
            f"{float(e.facts['limit']):g} requests per minute (we accept about {float(e.facts['accepted']):.0f} per "  # type: ignore[arg-type]
            "minute; the excess is answered with 429). Your limits did not change. Please back off using the "
            "Retry-After header or batch events; if you need more throughput we can upgrade the plan."
        )
    if kind == "billing_state" and s is not None:
        billing = next((BillingState.of(f) for f in e.findings if f.kind == BillingState.KIND), None) if e else None
        status = billing.status if billing else "not in good standing"
        return (
            f"Since {ts(s.onset)} requests are answered with 402 Payment Required because the subscription is "
            f"{status}: the latest invoice is still open after {billing.max_attempt_count if billing else 'several'} "
            "payment attempts were declined by the card issuer. Once the invoice is paid or the card updated, "
            "access returns immediately."
        )
    if kind == "known_issue_fix" and e is not None:
        workaround = f" Meanwhile, a workaround: {e.facts['workaround']}" if e.facts.get("workaround") else ""
        eta = f" The fix is expected {e.facts['eta']}." if e.facts.get("eta") else " The fix is on its way."
        return (
            f"This is a known issue our engineers are fixing ({e.facts.get('url')}).{eta}{workaround} We will "
            "update you as soon as it ships."
        )
    if kind == "episode_over" and s is not None:
        return (
            f"We saw {s.label} starting at {ts(s.onset)}; it has stopped and everything works normally now. "
            "Please retry anything that failed in that window and tell us if you still see errors."
        )
    if kind in ("tenant_credentials", "tenant_requests") and s is not None:
        return (
            f"Since {ts(s.onset)} the requests from your account to {s.route} are rejected "
            f"({', '.join(map(str, sorted(s.status_codes)))}). This points at the requests or credentials on your "
            "side; the details are below. Could you check them and send us one request id if it persists?"
        )
    if kind == "billing_answered":
        return "Here is what our billing records show: " + "; ".join(f.summary for f in v.findings[:3]) + "."
    return None
