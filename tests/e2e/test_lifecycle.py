"""Complaint lifecycles through the four processes, with due times in seconds and two
routing copies racing for every escalation."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx
import pytest

from services.intake.settings import DEMO_API_KEY
from shared.topics import COMPLAINTS_ESCALATED, COMPLAINTS_ROUTED
from tests.e2e.conftest import Pipeline, PipelineFactory
from tests.support import collect, wait_for

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
# An urgent complaint must be acknowledged within 1 h: here 3.6 s; a normal one 86 s.
DUE_SCALE = "0.001"


def submission(ref: str, compound: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": "hotline-12345",
        "source_ref": ref,
        "channel": "hotline",
        "compound_id": compound,
        "description": description,
        "reporter": {"name": "李先生", "phone": "13912345678", "hide_identity": False},
        **extra,
    }


class Resident:
    """Talks to intake and reads the resident's view from stats."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.intake = httpx.AsyncClient(base_url=pipeline.url("intake"), timeout=30)
        self.stats = httpx.AsyncClient(base_url=pipeline.url("stats"), timeout=30)

    async def submit(self, body: dict[str, Any]) -> str:
        answer = await self.intake.post("/v1/complaints", json=body, headers=AUTH)
        assert answer.status_code == 202, answer.text
        complaint_id: str = answer.json()["complaint_id"]
        return complaint_id

    async def update(self, complaint_id: str, **update: Any) -> httpx.Response:
        return await self.intake.post(
            f"/v1/complaints/{complaint_id}/updates", json=update, headers=AUTH
        )

    async def view(self, complaint_id: str) -> dict[str, Any]:
        answer = await self.stats.get(f"/v1/complaints/{complaint_id}", headers=AUTH)
        return answer.json() if answer.status_code == 200 else {}

    async def wait_status(self, complaint_id: str, *statuses: str) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            current = await self.view(complaint_id)
            return current if current.get("status") in statuses else None

        result: dict[str, Any] = await wait_for(reached, timeout=90)
        return result

    async def close(self) -> None:
        await self.intake.aclose()
        await self.stats.aclose()


def kinds(view: dict[str, Any]) -> list[str]:
    return [entry["type"] for entry in view["timeline"]]


