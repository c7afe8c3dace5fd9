"""Prometheus metrics every service exposes on ``GET /metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HANDLED = Counter(
    "gongzhi_events_handled_total",
    "Kafka records handled, by outcome (ok, rejected, retried, dead_lettered).",
    ["service", "topic", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "gongzhi_handler_seconds",
    "Time to handle one consumed batch, retries included (labelled by its first topic).",
    ["service", "topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
BATCH_RECORDS = Histogram(
    "gongzhi_batch_records",
    "Records per consumed batch.",
    ["service"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 200, 500, 1000),
)
PUBLISHED = Counter(
    "gongzhi_events_published_total",
    "Events published, by topic.",
    ["service", "topic"],
)
DB_COMMANDS = Counter(
    "gongzhi_db_commands_total",
    "Commands sent to MongoDB, by command name (from PyMongo's command monitoring).",
    ["service", "command"],
)
