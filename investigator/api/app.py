"""``create_app(settings)``: the FastAPI service (webhooks, read API, page, health, metrics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from investigator import metrics
from investigator.api.auth import check_bearer, check_page_access
from investigator.api.webhooks import router as webhook_router
from investigator.config import Settings
from investigator.render.html import render_page
from investigator.service import IntakeService
from investigator.store import Record, Store


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    enqueue: Callable[[str], None] | None = None,
) -> FastAPI:
    """The service. ``store`` defaults to the Redis of ``settings``; without ``enqueue`` the intake hands
    investigations to Celery through the store's outbox (relayed by the workers)."""
    settings = settings or Settings()
    store = store or Store.from_url(settings.redis_url)
    service = IntakeService(settings, store, enqueue)
    app = FastAPI(title="investigator", version="0.1.0", docs_url=None, redoc_url=None)
    app.include_router(webhook_router(settings, service))

    def load(inv_id: str) -> Record:
        try:
            record = store.get(inv_id)
        except redis.RedisError as exc:
            raise HTTPException(503, "storage unavailable", headers={"Retry-After": "5"}) from exc
        if record is None:
            raise HTTPException(404, f"no investigation {inv_id}")
        return record

    @app.get("/investigations/{inv_id}")
    def get_investigation(inv_id: str, request: Request) -> JSONResponse:
        check_bearer(settings, request)
        return JSONResponse(load(inv_id).model_dump(mode="json"))

    @app.get("/investigations/{inv_id}/page", response_class=HTMLResponse)
    def get_page(inv_id: str, request: Request) -> HTMLResponse:
        check_page_access(settings, request, inv_id)
        record = load(inv_id)
        if record.packet is None:
            waiting = (
                f"<!doctype html><meta charset=utf-8><title>In progress</title><p>Investigation {inv_id} is "
                f"{record.status.value}; reload in a few seconds.</p>"
            )
            return HTMLResponse(waiting, status_code=202, headers={"Refresh": "5"})
        return HTMLResponse(render_page(record.packet))

    @app.get("/tickets/{helpdesk}/{ticket_id}/investigations")
    def list_for_ticket(helpdesk: str, ticket_id: str, request: Request) -> dict[str, Any]:
        check_bearer(settings, request)
        try:
            records = store.for_ticket(helpdesk, ticket_id)
        except redis.RedisError as exc:
            raise HTTPException(503, "storage unavailable") from exc
        return {"helpdesk": helpdesk, "ticket_id": ticket_id, "investigations": [r.summary() for r in records]}

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            store.ping()
        except redis.RedisError:
            return JSONResponse({"status": "unavailable", "redis": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "redis": "up"})

    @app.get("/metrics")
    def get_metrics() -> Response:
        try:
            body = metrics.render(store.redis)
        except redis.RedisError as exc:
            raise HTTPException(503, "storage unavailable") from exc
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def run_server(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None) -> None:
    """Run the service with uvicorn (``investigator serve --host H --port P``)."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=True, log_level="info")


serve = run_server
