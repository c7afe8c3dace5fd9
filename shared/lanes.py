"""Handling a consumed batch in lanes: records of one lane in their order, lanes side
by side.

A service whose time goes in round trips to MongoDB, not CPU, gains by overlapping the
work of records that cannot affect each other, while records that can (the same
complaint, the same compound's duplicate candidates) must still go one after another.
The caller names the lane of each record; the batch is committed after every lane is
done, so a crash redelivers the whole batch and idempotent handlers absorb it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import TypeVar

Item = TypeVar("Item")


async def run_in_lanes(
    items: Iterable[Item],
    lane_of: Callable[[Item], Hashable],
    handle: Callable[[Item], Awaitable[None]],
    *,
    concurrency: int,
) -> None:
    """Run ``handle`` on every item: in order within a lane, up to ``concurrency``
    lanes at a time. The first error is raised once every started lane has finished."""
    lanes: dict[Hashable, list[Item]] = {}
    for item in items:
        lanes.setdefault(lane_of(item), []).append(item)
    gate = asyncio.Semaphore(concurrency)

    async def drive(lane: list[Item]) -> None:
        async with gate:
            for item in lane:
                await handle(item)

    results = await asyncio.gather(
        *(drive(lane) for lane in lanes.values()), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
