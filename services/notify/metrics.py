"""Prometheus metrics of notify (served on ``/metrics`` with the shared ones)."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES = Counter(
    "gongzhi_notify_deliveries_total",
    "Deliveries finished, by channel and outcome (sent, failed_permanent, failed_exhausted).",
    ["channel", "outcome"],
)
ATTEMPTS = Counter(
    "gongzhi_notify_attempts_total",
    "Delivery attempts, by channel and outcome (sent, retry, failed).",
    ["channel", "outcome"],
)
RESENDS = Counter(
    "gongzhi_notify_resends_total",
    "Deliveries resumed by a new owner after their old owner stopped: the alert may "
    "reach its receiver twice (with the same delivery id).",
    ["channel"],
)
