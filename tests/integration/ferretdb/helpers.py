"""What the FerretDB tests share: a record of the commands the driver sent (so a test
can show that its statements reached the server as one command, the case the build
patches are about) and a bound on how long a command may go unanswered."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
from pymongo import monitoring

Document = dict[str, Any]
T = TypeVar("T")

# Long enough for any command here on a busy 2-core machine (they take well under a
# second), short enough that a command the server never answers fails the test instead
# of hanging the run.
ANSWER_TIMEOUT_S = 30.0


class SentCommands(monitoring.CommandListener):
    """Names of the commands the driver started, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def answered(call: Awaitable[T], what: str) -> T:
    """Await ``call``; fail the test when the server gives no answer in time."""
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            return await call
    except TimeoutError:
        pytest.fail(f"{what}: the server gave no answer within {ANSWER_TIMEOUT_S:.0f} s")
