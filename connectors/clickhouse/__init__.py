"""ClickHouse telemetry connector: OpenTelemetry traces (the collector's ClickHouse exporter schema).

``otel_schema.sql`` is a copy of the exporter's DDL (``shared/contracts/clickhouse``), used by the
sandbox loader and the benchmark to create the tables.
"""

from pathlib import Path

OTEL_SCHEMA_PATH = Path(__file__).with_name("otel_schema.sql")
