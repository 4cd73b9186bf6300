"""Each decision rule, as a sentence, including adversarial evidence."""

from __future__ import annotations

from investigator.models import Action, Severity, SourceStatus
from tests.policy.builders import (
    billing,
    blast,
    client_errors,
    decide,
    deploy,
    entitlement,
    known_issue,
    latency,
    server_errors,
    summary,
    ticket,
    webhooks,
)


def rec(p):  # type: ignore[no-untyped-def]
    assert p.recommendation is not None
    return p.recommendation


def test_multi_tenant_latency_without_incident_pages_on_call() -> None:
    r = rec(decide([latency(), blast("GET /v1/reports", "latency", ["corvid", "sunmill"])]))
    assert (r.action, r.severity, r.team) == (Action.INCIDENT, Severity.SEV1, "Core API")
    assert r.route  # sev1 names the on-call route


def test_multi_tenant_errors_after_a_deploy_of_that_service_escalate_to_its_team() -> None:
    r = rec(decide([server_errors(), blast("POST /v1/invoices", "error_rate", ["lindqvist"], "billing"), deploy()]))
    assert (r.action, r.severity, r.team) == (Action.ESCALATE, Severity.SEV2, "Billing")
    assert "rollback" in r.reasons[0]


def test_a_deploy_long_before_onset_does_not_correlate() -> None:
    old = deploy(minutes_before_now=60 * 48)
    r = rec(decide([server_errors(), blast("POST /v1/invoices", "error_rate", ["lindqvist"], "billing"), old]))
    assert r.action is Action.INCIDENT


def test_a_deploy_of_another_service_does_not_correlate() -> None:
    r = rec(
        decide(
            [latency(), blast("GET /v1/reports", "latency", ["corvid"]), deploy(service="web", minutes_before_now=45)]
        )
    )
    assert r.action is Action.INCIDENT


def test_a_closed_older_issue_on_the_same_route_is_a_distractor() -> None:
    closed = known_issue("CORE-1032", state_type="completed", fix="shipped", routes=["GET /v1/reports"])
    r = rec(decide([latency(), blast("GET /v1/reports", "latency", ["corvid"]), closed]))
    assert r.action is Action.INCIDENT


def test_multi_tenant_anomaly_covered_by_an_active_incident_joins_it_at_its_severity() -> None:
    incident = known_issue("INC-9", routes=["GET /v1/reports"], incident=True, team="SRE", priority=1)
    r = rec(decide([latency(), blast("GET /v1/reports", "latency", ["corvid"]), incident]))
    assert (r.action, r.severity, r.team) == (Action.ESCALATE, Severity.SEV1, "SRE")


def test_multi_tenant_known_issue_without_fix_escalates_to_that_issues_team() -> None:
    issue = known_issue("CORE-7", routes=["GET /v1/reports"], fix="none", team="Core API")
    r = rec(decide([latency(), blast("GET /v1/reports", "latency", ["corvid"]), issue]))
    assert (r.action, r.team) == (Action.ESCALATE, "Core API")


def test_multi_tenant_known_issue_with_fix_shipping_is_resolved_by_linking_it() -> None:
    issue = known_issue("CORE-1184", routes=["POST /v1/exports"], codes=[504], fix="merged")
    errors = server_errors("POST /v1/exports", "api", onset_min=None, rate=0.5)
    r = rec(decide([errors, blast("POST /v1/exports", "error_rate", ["granite"]), issue]))
    assert (r.action, r.severity) == (Action.RESOLVE, Severity.SEV3)
    assert r.draft_reply and "workaround" in r.draft_reply.lower()


def test_a_multi_tenant_episode_that_is_over_resolves_with_the_timeline() -> None:
    stopped = server_errors("GET /v1/contacts", "api", onset_min=120, ongoing=False)
    r = rec(decide([stopped, blast("GET /v1/contacts", "error_rate", ["corvid"])]))
    assert r.action is Action.RESOLVE


def test_security_report_is_an_incident_even_with_normal_telemetry() -> None:
    t = ticket("We can see another company's invoices", "The list showed invoices of another company's customers.")
    r = rec(decide([summary()], t))
    assert (r.action, r.severity) == (Action.INCIDENT, Severity.SEV1)


def test_urgent_tone_and_priority_alone_never_escalate() -> None:
    t = ticket("URGENT!!! EVERYTHING IS DOWN", "This is a disaster, fix it NOW or we cancel", priority="urgent")
    r = rec(decide([summary()], t))
    assert r.action is Action.INVESTIGATE


def test_self_diagnosis_in_the_ticket_does_not_override_evidence() -> None:
    t = ticket("Your deploy broke our webhooks", "You obviously shipped a bug, our endpoint is fine")
    r = rec(decide([webhooks(), deploy(service="webhooks", minutes_before_now=420)], t))
    assert r.action is Action.RESOLVE


def test_customer_endpoint_failures_with_successful_retries_resolve_with_timestamps() -> None:
    r = rec(decide([webhooks()]))
    assert (r.action, r.severity) == (Action.RESOLVE, Severity.SEV3)
    assert r.draft_reply and "UTC" in r.draft_reply


def test_compliance_critical_events_failing_on_our_side_escalate_for_one_tenant() -> None:
    ours = webhooks(customer_endpoint=False, ongoing=True, retried=False, events=["invoice.paid"])
    r = rec(decide([ours], events=["invoice.paid"]))
    assert (r.action, r.team) == (Action.ESCALATE, "Integrations")


