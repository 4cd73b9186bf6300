"""Replay through the real connectors: faults on any source still give a packet that names what failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from investigator.models import Action, SourceStatus
from investigator.replay import replay, score
from investigator.sandbox.scenario import ScenarioError, load_scenario
from investigator.sandbox.standin import FaultKind

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
QUIET = SCENARIOS / "data-loss-report.yaml"  # small world, every source has something to answer
ZENDESK = SCENARIOS / "unidentified-tenant-platform-errors.yaml"


@pytest.mark.parametrize("source", ["clickhouse", "linear", "stripe", "github"])
@pytest.mark.parametrize("kind", list(FaultKind))
def test_a_faulted_source_is_reported_and_named_while_the_packet_is_still_produced(
    source: str, kind: FaultKind
) -> None:
    result = replay(load_scenario(QUIET), faults={source: kind}, with_delivery=False, source_deadline_s=3.0)
    packet = result.packet
    report = packet.report(source)  # type: ignore[arg-type]
    assert report is not None
    assert report.status in (SourceStatus.UNAVAILABLE, SourceStatus.ERROR), report
    assert report.reason
    assert packet.recommendation is not None
    assert any(source in reason for reason in packet.recommendation.reasons)
    others = [r for r in packet.reports if r.source != source]
    assert all(r.status in (SourceStatus.OK, SourceStatus.NO_DATA) for r in others), others
    # the hard trigger still holds: a data-loss report is an incident whatever else failed
    assert packet.recommendation.action is Action.INCIDENT


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.TIMEOUT])
def test_a_faulted_helpdesk_leaves_the_tenant_unresolved_and_still_checks_the_platform(kind: FaultKind) -> None:
    result = replay(load_scenario(ZENDESK), faults={"helpdesk": kind}, with_delivery=False, source_deadline_s=3.0)
    helpdesk = result.packet.report("helpdesk")
    assert helpdesk is not None and helpdesk.status is SourceStatus.UNAVAILABLE
    assert result.packet.recommendation is not None
    assert result.packet.recommendation.action is Action.INCIDENT  # platform-wide errors across 4 tenants


def test_replay_delivers_the_note_and_the_escalation_to_the_stand_ins() -> None:
    result = replay(load_scenario(ZENDESK))
    kinds = [entry["kind"] for entry in result.recorded]
    assert kinds.count("zendesk.note") == 1
    assert kinds.count("linear.issueCreate") == 1
    assert score(result).passed


def test_a_bad_scenario_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = QUIET.read_text().replace("rpm: 5", "rpm: -5", 1)
    bad.write_text(text)
    with pytest.raises(ScenarioError, match=r"bad\.yaml: key 'clickhouse\.traffic\.0\.rpm'"):
        load_scenario(bad)
