"""Step summaries and the targets' verdicts."""

from __future__ import annotations

import time
from typing import Any

from devtools.bench.report import (
    format_step,
    format_targets,
    quantiles,
    summarise,
    targets,
    throughput,
)


def _step(**changes: Any) -> dict[str, Any]:
    step = summarise(
        path="ingress",
        offered_per_s=100,
        complaints=1000,
        delivered=1000,
        latencies_ms=[float(n) for n in range(1, 101)],
        started=0.0,
        first_done=0.5,
        finished=10.5,
        cpu_ms_per_complaint={"notify": 2.0, "kafka": 1.0, "total": 3.0},
        cores_busy=0.3,
        db_commands_per_complaint={"notify": {"total": 0.25, "by_command": {"insert": 0.25}}},
    )
    step.update(changes)
    return step


def test_quantiles_of_latencies() -> None:
    figures = quantiles([float(n) for n in range(1, 101)])
    assert figures["p50"] == 50.5
    assert 99 <= figures["p99"] <= 100
    assert quantiles([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0}


def test_a_paced_step_counts_from_its_first_done_complaint_a_burst_from_its_start() -> None:
    paced = throughput(100, 1001, started=0.0, first_done=0.5, finished=10.5)
    assert paced == 100.0
    assert throughput(None, 1000, started=0.0, first_done=0.5, finished=10.0) == 100.0
    # A step that did not complete counts from its start.
    assert throughput(100, 500, started=time.monotonic() - 10, first_done=0.5, finished=None) < 51


def test_a_step_is_summarised_and_printed_with_its_costs() -> None:
    step = _step()
    assert step["throughput_per_s"] == 99.9
    assert step["load"] == "100/s"
    text = format_step(step)
    assert "1000/1000" in text
    assert "notify 2.00  kafka 1.00  = 3.00 (0.30 cores)" in text
    assert "db commands/complaint: notify 0.250" in text
    assert "INCOMPLETE" in format_step(_step(complete=False))


def _results(**changes: Any) -> dict[str, Any]:
    results = {
        "sustained_per_s": 612.0,
        "ratio": 0.15,
        "http_per_s": 1600.0,
        "p99_ms": {"25": 80.0, "100": 250.0},
        "db_commands_per_complaint": {"intake": 0.1, "notify": 0.7},
    }
    results.update(changes)
    return results


def test_every_target_is_judged() -> None:
    verdicts = {t.name: t.verdict for t in targets(_results(), concurrency=64)}
    assert verdicts == {
        "complaints/s sustained through ingress.complaints": "PASS",
        "share of the fair baseline": "FAIL",
        "HTTP intake, accepted requests/s with 64 clients": "PASS",
        "p99 acceptance to alert at 100/s offered": "PASS",
        "db commands per complaint at saturation: intake": "PASS",
        "db commands per complaint at saturation: notify": "FAIL",
    }


def test_a_latency_not_measured_at_100_per_s_is_said_so() -> None:
    found = targets(_results(p99_ms={"25": 80.0}), concurrency=64)
    assert [t.verdict for t in found if "p99" in t.name] == ["NOT MEASURED"]


def test_complaints_not_alerted_fail_the_run() -> None:
    found = targets(_results(), concurrency=64)
    text = format_targets(found, [_step(), _step(linked=3, delivered=997)])
    assert "every complaint routed, alerted and counted: FAIL" in text
    assert "997/1000 alerted, 3 linked" in text
    assert "PASS" in format_targets(found, [_step()]).splitlines()[-1]
