"""Small text helpers shared by the adapters whose payloads carry HTML."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from investigator.intake.base import MalformedPayloadError

_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|div|br|li|h\d)[^>]*>", re.IGNORECASE)


def html_to_text(value: str | None) -> str:
    """Plain text of an HTML fragment (block tags become newlines)."""
    if not value:
        return ""
    text = _BLOCK.sub("\n", value)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def epoch_or_iso(value: Any, what: str) -> datetime:
    """A Unix timestamp (seconds) or an ISO string as an aware datetime."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), tz=UTC)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedPayloadError(f"{what} is not a timestamp: {value!r}") from exc
    raise MalformedPayloadError(f"{what} is missing or not a timestamp")


def obj(data: Any, key: str, what: str) -> dict[str, Any]:
    """``data[key]`` as a JSON object, else :class:`MalformedPayloadError`."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, dict):
        raise MalformedPayloadError(f"{what}: '{key}' must be an object")
    return value


def maybe_obj(data: Any, key: str) -> dict[str, Any]:
    """``data[key]`` when it is a JSON object, else an empty dict."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}
