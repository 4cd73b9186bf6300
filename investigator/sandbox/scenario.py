"""Scenario files (``shared/scenarios/FORMAT.md``) as pydantic models, with clear load errors."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from investigator.connector import ServiceConfig
from investigator.sandbox.standin import FaultKind

_RELATIVE = re.compile(r"^(-?)(\d+(?:\.\d+)?)(d|h|m|s)$")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


def relative_seconds(value: str | int | float) -> float:
    """``-6h`` -> -21600.0; ``0`` -> 0.0."""
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if text in ("0", "now"):
        return 0.0
    match = _RELATIVE.match(text)
    if not match:
        raise ValueError(f"not a relative time: {value!r} (expected like -6h, -40m, -90s, -2d, 0)")
    sign = -1.0 if match.group(1) else 1.0
    return sign * float(match.group(2)) * _UNITS[match.group(3)]


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class TrafficStream(BaseModel):
    """One generated request stream (FORMAT.md, 'Traffic streams')."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    tenant: str
    service: str
    route: str
    kind: Literal["server", "client"] = "server"
    url: str | None = None
    event: str | None = None
    from_: str | int = Field(alias="from")
    to: str | int
    rpm: float = Field(gt=0)
    status: int = 200
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_status: int = 500
    latency_ms: float = Field(default=100.0, gt=0)

    @field_validator("from_", "to")
    @classmethod
    def _relative(cls, value: str | int) -> str | int:
        relative_seconds(value)
        return value


class ClickHouseWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")
    traffic: list[TrafficStream] = Field(default_factory=list)
    spans: list[dict[str, Any]] = Field(default_factory=list)


class ZendeskWorld(BaseModel):
    model_config = ConfigDict(extra="allow")
    tickets: list[dict[str, Any]] = Field(default_factory=list)
    users: list[dict[str, Any]] = Field(default_factory=list)
    organizations: list[dict[str, Any]] = Field(default_factory=list)
    comments: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class TicketSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    helpdesk: Literal["generic", "zendesk"]
    webhook: dict[str, Any]
    zendesk: ZendeskWorld | None = None


class LinearWorld(BaseModel):
    model_config = ConfigDict(extra="allow")
    issues: list[dict[str, Any]] = Field(default_factory=list)


class StripeWorld(BaseModel):
    model_config = ConfigDict(extra="allow")
    customers: list[dict[str, Any]] = Field(default_factory=list)
    subscriptions: list[dict[str, Any]] = Field(default_factory=list)
    invoices: list[dict[str, Any]] = Field(default_factory=list)
    charges: list[dict[str, Any]] = Field(default_factory=list)
    disputes: list[dict[str, Any]] = Field(default_factory=list)
    active_entitlements: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class GitHubRepo(BaseModel):
    model_config = ConfigDict(extra="allow")
    deployments: list[dict[str, Any]] = Field(default_factory=list)
    statuses: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    commits: list[dict[str, Any]] = Field(default_factory=list)
    pulls: list[dict[str, Any]] = Field(default_factory=list)
    releases: list[dict[str, Any]] = Field(default_factory=list)
    codeowners: str | None = None


class GitHubWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")
    repos: dict[str, GitHubRepo] = Field(default_factory=dict)


class ScenarioConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    services: dict[str, ServiceConfig] = Field(default_factory=dict)
    compliance_critical_events: list[str] = Field(default_factory=list)


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["resolve", "investigate", "escalate", "incident"]
    severity: Literal["sev1", "sev2", "sev3", "sev4"] | None = None
    team: str | None = None
    evidence: list[Literal["clickhouse", "linear", "stripe", "github", "helpdesk"]] = Field(default_factory=list)


class Scenario(BaseModel):
    """One ticket, the world it lands in, and the expected decision."""

    model_config = ConfigDict(extra="forbid")
    name: str
    summary: str = ""
    now: datetime
    config: ScenarioConfig = Field(default_factory=ScenarioConfig)
    ticket: TicketSection
    clickhouse: ClickHouseWorld | None = None
    linear: LinearWorld | None = None
    stripe: StripeWorld | None = None
    github: GitHubWorld | None = None
    faults: dict[Literal["clickhouse", "linear", "stripe", "github", "helpdesk"], FaultKind] = Field(
        default_factory=dict
    )
    expect: Expectation
    path: Path | None = Field(default=None, exclude=True)

    def at(self, relative: str | int) -> datetime:
        """An absolute time from a relative one, counted back from ``now``."""
        return self.now + timedelta(seconds=relative_seconds(relative))


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate one scenario file; errors name the file and the key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: expected a mapping at the top level")
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ScenarioError(f"{path}: key '{key}': {first['msg']} ({exc.error_count()} problem(s))") from exc
    scenario.path = path
    return scenario


def scenario_files(folder: str | Path) -> list[Path]:
    """Every ``*.yaml`` scenario in a folder, sorted."""
    return sorted(p for p in Path(folder).glob("*.yaml") if p.is_file())
