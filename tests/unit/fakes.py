"""Small in-memory stand-ins for the adapters handlers take (unit tests only)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakePublisher:
    """Records what a handler publishes; ``fail_with`` makes every send fail."""

    sent: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    fail_with: BaseException | None = None

    async def publish(
        self,
        message: Any,
        topic: str = "",
        *,
        key: bytes | Any | None = None,
        headers: dict[str, str] | None = None,
        no_confirm: bool = False,
    ) -> Any:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail_with is not None:
            future.set_exception(self.fail_with)
        else:
            self.sent.append((key, message))
            future.set_result(None)
        return future
