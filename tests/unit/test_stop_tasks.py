"""Stopping background loops, even ones that swallow a cancellation."""

from __future__ import annotations

import asyncio

from shared.http import stop_tasks


async def test_a_loop_that_swallows_one_cancellation_is_still_stopped() -> None:
    iterations = 0

    async def stubborn_loop() -> None:
        # What PyMongo's async client can do: a cancellation landing inside one of its
        # calls is lost, and the loop around it goes on.
        nonlocal iterations
        while True:
            iterations += 1
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                if iterations == 1:
                    asyncio.current_task().uncancel()  # type: ignore[union-attr]
                    continue
                raise

    task = asyncio.create_task(stubborn_loop())
    await asyncio.sleep(0.01)
    await asyncio.wait_for(stop_tasks(task, nudge_seconds=0.1), timeout=5)
    assert task.cancelled()
    assert iterations >= 2


async def test_tasks_that_already_ended_are_fine() -> None:
    async def quick() -> int:
        return 1

    task = asyncio.create_task(quick())
    await task
    await stop_tasks(task)
    assert task.result() == 1
