"""Live updates: every stats copy follows ``stats.snapshots`` (without a consumer group,
so each sees every scope's new figures) and tells its open console pages that the
figures changed; the pages then fetch their parts again (htmx, server-sent events).

A burst of snapshots is one notice per page: each page holds at most one pending
notice, and the stream waits ``min_gap`` between two."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from types import FrameType
from typing import Any

import uvicorn


class LiveFeed:
    def __init__(self) -> None:
        self._pages: set[asyncio.Queue[bool]] = set()
        self._closed = asyncio.Event()
        self.notices = 0

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def changed(self) -> None:
        self.notices += 1
        for page in self._pages:
            with contextlib.suppress(asyncio.QueueFull):
                page.put_nowait(True)

    async def on_records(self, records: Sequence[Any]) -> None:
        if records:
            self.changed()

    def close(self) -> None:
        """Ends every stream (the service is stopping: open streams must not hold it)."""
        self._closed.set()
        for page in self._pages:
            with contextlib.suppress(asyncio.QueueFull):
                page.put_nowait(False)

    async def changes(self, min_gap: float = 1.0) -> AsyncIterator[None]:
        """Yields once per change notice until the feed closes."""
        page: asyncio.Queue[bool] = asyncio.Queue(maxsize=1)
        self._pages.add(page)
        try:
            while not self.closed:
                if not await page.get():
                    return
                yield None
                await asyncio.sleep(min_gap)
        finally:
            self._pages.discard(page)


class ClosingServer(uvicorn.Server):
    """Uvicorn waits for open connections before it stops the app, and an event stream
    never ends by itself: on SIGTERM the feed is closed first, so the streams end and
    the service stops in time."""

    def __init__(self, config: uvicorn.Config, feed: LiveFeed) -> None:
        super().__init__(config)
        self.feed = feed

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            asyncio.get_running_loop().call_soon_threadsafe(self.feed.close)
        except RuntimeError:
            self.feed.close()
        super().handle_exit(sig, frame)
