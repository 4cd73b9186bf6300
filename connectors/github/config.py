"""Settings of the GitHub connector (``INVESTIGATOR_GITHUB_*`` or ``[github]`` in the TOML file)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from investigator.config import SectionSettings


class GitHubSettings(SectionSettings):
    """How to reach GitHub's REST API and how far back to look for changes."""

    model_config = SettingsConfigDict(env_prefix="INVESTIGATOR_GITHUB_", extra="ignore")
    toml_section: str | None = Field(default="github", exclude=True)

    token: SecretStr | None = Field(
        default=None, description="GitHub token (fine-grained PAT or App installation token) with read access"
    )
    base_url: str = Field(
        default="https://api.github.com", description="REST API base URL (GitHub Enterprise: https://HOST/api/v3)"
    )
    web_url: str = Field(default="https://github.com", description="Web base URL for links in citations")
    timeout_s: int = Field(default=5, ge=1, description="Timeout of one HTTP request, whole seconds (PyGithub)")
    max_retries: int = Field(default=2, ge=0, le=5, description="Retries of a failed request (5xx, rate limits)")
    backoff_factor: float = Field(default=0.5, ge=0, description="Exponential backoff base between retries, seconds")
    max_rate_limit_wait_s: float = Field(
        default=5.0, ge=0, description="Longest wait for a rate limit reset or Retry-After; longer -> unavailable"
    )
    secondary_rate_wait_s: float = Field(
        default=5.0, ge=0, description="Wait after a secondary rate limit that names no Retry-After"
    )
    per_page: int = Field(default=100, ge=1, le=100, description="Page size of list calls")
    max_pages: int = Field(default=3, ge=1, description="Most pages of deployments read per repository")
    lookback_hours: float = Field(default=72.0, gt=0, description="Deployments and releases this long before now")
    environment: str = Field(default="production", description="Deployment environment to correlate")
    max_workers: int = Field(default=8, ge=1, le=32, description="Parallel requests across repositories")
    pulls_scan: int = Field(
        default=100, ge=0, le=100, description="Recently updated closed pull requests read per repository"
    )
