"""Group commit: concurrent requests share a write; one complaint is never in two
groups in flight at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.intake.group_commit import GroupCommit


async def test_concurrent_requests_share_groups_and_each_gets_its_own_answer() -> None:
    groups: list[list[str]] = []

    async def commit(items: Sequence[str]) -> list[str | BaseException]:
        groups.append(list(items))
        await asyncio.sleep(0.01)
        return [item.upper() if item != "bad" else ValueError(item) for item in items]

    committer: GroupCommit[str, str] = GroupCommit(
        commit, window_seconds=0.005, max_items=10, key=lambda item: item
    )
    runner = asyncio.create_task(committer.run())
    try:
        names = [f"c{i}" for i in range(25)]
        answers = await asyncio.gather(
            *(committer.submit(n) for n in [*names, "bad"]), return_exceptions=True
        )
    finally:
        runner.cancel()
    assert answers[:25] == [n.upper() for n in names]
    assert isinstance(answers[25], ValueError)
    assert max(len(g) for g in groups) == 10
    assert len(groups) == 3


async def test_a_complaint_in_a_group_in_flight_waits_for_it() -> None:
    in_flight: set[str] = set()
    overlaps: list[str] = []

    async def commit(items: Sequence[str]) -> list[str | BaseException]:
        # Within one group a complaint may repeat (the group decides it once).
        keys = {item.split("/")[0] for item in items}
        overlaps.extend(sorted(keys & in_flight))
        in_flight.update(keys)
        await asyncio.sleep(0.02)
        in_flight.difference_update(keys)
        return list(items)

    committer: GroupCommit[str, str] = GroupCommit(
        commit, window_seconds=0.0, max_items=2, key=lambda item: item.split("/")[0], in_flight=4
    )
    runner = asyncio.create_task(committer.run())
    try:
        sent = ["a/1", "b/1", "a/2", "c/1", "a/3", "d/1"]
        answers = await asyncio.gather(*(committer.submit(s) for s in sent))
    finally:
        runner.cancel()
    assert answers == sent
    assert overlaps == []
