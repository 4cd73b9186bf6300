"""Settings of the ClickHouse connector (``INVESTIGATOR_CLICKHOUSE_*`` or ``[clickhouse]`` in the TOML file)."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from investigator.config import SectionSettings

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def valid_identifier(value: str) -> str:
    """Return ``value`` when it is a safe identifier or attribute name, else raise ValueError."""
    if not IDENTIFIER.match(value):
        raise ValueError(f"not a safe identifier: {value!r} (allowed: letters, digits, '_' and '.')")
    return value


class ClickHouseSettings(SectionSettings):
    """Where the traces are, how they are named, the query guardrails and the detection thresholds."""

    model_config = SettingsConfigDict(env_prefix="INVESTIGATOR_CLICKHOUSE_", extra="ignore")
    toml_section: str | None = Field(default="clickhouse", exclude=True)

    dsn: str = Field(
        default="chdb://",
        description="clickhouse-connect DSN: http(s)://host:8123 for a server, chdb:// for an embedded in-memory chDB",
    )
    username: str | None = Field(default=None, description="ClickHouse user (HTTP only; a read-only profile)")
    password: SecretStr | None = Field(default=None, description="ClickHouse password (HTTP only)")
    database: str = Field(default="otel", description="Database of the OpenTelemetry tables")
    table: str = Field(default="otel_traces", description="Traces table (OpenTelemetry exporter schema)")
    tenant_attribute: str = Field(default="tenant.id", description="SpanAttributes key holding the tenant id")
    route_attribute: str | None = Field(
        default=None, description="SpanAttributes key holding the route; unset: SpanName is the route"
    )
    status_attribute: str = Field(
        default="http.response.status_code", description="SpanAttributes key holding the HTTP status code"
    )
    event_attribute: str = Field(default="webhook.event_type", description="SpanAttributes key of the webhook event")
    url_attribute: str = Field(default="url.full", description="SpanAttributes key of an outbound call's URL")
    bucket_minutes: int = Field(default=5, ge=1, le=60, description="Time-bucket size of the aggregated series")
    max_execution_time: int = Field(default=10, ge=1, description="Per-query max_execution_time, seconds")
    max_result_rows: int = Field(default=200_000, ge=1, description="Per-query max_result_rows (overflow throws)")
    connect_timeout_s: float = Field(default=3.0, gt=0, description="HTTP connect timeout, seconds")
    timeout_s: float = Field(
        default=15.0, gt=0, lt=20, description="HTTP send/receive timeout, seconds (below the 20 s source deadline)"
    )
    retries: int = Field(default=1, ge=0, le=3, description="Retries of a query after a transient failure")
    min_segment_minutes: int = Field(default=15, ge=1, description="Change points need this much data on each side")
    min_requests: int = Field(default=20, ge=1, description="Requests needed in a period before judging it")
    error_rate_min: float = Field(default=0.05, gt=0, le=1, description="An error anomaly needs at least this rate")
    error_rate_factor: float = Field(default=3.0, ge=1, description="... and this many times the rate before onset")
    sustained_error_rate: float = Field(
        default=0.2, gt=0, le=1, description="Error rate that is an anomaly even with no onset (a standing problem)"
    )
    latency_factor: float = Field(default=2.0, gt=1, description="p50 this many times the p50 before onset")
    latency_min_delta_ms: float = Field(default=50.0, ge=0, description="... and at least this many ms higher")
    sustained_latency_ms: float = Field(
        default=5000.0, gt=0, description="p50 that is an anomaly even with no onset (a standing problem)"
    )
    missing_min_rpm: float = Field(default=1.0, gt=0, description="Routes below this rpm are never missing traffic")
    missing_ratio: float = Field(default=0.1, gt=0, lt=1, description="Missing: recent rpm below this share of normal")
    missing_min_minutes: int = Field(default=30, ge=1, description="Missing: low for at least this many minutes")

    @field_validator("database", "table", "tenant_attribute", "status_attribute", "event_attribute", "url_attribute")
    @classmethod
    def _identifier(cls, value: str) -> str:
        return valid_identifier(value)

    @field_validator("route_attribute")
    @classmethod
    def _optional_identifier(cls, value: str | None) -> str | None:
        return valid_identifier(value) if value else None
