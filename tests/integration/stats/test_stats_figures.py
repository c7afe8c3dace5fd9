"""Stats against the real Kafka and MongoDB-protocol server: a scripted October history
published in shuffled order gives exactly the hand-worked figures, everywhere they show."""

from __future__ import annotations

import csv
import io
import random
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.stats.render import percent
from services.stats.watch import latest_snapshots
from shared.auth import DEMO_API_KEY
from shared.broker import ensure_topics
from shared.events import StatsSnapshot
from shared.settings import KafkaSettings, MongoSettings
from tests.integration.stats.service import StatsProcess, publish
from tests.support import REPO, Infra, unique_name, wait_for
from tests.unit.stats.history import (
    MASKED,
    OCT_5_COUNTS,
    OCT_5_RATES,
    OCTOBER_BY_CATEGORY,
    OCTOBER_COUNTS,
    OCTOBER_MEDIANS,
    OCTOBER_RATES,
    PHONE,
    RESPONDER_RATES,
    october,
)

pytestmark = pytest.mark.integration


class Served:
    def __init__(self, stats: StatsProcess, kafka: KafkaSettings, infra: Infra) -> None:
        self.stats, self.kafka, self.infra = stats, kafka, infra

    async def figures(self, **params: Any) -> dict[str, Any]:
        answer = await self.stats.get("/v1/stats", **params)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


async def counts_settle(served: Served) -> dict[str, Any]:
    async def ready() -> dict[str, Any] | None:
        # Counts can reach their final values before the last facts that move a
        # median or a responder's rate are in: wait for every headline figure.
        figures = await served.figures(period="2026-10")
        settled = (
            figures["counts"] == OCTOBER_COUNTS
            and figures["rates"] == OCTOBER_RATES
            and figures["medians_seconds"] == OCTOBER_MEDIANS
            and {r: d["rates"] for r, d in figures.get("responders", {}).items()} == RESPONDER_RATES
        )
        return figures if settled else None

    result: dict[str, Any] = await wait_for(ready, timeout=60, interval=0.5)
    return result


