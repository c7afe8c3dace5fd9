"""Group commit: concurrent HTTP requests share one database write and one flush.

Each request waits for its own answer; the first request of a group waits a few
milliseconds for others to join, and while one group is being written the next one
gathers by itself. A request gets its answer only once its group is durable, so a
202 still means "recorded and published"."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

Commit = Callable[[Sequence[In]], Awaitable[Sequence[Out | BaseException]]]
"""Handles a whole group; per item a result, or the exception that item must raise."""


class GroupCommit(Generic[In, Out]):
    def __init__(self, commit: Commit[In, Out], *, window_seconds: float, max_items: int) -> None:
        self._commit = commit
        self._window = window_seconds
        self._max = max_items
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._arrived = asyncio.Event()

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
                group, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
                if not self._waiting:
                    self._arrived.clear()
                live = [(item, future) for item, future in group if not future.done()]
                if live:
                    await self._settle(live)
        finally:
            for _, future in self._waiting:
                if not future.done():
                    future.set_exception(ConnectionAbortedError("intake is shutting down"))

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
