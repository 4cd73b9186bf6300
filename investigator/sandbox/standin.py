"""Base of the HTTP stand-ins: a threaded server on 127.0.0.1 with latency and fault injection.

A stand-in answers like the real API for the calls the connectors make. Subclasses
implement :meth:`StandIn.handle` and the API's own shapes for a rate limit and a
server error; this base adds ``latency_ms`` to every response and applies one fault
kind (``timeout``, ``5xx``, ``429``, ``garbage``) to every request when set.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FaultKind(StrEnum):
    TIMEOUT = "timeout"
    SERVER_ERROR = "5xx"
    RATE_LIMIT = "429"
    GARBAGE = "garbage"


@dataclass
class Injection:
    """What to do to every response: add latency, or fail in one way."""

    latency_ms: float = 0.0
    fault: FaultKind | None = None
    hang_s: float = 60.0  # how long a `timeout` fault holds the request (or until stop)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes for a raw body
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, default=str).encode()


class StandIn:
    """A local server that answers like one vendor's API."""

    name: str = "standin"

    def __init__(self, injection: Injection | None = None) -> None:
        self.injection = injection or Injection()
        self.calls: list[Request] = []
        self.recorded: list[dict[str, Any]] = []  # writes the product made (notes, issues)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- to override
    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def rate_limit_response(self) -> Response:
        return Response(429, {"error": "rate limited"}, {"Retry-After": "1"})

    def server_error_response(self) -> Response:
        return Response(503, {"error": "service unavailable"})

    # ----------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} stand-in is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                standin._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"standin-{self.name}", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, kind: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self.recorded.append({"kind": kind, **payload})

    # ----------------------------------------------------------------- serving
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        request = Request(
            method=h.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        with self._lock:
            self.calls.append(request)
        if self.injection.latency_ms:
            time.sleep(self.injection.latency_ms / 1000.0)
        if self.injection.fault is FaultKind.TIMEOUT:  # hold the connection, then drop it
            self._stop.wait(self.injection.hang_s)
            h.close_connection = True
            return
        response = self._faulted() or self._safe_handle(request)
        payload = response.encoded()
        h.send_response(response.status)
        headers = {"Content-Type": "application/json", **response.headers}
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _faulted(self) -> Response | None:
        fault = self.injection.fault
        if fault is None or fault is FaultKind.TIMEOUT:
            return None
        if fault is FaultKind.SERVER_ERROR:
            return self.server_error_response()
        if fault is FaultKind.RATE_LIMIT:
            return self.rate_limit_response()
        return Response(200, b'{"data": [tru', {"Content-Type": "application/json"})

    def _safe_handle(self, request: Request) -> Response:
        try:
            return self.handle(request)
        except Exception as exc:  # a bug in a stand-in must show, not hang the client
            return Response(500, {"error": f"stand-in {self.name} failed: {type(exc).__name__}: {exc}"})
