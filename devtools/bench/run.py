"""``make bench``: throughput, latency and cost of the pipeline next to a fair raw
baseline, both measured in the same run on a private Kafka and FerretDB.

Both get the same load shape: paced steps at rising rates until one is not kept up
with, then one burst. The baseline (``devtools.bench.baseline``) does the pipeline's
hops and writes with nothing else; the pipeline is the four services, alerting the
bench's receivers (``devtools.bench.pipeline``), then driven over HTTP. Per step the
bench prints throughput, latency, CPU per complaint of every process on the machine
and database commands per complaint of each service; then issue 13's targets with
pass or fail. Results go to ``.local/bench/results-<time>.json``; the bench's own
client-library logs go to ``bench.log`` beside the services' logs, not to the table."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.bench.baseline import Shape
from devtools.bench.baseline_runner import BaselineRun
from devtools.bench.load import BenchComplaints
from devtools.bench.pipeline import Pipeline
from devtools.bench.report import format_step, format_targets, targets
from devtools.infra import start_local_infra, stop_local_infra
from devtools.stack import REPO

KEPT_UP = 0.9
"""A paced step is kept up with when its throughput is at least this share of the rate."""
DATABASE = "gongzhi_bench"

Step = Callable[[float | None, list[dict[str, Any]], float, float], Awaitable[dict[str, Any]]]


def say(line: str) -> None:
    print(line, flush=True)


async def ramp(
    name: str, step: Step, complaints: BenchComplaints, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Paced steps until one is not kept up with, then the burst."""
    steps: list[dict[str, Any]] = []
    for rate in args.rates:
        bodies = complaints.take(int(rate * args.seconds), f"{rate:g}")
        result = await step(rate, bodies, max(120.0, args.seconds * 6), args.stall)
        steps.append(result)
        say(format_step(result))
        if not result["complete"] or result["throughput_per_s"] < KEPT_UP * rate:
            say(f"bench: {name} saturated at {rate:g}/s offered")
            break
    if args.burst:
        bodies = complaints.take(args.burst, "burst")
        result = await step(None, bodies, max(300.0, args.burst / 20), args.stall)
        steps.append(result)
        say(format_step(result))
    return steps


async def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    infra = start_local_infra(root)
    log_dir = root / "logs"
    shape = Shape()
    try:
        say(f"bench: fair baseline, one process per stage; {baseline_documents(shape)}")
        baseline = BaselineRun(infra, root, log_dir, shape)
        await baseline.start()
        try:
            baseline_steps = await ramp(
                "baseline",
                baseline.step,
                BenchComplaints("b", seed=1, per_compound=args.per_compound),
                args,
            )
        finally:
            await baseline.stop()
        say("bench: the four services")
        pipeline = Pipeline(infra, root, log_dir, DATABASE)
        await pipeline.start()
        try:
            complaints = BenchComplaints("p", seed=2, per_compound=args.per_compound)
            steps = await ramp("pipeline", pipeline.kafka_step, complaints, args)
            http = await pipeline.http_step(
                args.concurrency,
                complaints.take(args.http_complaints, "http"),
                max(300.0, args.http_complaints / 20),
                args.stall,
            )
            say(format_step(http))
            kept = await pipeline.documents_per_complaint()
        finally:
            await pipeline.stop()
    finally:
        stop_local_infra(infra)
    return results_of(args, shape, baseline_steps, steps, http, kept)