@pytest.fixture(scope="module")
async def served(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    kafka = KafkaSettings(
        bootstrap_servers=infra.bootstrap_servers, topic_prefix=unique_name("t") + "."
    )
    mongo = MongoSettings(url=infra.mongodb_url, database=unique_name("test"))
    await ensure_topics(kafka)
    log = Path(tmp_path_factory.mktemp("stats")) / "stats.log"
    stats = await StatsProcess(infra, kafka, mongo, log).start()
    events = october().events
    random.Random(7).shuffle(events)
    await publish(infra.bootstrap_servers, kafka, events)
    served = Served(stats, kafka, infra)
    try:
        await counts_settle(served)
        yield served
    finally:
        stats.stop()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
        await client.drop_database(mongo.database)
        await client.close()
        assert PHONE not in log.read_text()


async def test_scripted_history_gives_exactly_the_hand_worked_figures(served: Served) -> None:
    figures = await counts_settle(served)
    assert figures["rates"] == OCTOBER_RATES
    assert figures["medians_seconds"] == OCTOBER_MEDIANS
    assert figures["by_category"] == OCTOBER_BY_CATEGORY
    assert {r: d["rates"] for r, d in figures["responders"].items()} == RESPONDER_RATES


async def test_a_day_and_a_filter_narrow_the_figures(served: Served) -> None:
    day = await served.figures(period="2026-10-05")
    assert {k: day["counts"][k] for k in OCT_5_COUNTS} == OCT_5_COUNTS
    assert day["rates"] == OCT_5_RATES
    fire = await served.figures(period="2026-10", responder="fire")
    assert fire["counts"]["routed"] == 1
    assert fire["rates"] == RESPONDER_RATES["fire"]
    sanitation = await served.figures(period="2026-10", category="sanitation")
    assert sanitation["counts"]["received"] == 2
    assert sanitation["counts"]["duplicates"] == 1


async def test_complaint_view_shows_the_whole_timeline_with_the_phone_masked(
    served: Served,
) -> None:
    answer = await served.stats.get("/v1/complaints/c-oct-a")
    assert answer.status_code == 200
    a = answer.json()
    assert [t["type"] for t in a["timeline"]] == [
        "received",
        "routed",
        "acknowledged",
        "resolved",
        "rated",
    ]
    assert a["status"] == "closed"
    assert a["lead"] == {"responder_id": "pf-dianzhong", "kind": "property_firm"}
    assert a["due"] == {
        "acknowledge_by": "2026-10-06T01:00:01+00:00",
        "resolve_by": "2026-10-12T01:00:01+00:00",
    }
    assert a["reporter"] == {"name": None, "phone": MASKED, "hide_identity": True}
    assert a["notifications"] == {"sent": 1, "failed": 0}
    assert PHONE not in answer.text

    d = (await served.stats.get("/v1/complaints/c-oct-d")).json()
    assert [t["type"] for t in d["timeline"]] == [
        "received",
        "routed",
        "returned",
        "rerouted",
        "acknowledged",
    ]
    assert d["lead"]["responder_id"] == "cm-xueqiao"
    assert (await served.stats.get("/v1/complaints/c-oct-e")).json()["escalation_level"] == 2
    f = (await served.stats.get("/v1/complaints/c-oct-f")).json()
    assert (f["status"], f["duplicate_of"]) == ("duplicate", "c-oct-b")


async def test_unknown_complaint_is_404(served: Served) -> None:
    assert (await served.stats.get("/v1/complaints/c-nobody")).status_code == 404


async def test_csv_opens_with_the_csv_module_and_matches_the_json(served: Served) -> None:
    figures = await served.figures(period="2026-10")
    answer = await served.stats.get("/v1/stats", period="2026-10", format="csv")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    cells = {(r["scope"], r["metric"]): r["value"] for r in rows}
    for name, value in figures["counts"].items():
        assert int(cells[("all", f"counts.{name}")]) == value
    for name, value in figures["rates"].items():
        assert cells[("all", f"rates.{name}")] == ("" if value is None else str(value))
    for responder, data in figures["responders"].items():
        for name, value in data["rates"].items():
            cell = cells[(f"responder:{responder}", f"rates.{name}")]
            assert (None if cell == "" else float(cell)) == value
    assert int(cells[("day:2026-10-05", "counts.received")]) == 3

    async with httpx.AsyncClient(base_url=served.stats.url) as client:
        negotiated = await client.get(
            "/v1/stats", params={"period": "2026-10"}, headers={"Accept": "text/csv"}
        )
    assert negotiated.text == answer.text


async def test_the_dashboard_is_the_desk_and_holds_the_figures_of_the_api(served: Served) -> None:
    figures = await served.figures(period="2026-10")
    async with httpx.AsyncClient(base_url=served.stats.url, timeout=10) as browser:
        moved = await browser.get("/dashboard", params={"period": "2026-10"})
        assert moved.status_code == 307
        desk = moved.headers["location"]
        assert desk == "/console/desk?period=2026-10"
        # The desk is an operator's: without a sign-in it sends the browser to sign in.
        unsigned = await browser.get(desk)
        assert unsigned.status_code == 303
        assert unsigned.headers["location"] == "/console/login?next=%2Fconsole%2Fdesk"
        form = await browser.get("/console/login")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
        assert token is not None
        signed = await browser.post(
            "/console/login", data={"csrf": token.group(1), "api_key": DEMO_API_KEY}
        )
        assert (signed.status_code, signed.headers["location"]) == (303, "/console")
        answer = await browser.get(desk)
    assert answer.status_code == 200
    page = answer.text
    assert 'http-equiv="refresh"' not in page
    city = page.split('id="city-rates"', 1)[1].split("</section>", 1)[0]
    for rate in figures["rates"].values():
        assert percent(rate) in city
    counts = figures["counts"]
    assert f"{counts['received']} / {counts['routed']}" in city
    assert f"{counts['acknowledge_overdue']} / {counts['resolve_overdue']}" in city
    ranking = page.split('id="ranking"', 1)[1].split("</section>", 1)[0]
    for responder, data in figures["responders"].items():
        row = ranking.split(f'data-responder="{responder}"', 1)[1].split("</tr>", 1)[0]
        for name, rate in data["rates"].items():
            assert re.search(
                rf'data-rate="{name}"><span class="val">{re.escape(percent(rate))}<', row
            )


async def test_snapshot_topic_holds_the_latest_figures_per_scope(served: Served) -> None:
    def as_expected(snapshots: dict[str, StatsSnapshot]) -> bool:
        try:
            city = snapshots["city:2026-10"]
            assert city.counts == OCTOBER_COUNTS
            assert city.rates == OCTOBER_RATES
            assert city.medians_seconds == OCTOBER_MEDIANS
            assert city.by_category == OCTOBER_BY_CATEGORY
            for responder, rates in RESPONDER_RATES.items():
                assert snapshots[f"responder:{responder}:2026-10"].rates == rates
            # D left the firm: the firm's snapshot was recounted without it.
            assert snapshots["responder:pf-dianzhong:2026-10"].counts["routed"] == 2
            assert snapshots["community:cm-xueqiao:2026-10"].counts["received"] == 5
            assert snapshots["city:2026-10-05"].rates == OCT_5_RATES
        except (KeyError, AssertionError):
            return False
        return True

    async def latest() -> dict[str, StatsSnapshot] | None:
        snapshots = await latest_snapshots(served.kafka)
        return snapshots if as_expected(snapshots) else None

    await wait_for(latest, timeout=30, interval=1)


async def test_watch_once_prints_responders_ranked_by_the_three_rates(served: Served) -> None:
    await wait_for(lambda: _watch(served), timeout=30, interval=1)
    table = _watch(served)
    lines = table.splitlines()
    ranked = [line.split()[1] for line in lines[3:6]]
    # fire 100 % responds; the firm and the community tie at 50 %, the firm resolves more.
    assert ranked == ["fire", "pf-dianzhong", "cm-xueqiao"]
    assert "60.0%" in table
    assert "sanitation" in table


def _watch(served: Served) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.stats", "watch", "--once", "--period", "2026-10"],
        cwd=REPO,
        env=served.infra.service_env(KAFKA_TOPIC_PREFIX=served.kafka.topic_prefix),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout if "cm-xueqiao" in done.stdout else ""
