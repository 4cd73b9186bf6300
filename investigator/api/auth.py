"""Bearer-token auth of the read API (constant-time), and the signed page links."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from investigator.config import Settings
from investigator.service import page_signature

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="investigator"'}


def _matches(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), provided.encode("utf-8"))


def check_bearer(settings: Settings, request: Request) -> None:
    """401 unless ``Authorization: Bearer <INVESTIGATOR_API_TOKEN>``."""
    if settings.api_token is None:
        raise HTTPException(401, "the read API is disabled: set INVESTIGATOR_API_TOKEN", headers=_CHALLENGE)
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "missing bearer token", headers=_CHALLENGE)
    if not _matches(settings.api_token.get_secret_value(), token.strip()):
        raise HTTPException(401, "invalid bearer token", headers=_CHALLENGE)


def check_page_access(settings: Settings, request: Request, inv_id: str) -> None:
    """The page opens with the bearer token or with the link's per-investigation signature."""
    sig = request.query_params.get("sig")
    expected = page_signature(settings, inv_id)
    if sig and expected and _matches(expected, sig):
        return
    check_bearer(settings, request)
