"""The HTTP service: signed webhook intake and the read API (``create_app(settings)``)."""

from investigator.api.app import create_app, run_server, serve

__all__ = ["create_app", "run_server", "serve"]
