"""An instance that dies right after claiming an attempt, before recording it, must not
leave the delivery waiting on a dead owner (seen in the chaos run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from devtools.receivers import HttpReceiver
from services.notify.planning import plan_deliveries
from services.notify.settings import NotifySettings
from services.notify.store import CLAIMS
from services.notify.triggers import from_routed
from shared.directory import load_directory
from shared.topics import COMPLAINTS_ROUTED
from tests.integration.notify.helpers import outcomes, publish, running
from tests.unit.notify.builders import routed

pytestmark = pytest.mark.integration


async def test_an_attempt_claimed_by_a_dead_instance_is_taken_over_after_the_lease(
    notify_settings: NotifySettings, http_receiver: HttpReceiver
) -> None:
    settings = notify_settings.model_copy(update={"delivery_lease_seconds": 2.0})
    event = routed("c-orphan-1", lead="housing")
    assert settings.directory_path is not None
    planned = plan_deliveries(from_routed(event), load_directory(settings.directory_path))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo.url.get_secret_value(), tz_aware=True
    )
    # What a killed instance leaves: the first attempt claimed, nothing else recorded.
    await client[settings.mongo.database][CLAIMS].insert_many(
        [
            {
                "_id": f"{p.delivery_id}#1",
                "delivery_id": p.delivery_id,
                "attempt": 1,
                "owner": "notify-dead",
                "claimed_at": datetime.now(UTC) - timedelta(seconds=1),
                "took_over": False,
            }
            for p in planned
        ]
    )
    await client.close()
    async with running(settings):
        await publish(settings, COMPLAINTS_ROUTED, event)
        results = await outcomes(settings, len(planned), timeout=30)
    assert [r["outcome"] for r in results] == ["sent"] * len(planned)
    assert len(http_receiver.accepted("/hooks/housing")) == 1
