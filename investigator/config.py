"""Product configuration: environment variables (``INVESTIGATOR_*``) and an optional TOML file.

Every field is documented; ``investigator check`` prints what is set and what is missing.
Each connector has its own settings class (``connectors/<name>/config.py``) with its own
``INVESTIGATOR_<NAME>_`` prefix, so secrets stay next to the code that uses them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from investigator.connector import ServiceConfig

CONFIG_FILE_ENV = "INVESTIGATOR_CONFIG"


def config_file() -> Path | None:
    """The TOML file named by ``INVESTIGATOR_CONFIG``, or ``investigator.toml`` when present."""
    named = os.environ.get(CONFIG_FILE_ENV)
    if named:
        return Path(named)
    default = Path("investigator.toml")
    return default if default.exists() else None


class TomlSection(TomlConfigSettingsSource):
    """Reads one ``[section]`` of the TOML configuration file."""

    def __init__(self, settings_cls: type[BaseSettings], section: str | None) -> None:
        path = config_file()
        super().__init__(settings_cls, toml_file=path if path and path.exists() else None)
        if section:
            self.toml_data = dict(self.toml_data.get(section, {}))


class SectionSettings(BaseSettings):
    """Settings read from the environment first, then ``[<toml_section>]`` of the TOML file."""

    toml_section: str | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        section = cls.model_fields["toml_section"].default
        return (init_settings, env_settings, TomlSection(settings_cls, section), file_secret_settings)


class Settings(SectionSettings):
    """The product's own settings (connectors have theirs)."""

    model_config = SettingsConfigDict(env_prefix="INVESTIGATOR_", env_nested_delimiter="__", extra="ignore")
    toml_section: str | None = Field(default="investigator", exclude=True)

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Redis for the Celery broker, results and investigations"
    )
    generic_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC secret of the generic signed webhook (/webhooks/generic)"
    )
    zendesk_webhook_secret: SecretStr | None = Field(
        default=None, description="Zendesk webhook signing secret (/webhooks/zendesk)"
    )
    intercom_client_secret: SecretStr | None = Field(default=None, description="Intercom app client secret")
    front_webhook_secret: SecretStr | None = Field(default=None, description="Front app/rule webhook secret")
    helpscout_webhook_secret: SecretStr | None = Field(default=None, description="Help Scout webhook secret")
    api_token: SecretStr | None = Field(default=None, description="Bearer token of the read API")
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL of this service, for links in notes and issues"
    )
    sources: list[str] = Field(
        default=["helpdesk", "clickhouse", "linear", "stripe", "github"],
        description="Evidence sources to run, by registry name",
    )
    connector_classes: dict[str, str] = Field(
        default_factory=dict, description="Extra or replacement connectors: name -> 'module:Class'"
    )
    source_deadline_s: float = Field(default=20.0, description="Each source's own deadline within an investigation")
    window_hours: float = Field(default=6.0, description="Investigation window: this many hours before now")
    baseline_hours: float = Field(default=24.0, description="Baseline: this many hours before the window")
    services: dict[str, ServiceConfig] = Field(
        default_factory=dict, description="Service name -> {repo, team}: routing and change correlation"
    )
    compliance_critical_events: list[str] = Field(
        default_factory=list, description="Webhook event types customers are contractually owed"
    )
    policy_file: Path | None = Field(default=None, description="A policy TOML overriding the default policy")
    investigation_deadline_s: float = Field(
        default=120.0, description="Watchdog: finalise an investigation whose fan-out has not completed by then"
    )
    dedupe_ttl_s: int = Field(default=86400, description="How long a webhook delivery id is remembered")
    max_body_bytes: int = Field(default=256 * 1024, description="Webhook body cap (413 above it)")
    webhook_tolerance_s: int = Field(default=300, description="Refuse signed webhooks older than this")

    def public_settings(self) -> dict[str, Any]:
        """Settings as shown by ``investigator check`` (secrets masked)."""
        shown: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if "SecretStr" in str(type(self).model_fields[name].annotation):
                shown[name] = "set" if getattr(self, name) else "missing"
            else:
                shown[name] = value
        return shown
