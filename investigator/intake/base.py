"""The webhook adapter interface: verify a helpdesk's signature over the raw bytes, then parse.

Every adapter follows the same order: :meth:`WebhookAdapter.verify` runs on the raw
request bytes (never on re-serialised JSON) with constant-time comparison, and only a
verified body is handed to :meth:`WebhookAdapter.parse`, which turns it into an
:class:`IntakeEvent` or raises :class:`MalformedPayloadError` with a clear message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from investigator.models import Ticket


class IntakeError(Exception):
    """Base of every error an adapter raises on purpose; messages never hold secrets."""


class SignatureError(IntakeError):
    """The signature is missing, malformed or wrong (answer 401)."""


class StaleTimestampError(SignatureError):
    """The signature is valid but its timestamp is outside the tolerance (answer 401)."""


class MalformedPayloadError(IntakeError, ValueError):
    """The verified body is not JSON or not the shape this helpdesk sends (answer 400/422)."""


class UnsupportedEventError(MalformedPayloadError):
    """A well-formed delivery of an event that is not about a ticket (the API may answer 202 and ignore it)."""


class IntakeEvent(BaseModel):
    """One verified, parsed delivery: the normalised ticket and its dedupe key."""

    model_config = ConfigDict(extra="forbid")
    ticket: Ticket
    event_id: str
    event_type: str
    helpdesk: str


class WebhookAdapter(ABC):
    """One helpdesk's webhook: its signature scheme and its payload shape."""

    name: ClassVar[str]

    @abstractmethod
    def verify(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        secret: str,
        now: datetime,
        tolerance_s: int = 300,
    ) -> None:
        """Raise :class:`SignatureError` or :class:`StaleTimestampError` unless the delivery is authentic."""

    @abstractmethod
    def parse(self, raw_body: bytes, headers: Mapping[str, str] | None = None) -> IntakeEvent:
        """Turn a verified body into an :class:`IntakeEvent`; ``headers`` only where the helpdesk puts data there."""


# --------------------------------------------------------------------------- helpers for adapters
def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value by case-insensitive name, stripped; None when absent or empty."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            stripped = value.strip()
            return stripped or None
    return None


def require_header(headers: Mapping[str, str], name: str) -> str:
    """A header that must be present, else :class:`SignatureError`."""
    value = header(headers, name)
    if value is None:
        raise SignatureError(f"missing header {name}")
    return value


def require_secret(secret: str, helpdesk: str) -> bytes:
    """The secret as UTF-8 bytes; an empty secret never verifies anything."""
    if not secret:
        raise SignatureError(f"no webhook secret is configured for {helpdesk}: refusing unsigned deliveries")
    return secret.encode("utf-8")


def hmac_digest(key: bytes, message: bytes, algorithm: str) -> bytes:
    """Raw HMAC digest (``sha256`` or ``sha1``)."""
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def b64(digest: bytes) -> str:
    """Standard base64 text of a digest."""
    return base64.b64encode(digest).decode("ascii")


def signatures_match(expected: str, provided: str, helpdesk: str) -> None:
    """Constant-time comparison; :class:`SignatureError` on mismatch."""
    if not hmac.compare_digest(expected.encode("utf-8"), provided.strip().encode("utf-8")):
        raise SignatureError(f"{helpdesk} webhook signature does not match")


def parse_timestamp(value: str, *, unix_unit_s: float = 1.0) -> datetime:
    """An RFC 3339 / ISO 8601 string or a Unix number (seconds, or ``unix_unit_s`` units) as aware UTC."""
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text) * unix_unit_s, tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureError(f"timestamp header is not RFC 3339 or Unix time: {text[:40]!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_fresh(timestamp: datetime, now: datetime, tolerance_s: int) -> None:
    """:class:`StaleTimestampError` when ``timestamp`` is more than ``tolerance_s`` from ``now`` (either way)."""
    aware_now = now if now.tzinfo else now.replace(tzinfo=UTC)
    skew = abs((aware_now - timestamp).total_seconds())
    if skew > tolerance_s:
        raise StaleTimestampError(f"webhook timestamp is {skew:.0f}s away from now (tolerance {tolerance_s}s)")


def sign_timestamped(secret: str, timestamp: str, raw_body: bytes) -> str:
    """The Zendesk-style signature: base64 HMAC-SHA256 of timestamp + raw body."""
    return b64(hmac_digest(secret.encode("utf-8"), timestamp.encode("utf-8") + raw_body, "sha256"))


class TimestampedHmacAdapter(WebhookAdapter):
    """An adapter signed the Zendesk way (Zendesk itself, and the product's generic webhook):
    a signature header over timestamp + raw body, and a timestamp header that must be fresh."""

    signature_header: ClassVar[str]
    timestamp_header: ClassVar[str]

    def verify(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        secret: str,
        now: datetime,
        tolerance_s: int = 300,
    ) -> None:
        """Check the signature over timestamp + raw body, then the timestamp's age."""
        key = require_secret(secret, self.name)
        timestamp = require_header(headers, self.timestamp_header)
        provided = require_header(headers, self.signature_header)
        expected = b64(hmac_digest(key, timestamp.encode("utf-8") + raw_body, "sha256"))
        signatures_match(expected, provided, self.name)
        check_fresh(parse_timestamp(timestamp), now, tolerance_s)


def load_json_object(raw_body: bytes, helpdesk: str) -> dict[str, Any]:
    """The body as a JSON object, else :class:`MalformedPayloadError`."""
    try:
        data = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayloadError(f"{helpdesk} webhook body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedPayloadError(f"{helpdesk} webhook body must be a JSON object, got {type(data).__name__}")
    return data


def as_id(value: Any) -> str | None:
    """Zendesk-style ids arrive as strings or integers; ``None``, empty and ``"0"`` mean absent."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return None if text in ("", "0") else text
