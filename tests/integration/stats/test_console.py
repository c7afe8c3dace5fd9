"""The console's server side against the real broker and database: change notices fed
from ``stats.snapshots``, sessions kept (sealed) in MongoDB and ended by their expiry,
and a service that stops in time with event streams still open."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.stats.console.sessions import SESSIONS
from shared.auth import DEMO_API_KEY
from shared.broker import ensure_topics
from shared.settings import KafkaSettings, MongoSettings
from tests.integration.stats.service import StatsProcess, publish
from tests.support import Infra, wait_for
from tests.unit.stats.history import october

pytestmark = pytest.mark.integration


async def signed_in(client: httpx.AsyncClient, key: str = DEMO_API_KEY) -> str:
    """Signs the client in as a browser would; the session cookie's value."""
    form = await client.get("/console/login")
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert token is not None
    answer = await client.post("/console/login", data={"csrf": token.group(1), "api_key": key})
    assert answer.status_code == 303, answer.text
    session = client.cookies.get("gongzhi_console")
    assert session
    return session


async def test_new_snapshots_reach_an_open_stream_and_stopping_ends_it(
    infra: Infra,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    mongo_db: AsyncDatabase[dict[str, Any]],
    tmp_path: Path,
) -> None:
    await ensure_topics(kafka_settings)
    stats = await StatsProcess(infra, kafka_settings, mongo_settings, tmp_path / "s.log").start()
    try:
        async with httpx.AsyncClient(base_url=stats.url, timeout=30) as client:
            session = await signed_in(client)
            # The store holds neither the cookie's value nor the key.
            stored = [doc async for doc in mongo_db[SESSIONS].find({})]
            assert len(stored) == 1
            assert session not in str(stored)
            assert DEMO_API_KEY not in str(stored)

            notices: list[str] = []
            opened = asyncio.Event()

            async def listen() -> None:
                async with client.stream("GET", "/console/events") as stream:
                    assert stream.status_code == 200
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    async for line in stream.aiter_lines():
                        opened.set()
                        if line.startswith("event:"):
                            notices.append(line.removeprefix("event:").strip())

            listener = asyncio.create_task(listen())
            await asyncio.wait_for(opened.wait(), timeout=30)
            await asyncio.sleep(3)  # the tail has reached the end of stats.snapshots
            assert notices == []
            await publish(infra.bootstrap_servers, kafka_settings, october().events)
            await wait_for(lambda: "changed" in notices, timeout=60)

            # SIGTERM with the stream open: the feed closes first, so uvicorn's graceful
            # wait (20 s) is not spent waiting for a stream that never ends.
            assert stats.process is not None
            started = time.monotonic()
            stats.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(listener, timeout=15)
            code = await asyncio.to_thread(stats.process.wait, 25)
            # Uvicorn re-raises the signal once it has shut down cleanly.
            assert code in (0, -signal.SIGTERM)
            assert time.monotonic() - started < 15
    finally:
        stats.stop()


async def test_an_expired_or_deleted_session_opens_nothing(
    infra: Infra,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    mongo_db: AsyncDatabase[dict[str, Any]],
    tmp_path: Path,
) -> None:
    await ensure_topics(kafka_settings)
    stats = await StatsProcess(infra, kafka_settings, mongo_settings, tmp_path / "s.log").start()
    try:
        async with httpx.AsyncClient(base_url=stats.url, timeout=30) as client:
            await signed_in(client, "gongzhi-demo-pf-dianzhong")
            assert (await client.get("/console/queue")).status_code == 200
            # An operator's page is not a firm's.
            assert (await client.get("/console/desk")).status_code == 403
            past = datetime.now(UTC) - timedelta(minutes=1)
            await mongo_db[SESSIONS].update_many({}, {"$set": {"expires_at": past}})
            expired = await client.get("/console/queue")
            assert (expired.status_code, expired.headers["location"]) == (
                303,
                "/console/login?next=%2Fconsole%2Fqueue",
            )
            assert await mongo_db[SESSIONS].count_documents({}) == 0

            # A sign-in form without its anti-forgery token is refused.
            client.cookies.clear()
            forged = await client.post(
                "/console/login", data={"csrf": "0" * 64, "api_key": DEMO_API_KEY}
            )
            assert forged.status_code == 403
            assert "页面已过期" in forged.text
            assert await mongo_db[SESSIONS].count_documents({}) == 0
    finally:
        stats.stop()
