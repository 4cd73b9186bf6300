"""A local Stripe API stand-in built from a scenario's ``stripe`` section.

It answers like ``api.stripe.com`` for the reads the Stripe connector makes: customer search
(``metadata['key']:'value'`` and ``email:'x'`` clauses joined by ``AND``, Stripe's escaping),
customer list/retrieve, subscriptions, invoices (``payments`` only when expanded, as the real
API's includable field), charges, disputes and active entitlements. Lists are newest first with
``limit`` / ``starting_after`` / ``ending_before``; errors are Stripe's ``{"error": {...}}``
objects; every answer carries a ``Request-Id``. A 429 fault answers like Stripe's rate limiter
(``code: rate_limit``, ``Stripe-Should-Retry``), a 5xx fault as an ``api_error``.
"""

from __future__ import annotations

import base64
import copy
import itertools
import re
import threading
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from connectors.stripe.config import StripeSettings
from investigator.sandbox.scenario import StripeWorld
from investigator.sandbox.standin import FaultKind, Injection, Request, Response, StandIn

STANDIN_KEY = "sk_test_standin51HxQeKOa5nQ2eZvK0000000000"  # a dummy key for the local stand-in
StripeObj = dict[str, Any]

_VALUE = r"'(?P<sv>(?:\\.|[^'\\])*)'|\"(?P<dv>(?:\\.|[^\"\\])*)\""
_CLAUSE = re.compile(
    r"\s*(?:metadata\[(?:'(?P<mk>(?:\\.|[^'\\])*)'|\"(?P<mkd>(?:\\.|[^\"\\])*)\")\]|(?P<field>email|name|id))"
    rf"\s*:\s*(?:{_VALUE})\s*"
)
_AND = re.compile(r"AND\b", re.IGNORECASE)
_RANGE = re.compile(r"^created\[(gte|gt|lte|lt)\]$")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def stripe_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> Response:
    """An error in Stripe's shape (``components.schemas.error``)."""
    error: dict[str, Any] = {"type": type_, "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    return Response(status, {"error": error})


class SearchQueryError(ValueError):
    """The query is outside the subset of Stripe's search language this stand-in understands."""


def parse_search_query(query: str) -> list[tuple[str, str]]:
    """``metadata['tenant_id']:'acme' AND email:'a@b.test'`` -> [("metadata.tenant_id", "acme"), ("email", ...)]."""
    clauses: list[tuple[str, str]] = []
    pos = 0
    while True:
        match = _CLAUSE.match(query, pos)
        if not match:
            raise SearchQueryError(f"could not parse the query at position {pos}")
        key = match.group("mk") if match.group("mk") is not None else match.group("mkd")
        name = f"metadata.{_unescape(key)}" if key is not None else str(match.group("field"))
        raw = match.group("sv") if match.group("sv") is not None else match.group("dv")
        clauses.append((name, _unescape(raw)))
        pos = match.end()
        if pos == len(query):
            return clauses
        joined = _AND.match(query, pos)
        if not joined:
            raise SearchQueryError(f"unsupported syntax at position {pos}")
        pos = joined.end()


def _matches(customer: StripeObj, clauses: list[tuple[str, str]]) -> bool:
    for name, value in clauses:
        if name.startswith("metadata."):
            actual = (customer.get("metadata") or {}).get(name.removeprefix("metadata."))
            if actual != value:
                return False
        elif name == "email":
            if str(customer.get("email") or "").lower() != value.lower():
                return False
        elif customer.get(name) != value:
            return False
    return True


class StripeStandIn(StandIn):
    """Stripe's REST API over one scenario's objects.

    ``rate_limit_should_retry`` is the ``Stripe-Should-Retry`` header of a 429 fault (the stripe
    library retries a 429 only when it is ``true``); ``fault_budget`` limits the injected fault to
    the first N requests (None: every request).
    """

    name = "stripe"

    def __init__(
        self,
        world: StripeWorld | None,
        injection: Injection | None = None,
        *,
        api_key: str = STANDIN_KEY,
        rate_limit_should_retry: bool = False,
        fault_budget: int | None = None,
    ) -> None:
        super().__init__(injection)
        self.world = world or StripeWorld()
        self.api_key = api_key
        self.rate_limit_should_retry = rate_limit_should_retry
        self.fault_budget = fault_budget
        self._ids = itertools.count(1)
        self._budget_lock = threading.Lock()
        self._routes: dict[str, Callable[[Request], Response]] = {
            "/v1/customers/search": self._search_customers,
            "/v1/customers": self._list_customers,
            "/v1/subscriptions": self._list_subscriptions,
            "/v1/invoices": self._list_invoices,
            "/v1/charges": self._list_charges,
            "/v1/disputes": self._list_disputes,
            "/v1/entitlements/active_entitlements": self._list_entitlements,
        }

    # ----------------------------------------------------------------- wiring
    def connector_settings(self, **overrides: Any) -> StripeSettings:
        """Settings that point the Stripe connector at this stand-in (call after ``start``)."""
        values: dict[str, Any] = {"api_key": SecretStr(self.api_key), "api_base": self.url, **overrides}
        return StripeSettings(**values)

    def _request_id(self) -> str:
        return f"req_standin{next(self._ids):08d}"

    def rate_limit_response(self) -> Response:
        """Stripe's rate limiter: 429, ``code: rate_limit``, ``Stripe-Should-Retry``."""
        response = stripe_error(
            429,
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
        response.headers.update(
            {"Request-Id": self._request_id(), "Stripe-Should-Retry": str(self.rate_limit_should_retry).lower()}
        )
        return response

    def server_error_response(self) -> Response:
        """A 500 ``api_error`` (no ``Stripe-Should-Retry``: the library retries it within its bound)."""
        response = stripe_error(500, "An unknown error occurred", type_="api_error")
        response.headers["Request-Id"] = self._request_id()
        return response

    def _faulted(self) -> Response | None:
        if self.injection.fault is None or self.injection.fault is FaultKind.TIMEOUT:
            return None
        with self._budget_lock:
            if self.fault_budget is not None:
                if self.fault_budget <= 0:
                    return None
                self.fault_budget -= 1
        return super()._faulted()

    # ----------------------------------------------------------------- routing
    def handle(self, request: Request) -> Response:
        """Authenticate, route, and stamp a ``Request-Id``."""
        response = self._authenticate(request) or self._route(request)
        response.headers.setdefault("Request-Id", self._request_id())
        return response

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                credentials = base64.b64decode(credentials).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                credentials = ""
        elif scheme.lower() != "bearer":
            credentials = ""
        if not credentials:
            return stripe_error(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if credentials != self.api_key:
            return stripe_error(401, "Invalid API Key provided.", code="api_key_invalid")
        return None

    def _route(self, request: Request) -> Response:
        if request.method != "GET":
            return self._unrecognized(request)
        route = self._routes.get(request.path.rstrip("/"))
        if route is not None:
            return route(request)
        if request.path.startswith("/v1/customers/"):
            return self._retrieve_customer(request.path.removeprefix("/v1/customers/"))
        return self._unrecognized(request)

    @staticmethod
    def _unrecognized(request: Request) -> Response:
        return stripe_error(404, f"Unrecognized request URL ({request.method}: {request.path}).")

    # ----------------------------------------------------------------- lists
    def _page(self, request: Request, url: str, objects: list[StripeObj]) -> Response:
        """Stripe's list envelope, newest first, with cursor pagination."""
        try:
            limit = int(request.arg("limit") or 10)
        except ValueError:
            return stripe_error(400, "Invalid integer: limit", code="parameter_invalid_integer", param="limit")
        if not 1 <= limit <= 100:
            return stripe_error(400, "Invalid limit: must be between 1 and 100", param="limit")
        ordered = sorted(objects, key=lambda o: int(o.get("created") or 0), reverse=True)
        ids = [str(o.get("id")) for o in ordered]
        after, before = request.arg("starting_after"), request.arg("ending_before")
        for cursor, param in ((after, "starting_after"), (before, "ending_before")):
            if cursor is not None and cursor not in ids:
                return stripe_error(400, f"No such object: '{cursor}'", code="resource_missing", param=param)
        if after is not None:
            window = ordered[ids.index(after) + 1 :]
            data, has_more = window[:limit], len(window) > limit
        elif before is not None:
            window = ordered[: ids.index(before)]
            data, has_more = window[-limit:], len(window) > limit
        else:
            data, has_more = ordered[:limit], len(ordered) > limit
        return Response(200, {"object": "list", "data": copy.deepcopy(data), "has_more": has_more, "url": url})

    @staticmethod
    def _created_filter(request: Request, objects: list[StripeObj]) -> list[StripeObj]:
        checks = {"gte": int.__ge__, "gt": int.__gt__, "lte": int.__le__, "lt": int.__lt__}
        for key, values in request.query.items():
            match = _RANGE.match(key)
            if match and values:
                op, bound = checks[match.group(1)], int(values[0])
                objects = [o for o in objects if op(int(o.get("created") or 0), bound)]
        if request.arg("created"):
            objects = [o for o in objects if int(o.get("created") or 0) == int(str(request.arg("created")))]
        return objects

    @staticmethod
    def _expanded(request: Request) -> set[str]:
        return {v for k, vs in request.query.items() if k == "expand" or k.startswith("expand[") for v in vs}

    def _filtered(self, request: Request, objects: list[StripeObj], *fields: str) -> list[StripeObj]:
        for name in fields:
            wanted = request.arg(name)
            if wanted is not None:
                objects = [o for o in objects if o.get(name) == wanted]
        return self._created_filter(request, objects)

    def _list_customers(self, request: Request) -> Response:
        return self._page(request, "/v1/customers", self._filtered(request, self.world.customers, "email"))

    def _retrieve_customer(self, customer_id: str) -> Response:
        for customer in self.world.customers:
            if customer.get("id") == customer_id:
                return Response(200, copy.deepcopy(customer))
        return stripe_error(404, f"No such customer: '{customer_id}'", code="resource_missing", param="id")

    def _search_customers(self, request: Request) -> Response:
        query = request.arg("query")
        if not query:
            return stripe_error(400, "Missing required param: query.", code="parameter_missing", param="query")
        try:
            clauses = parse_search_query(query)
        except SearchQueryError as exc:
            return stripe_error(400, f"Invalid search query: {exc}.", code="search_query_invalid", param="query")
        limit = int(request.arg("limit") or 10)
        page = request.arg("page")
        offset = int(page.removeprefix("page_")) if page and page.startswith("page_") else 0
        found = [c for c in self.world.customers if _matches(c, clauses)]
        data = found[offset : offset + limit]
        has_more = len(found) > offset + limit
        body = {
            "object": "search_result",
            "data": copy.deepcopy(data),
            "has_more": has_more,
            "next_page": f"page_{offset + limit}" if has_more else None,
            "url": "/v1/customers/search",
        }
        return Response(200, body)

    def _list_subscriptions(self, request: Request) -> Response:
        subs = self._filtered(request, self.world.subscriptions, "customer")
        status = request.arg("status")
        if status is None:  # Stripe's default: everything that is not canceled
            subs = [s for s in subs if s.get("status") not in ("canceled", "incomplete_expired")]
        elif status == "ended":
            subs = [s for s in subs if s.get("status") in ("canceled", "incomplete_expired")]
        elif status != "all":
            subs = [s for s in subs if s.get("status") == status]
        return self._page(request, "/v1/subscriptions", subs)

    def _list_invoices(self, request: Request) -> Response:
        invoices = self._filtered(request, self.world.invoices, "customer", "status")
        subscription = request.arg("subscription")
        if subscription is not None:
            invoices = [i for i in invoices if _invoice_subscription(i) == subscription]
        response = self._page(request, "/v1/invoices", invoices)
        if response.status == 200 and "data.payments" not in self._expanded(request):
            for invoice in response.body["data"]:
                invoice.pop("payments", None)  # includable: only returned when expanded
        return response

    def _list_charges(self, request: Request) -> Response:
        charges = self._filtered(request, self.world.charges, "customer", "payment_intent")
        return self._page(request, "/v1/charges", charges)

    def _list_disputes(self, request: Request) -> Response:
        disputes = self._filtered(request, self.world.disputes, "charge", "payment_intent")
        return self._page(request, "/v1/disputes", disputes)

    def _list_entitlements(self, request: Request) -> Response:
        customer = request.arg("customer")
        if not customer:
            return stripe_error(400, "Missing required param: customer.", code="parameter_missing", param="customer")
        entitlements = self.world.active_entitlements.get(customer, [])
        return self._page(request, "/v1/entitlements/active_entitlements", entitlements)


def _invoice_subscription(invoice: StripeObj) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    value = details.get("subscription") or invoice.get("subscription")
    return value if isinstance(value, str) else None
