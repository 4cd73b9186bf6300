"""Settings of the Stripe connector (``INVESTIGATOR_STRIPE_*`` or ``[stripe]`` in the TOML file)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from investigator.config import SectionSettings


class StripeSettings(SectionSettings):
    """How to reach Stripe and how to map a tenant to a Stripe customer."""

    model_config = SettingsConfigDict(env_prefix="INVESTIGATOR_STRIPE_", extra="ignore")
    toml_section: str | None = Field(default="stripe", exclude=True)

    api_key: SecretStr | None = Field(
        default=None, description="Secret or restricted key (read access to customers, billing, entitlements)"
    )
    api_base: str = Field(default="https://api.stripe.com", description="Base URL of the Stripe API")
    api_version: str | None = Field(
        default=None, description="Stripe-Version header; default: the version pinned by the installed stripe library"
    )
    dashboard_url: str = Field(
        default="https://dashboard.stripe.com", description="Base URL of dashboard links cited in findings"
    )
    tenant_metadata_key: str = Field(
        default="tenant_id", description="Customer metadata key that holds the product's tenant id"
    )
    email_fallback: bool = Field(
        default=True, description="When no customer has the tenant id, look the customer up by the requester's email"
    )
    timeout_s: float = Field(default=4.0, gt=0, description="Timeout of each HTTP request to Stripe, in seconds")
    max_network_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Retries done by the stripe library (5xx, 409, connection errors, 429 with Stripe-Should-Retry)",
    )
    page_size: int = Field(default=100, ge=1, le=100, description="Objects per list page (Stripe's limit, 1-100)")
    max_pages: int = Field(default=3, ge=1, description="Pages read per list at most")
    invoice_limit: int = Field(default=20, ge=1, le=100, description="How many recent invoices to read")
    lookback_days: int = Field(default=90, ge=1, description="How far back charges and disputes are read, in days")
    duplicate_window_s: int = Field(
        default=900,
        ge=1,
        description="Two succeeded charges with the same amount and description this close are duplicates",
    )
    max_workers: int = Field(default=5, ge=1, le=16, description="Concurrent requests after the customer lookup")
