"""Linear's filter and pagination semantics for the stand-in: the IssueFilter subset the connector
uses (and/or, nested entities, some/every collections, comparators) and Relay connections.

Anything outside the subset is refused with Linear's error shape rather than silently ignored.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError

_EMPTY_PAGE = {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}


class LinearApiError(GraphQLError):
    """An error in Linear's shape: ``extensions`` carry type, code, statusCode, userError, message."""

    def __init__(self, message: str, *, kind: str = "invalid input", code: str = "INPUT_ERROR", readable: str = ""):
        super().__init__(message, extensions=error_extensions(kind, code, readable or message))


def error_extensions(kind: str, code: str, readable: str, status: int = 400) -> dict[str, Any]:
    return {"type": kind, "code": code, "statusCode": status, "userError": True, "userPresentableMessage": readable}


def parse_time(value: Any) -> datetime:
    text = str(value)
    if text.lstrip("-").startswith("P"):
        raise LinearApiError(f"stand-in: relative durations are not supported ({text})")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _comparable(value: Any, other: Any) -> tuple[Any, Any]:
    if isinstance(other, str) and isinstance(value, str) and len(other) >= 10 and other[4:5] == "-":
        return parse_time(value), parse_time(other)
    return value, other


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda value, arg: op(*_comparable(value, arg))


def _text(op: Callable[[str, str], bool], fold: bool = False) -> Callable[[Any, Any], bool]:
    return lambda value, arg: op(str(value).lower(), str(arg).lower()) if fold else op(str(value), str(arg))


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _ordered(operator.eq), "neq": _ordered(operator.ne), "gt": _ordered(operator.gt),
    "gte": _ordered(operator.ge), "lt": _ordered(operator.lt), "lte": _ordered(operator.le),
    "in": lambda v, a: v in a, "nin": lambda v, a: v not in a,
    "eqIgnoreCase": _text(operator.eq, True), "neqIgnoreCase": _text(operator.ne, True),
    "contains": _text(lambda v, a: a in v), "containsIgnoreCase": _text(lambda v, a: a in v, True),
    "notContains": _text(lambda v, a: a not in v), "notContainsIgnoreCase": _text(lambda v, a: a not in v, True),
    "startsWith": _text(str.startswith), "startsWithIgnoreCase": _text(str.startswith, True),
    "endsWith": _text(str.endswith),
}  # fmt: skip
_NEGATIVE = {"neq", "nin", "neqIgnoreCase", "notContains", "notContainsIgnoreCase"}


def _compare(value: Any, comparator: dict[str, Any]) -> bool:
    for op, arg in comparator.items():
        if arg is None:
            continue
        if op == "null":
            ok = (value is None) == bool(arg)
        elif op not in _OPS:
            raise LinearApiError(f"stand-in: comparator '{op}' is not supported")
        else:
            ok = op in _NEGATIVE if value is None else _OPS[op](value, arg)
        if not ok:
            return False
    return True


def matches(obj: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    """Evaluate a Linear filter (and/or, nested entities, some/every collections, comparators)."""
    for key, cond in (flt or {}).items():
        if cond is None:
            continue
        if key == "and":
            ok = all(matches(obj, c) for c in cond)
        elif key == "or":
            ok = any(matches(obj, c) for c in cond)
        elif key in ("some", "every"):
            raise LinearApiError(f"stand-in: '{key}' outside a collection")
        elif isinstance(obj.get(key), dict) and "nodes" in obj[key]:
            ok = _matches_collection(obj[key]["nodes"], cond)
        elif isinstance(obj.get(key), dict):
            ok = matches(obj[key], cond)
        elif key in obj:
            ok = _compare(obj.get(key), cond)
        else:
            raise LinearApiError(f"stand-in: filter field '{key}' is not supported")
        if not ok:
            return False
    return True


def _matches_collection(nodes: list[dict[str, Any]], cond: dict[str, Any]) -> bool:
    for key, sub in cond.items():
        if sub is None:
            continue
        if key == "some":
            ok = any(matches(n, sub) for n in nodes)
        elif key == "every":
            ok = all(matches(n, sub) for n in nodes)
        elif key == "length":
            ok = _compare(len(nodes), sub)
        else:
            ok = any(matches(n, {key: sub}) for n in nodes)
        if not ok:
            return False
    return True


def paginate(items: list[dict[str, Any]], first: int | None, after: str | None) -> dict[str, Any]:
    """A Relay connection over ``items``; cursors are the node ids."""
    start = 0
    if after:
        ids = [str(i["id"]) for i in items]
        if after not in ids:
            raise LinearApiError("Invalid cursor", readable="The pagination cursor is not valid.")
        start = ids.index(after) + 1
    size = 50 if first is None else first
    if size < 0 or size > 250:
        raise LinearApiError("first must be between 0 and 250")
    page = items[start : start + size]
    info = {
        "hasNextPage": start + size < len(items),
        "hasPreviousPage": start > 0,
        "startCursor": str(page[0]["id"]) if page else None,
        "endCursor": str(page[-1]["id"]) if page else None,
    }
    return {"nodes": page, "edges": [{"cursor": str(n["id"]), "node": n} for n in page], "pageInfo": info}
