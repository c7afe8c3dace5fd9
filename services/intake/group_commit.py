"""Group commit: concurrent HTTP requests share one database write and one flush.

Each request waits for its own answer; the first request of a group waits a few
milliseconds for others to join, and while one group is being written the next one
gathers by itself. A request gets its answer only once its group is durable, so a
202 still means "recorded and published"."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

Commit = Callable[[Sequence[In]], Awaitable[Sequence[Out | BaseException]]]
"""Handles a whole group; per item a result, or the exception that item must raise."""


class GroupCommit(Generic[In, Out]):
    """Up to ``in_flight`` groups are written at once (one group's round trips to the
    database and the broker need not hold the next one back); two requests with the
    same ``key`` (the same complaint) are never in two groups at once, so they are
    decided one after the other, as a resend must be."""

    def __init__(
        self,
        commit: Commit[In, Out],
        *,
        window_seconds: float,
        max_items: int,
        key: Callable[[In], Hashable],
        in_flight: int = 4,
    ) -> None:
        self._commit = commit
        self._window = window_seconds
        self._max = max_items
        self._key = key
        self._in_flight = in_flight
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._arrived = asyncio.Event()
        self._busy: set[Hashable] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: In) -> Out:
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._arrived.set()
        return await future

    async def run(self) -> None:
        """The committing loop (one per process); cancelling it fails what still waits."""
        try:
            while True:
                await self._arrived.wait()
                if len(self._waiting) < self._max:
                    # Give requests arriving at the same moment the chance to join.
                    await asyncio.sleep(self._window)
                while len(self._tasks) >= self._in_flight:
                    await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                group = self._take()
                if not self._waiting:
                    self._arrived.clear()
                if group:
                    self._start(group)
                elif self._tasks:
                    # Everything waiting shares a complaint with a group in flight.
                    await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in self._tasks:
                task.cancel()
            for _, future in self._waiting:
                if not future.done():
                    future.set_exception(ConnectionAbortedError("intake is shutting down"))

    def _take(self) -> list[tuple[In, asyncio.Future[Out]]]:
        group: list[tuple[In, asyncio.Future[Out]]] = []
        left: list[tuple[In, asyncio.Future[Out]]] = []
        for item, future in self._waiting:
            if future.done():
                continue
            if len(group) < self._max and self._key(item) not in self._busy:
                group.append((item, future))
            else:
                left.append((item, future))
        self._waiting = left
        return group

    def _start(self, group: list[tuple[In, asyncio.Future[Out]]]) -> None:
        keys = {self._key(item) for item, _ in group}
        self._busy |= keys
        task = asyncio.create_task(self._settle(group))
        self._tasks.add(task)

        def done(_: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            self._busy -= keys
            if self._waiting:
                self._arrived.set()

        task.add_done_callback(done)

    async def _settle(self, group: list[tuple[In, asyncio.Future[Out]]]) -> None:
        try:
            results = await self._commit([item for item, _ in group])
        except BaseException as exc:
            failure = exc if isinstance(exc, Exception) else ConnectionAbortedError("stopped")
            for _, future in group:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(group, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
