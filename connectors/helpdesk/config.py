"""Settings of the Zendesk helpdesk source (``INVESTIGATOR_HELPDESK_*`` or ``[helpdesk]``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from investigator.config import SectionSettings


class ZendeskSettings(SectionSettings):
    """Where the Zendesk API is and how to authenticate (API token, basic auth)."""

    model_config = SettingsConfigDict(env_prefix="INVESTIGATOR_HELPDESK_", extra="ignore")
    toml_section: str | None = Field(default="helpdesk", exclude=True)

    base_url: str | None = Field(
        default=None, description="Zendesk API base URL, e.g. https://acme.zendesk.com (wins over subdomain)"
    )
    subdomain: str | None = Field(default=None, description="Zendesk subdomain: 'acme' for https://acme.zendesk.com")
    email: str | None = Field(default=None, description="Agent email the API token belongs to")
    api_token: SecretStr | None = Field(default=None, description="Zendesk API token (basic auth email/token:token)")
    tenant_field: str = Field(
        default="external_id",
        description="Organization field holding the tenant id; dotted for nested, e.g. organization_fields.tenant",
    )
    lookback_days: int = Field(default=30, ge=1, description="Prior tickets of the organization: this many days back")
    similarity_threshold: float = Field(
        default=0.25, ge=0.0, le=1.0, description="Minimum subject word overlap for a prior ticket to count as similar"
    )
    timeout_s: float = Field(default=8.0, gt=0, description="Timeout of each Zendesk API call, seconds")
    retry_attempts: int = Field(default=3, ge=1, le=5, description="Attempts per read call (writes never retry)")
    page_size: int = Field(default=100, ge=1, le=100, description="Comments per page (cursor pagination)")
    max_pages: int = Field(default=50, ge=1, description="Upper bound on comment pages read for one ticket")

    @property
    def api_base(self) -> str | None:
        """The base URL without a trailing slash, from ``base_url`` or ``subdomain``."""
        if self.base_url:
            return self.base_url.rstrip("/")
        if self.subdomain:
            return f"https://{self.subdomain}.zendesk.com"
        return None

    def missing(self) -> list[str]:
        """Names of the settings still needed."""
        needed = {"base_url or subdomain": self.api_base, "email": self.email, "api_token": self.api_token}
        return [name for name, value in needed.items() if not value]