def test_rate_limited_tenant_pinned_at_its_plan_limit_resolves() -> None:
    r = rec(decide([client_errors("rate_limited", accepted=60), entitlement(60)]))
    assert (r.action, r.severity) == (Action.RESOLVE, Severity.SEV4)


def test_rate_limited_tenant_with_billing_unavailable_is_investigated_and_names_stripe() -> None:
    p = decide([client_errors("rate_limited", accepted=60)], statuses={"stripe": SourceStatus.UNAVAILABLE})
    r = rec(p)
    assert r.action is Action.INVESTIGATE
    assert any("stripe" in reason for reason in r.reasons)


def test_payment_required_explained_by_past_due_subscription_resolves() -> None:
    r = rec(decide([client_errors("payment_required", codes={"402": 80}), billing("past_due")]))
    assert (r.action, r.severity) == (Action.RESOLVE, Severity.SEV3)


def test_tenant_only_server_errors_with_no_explanation_are_a_product_defect() -> None:
    r = rec(decide([server_errors(onset_min=90), blast("POST /v1/invoices", "error_rate", [], "billing")]))
    assert (r.action, r.team) == (Action.ESCALATE, "Billing")


def test_tenant_only_deploy_regression_escalates_for_rollback() -> None:
    r = rec(decide([server_errors(rate=0.1), deploy()]))
    assert (r.action, r.severity, r.team) == (Action.ESCALATE, Severity.SEV2, "Billing")


def test_two_competing_explanations_lower_certainty_to_investigate() -> None:
    both = [client_errors("payment_required", codes={"402": 10}), billing("past_due")]
    # a tenant refused with 401/403 while its subscription is past due and its own credentials could be wrong
    auth = client_errors("auth", codes={"401": 10})
    r = rec(decide([*both, auth]))
    assert r.action in (Action.RESOLVE, Action.INVESTIGATE)
    errors = server_errors("POST /v1/invoices", "billing", onset_min=60, rate=0.1)
    issue_fix = known_issue("BIL-1", routes=["POST /v1/invoices"], fix="merged", team="Billing")
    competing = rec(decide([errors, issue_fix, deploy(minutes_before_now=80)]))
    assert competing.action is not Action.RESOLVE


def test_no_signal_anywhere_is_investigate_sev4() -> None:
    r = rec(decide([summary()]))
    assert (r.action, r.severity) == (Action.INVESTIGATE, Severity.SEV4)


def test_a_multi_tenant_anomaly_is_never_resolved_when_nothing_known_explains_it() -> None:
    for f in (latency(), server_errors()):
        route = f.facts["route"]
        kind = f.kind
        r = rec(decide([f, blast(route, kind, ["x", "y"], f.facts["service"])]))
        assert r.action is not Action.RESOLVE


def test_other_tenants_unrelated_anomaly_does_not_make_this_ticket_multi_tenant() -> None:
    other_route = blast("GET /v1/contacts", "error_rate", ["corvid", "sunmill"])
    r = rec(decide([webhooks(), other_route]))
    assert r.action is Action.RESOLVE


def test_an_incident_opened_in_the_window_by_the_owning_team_covers_a_route_it_does_not_name() -> None:
    incident = known_issue("INC-3", routes=[], incident=True, team="Core API", priority=1)
    incident.facts["title"] = "Elevated latency on the API"
    incident.facts["created_at"] = "2026-11-18T13:40:00Z"
    r = rec(decide([latency(), blast("GET /v1/reports", "latency", ["corvid"]), incident]))
    assert (r.action, r.severity) == (Action.ESCALATE, Severity.SEV1)


def test_multi_tenant_auth_failures_are_never_resolved_as_one_tenants_credentials() -> None:
    auth = client_errors("auth", route="GET /v1/contacts", codes={"401": 90})
    r = rec(decide([auth, blast("GET /v1/contacts", "client_errors", ["corvid", "sunmill"])]))
    assert r.action is Action.INCIDENT


def test_a_billing_question_about_a_proration_is_answered_from_stripe() -> None:
    b = billing("active")
    b.facts["proration_lines"] = 2
    t = ticket("Why is my invoice higher?", "We upgraded the plan mid-month and the invoice amount is odd.")
    r = rec(decide([summary(), b], t))
    assert (r.action, r.severity) == (Action.RESOLVE, Severity.SEV4)


def test_a_billing_question_with_stripe_down_is_investigated_and_names_stripe() -> None:
    t = ticket("Charged twice?", "Our card was charged twice for the plan.")
    r = rec(decide([summary()], t, statuses={"stripe": SourceStatus.UNAVAILABLE}))
    assert r.action is Action.INVESTIGATE and any("stripe" in x for x in r.reasons)


def test_a_tenant_throttled_well_below_its_entitlement_is_a_product_defect() -> None:
    r = rec(decide([client_errors("rate_limited", accepted=60), entitlement(600)]))
    assert (r.action, r.team) == (Action.ESCALATE, "Core API")


def test_with_telemetry_down_the_unverified_symptom_is_investigated_at_sev3() -> None:
    r = rec(decide([], statuses={"clickhouse": SourceStatus.UNAVAILABLE}))
    assert (r.action, r.severity) == (Action.INVESTIGATE, Severity.SEV3)
    assert any("clickhouse" in x for x in r.reasons)
