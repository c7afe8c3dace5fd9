"""Batches handled in lanes: in order within a lane, lanes overlapping."""

from __future__ import annotations

import asyncio

import pytest

from shared.lanes import run_in_lanes


async def test_a_lane_keeps_its_order_while_lanes_overlap() -> None:
    items = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2), ("a", 3)]
    done: list[tuple[str, int]] = []
    running = 0
    most_at_once = 0

    async def handle(item: tuple[str, int]) -> None:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await asyncio.sleep(0.01)
        done.append(item)
        running -= 1

    await run_in_lanes(items, lambda item: item[0], handle, concurrency=2)
    assert sorted(done) == sorted(items)
    for lane in "abc":
        assert [n for name, n in done if name == lane] == sorted(
            n for name, n in items if name == lane
        )
    assert most_at_once == 2


async def test_an_error_is_raised_after_the_other_lanes_finish() -> None:
    finished: list[str] = []

    async def handle(item: str) -> None:
        if item == "bad":
            raise RuntimeError("broken record")
        await asyncio.sleep(0.02)
        finished.append(item)

    with pytest.raises(RuntimeError, match="broken record"):
        await run_in_lanes(["bad", "x", "y"], lambda item: item, handle, concurrency=3)
    assert sorted(finished) == ["x", "y"]
