"""The three rates of the current month as Prometheus gauges, for the Grafana dashboard.

The rates live in stats' figures (``GET /v1/stats``, the same numbers as
``stats.snapshots``), not in any service's ``/metrics``. This small exporter, run by the
compose monitoring profile, reads the figures at each scrape and serves them as
``gongzhi_stats_rate_ratio{scope, subject, rate, period}``: scope ``city`` (subject
``all``), ``responder`` or ``community``. A rate without a denominator yet is left out,
so a panel shows "no data" rather than a false 0 %."""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.stats.figures import RATE_NAMES

log = logging.getLogger("rates_exporter")


def rate_samples(figures: Mapping[str, Any]) -> Iterator[tuple[tuple[str, str, str, str], float]]:
    """``((scope, subject, rate, period), value)`` for every rate the figures hold."""
    period = str(figures["period"])
    scopes: list[tuple[str, str, Mapping[str, Any]]] = [("city", "all", figures)]
    for kind, scope in (("responders", "responder"), ("communities", "community")):
        scopes += [(scope, subject, part) for subject, part in figures.get(kind, {}).items()]
    for scope, subject, part in scopes:
        for name in RATE_NAMES:
            value = part.get("rates", {}).get(name)
            if value is not None:
                yield (scope, subject, name, period), float(value)


class RatesCollector(Collector):
    """Reads the figures from stats at every scrape."""

    def __init__(self, stats_url: str, timeout: float = 10.0) -> None:
        self.stats_url = stats_url.rstrip("/")
        self.timeout = timeout

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families without samples: registering must not read the figures."""
        yield from self._families()

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        rates = GaugeMetricFamily(
            "gongzhi_stats_rate_ratio",
            "Response, resolution and satisfaction rate of the current month, from stats.",
            labels=["scope", "subject", "rate", "period"],
        )
        up = GaugeMetricFamily("gongzhi_stats_figures_up", "1 when stats answered the last read.")
        return rates, up

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rates, up = self._families()
        try:
            response = httpx.get(f"{self.stats_url}/v1/stats", timeout=self.timeout)
            response.raise_for_status()
            for labels, value in rate_samples(response.json()):
                rates.add_metric(labels, value)
            up.add_metric([], 1.0)
        except (httpx.HTTPError, ValueError, KeyError) as error:
            log.warning("reading the figures from %s failed: %s", self.stats_url, error)
            up.add_metric([], 0.0)
        yield rates
        yield up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stats-url", default=os.environ.get("GONGZHI_STATS_URL", "http://127.0.0.1:8083")
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("GONGZHI_EXPORTER_PORT", "9108"))
    )
    parser.add_argument("--host", default=os.environ.get("GONGZHI_EXPORTER_HOST", "0.0.0.0"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    REGISTRY.register(RatesCollector(args.stats_url))
    start_http_server(args.port, addr=args.host)
    log.info("serving the rates of %s on %s:%d/metrics", args.stats_url, args.host, args.port)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
