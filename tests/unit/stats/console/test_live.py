"""The live feed: one notice per page per burst, and streams that end on shutdown."""

from __future__ import annotations

import asyncio

from services.stats.console.live import LiveFeed


async def test_a_burst_of_snapshots_is_one_notice_and_close_ends_every_stream() -> None:
    feed = LiveFeed()
    got: list[int] = []

    async def page(n: int) -> None:
        async for _ in feed.changes(min_gap=0.05):
            got.append(n)

    pages = [asyncio.create_task(page(n)) for n in (1, 2)]
    await asyncio.sleep(0.01)
    for _ in range(5):
        await feed.on_records([object()])
    await asyncio.sleep(0.02)
    assert sorted(got) == [1, 2]  # five snapshots, one notice each
    await feed.on_records([])  # an empty poll is no change
    await asyncio.sleep(0.1)
    assert sorted(got) == [1, 2]
    feed.changed()
    await asyncio.sleep(0.1)
    assert sorted(got) == [1, 1, 2, 2]
    feed.close()
    await asyncio.wait_for(asyncio.gather(*pages), timeout=1)
    assert feed.closed