def results_of(
    args: argparse.Namespace,
    shape: Shape,
    baseline_steps: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    http: dict[str, Any],
    kept: dict[str, dict[str, float]],
) -> dict[str, Any]:
    sustained = max(s["throughput_per_s"] for s in steps)
    baseline = max(s["throughput_per_s"] for s in baseline_steps)
    # At saturation: the burst, or (without one) the busiest paced step.
    saturated = steps[-1] if args.burst else max(steps, key=lambda s: s["throughput_per_s"])
    commands = saturated["db_commands_per_complaint"]
    return {
        "at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "options": {
            "rates": args.rates,
            "seconds": args.seconds,
            "burst": args.burst,
            "concurrency": args.concurrency,
            "http_complaints": args.http_complaints,
            "per_compound": args.per_compound,
        },
        "sustained_per_s": sustained,
        "baseline_per_s": baseline,
        "ratio": round(sustained / baseline, 3) if baseline else None,
        "http_per_s": http["http_requests_per_s"],
        "p99_ms": {
            f"{s['offered_per_s']:g}": s["latency_ms"]["p99"]
            for s in steps
            if s["offered_per_s"] is not None
        },
        "db_commands_per_complaint": {name: c["total"] for name, c in commands.items()},
        "db_commands_by_command": {name: c["by_command"] for name, c in commands.items()},
        "saturation_step": saturated["load"],
        "baseline_documents_per_message": shape.documents(),
        "baseline_documents_deleted_per_message": shape.deleted(),
        "documents_kept_per_complaint": kept,
        "baseline_steps": baseline_steps,
        "steps": [*steps, http],
    }


def baseline_documents(shape: Shape) -> str:
    deleted = shape.deleted()
    return "documents written per message: " + ", ".join(
        f"{stage} {n}" + (f" ({deleted[stage]} deleted again)" if stage in deleted else "")
        for stage, n in shape.documents().items()
    )


def documents_line(results: dict[str, Any], shape: Shape) -> str:
    kept = results["documents_kept_per_complaint"]
    parts = []
    for service, collections in kept.items():
        inner = ", ".join(f"{name} {value:g}" for name, value in collections.items())
        parts.append(f"{service} {sum(collections.values()):.2f} ({inner})")
    return (
        "documents the pipeline keeps per complaint at the end: "
        + "; ".join(parts)
        + f"\nthe baseline's {baseline_documents(shape)}; kept: "
        + ", ".join(f"{k} {v}" for k, v in shape.kept().items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the pipeline against a fair baseline.")
    parser.add_argument("--rates", type=float, nargs="+", default=[25, 50, 100, 200, 500, 1000])
    parser.add_argument("--seconds", type=float, default=20, help="length of each paced step")
    parser.add_argument(
        "--burst",
        "--baseline-messages",
        type=int,
        default=10000,
        help="complaints offered at once after the paced steps, to the baseline and to the "
        "pipeline alike (0: no burst)",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="HTTP clients")
    parser.add_argument("--http-complaints", type=int, default=6000)
    parser.add_argument(
        "--per-compound", type=int, default=20, help="complaints in each bench compound"
    )
    parser.add_argument(
        "--stall", type=float, default=30, help="give a step up after this long without progress"
    )
    parser.add_argument("--out", type=Path, default=REPO / ".local" / "bench")
    args = parser.parse_args()
    if not args.rates and not args.burst:
        parser.error("give at least one rate or a burst")
    root = Path(tempfile.mkdtemp(prefix="gongzhi-bench-"))
    # aiokafka, PyMongo and asyncio log to the file, not between the table's lines.
    logging.basicConfig(
        filename=root / "bench.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    say(f"bench: logs in {root / 'logs'}, the bench's own in {root / 'bench.log'}")
    results = asyncio.run(run(args, root))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    commands = "  ".join(f"{k} {v:.3f}" for k, v in results["db_commands_per_complaint"].items())
    say(
        f"\nsustained {results['sustained_per_s']}/s through ingress.complaints = "
        f"{results['ratio']} of the fair baseline ({results['baseline_per_s']}/s); "
        f"HTTP intake {results['http_per_s']} req/s\n"
        f"db commands per complaint at saturation ({results['saturation_step']}): {commands}\n"
        + documents_line(results, Shape())
    )
    say(format_targets(targets(results, args.concurrency), results["steps"]))
    say(f"results: {path}")


if __name__ == "__main__":
    main()
