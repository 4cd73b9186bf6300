"""Settings of the Linear connector and escalation writer (``INVESTIGATOR_LINEAR_*`` or ``[linear]``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from investigator.config import SectionSettings


class LinearSettings(SectionSettings):
    """How to reach Linear and how to look for known issues."""

    model_config = SettingsConfigDict(env_prefix="INVESTIGATOR_LINEAR_", extra="ignore")
    toml_section: str | None = Field(default="linear", exclude=True)

    api_key: SecretStr | None = Field(
        default=None,
        description="Linear personal API key (sent as is in Authorization) or an OAuth token prefixed 'Bearer '",
    )
    api_url: str = Field(default="https://api.linear.app/graphql", description="Linear GraphQL endpoint")
    timeout_s: float = Field(default=8.0, gt=0, description="Timeout of each GraphQL request, in seconds")
    max_attempts: int = Field(default=3, ge=1, le=5, description="Attempts per read (mutations are sent once)")
    page_size: int = Field(default=50, ge=1, le=100, description="Issues per page when fetching candidates")
    max_pages: int = Field(default=3, ge=1, le=10, description="Pages of candidate issues fetched at most")
    bug_labels: list[str] = Field(
        default=["bug", "incident", "regression", "outage"],
        description="Labels of open issues that count as known bugs (empty: every open issue is a candidate)",
    )
    incident_labels: list[str] = Field(
        default=["incident", "outage"], description="Labels that mark an issue as an incident"
    )
    completed_lookback_days: float = Field(
        default=90.0, gt=0, description="Completed or canceled issues this recent are candidates too"
    )
    min_match_score: float = Field(
        default=0.15, ge=0, le=1, description="Issues scoring below this against the ticket are not reported"
    )
    max_results: int = Field(default=10, ge=1, le=50, description="Known issues reported at most")
