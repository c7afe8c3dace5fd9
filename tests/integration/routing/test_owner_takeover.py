"""A rebalance on the real MongoDB-protocol server: the new owner of a partition loads
it, the old owner still routes a complaint there, and the complaint's lead acknowledges
it before the new owner has read the complaint's own record again."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from services.routing.decide import Arrived, Requested
from services.routing.index import OpenIndex
from services.routing.owner import Owner, Publishers
from services.routing.policy import load_policy
from services.routing.settings import default_policy_path
from services.routing.store import RoutingStore
from shared.consuming import Origin
from shared.directory import default_directory_path, load_directory
from shared.events import ComplaintStatus, IngressUpdate
from shared.topics import COMPLAINTS_REJECTED
from tests.unit.fakes import FakePublisher
from tests.unit.routing.conftest import T0, received

pytestmark = pytest.mark.integration


def owner(mongo_db: Any, sent: defaultdict[str, FakePublisher]) -> Owner:
    policy = load_policy(default_policy_path())
    return Owner(
        policy=policy,
        directory=load_directory(default_directory_path()),
        store=RoutingStore(mongo_db),
        index=OpenIndex(policy),
        publishers=Publishers(sent),
    )


async def test_an_update_the_old_owner_made_possible_is_applied_not_refused(
    mongo_db: Any,
) -> None:
    old_sent: defaultdict[str, FakePublisher] = defaultdict(FakePublisher)
    new_sent: defaultdict[str, FakePublisher] = defaultdict(FakePublisher)
    old, new = owner(mongo_db, old_sent), owner(mongo_db, new_sent)
    await old.take({0})
    await new.take({0})  # the new owner loads before the old one is done
    arrival = received("cx-001", "小区车辆乱停乱放，堵住了消防通道", complaint_id="c-takeover")
    await old.apply([(0, Arrived(arrival, Origin("complaints.received", 0, 1, b"c-takeover")))])
    lead = old.states["c-takeover"].lead
    assert lead is not None

    acknowledge = IngressUpdate.model_validate(
        {"complaint_id": "c-takeover", "type": "acknowledged", "actor_id": lead.responder_id}
    )
    origin = Origin("ingress.updates", 0, 3, b"c-takeover")
    await new.apply([(0, Requested(acknowledge, "ingress.updates:0:3", T0, origin))])

    assert new_sent[COMPLAINTS_REJECTED].sent == []
    assert new.states["c-takeover"].status == ComplaintStatus.ACKNOWLEDGED
    # The old owner's version and the update's are both stored, one after the other.
    stored = await new.store.newest_versions("c-takeover", 0)
    assert [d["version"] for d in stored] == [1, 2]


async def test_an_update_for_a_complaint_no_owner_has_seen_is_still_refused(
    mongo_db: Any,
) -> None:
    sent: defaultdict[str, FakePublisher] = defaultdict(FakePublisher)
    only = owner(mongo_db, sent)
    await only.take({0})
    update = IngressUpdate.model_validate(
        {"complaint_id": "c-nobody", "type": "acknowledged", "actor_id": "pf-dianzhong"}
    )
    origin = Origin("ingress.updates", 0, 4, b"c-nobody")
    await only.apply([(0, Requested(update, "ingress.updates:0:4", T0, origin))])
    [(_, body)] = sent[COMPLAINTS_REJECTED].sent
    assert b"unknown complaint" in body
