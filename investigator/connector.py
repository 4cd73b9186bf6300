"""The one interface every evidence source implements, and the registry that finds them.

A connector is configured by its own pydantic settings (secrets as ``SecretStr``), answers
a cheap :meth:`Connector.check`, and turns an :class:`InvestigationContext` into
:class:`Collected` findings. It raises only :class:`~investigator.errors.SourceError`
subclasses on purpose; the pipeline turns anything else into an ``error`` report.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field
from pydantic_settings import BaseSettings

from investigator.models import Finding, Model, SourceName, SourceStatus, Ticket, TimeWindow


class ServiceConfig(Model):
    """A service of the product being supported: its code repository and owning team."""

    repo: str | None = None
    team: str | None = None


class InvestigationContext(Model):
    """What a connector is told about the investigation. Pure data."""

    investigation_id: str
    ticket: Ticket
    tenant_id: str | None
    now: datetime
    window: TimeWindow
    baseline: TimeWindow
    services: dict[str, ServiceConfig] = Field(default_factory=dict)
    compliance_critical_events: list[str] = Field(default_factory=list)


@dataclass
class Collected:
    """A connector's answer. ``no_data`` is set when nothing relevant was found;
    ``checked`` then says what was looked at."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    no_data: bool = False
    resolved_tenant: str | None = None
    ticket_update: dict[str, Any] | None = None

    @property
    def status(self) -> SourceStatus:
        return SourceStatus.NO_DATA if self.no_data or not self.findings else SourceStatus.OK


@dataclass
class CheckResult:
    """The outcome of :meth:`Connector.check`."""

    source: str
    configured: bool
    reachable: bool | None = None
    missing: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Configured, not known to be unreachable, and nothing it needs is missing."""
        return self.configured and self.reachable is not False and not self.missing


class Connector(ABC):
    """An evidence source. Subclasses set ``name`` and ``settings_class``."""

    name: ClassVar[SourceName]
    settings_class: ClassVar[type[BaseSettings]]
    #: True when the source needs the tenant id (it waits for the helpdesk to resolve it).
    needs_tenant: ClassVar[bool] = False

    def __init__(self, settings: BaseSettings) -> None:
        self.settings = settings

    @abstractmethod
    def configured(self) -> bool:
        """True when the settings hold what the source needs (no I/O)."""

    @abstractmethod
    def check(self) -> CheckResult:
        """A cheap configuration and reachability check."""

    @abstractmethod
    def collect(self, ctx: InvestigationContext) -> Collected:
        """Gather findings for one investigation."""

    def resolve(self, ctx: InvestigationContext) -> Collected | None:
        """Optional, helpdesk sources: resolve the tenant and ticket fields in one cheap call, so the
        sources that need the tenant can start before the rest of this source's reads. None: not supported."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and pools."""


# Connectors are found by name: "<package>.connector:<Class>". Configuration may add more.
DEFAULT_REGISTRY: dict[str, str] = {
    "helpdesk": "connectors.helpdesk.connector:ZendeskConnector",
    "clickhouse": "connectors.clickhouse.connector:ClickHouseConnector",
    "linear": "connectors.linear.connector:LinearConnector",
    "stripe": "connectors.stripe.connector:StripeConnector",
    "github": "connectors.github.connector:GitHubConnector",
}


def load_connector_class(path: str) -> type[Connector]:
    """Import ``module:Class`` and check it is a Connector."""
    module_name, _, attr = path.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise TypeError(f"{path} is not a Connector")
    return cls
