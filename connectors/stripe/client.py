"""Talks to Stripe through the official library and maps its errors into ours, in one place.

The library does the retrying (``max_network_retries``: 5xx, 409, connection errors, and a
429 only when Stripe answers ``Stripe-Should-Retry: true``); nothing here retries again.
Every object comes back as a plain ``dict`` in the shape of the API's JSON.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
import stripe

from connectors.stripe.config import StripeSettings
from investigator.errors import (
    NotConfiguredError,
    RateLimitedError,
    SourceError,
    SourceTimeoutError,
    TerminalError,
    TransientError,
    classify_status,
)

log = logging.getLogger("connectors.stripe")
T = TypeVar("T")
StripeObj = dict[str, Any]
_KEY = re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9*]+")


class _RedactStripeLogs(logging.Filter):
    """On stripe-python's own logger: mask API keys in any record (an error message may echo one)
    and drop the DEBUG ``API response body`` records (they hold customers' personal data)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "API response body" in message:
            return False
        if _KEY.search(message):
            record.msg, record.args = _KEY.sub(r"\1_\2_[redacted]", message), ()
        return True


def _install_log_redaction() -> None:
    library_log = logging.getLogger("stripe")
    if not any(isinstance(f, _RedactStripeLogs) for f in library_log.filters):
        library_log.addFilter(_RedactStripeLogs())


# ------------------------------------------------------------------------- search query language
def escape_search_value(value: str) -> str:
    """Escape a value for a quoted string of Stripe's search query language (backslash, then quotes)."""
    return value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')


def metadata_query(key: str, value: str) -> str:
    """``metadata['key']:'value'`` with both parts escaped (the value comes from a ticket: untrusted)."""
    return f"metadata['{escape_search_value(key)}']:'{escape_search_value(value)}'"


# ------------------------------------------------------------------------- error mapping
def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    raw = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _where(what: str, status: int | None, exc: stripe.StripeError) -> str:
    """A message naming the call, the status and the request id; never the vendor's text or a key."""
    parts = [f"stripe {what}"]
    if status is not None:
        parts.append(f"HTTP {status}: {classify_status(status).message}")
    extra = [f"code {exc.code}" if exc.code else "", f"request {exc.request_id}" if exc.request_id else ""]
    detail = ", ".join(p for p in extra if p)
    return ": ".join(parts) + (f" ({detail})" if detail else "")


def map_stripe_error(exc: stripe.StripeError, what: str) -> SourceError:
    """The one mapping of stripe-python exceptions to :mod:`investigator.errors`.

    Rate limits -> :class:`RateLimitedError`; timeouts -> :class:`SourceTimeoutError`; other
    connection errors, 409 and 5xx -> :class:`TransientError`; authentication, permission and
    request errors -> :class:`TerminalError`. A body that is not JSON (the library raises a
    plain ``APIError`` with a non-5xx status) is terminal: the library does not retry it either,
    and a persistent non-API answer usually means a wrong ``api_base`` or a proxy in the way, which
    retrying cannot fix (``investigator.errors`` classifies "malformed answer" as terminal too).
    """
    status = exc.http_status
    if isinstance(exc, stripe.RateLimitError):
        return RateLimitedError(
            _where(what, status or 429, exc), status=status or 429, retry_after=_retry_after(exc.headers)
        )
    if isinstance(exc, stripe.APIConnectionError):
        cause = exc.__cause__
        if isinstance(cause, httpx.TimeoutException):
            return SourceTimeoutError(f"stripe {what}: timed out ({type(cause).__name__})")
        return TransientError(
            f"stripe {what}: connection failed ({type(cause).__name__ if cause else 'network error'})"
        )
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError | stripe.InvalidRequestError):
        return TerminalError(_where(what, status, exc), status=status)
    if isinstance(exc, stripe.APIError):
        if status is not None and (status >= 500 or status == 409):
            return TransientError(_where(what, status, exc), status=status)
        return TerminalError(f"stripe {what}: malformed response (HTTP {status})", status=status)
    return TerminalError(_where(what, status, exc), status=status)


