"""Automated investigation worker for B2B SaaS support tickets."""

__version__ = "0.1.0"