async def test_lifecycles_bounce_escalation_reopening_and_duplicates(
    start_pipeline: PipelineFactory,
) -> None:
    pipeline = start_pipeline(routing_copies=2, GONGZHI_DUE_SCALE=DUE_SCALE)
    resident = Resident(pipeline)
    try:
        handled = await resident.submit(
            submission(
                "L-1",
                "cx-001",
                "2棟樓下車輛亂停亂放，消防車道之外的路也被堵死了",
                category="parking_disorder",
            )
        )
        returned = await resident.submit(
            submission("L-2", "cx-001", "垃圾站的垃圾三天沒有清運", category="sanitation")
        )
        silent = await resident.submit(
            submission("L-3", "cx-004", "消防通道被私家車長期占用，消防車開不進來")
        )
        reopened = await resident.submit(
            submission("L-4", "cx-007", "5棟電梯壞了兩個星期還沒修好", category="facility_repair")
        )
        for complaint_id in (handled, returned, silent, reopened):
            await resident.wait_status(complaint_id, "routed")
        duplicate = await resident.submit(
            submission(
                "L-5",
                "cx-001",
                "2棟樓下車輛亂停亂放，消防車道之外的路也被堵死了！",
                category="parking_disorder",
            )
        )

        # The duplicate of the open parking complaint is linked, not routed. Waited for
        # before the original moves on: once that is resolved it is no longer open, and a
        # copy that routing reads after that is rightly routed on its own.
        linked = await resident.wait_status(duplicate, "duplicate")
        assert linked["duplicate_of"] == handled

        # Handled all the way: acknowledged, in progress, resolved, rated satisfied.
        assert (await resident.view(handled))["lead"]["responder_id"] == "pf-dianzhong"
        wrong_actor = await resident.update(handled, type="acknowledged", actor_id="housing")
        too_early = await resident.update(
            handled, type="rated", actor_id="resident", rating="satisfied"
        )
        assert wrong_actor.status_code == 403, wrong_actor.text
        assert too_early.status_code == 409, too_early.text
        for step in (
            {"type": "acknowledged", "actor_id": "pf-dianzhong"},
            {"type": "in_progress", "actor_id": "pf-dianzhong", "note": "已聯系車主挪車"},
            {"type": "resolved", "actor_id": "pf-dianzhong", "note": "已劃定臨時停車位"},
            {"type": "rated", "actor_id": "resident", "rating": "satisfied"},
        ):
            answer = await resident.update(handled, **step)
            assert answer.status_code == 202, answer.text
        view = await resident.wait_status(handled, "closed")
        assert kinds(view)[:2] == ["received", "routed"]
        assert {"acknowledged", "in_progress", "resolved", "rated"} <= set(kinds(view))
        assert "13912345678" not in str(view)

        # Returned by the firm: re-routed to the compound's community, never back.
        answer = await resident.update(
            returned, type="returned", actor_id="pf-dianzhong", note="垃圾站歸市政環衛管理"
        )
        assert answer.status_code == 202, answer.text
        no_reason = await resident.update(reopened, type="returned", actor_id="pf-yiyuan")
        assert no_reason.status_code == 422, no_reason.text

        # Rated dissatisfied: reopened with the same lead and a fresh resolve due time.
        for step in (
            {"type": "acknowledged", "actor_id": "pf-yiyuan"},
            {"type": "resolved", "actor_id": "pf-yiyuan", "note": "已更換控制板"},
        ):
            assert (await resident.update(reopened, **step)).status_code == 202
        before = await resident.wait_status(reopened, "resolved")
        answer = await resident.update(
            reopened, type="rated", actor_id="resident", rating="dissatisfied"
        )
        assert answer.status_code == 202, answer.text

        # The silent one: reminded, escalated to level 1 and then level 2.
        async def escalated_twice() -> dict[str, Any] | None:
            current = await resident.view(silent)
            return current if (current.get("escalation_level") or 0) >= 2 else None

        await wait_for(escalated_twice, timeout=90)
        await asyncio.sleep(3)  # a second copy's duplicate escalation would show now

        rerouted = await resident.view(returned)
        assert rerouted["lead"]["responder_id"] == "cm-xueqiao"
        assert {"returned", "rerouted"} <= set(kinds(rerouted))
        after = await resident.view(reopened)
        assert after["status"] == "in_progress"
        assert after["lead"]["responder_id"] == "pf-yiyuan"
        assert "reopened" in kinds(after)
        assert after["due"]["resolve_by"] > before["due"]["resolve_by"]

        records = await collect(
            pipeline.bootstrap_servers,
            [pipeline.topic(COMPLAINTS_ESCALATED), pipeline.topic(COMPLAINTS_ROUTED)],
            until=lambda r: False,
            timeout=5,
        )
        escalations: dict[int, set[str]] = defaultdict(set)
        routed_rounds: dict[int, set[str]] = defaultdict(set)
        for record in records:
            event = record["value"]
            if record["topic"].endswith(COMPLAINTS_ESCALATED) and event["complaint_id"] == silent:
                escalations[event["level"]].add(event["event_id"])
            if record["topic"].endswith(COMPLAINTS_ROUTED) and event["complaint_id"] == returned:
                routed_rounds[event["round"]].add(event["lead"]["responder_id"])
        assert {level: len(ids) for level, ids in escalations.items()} == {1: 1, 2: 1}
        assert routed_rounds == {1: {"pf-dianzhong"}, 2: {"cm-xueqiao"}}

        escalation_alerts = [
            r.json()
            for r in pipeline.receiver.accepted("/hooks/")
            if r.json()["reason"] == "escalated" and r.json()["complaint_id"] == silent
        ]
        alerted = {(a["escalation"]["level"], a["responder_id"]) for a in escalation_alerts}
        assert (2, "city-coordination") in alerted
        assert {level for level, _ in alerted} == {1, 2}
        assert len(escalation_alerts) == len(alerted)  # one alert per responder and level
    finally:
        await resident.close()