# ------------------------------------------------------------------------- the client
class StripeApi:
    """The calls the connector makes, each returning plain dicts, errors already mapped."""

    def __init__(self, settings: StripeSettings) -> None:
        if settings.api_key is None:
            raise NotConfiguredError("stripe: INVESTIGATOR_STRIPE_API_KEY is not set")
        self.settings = settings
        _install_log_redaction()
        self._http = stripe.HTTPXClient(timeout=settings.timeout_s, allow_sync_methods=True)
        self._client = stripe.StripeClient(
            settings.api_key.get_secret_value(),
            http_client=self._http,
            max_network_retries=settings.max_network_retries,
            base_addresses={"api": settings.api_base.rstrip("/")},
            stripe_version=settings.api_version,
        )

    def close(self) -> None:
        """Close the underlying HTTP connections."""
        client = getattr(self._http, "_client", None)
        if client is not None:
            client.close()

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except stripe.StripeError as exc:
            error = map_stripe_error(exc, what)
            log.warning("%s", error)
            raise error from None

    def _list(self, what: str, fetch: Callable[[Any], Any], params: dict[str, Any], pages: int) -> list[StripeObj]:
        """Follow ``starting_after`` cursors for at most ``pages`` pages."""
        items: list[StripeObj] = []
        current = dict(params)
        for _ in range(pages):
            page = self._call(what, lambda p=current: fetch(p))  # type: ignore[misc]
            data = [obj.to_dict() for obj in page.data]
            items.extend(data)
            if not page.has_more or not data:
                return items
            current = {**params, "starting_after": data[-1]["id"]}
        log.info("stripe %s: stopped after %d pages (more exist)", what, pages)
        return items

    def ping(self) -> None:
        """The cheapest authenticated call: one customer."""
        self._call("customers.list", lambda: self._client.v1.customers.list(params={"limit": 1}))

    def search_customers(self, query: str) -> list[StripeObj]:
        """``/v1/customers/search`` following ``next_page`` for at most ``max_pages`` pages."""
        items: list[StripeObj] = []
        params: dict[str, Any] = {"query": query, "limit": self.settings.page_size}
        for _ in range(self.settings.max_pages):
            page = self._call("customers.search", lambda p=params: self._client.v1.customers.search(params=p))  # type: ignore[misc]
            items.extend(obj.to_dict() for obj in page.data)
            next_page = getattr(page, "next_page", None)
            if not page.has_more or not next_page:
                break
            params = {**params, "page": next_page}
        return items

    def customers_by_email(self, email: str) -> list[StripeObj]:
        """``/v1/customers?email=`` (exact, case-sensitive match; not subject to search-index delay)."""
        return self._list(
            "customers.list", self._client.v1.customers.list, {"email": email, "limit": self.settings.page_size}, 1
        )

    def subscriptions(self, customer: str) -> list[StripeObj]:
        """Every subscription of the customer, canceled ones included."""
        params = {"customer": customer, "status": "all", "limit": self.settings.page_size}
        return self._list("subscriptions.list", self._client.v1.subscriptions.list, params, self.settings.max_pages)

    def invoices(self, customer: str) -> list[StripeObj]:
        """The most recent invoices, with their (includable) ``payments``."""
        params = {"customer": customer, "limit": self.settings.invoice_limit, "expand": ["data.payments"]}
        return self._list("invoices.list", self._client.v1.invoices.list, params, 1)

    def charges(self, customer: str, since: int) -> list[StripeObj]:
        """The customer's charges created since ``since`` (Unix seconds), newest first."""
        params = {"customer": customer, "created": {"gte": since}, "limit": self.settings.page_size}
        return self._list("charges.list", self._client.v1.charges.list, params, self.settings.max_pages)

    def disputes(self, since: int) -> list[StripeObj]:
        """Disputes created since ``since``; the API has no customer filter, the caller matches charges."""
        params = {"created": {"gte": since}, "limit": self.settings.page_size}
        return self._list("disputes.list", self._client.v1.disputes.list, params, self.settings.max_pages)

    def active_entitlements(self, customer: str) -> list[StripeObj]:
        """``/v1/entitlements/active_entitlements?customer=``."""
        params = {"customer": customer, "limit": self.settings.page_size}
        fetch = self._client.v1.entitlements.active_entitlements.list
        return self._list("entitlements.active_entitlements.list", fetch, params, self.settings.max_pages)
