"""Build a scenario's world locally and run the real pipeline against it.

:class:`ReplayWorld` starts one stand-in per source (an embedded ClickHouse loaded with the
scenario's traffic, and HTTP servers on 127.0.0.1 for Linear, Stripe, GitHub and Zendesk),
and hands out settings that point the *real* connectors at them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from investigator.models import SOURCE_NAMES, SourceName
from investigator.sandbox.scenario import Scenario
from investigator.sandbox.standin import FaultKind, Injection


class Sandbox(Protocol):
    """What every stand-in offers the world."""

    def start(self) -> Any: ...

    def stop(self) -> None: ...

    def connector_settings(self) -> Any: ...


def _make(source: SourceName, scenario: Scenario, injection: Injection) -> Sandbox:
    if source == "clickhouse":
        from investigator.sandbox.clickhouse_world import ClickHouseSandbox

        return ClickHouseSandbox(scenario.clickhouse, scenario.now, injection)
    if source == "linear":
        from investigator.policy.config import load_policy
        from investigator.sandbox.linear_standin import LinearStandIn

        teams = [svc.team for svc in scenario.config.services.values() if svc.team]
        teams.append(load_policy().escalation.security_team)
        return LinearStandIn(scenario.linear, injection, teams=teams)
    if source == "stripe":
        from investigator.sandbox.stripe_standin import StripeStandIn

        return StripeStandIn(scenario.stripe, injection)
    if source == "github":
        from investigator.sandbox.github_standin import GitHubStandIn

        return GitHubStandIn(scenario.github, injection)
    from investigator.sandbox.zendesk_standin import ZendeskStandIn

    return ZendeskStandIn(scenario.ticket.zendesk, injection)


def injections_for(
    scenario: Scenario, faults: Mapping[str, FaultKind] | None = None, latency_ms: float = 0.0
) -> dict[SourceName, Injection]:
    """The scenario's own ``faults:`` plus command-line faults, and latency for every stand-in."""
    merged: dict[str, FaultKind] = {str(k): v for k, v in scenario.faults.items()}
    merged.update(faults or {})
    return {s: Injection(latency_ms=latency_ms, fault=merged.get(s)) for s in SOURCE_NAMES}


class ReplayWorld:
    """Every source's stand-in for one scenario, started and stopped together."""

    def __init__(self, scenario: Scenario, injections: Mapping[SourceName, Injection] | None = None) -> None:
        self.scenario = scenario
        self.injections = dict(injections or injections_for(scenario))
        self.sandboxes: dict[SourceName, Sandbox] = {}

    def __enter__(self) -> ReplayWorld:
        try:
            for source in SOURCE_NAMES:
                sandbox = _make(source, self.scenario, self.injections.get(source, Injection()))
                sandbox.start()
                self.sandboxes[source] = sandbox
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for sandbox in self.sandboxes.values():
            sandbox.stop()
        self.sandboxes.clear()

    def overrides(self) -> dict[str, BaseSettings]:
        """Source name -> settings pointing its real connector at this world."""
        return {name: sandbox.connector_settings() for name, sandbox in self.sandboxes.items()}

    def env(self) -> dict[str, str]:
        """The same settings as ``INVESTIGATOR_*`` environment variables, for a worker process."""
        env: dict[str, str] = {}
        for settings in self.overrides().values():
            prefix = str(settings.model_config.get("env_prefix", ""))
            for name, value in settings:
                if name == "toml_section" or value is None:
                    continue
                key = f"{prefix}{name}".upper()
                if isinstance(value, SecretStr):
                    env[key] = value.get_secret_value()
                elif isinstance(value, str | int | float | bool):
                    env[key] = str(value)
                else:
                    env[key] = json.dumps(value, default=str)
        return env

    def recorded(self) -> list[dict[str, Any]]:
        """Every write the product made to the stand-ins (notes, issues, comments)."""
        return [
            {"source": name, **entry} for name, sb in self.sandboxes.items() for entry in getattr(sb, "recorded", [])
        ]
