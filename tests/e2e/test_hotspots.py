"""A hot spot on the whole stack (未訴先辦): three parking complaints at one compound
within the day raise one alert to its community, not three, and show in stats."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.intake.settings import DEMO_API_KEY
from tests.e2e.conftest import PipelineFactory
from tests.support import wait_for

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
TEXTS = (
    "3棟樓下車輛亂停，消防車都進不來",
    "東門口天天有車亂停亂放，早上開不出去",
    "地下車庫入口被亂停的車擋住了",
)


def body(index: int, text: str) -> dict[str, Any]:
    return {
        "source": "hotline-12345",
        "source_ref": f"hotspot-e2e-{index}",
        "channel": "hotline",
        "compound_id": "cx-001",
        "category": "parking_disorder",
        "description": text,
        "location": f"{index + 3}棟",
        "reporter": {"name": "王女士", "phone": "13912345678", "hide_identity": True},
    }


async def test_three_complaints_at_one_compound_raise_one_alert_to_its_community(
    start_pipeline: PipelineFactory,
) -> None:
    pipeline = start_pipeline()
    async with httpx.AsyncClient(base_url=pipeline.url("intake"), timeout=30) as intake:
        ids = []
        for index, text in enumerate(TEXTS):
            answer = await intake.post("/v1/complaints", json=body(index, text), headers=AUTH)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["complaint_id"])

    def hotspot_alerts(responder_id: str) -> list[dict[str, Any]]:
        return [
            r.json()
            for r in pipeline.receiver.accepted(f"/hooks/{responder_id}")
            if r.json().get("reason") == "hotspot"
        ]

    await wait_for(lambda: bool(hotspot_alerts("cm-xueqiao")), timeout=90)
    async with httpx.AsyncClient(base_url=pipeline.url("stats"), timeout=30) as stats:

        async def listed() -> list[dict[str, Any]]:
            answer = await stats.get("/v1/hotspots", params={"status": "open"}, headers=AUTH)
            found: list[dict[str, Any]] = answer.json()["hotspots"]
            return found

        async def joined() -> bool:
            views = [(await stats.get(f"/v1/complaints/{c}", headers=AUTH)).json() for c in ids]
            return all(v.get("hotspots") for v in views)

        [hotspot] = await wait_for(listed, timeout=60)
        await wait_for(joined, timeout=60)
        anonymous = await stats.get("/v1/hotspots", params={"status": "open"})
        view = (await stats.get(f"/v1/complaints/{ids[0]}", headers=AUTH)).json()
    # The same alert was not sent again for the complaints that joined after.
    [alert] = hotspot_alerts("cm-xueqiao")
    assert alert["hotspot"]["kind"] == "cluster"
    assert alert["hotspot"]["scope"] == {"kind": "compound", "id": "cx-001"}
    assert alert["hotspot"]["count"] == 3
    assert sorted(alert["hotspot"]["complaint_ids"]) == sorted(ids)
    assert "涉及投訴" in alert["text"]
    assert "13912345678" not in alert["text"]
    # The category's lead agency is told as well, once.
    lead = next(a for a in hotspot["alerted"] if a != "cm-xueqiao")
    assert len(hotspot_alerts(lead)) == 1
    assert hotspot["hotspot_id"] == alert["hotspot_id"]
    assert sorted(hotspot["complaint_ids"]) == sorted(ids)
    assert anonymous.status_code == 401
    assert view["hotspots"] == [hotspot["hotspot_id"]]
    [joining] = [e for e in view["timeline"] if e["type"] == "hotspot"]
    assert joining["hotspot_id"] == hotspot["hotspot_id"]
    # Its lead must acknowledge sooner: the due time the hot spot set is the one in force.
    assert joining["acknowledge_by"] == view["due"]["acknowledge_by"]
