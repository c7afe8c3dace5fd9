"""A new owner loads the open markers of its partitions, not the delivery history: once
every delivery has its outcome recorded and reported, no marker is left."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from devtools.receivers import HttpReceiver
from services.notify.settings import NotifySettings
from services.notify.store import OPEN
from shared.topics import COMPLAINTS_ROUTED
from tests.integration.notify.helpers import deliveries, outcomes, publish, running
from tests.support import wait_for
from tests.unit.notify.builders import routed

pytestmark = pytest.mark.integration


async def test_finished_deliveries_leave_no_open_marker_behind(
    notify_settings: NotifySettings, http_receiver: HttpReceiver
) -> None:
    http_receiver.fail("/hooks/housing", status=503, times=2)
    http_receiver.fail("/hooks/cm-xueqiao", status=503)
    http_receiver.delay("/hooks/cm-xueqiao", 1.0)  # open long enough to be seen
    events = [routed(f"c-marker-{i}", lead="housing", support=["cm-xueqiao"]) for i in range(3)]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        notify_settings.mongo.url.get_secret_value(), tz_aware=True
    )
    markers = client[notify_settings.mongo.database][OPEN]
    try:
        async with running(notify_settings):
            await publish(notify_settings, COMPLAINTS_ROUTED, *events)

            async def marked(at_least: int, at_most: int) -> bool:
                return at_least <= await markers.count_documents({}) <= at_most

            # The dead receiver's deliveries stay open for seconds, marked meanwhile.
            await wait_for(lambda: marked(3, 6), timeout=10)
            results = await outcomes(notify_settings, 6)
            await wait_for(lambda: marked(0, 0), timeout=10)
    finally:
        await client.close()
    assert sorted(r["outcome"] for r in results) == ["failed"] * 3 + ["sent"] * 3
    stored = await deliveries(notify_settings)
    assert len(stored) == 6
