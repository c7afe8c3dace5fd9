"""Who is told of a hot spot, against the demo directory: the community and the
category's lead as routing resolves it, the coordination desk for a recurring one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.hotspots.changes import Hotspot
from services.hotspots.recipients import recipients
from services.routing.policy import RoutingPolicy
from shared.directory import Directory
from shared.events import HotspotComplaint, HotspotKind, HotspotScope, HotspotTrigger
from tests.unit.hotspots.conftest import PARKING, WIRES, at


def hotspot(
    kind: HotspotKind, category: str, *compounds: str, scope: tuple[str, str] | None = None
) -> Hotspot:
    scope_kind, scope_id = scope or ("compound", compounds[0])
    return Hotspot(
        hotspot_id="hs-test",
        kind=kind,
        trigger=HotspotTrigger.COUNT,
        scope=HotspotScope(kind=scope_kind, id=scope_id),
        community_id="cm-xueqiao",
        category=category,
        threshold=3,
        within=timedelta(hours=24),
        opened_at=at(2),
        complaints=tuple(
            HotspotComplaint(complaint_id=f"c{i}", compound_id=c, reported_at=at(i))
            for i, c in enumerate(compounds)
        ),
    )


def ids(policy: RoutingPolicy, directory: Directory, spot: Hotspot) -> list[str]:
    told = recipients(spot, policy.category(spot.category), directory)
    return [a.responder_id for a in told]


@pytest.mark.parametrize(
    ("category", "compound", "expected"),
    [
        (PARKING, "cx-001", ["cm-xueqiao", "pf-dianzhong"]),  # the firm leads
        (PARKING, "cx-002", ["cm-xueqiao", "cx-002-committee"]),  # no firm: its 物委會
        (PARKING, "cx-003", ["cm-xueqiao"]),  # neither: the community, once
        (WIRES, "cx-001", ["cm-xueqiao", "fire"]),
        ("property_fees", "cx-001", ["cm-xueqiao", "housing"]),
    ],
)
def test_a_cluster_tells_the_community_and_the_lead(
    policy: RoutingPolicy, directory: Directory, category: str, compound: str, expected: list[str]
) -> None:
    spot = hotspot(HotspotKind.CLUSTER, category, compound, compound, compound)
    assert ids(policy, directory, spot) == expected


def test_a_recurring_hot_spot_also_tells_the_coordination_desk(
    policy: RoutingPolicy, directory: Directory
) -> None:
    spot = hotspot(HotspotKind.RECURRING, PARKING, "cx-001", "cx-001", "cx-001")
    assert ids(policy, directory, spot) == ["cm-xueqiao", "pf-dianzhong", "city-coordination"]
    told = recipients(spot, policy.category(PARKING), directory)
    assert [a.kind for a in told] == ["community", "property_firm", "coordination"]


def test_a_community_cluster_tells_each_compounds_lead_once(
    policy: RoutingPolicy, directory: Directory
) -> None:
    spot = hotspot(
        HotspotKind.CLUSTER, PARKING, "cx-001", "cx-002", "cx-003", "cx-004", "cx-001",
        scope=("community", "cm-xueqiao"),
    )  # fmt: skip
    # cx-004's firm is pf-dianzhong too; cx-003 has neither firm nor committee.
    assert ids(policy, directory, spot) == ["cm-xueqiao", "pf-dianzhong", "cx-002-committee"]
    fire = hotspot(
        HotspotKind.CLUSTER, WIRES, "cx-001", "cx-002", scope=("community", "cm-xueqiao")
    )
    assert ids(policy, directory, fire) == ["cm-xueqiao", "fire"]


def test_an_unknown_compound_goes_to_the_dispatch_desk(
    policy: RoutingPolicy, directory: Directory
) -> None:
    assert ids(policy, directory, hotspot(HotspotKind.CLUSTER, PARKING, "cx-999")) == [
        "city-dispatch"
    ]
    assert ids(policy, directory, hotspot(HotspotKind.RECURRING, WIRES, "cx-999")) == [
        "city-dispatch", "fire", "city-coordination",
    ]  # fmt: skip
