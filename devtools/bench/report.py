"""The bench's figures: one summary per step, the lines printed for it, and the
targets of issue 13 with pass or fail."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PROCESS_ORDER = (
    "intake", "routing", "notify", "stats", "kafka", "ferretdb", "bench", "total",
)  # fmt: skip


def quantiles(latencies_ms: Sequence[float]) -> dict[str, float]:
    if not latencies_ms:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    if len(latencies_ms) == 1:
        only = round(latencies_ms[0], 1)
        return {"p50": only, "p95": only, "p99": only}
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1)}


def throughput(
    offered_per_s: float | None,
    delivered: int,
    started: float,
    first_done: float | None,
    finished: float | None,
) -> float:
    """Complaints done per second. A completed paced step counts from its first done
    complaint to its last, so that the latency of the first (paid once, not per
    complaint) does not read as a rate below the one offered; a burst, or a step that
    did not complete, counts from its first send."""
    spread = None if finished is None or first_done is None else finished - first_done
    if offered_per_s is not None and spread is not None and spread > 0 and delivered > 1:
        return round((delivered - 1) / spread, 1)
    end = finished if finished is not None else time.monotonic()
    return round(delivered / max(end - started, 1e-9), 1)


def summarise(
    *,
    path: str,
    offered_per_s: float | None,
    complaints: int,
    delivered: int,
    latencies_ms: Sequence[float],
    started: float,
    first_done: float | None,
    finished: float | None,
    cpu_ms_per_complaint: dict[str, float],
    cores_busy: float,
    db_commands_per_complaint: dict[str, dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """``finished`` is None when the step did not complete (then the rate is what was
    done until now)."""
    elapsed = (finished if finished is not None else time.monotonic()) - started
    return {
        "path": path,
        "load": f"{offered_per_s:g}/s" if offered_per_s is not None else "burst",
        "offered_per_s": offered_per_s,
        "complaints": complaints,
        "delivered": delivered,
        "complete": finished is not None,
        "seconds": round(elapsed, 2),
        "throughput_per_s": throughput(offered_per_s, delivered, started, first_done, finished),
        "latency_ms": quantiles(latencies_ms),
        "cpu_ms_per_complaint": cpu_ms_per_complaint,
        "cores_busy": cores_busy,
        "db_commands_per_complaint": db_commands_per_complaint,
        **extra,
    }


def _ordered(costs: dict[str, Any]) -> list[str]:
    known = [name for name in PROCESS_ORDER if name in costs]
    return known + sorted(name for name in costs if name not in PROCESS_ORDER)


def format_step(step: dict[str, Any]) -> str:
    latency = step["latency_ms"]
    head = (
        f"{step['path']:<9}{step['load']:>7} {step['delivered']:>7}/{step['complaints']:<7}"
        f"{step['throughput_per_s']:>9.1f}/s  p50 {latency['p50']:>8.1f}  p95 {latency['p95']:>8.1f}"
        f"  p99 {latency['p99']:>8.1f} ms"
    )
    if "http_requests_per_s" in step:
        head += f"  http {step['http_requests_per_s']:.0f} req/s"
    if not step["complete"]:
        head += "  INCOMPLETE"
    if step.get("linked"):
        head += f"  linked as duplicates: {step['linked']}"
    unit = "message" if step["path"] == "baseline" else "complaint"
    cpu = step["cpu_ms_per_complaint"]
    cpu_line = (
        "  ".join(f"{name} {cpu[name]:.2f}" for name in _ordered(cpu) if name != "total")
        + f"  = {cpu.get('total', 0):.2f} ({step['cores_busy']:.2f} cores)"
    )
    commands = step["db_commands_per_complaint"]
    db_line = "  ".join(f"{name} {commands[name]['total']:.3f}" for name in _ordered(commands))
    lines = [head, f"    cpu ms/{unit}: {cpu_line}"]
    if db_line:
        lines.append(f"    db commands/{unit}: {db_line}")
    if step.get("stats_counts") and not step["complete"]:
        lines.append(f"    stats counted: {step['stats_counts']}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    """None: not measured in this run."""
    bound: float
    at_least: bool
    unit: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "NOT MEASURED"
        passed = self.value >= self.bound if self.at_least else self.value <= self.bound
        return "PASS" if passed else "FAIL"

    def line(self) -> str:
        shown = "-" if self.value is None else f"{self.value:g}{self.unit}"
        limit = f"{'at least' if self.at_least else 'at most'} {self.bound:g}{self.unit}"
        return f"  {self.verdict:<12} {self.name:<52} {shown:>12}   {limit}"


SUSTAINED_PER_S = 500.0
BASELINE_SHARE = 0.2
HTTP_PER_S = 1500.0
P99_RATE = 100.0
P99_MS = 300.0
DB_COMMANDS_PER_COMPLAINT = 0.5


def targets(results: dict[str, Any], concurrency: int) -> list[Target]:
    """Issue 13's targets, judged on this run's results."""
    p99 = results["p99_ms"].get(f"{P99_RATE:g}")
    found = [
        Target(
            "complaints/s sustained through ingress.complaints",
            results["sustained_per_s"],
            SUSTAINED_PER_S,
            at_least=True,
            unit="/s",
        ),
        Target("share of the fair baseline", results["ratio"], BASELINE_SHARE, at_least=True),
        Target(
            f"HTTP intake, accepted requests/s with {concurrency} clients",
            results["http_per_s"],
            HTTP_PER_S,
            at_least=True,
            unit="/s",
        ),
        Target(
            f"p99 acceptance to alert at {P99_RATE:g}/s offered",
            p99,
            P99_MS,
            at_least=False,
            unit=" ms",
        ),
    ]
    for service, value in sorted(results["db_commands_per_complaint"].items()):
        found.append(
            Target(
                f"db commands per complaint at saturation: {service}",
                value,
                DB_COMMANDS_PER_COMPLAINT,
                at_least=False,
            )
        )
    return found


def format_targets(found: Sequence[Target], steps: Sequence[dict[str, Any]]) -> str:
    lines = ["targets (issue 13):", *(target.line() for target in found)]
    short = [s for s in steps if s["path"] != "baseline" and (not s["complete"] or s.get("linked"))]
    if short:
        lines.append(
            "  every complaint routed, alerted and counted: FAIL ("
            + "; ".join(
                f"{s['path']} {s['load']}: {s['delivered']}/{s['complaints']} alerted, "
                f"{s.get('linked', 0)} linked"
                for s in short
            )
            + ")"
        )
    else:
        lines.append("  every complaint routed, alerted and counted: PASS")
    return "\n".join(lines)
