"""Exactness under redelivery, crashes and several instances, against the real services."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.stats.watch import latest_snapshots
from shared.broker import ensure_topics
from shared.mongo import unpacked
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import COMPLAINTS_UPDATED, dead_letter_topic
from tests.integration.stats.service import StatsProcess, publish
from tests.support import Infra, collect, produce, wait_for
from tests.unit.stats.history import (
    OCTOBER_COUNTS,
    OCTOBER_MEDIANS,
    OCTOBER_RATES,
    RESPONDER_RATES,
    october,
)

pytestmark = pytest.mark.integration


async def exact_figures(stats: StatsProcess) -> dict[str, Any]:
    async def ready() -> dict[str, Any] | None:
        answer = await stats.get("/v1/stats", period="2026-10")
        figures: dict[str, Any] = answer.json()
        try:
            assert_october(figures)
        except AssertionError:
            return None
        return figures

    result: dict[str, Any] = await wait_for(ready, timeout=60, interval=0.5)
    return result


def assert_october(figures: dict[str, Any]) -> None:
    assert figures["counts"] == OCTOBER_COUNTS
    assert figures["rates"] == OCTOBER_RATES
    assert figures["medians_seconds"] == OCTOBER_MEDIANS
    assert {r: d["rates"] for r, d in figures["responders"].items()} == RESPONDER_RATES


def without_time(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if k != "generated_at"}


async def test_replaying_every_event_twice_and_a_crash_mid_way_change_nothing(
    infra: Infra,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    mongo_db: AsyncDatabase[dict[str, Any]],
    tmp_path: Path,
) -> None:
    await ensure_topics(kafka_settings)
    events = october().events
    random.Random(11).shuffle(events)
    half = len(events) // 2
    stats = await StatsProcess(infra, kafka_settings, mongo_settings, tmp_path / "s.log").start()
    try:
        garbage = [(b"c-oct-a", b"{not json"), (b"c-oct-a", b'{"type": "acknowledged"}')]
        await produce(infra.bootstrap_servers, kafka_settings.topic(COMPLAINTS_UPDATED), garbage)
        await publish(infra.bootstrap_servers, kafka_settings, events[:half])
        await wait_for(lambda: mongo_db["stats_complaints"].count_documents({}), timeout=30)
        stats.kill()
        # Everything again, twice, while stats is down and after it comes back.
        await publish(infra.bootstrap_servers, kafka_settings, events + events[:half])
        await stats.start()
        await publish(infra.bootstrap_servers, kafka_settings, list(reversed(events)))
        figures = await exact_figures(stats)
        assert_october(figures)
        await asyncio.sleep(2)
        again = (await stats.get("/v1/stats", period="2026-10")).json()
        assert without_time(again) == without_time(figures)
        parts = [doc async for doc in mongo_db["stats_complaints"].find({})]
        assert len({doc["complaint_id"] for doc in parts}) == 6
        # No replay wrote a fact again: each is stored in one part only.
        stored = [(doc["complaint_id"], key) for doc in parts for key in unpacked(doc["events"])]
        stored += [(doc["complaint_id"], key) for doc in parts for key in unpacked(doc["notified"])]
        assert len(stored) == len(set(stored))
        # The running tallies agree with the recount, whatever was replayed.
        await wait_for(lambda: _tallies_match(stats), timeout=15, interval=0.5)
        assert await mongo_db["stats_rejections"].count_documents({}) == 1
        # What no retry can fix is parked with its provenance, not counted, not blocking.
        parked = await collect(
            infra.bootstrap_servers,
            [kafka_settings.topic(dead_letter_topic("stats"))],
            until=lambda records: len(records) >= 2,
            timeout=20,
        )
        assert {r["headers"]["x-origin-topic"] for r in parked} == {
            kafka_settings.topic(COMPLAINTS_UPDATED)
        }
    finally:
        stats.stop()


async def test_two_instances_give_the_same_figures_as_one(
    infra: Infra,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    mongo_db: AsyncDatabase[dict[str, Any]],
    tmp_path: Path,
) -> None:
    await ensure_topics(kafka_settings)
    events = october().events
    random.Random(3).shuffle(events)
    first = StatsProcess(infra, kafka_settings, mongo_settings, tmp_path / "1.log")
    second = StatsProcess(infra, kafka_settings, mongo_settings, tmp_path / "2.log")
    try:
        await asyncio.gather(first.start(), second.start())
        await publish(infra.bootstrap_servers, kafka_settings, events + events)
        one, two = await asyncio.gather(exact_figures(first), exact_figures(second))
        assert_october(one)
        assert without_time(one) == without_time(two)

        async def snapshots_converged() -> bool:
            latest = await latest_snapshots(kafka_settings)
            city = latest.get("city:2026-10")
            return bool(
                city
                and city.counts == OCTOBER_COUNTS
                and all(
                    (s := latest.get(f"responder:{r}:2026-10")) is not None and s.rates == rates
                    for r, rates in RESPONDER_RATES.items()
                )
            )

        await wait_for(snapshots_converged, timeout=30, interval=1)
        # Each instance counts half the partitions; either one sums them all alike.
        await wait_for(lambda: _tallies_match(first), timeout=15, interval=0.5)
        await wait_for(lambda: _tallies_match(second), timeout=15, interval=0.5)
    finally:
        first.stop()
        second.stop()


async def _tallies_match(stats: StatsProcess) -> bool:
    running = (await stats.get("/v1/scopes/city:2026-10")).json()
    return bool(running["counts"] == {**OCTOBER_COUNTS, "rejected": 1})
