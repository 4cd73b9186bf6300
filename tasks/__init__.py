"""Celery tasks: the investigation pipeline distributed over workers on Redis."""
