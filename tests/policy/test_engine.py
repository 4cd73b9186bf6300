"""The engine: rules as data (override, shadow, off), SLA deadlines, explanations that cite findings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from investigator.models import Action, Severity
from investigator.policy.config import load_policy
from investigator.policy.engine import Engine
from investigator.policy.sla import compute_sla
from tests.policy.builders import SERVICES, blast, latency, packet, summary


def test_a_shadow_rule_is_reported_but_does_not_decide(tmp_path: Path) -> None:
    override = tmp_path / "policy.toml"
    override.write_text('[rules.multi_tenant_anomaly]\nmode = "shadow"\n')
    engine = Engine(load_policy(override), SERVICES)
    rec = engine.decide(packet([latency(), blast("GET /v1/reports", "latency", ["corvid"])])).recommendation
    assert rec is not None
    shadow = next(o for o in rec.rules if o.rule == "multi_tenant_anomaly")
    assert shadow.mode == "shadow" and shadow.fired and shadow.action is Action.INCIDENT
    assert rec.action is not Action.INCIDENT


def test_thresholds_are_overridden_from_a_file_without_code(tmp_path: Path) -> None:
    override = tmp_path / "policy.toml"
    override.write_text("[thresholds]\nmulti_tenant_min_other_tenants = 3\n")
    engine = Engine(load_policy(override), SERVICES)
    rec = engine.decide(packet([latency(), blast("GET /v1/reports", "latency", ["corvid"])])).recommendation
    assert rec is not None and rec.action is not Action.INCIDENT


def test_every_reason_of_a_decision_cites_the_findings_it_rests_on() -> None:
    p = Engine.from_config(SERVICES).decide(packet([latency(), blast("GET /v1/reports", "latency", ["corvid"])]))
    rec = p.recommendation
    assert rec is not None
    ids = {f.id for f in p.findings}
    assert rec.reason_details[0].findings and set(rec.reason_details[0].findings) <= ids


def test_escalations_state_impact_and_ask_in_their_first_two_lines() -> None:
    rec = (
        Engine.from_config(SERVICES)
        .decide(packet([latency(), blast("GET /v1/reports", "latency", ["c"])]))
        .recommendation
    )
    assert rec is not None
    assert rec.headline.startswith("Impact:") and "2 tenants" in rec.headline
    assert rec.ask.startswith("Ask:") and "Core API" in rec.ask


def test_sev3_deadlines_count_business_hours_across_the_weekend() -> None:
    friday_afternoon = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    sla = compute_sla(Severity.SEV3, friday_afternoon, load_policy())
    assert sla.acknowledge_by == datetime(2026, 11, 23, 12, 30, tzinfo=UTC)


def test_sev1_deadlines_are_calendar_minutes() -> None:
    sla = compute_sla(Severity.SEV1, datetime(2026, 11, 21, 3, 0, tzinfo=UTC), load_policy())
    assert sla.acknowledge_by == datetime(2026, 11, 21, 3, 15, tzinfo=UTC)


def test_sev4_is_backlog_without_deadlines() -> None:
    sla = compute_sla(Severity.SEV4, datetime(2026, 11, 21, 3, 0, tzinfo=UTC), load_policy())
    assert sla.acknowledge_by is None and sla.resolve_by is None


def test_no_active_rule_left_still_yields_a_decision(tmp_path: Path) -> None:
    names = [n for n in load_policy().rules]
    override = tmp_path / "policy.toml"
    override.write_text("".join(f'[rules.{n}]\nmode = "off"\n' for n in names))
    rec = Engine(load_policy(override), SERVICES).decide(packet([summary()])).recommendation
    assert rec is not None and rec.action is Action.INVESTIGATE
