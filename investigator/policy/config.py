"""The decision policy as data: the default TOML merged with an optional override file."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RuleMode = Literal["active", "shadow", "off"]
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(m|h|d|bh|bd)$")


class Deadline(BaseModel):
    """A deadline like ``15m``, ``4h``, ``4bh`` (business hours) or ``1bd`` (business days)."""

    amount: float
    unit: Literal["m", "h", "d", "bh", "bd"]

    @classmethod
    def parse(cls, text: str) -> Deadline:
        match = _DURATION.match(text.strip())
        if not match:
            raise ValueError(f"not a deadline: {text!r} (use 15m, 4h, 2d, 4bh, 1bd)")
        return cls(amount=float(match.group(1)), unit=match.group(2))

    @property
    def business(self) -> bool:
        return self.unit in ("bh", "bd")

    def calendar_delta(self) -> timedelta:
        return {"m": timedelta(minutes=self.amount), "h": timedelta(hours=self.amount)}.get(
            self.unit, timedelta(days=self.amount)
        )


class SeverityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    meaning: str = ""
    acknowledge: str | None = None
    first_update: str | None = None
    resolve: str | None = None


class Calendar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str = "UTC"
    start: str = "09:00"
    end: str = "17:00"
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    holidays: list[str] = Field(default_factory=list)


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    security_team: str = "Security"
    sev1_route: str = ""
    incident_route: str = ""
    services: dict[str, str] = Field(default_factory=dict)
    codeowners: dict[str, str] = Field(default_factory=dict)


class Impact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    high_tiers: list[str] = Field(default_factory=list)
    compliance_critical_events: list[str] = Field(default_factory=list)


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    multi_tenant_min_other_tenants: int = 1
    deploy_before_onset_max_minutes: float = 180
    deploy_after_onset_grace_minutes: float = 5
    rate_limit_tolerance: float = 0.2
    server_error_escalate_rate: float = 0.2
    server_error_high_impact_rate: float = 0.5
    known_issue_min_score: float = 0.25
    incident_priority_severity: dict[str, str] = Field(default_factory=dict)


class RuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: RuleMode = "active"


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    severity: str | None = None
    steps: list[str] = Field(default_factory=list)


class Policy(BaseModel):
    """Everything the engine needs to decide; no I/O after loading."""

    model_config = ConfigDict(extra="forbid")
    severity: dict[str, SeverityPolicy]
    calendar: Calendar = Field(default_factory=Calendar)
    escalation: Escalation = Field(default_factory=Escalation)
    impact: Impact = Field(default_factory=Impact)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    rules: dict[str, RuleConfig] = Field(default_factory=dict)
    playbooks: dict[str, Playbook] = Field(default_factory=dict)

    def mode(self, rule: str) -> RuleMode:
        return self.rules.get(rule, RuleConfig()).mode

    def steps(self, playbook: str) -> list[str]:
        return list(self.playbooks.get(playbook, Playbook()).steps)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def default_policy_data() -> dict[str, Any]:
    text = resources.files("investigator.policy").joinpath("default_policy.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_policy(override: Path | str | None = None, extra: dict[str, Any] | None = None) -> Policy:
    """The default policy, merged with an override file and then with ``extra`` data."""
    data = default_policy_data()
    if override:
        data = _merge(data, tomllib.loads(Path(override).read_text(encoding="utf-8")))
    if extra:
        data = _merge(data, extra)
    policy = Policy.model_validate(data)
    for sev in policy.severity.values():
        for text in (sev.acknowledge, sev.first_update, sev.resolve):
            if text:
                Deadline.parse(text)
    return policy
