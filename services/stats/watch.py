"""``gongzhi-watch``: a live terminal table of responders ranked by the three rates.

Follows ``stats.snapshots`` from the beginning, keeps the latest value per scope and
redraws; ``--once`` prints the table after reading to the end and exits."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from services.stats.periods import Scope, is_period
from services.stats.render import percent
from shared.broker import admin_client_options
from shared.events import StatsSnapshot
from shared.settings import KafkaSettings
from shared.topics import STATS_SNAPSHOTS

RATES = ("response_rate", "resolution_rate", "satisfaction_rate")


def latest_period(latest: Mapping[str, StatsSnapshot]) -> str | None:
    months = [s.period for s in latest.values() if len(s.period) == 7]
    return max(months) if months else max((s.period for s in latest.values()), default=None)


def _rank_key(snapshot: StatsSnapshot) -> tuple[float, ...]:
    # Highest rates first; a responder with no rate yet sorts after every rate.
    return tuple(-(snapshot.rates.get(name) or -1.0) for name in RATES)


def render_table(latest: Mapping[str, StatsSnapshot], period: str | None = None) -> str:
    """The table for ``period`` (default: the newest month seen)."""
    period = period or latest_period(latest)
    if period is None:
        return "no snapshots yet\n"
    responders = []
    city: StatsSnapshot | None = None
    for key, snapshot in latest.items():
        try:
            scope = Scope.parse(key)
        except ValueError:
            continue
        if scope.period != period:
            continue
        if scope.kind == "responder":
            responders.append((scope.subject or "", snapshot))
        elif scope.kind == "city":
            city = snapshot
    responders.sort(key=lambda item: (_rank_key(item[1]), item[0]))
    header = (
        f"{'#':>2}  {'responder':<28}{'routed':>7}{'resolved':>9}{'response':>10}"
        f"{'resolution':>11}{'satisfaction':>13}  categories"
    )
    lines = [f"Gongzhi 共治 — responders ranked by the three rates, {period}", header]
    lines.append("-" * len(header))
    rows = list(responders)
    if city is not None:
        rows.append(("(city-wide)", city))
    for rank, (name, s) in enumerate(rows, start=1):
        categories = ", ".join(
            f"{c} {n}" for c, n in sorted(s.by_category.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        lines.append(
            f"{rank if name != '(city-wide)' else '':>2}  {name:<28}{s.counts.get('routed', 0):>7}"
            f"{s.counts.get('resolved', 0):>9}{percent(s.rates.get('response_rate')):>10}"
            f"{percent(s.rates.get('resolution_rate')):>11}"
            f"{percent(s.rates.get('satisfaction_rate')):>13}  {categories}"
        )
    if city is not None:
        lines.append("")
        lines.append("volume by category (received):")
        for category, count in sorted(city.by_category.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {category:<28}{count:>6}")
    return "\n".join(lines) + "\n"


async def _open(settings: KafkaSettings) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    """A group-less consumer of every partition, from the beginning."""
    topic = settings.topic(STATS_SNAPSHOTS)
    consumer = AIOKafkaConsumer(
        topic,
        **admin_client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        for _ in range(120):
            if consumer.assignment():
                return consumer, sorted(consumer.assignment())
            if topic not in await consumer.topics():
                await asyncio.sleep(0.5)
            else:
                await asyncio.sleep(0.1)
        raise SystemExit(f"topic {topic} does not exist (is stats running?)")
    except BaseException:
        await consumer.stop()
        raise


async def _read(consumer: AIOKafkaConsumer, latest: dict[str, StatsSnapshot]) -> bool:
    changed = False
    batch = await consumer.getmany(timeout_ms=500)
    for records in batch.values():
        for record in records:
            if record.key is None or record.value is None:
                continue
            try:
                latest[record.key.decode()] = StatsSnapshot.model_validate_json(record.value)
            except (ValidationError, UnicodeDecodeError):
                continue
            changed = True
    return changed


async def latest_snapshots(settings: KafkaSettings) -> dict[str, StatsSnapshot]:
    """The latest snapshot of every scope, read from the beginning to the current end."""
    consumer, partitions = await _open(settings)
    latest: dict[str, StatsSnapshot] = {}
    try:
        ends = await consumer.end_offsets(partitions)
        while True:
            await _read(consumer, latest)
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= ends[tp] for tp in partitions):
                return latest
    finally:
        await consumer.stop()


async def follow(settings: KafkaSettings, period: str | None) -> None:
    consumer, _ = await _open(settings)
    latest: dict[str, StatsSnapshot] = {}
    changed = True
    try:
        while True:
            changed = await _read(consumer, latest) or changed
            if changed:
                sys.stdout.write("\x1b[2J\x1b[H" + render_table(latest, period))
                sys.stdout.flush()
                changed = False
    finally:
        await consumer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gongzhi-watch", description="Responders ranked by the three rates, live."
    )
    parser.add_argument("--once", action="store_true", help="print the current table and exit")
    parser.add_argument("--period", help="YYYY-MM or YYYY-MM-DD (default: newest month)")
    args = parser.parse_args(argv)
    if args.period and not is_period(args.period):
        parser.error("--period must be YYYY-MM or YYYY-MM-DD")
    settings = KafkaSettings()
    try:
        if args.once:
            sys.stdout.write(render_table(asyncio.run(latest_snapshots(settings)), args.period))
        else:
            asyncio.run(follow(settings, args.period))
    except KeyboardInterrupt:
        pass
    return 0
