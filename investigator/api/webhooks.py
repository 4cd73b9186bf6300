"""``POST /webhooks/{helpdesk}``: cap the raw body, verify its signature, parse, then accept once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from investigator.config import Settings
from investigator.intake import ADAPTERS, MalformedPayloadError, SignatureError, UnsupportedEventError
from investigator.service import IntakeService, ServiceUnavailableError, page_url

log = logging.getLogger("investigator.api.webhooks")

SECRET_SETTING = {
    "zendesk": "zendesk_webhook_secret",
    "generic": "generic_webhook_secret",
    "intercom": "intercom_client_secret",
    "front": "front_webhook_secret",
    "helpscout": "helpscout_webhook_secret",
}


async def read_capped(request: Request, cap: int) -> bytes:
    """The raw body, refusing (413) anything above ``cap`` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise HTTPException(413, f"body larger than {cap} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > cap:
            raise HTTPException(413, f"body larger than {cap} bytes")
    return bytes(body)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return True


def _secret(settings: Settings, helpdesk: str) -> str:
    value = getattr(settings, SECRET_SETTING.get(helpdesk, ""), None)
    return value.get_secret_value() if value is not None else ""


def router(settings: Settings, service: IntakeService) -> APIRouter:
    """The webhook routes for every adapter."""
    api = APIRouter()

    @api.post("/webhooks/{helpdesk}", status_code=202)
    async def receive(helpdesk: str, request: Request) -> JSONResponse:
        adapter = ADAPTERS.get(helpdesk)
        if adapter is None:
            raise HTTPException(404, f"no webhook for {helpdesk!r}; known: {sorted(ADAPTERS)}")
        raw = await read_capped(request, settings.max_body_bytes)
        try:
            adapter.verify(
                dict(request.headers), raw, _secret(settings, helpdesk), datetime.now(UTC), settings.webhook_tolerance_s
            )
        except SignatureError as exc:
            await run_in_threadpool(service.count, helpdesk, "unauthorized")
            raise HTTPException(401, str(exc)) from exc
        try:
            event = adapter.parse(raw, dict(request.headers))
        except UnsupportedEventError as exc:
            return JSONResponse({"status": "ignored", "reason": str(exc)}, status_code=202)
        except MalformedPayloadError as exc:
            status = 400 if not _is_json(raw) else 422  # not JSON at all, or JSON of an unknown shape
            raise HTTPException(status, str(exc)) from exc
        try:
            accepted = await run_in_threadpool(service.accept, event)  # counts accepted/duplicate itself
        except ServiceUnavailableError as exc:
            raise HTTPException(503, f"temporarily unavailable ({exc}); retry", headers={"Retry-After": "5"}) from exc
        body = {
            "status": "duplicate" if accepted.duplicate else "queued",
            "investigation_id": accepted.investigation_id,
            "url": accepted.url,
            "page_url": page_url(settings, accepted.investigation_id),
        }
        return JSONResponse(body, status_code=202)

    return api
