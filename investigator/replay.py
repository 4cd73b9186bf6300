"""Replay a scenario through the real connectors and pipeline, and score it against its expectation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from investigator.config import Settings
from investigator.delivery import deliver
from investigator.models import SOURCE_NAMES, EvidencePacket, SourceName, Ticket
from investigator.pipeline import investigate
from investigator.policy.engine import decider
from investigator.registry import build_connectors, pipeline_options
from investigator.sandbox.scenario import Scenario, load_scenario
from investigator.sandbox.standin import FaultKind
from investigator.sandbox.world import ReplayWorld, injections_for


def scenario_ticket(scenario: Scenario) -> Ticket:
    """The ticket exactly as the helpdesk's webhook adapter parses the scenario's webhook body."""
    from investigator.intake import ADAPTERS

    raw = json.dumps(scenario.ticket.webhook).encode()
    return ADAPTERS[scenario.ticket.helpdesk].parse(raw).ticket


def scenario_settings(scenario: Scenario, *, sequential: bool = False) -> Settings:
    """Product settings for a replay: the scenario's services and compliance events, all sources."""
    return Settings(
        sources=list(SOURCE_NAMES),
        services=scenario.config.services,
        compliance_critical_events=scenario.config.compliance_critical_events,
        public_url="http://127.0.0.1:8000",
    )


@dataclass
class ReplayResult:
    scenario: Scenario
    packet: EvidencePacket
    recorded: list[dict[str, Any]] = field(default_factory=list)


def replay(
    scenario: Scenario,
    *,
    faults: Mapping[str, FaultKind] | None = None,
    latency_ms: float = 0.0,
    with_delivery: bool = True,
    sequential: bool = False,
    source_deadline_s: float | None = None,
) -> ReplayResult:
    """Build the scenario's world, run the real pipeline against it, and deliver to the stand-ins."""
    settings = scenario_settings(scenario)
    if source_deadline_s is not None:
        settings = settings.model_copy(update={"source_deadline_s": source_deadline_s})
    with ReplayWorld(scenario, injections_for(scenario, faults, latency_ms)) as world:
        packet = investigate_in(world, settings, sequential=sequential)
        if with_delivery:
            packet = deliver_in(world, settings, packet)
        return ReplayResult(scenario, packet, world.recorded())


def investigate_in(world: ReplayWorld, settings: Settings, *, sequential: bool = False) -> EvidencePacket:
    """The real connectors and pipeline against a running world, at the scenario's clock."""
    scenario = world.scenario
    connectors = build_connectors(settings, world.overrides())
    engine = decider(
        services={name: svc.team for name, svc in settings.services.items() if svc.team},
        compliance_critical_events=settings.compliance_critical_events,
        policy_file=str(settings.policy_file) if settings.policy_file else None,
    )
    options = pipeline_options(settings, sequential=sequential)
    try:
        return investigate(scenario_ticket(scenario), connectors, options, decide=engine.decide, now=scenario.now)
    finally:
        for connector in connectors.values():
            connector.close()


def deliver_in(world: ReplayWorld, settings: Settings, packet: EvidencePacket) -> EvidencePacket:
    """Deliver the packet to the world's helpdesk and issue tracker, as a first attempt."""
    from connectors.helpdesk.writer import ZendeskNoteWriter
    from connectors.linear.writer import LinearEscalationWriter

    overrides = world.overrides()
    notes = ZendeskNoteWriter(overrides["helpdesk"]) if packet.ticket.helpdesk == "zendesk" else None  # type: ignore[arg-type]
    escalations = LinearEscalationWriter(overrides["linear"])  # type: ignore[arg-type]
    page = f"{settings.public_url.rstrip('/')}/investigations/{packet.investigation_id}/page"
    return deliver(packet, notes, escalations, page, first_attempt=True)


@dataclass
class Score:
    """One scenario's expected vs got."""

    name: str
    passed: bool
    expected: str
    got: str
    top_reason: str
    problems: list[str]


def evidence_sources(packet: EvidencePacket) -> set[SourceName]:
    return {f.source for f in packet.findings if f.citations}


def score(result: ReplayResult) -> Score:
    """Compare a replay with its scenario's ``expect``."""
    exp = result.scenario.expect
    rec = result.packet.recommendation
    problems: list[str] = []
    if rec is None:
        return Score(result.scenario.name, False, exp.action, "no recommendation", "", ["no recommendation"])
    if rec.action.value != exp.action:
        problems.append(f"action {rec.action.value} != {exp.action}")
    if exp.severity and rec.severity.value != exp.severity:
        problems.append(f"severity {rec.severity.value} != {exp.severity}")
    if exp.team and rec.team != exp.team:
        problems.append(f"team {rec.team} != {exp.team}")
    missing = set(exp.evidence) - evidence_sources(result.packet)
    if missing:
        problems.append(f"no cited findings from {sorted(missing)}")
    expected = "/".join(x for x in (exp.action, exp.severity, exp.team) if x)
    got = "/".join(x for x in (rec.action.value, rec.severity.value, rec.team) if x)
    return Score(result.scenario.name, not problems, expected, got, rec.reasons[0] if rec.reasons else "", problems)


def evaluate_file(path: Path) -> Score:
    """Replay and score one file; a scenario that cannot run is a failure with the reason."""
    try:
        scenario = load_scenario(path)
    except ValueError as error:
        return Score(path.stem, False, "?", "unloadable", str(error), [str(error)])
    try:
        return score(replay(scenario, with_delivery=False))
    except Exception as error:
        return Score(scenario.name, False, scenario.expect.action, "crashed", "", [f"{type(error).__name__}: {error}"])
