"""Benchmarks of the product (``investigator bench``)."""
