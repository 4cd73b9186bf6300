"""Fixtures of the ClickHouse connector tests (helpers live in ch_helpers.py)."""

from ch_helpers import run_world

__all__ = ["run_world"]
