"""Waiting for routing's answer to an update intake forwarded.

An update posted over HTTP travels on ``ingress.updates`` to the owner of its
complaint, which answers on ``routing.replies`` under the request id. Every intake
instance follows that topic whole (``shared.tail``) and hands each answer to the
request waiting for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import ValidationError

from shared.consuming import Record
from shared.events import UpdateReply


class ReplyWaiter:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[UpdateReply]] = {}

    def expect(self, request_id: str) -> asyncio.Future[UpdateReply]:
        """Register before sending, so that a quick answer is not missed."""
        future = self._waiting.get(request_id)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._waiting[request_id] = future
        return future

    def forget(self, request_id: str) -> None:
        self._waiting.pop(request_id, None)

    async def observe(self, records: Sequence[Record]) -> None:
        for record in records:
            try:
                reply = UpdateReply.model_validate_json(record.value or b"")
            except ValidationError:
                continue
            future = self._waiting.pop(reply.request_id, None)
            if future is not None and not future.done():
                future.set_result(reply)
