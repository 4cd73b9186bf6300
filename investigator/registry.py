"""Build the configured connectors by name (no vendor imports in core)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic_settings import BaseSettings

from investigator.config import Settings
from investigator.connector import DEFAULT_REGISTRY, Connector, load_connector_class
from investigator.pipeline import PipelineOptions


def connector_classes(settings: Settings) -> dict[str, type[Connector]]:
    """The connector class of every configured source, in the configured order."""
    registry = {**DEFAULT_REGISTRY, **settings.connector_classes}
    unknown = [name for name in settings.sources if name not in registry]
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; known: {sorted(registry)}")
    return {name: load_connector_class(registry[name]) for name in settings.sources}


def build_connectors(settings: Settings, overrides: Mapping[str, BaseSettings] | None = None) -> dict[str, Connector]:
    """Instantiate each configured source with its own settings (from the environment, or ``overrides``)."""
    built: dict[str, Connector] = {}
    for name, cls in connector_classes(settings).items():
        source_settings = (overrides or {}).get(name) or cls.settings_class()
        built[name] = cls(source_settings)
    return built


def pipeline_options(settings: Settings, *, sequential: bool = False) -> PipelineOptions:
    """Pipeline options from the product settings."""
    return PipelineOptions(
        source_deadline_s=settings.source_deadline_s,
        window_hours=settings.window_hours,
        baseline_hours=settings.baseline_hours,
        services=dict(settings.services),
        compliance_critical_events=list(settings.compliance_critical_events),
        sequential=sequential,
    )
