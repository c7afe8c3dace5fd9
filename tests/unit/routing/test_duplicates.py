"""Routing with the duplicate check: linked when sure, routed and marked when not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.routing.policy import RoutingPolicy
from services.routing.state import ComplaintState
from shared.directory import Directory
from shared.topics import COMPLAINTS_ROUTED, COMPLAINTS_UPDATED
from tests.unit.routing.conftest import T0, events_of, received, routed


def open_complaint(policy: RoutingPolicy, directory: Directory) -> ComplaintState:
    return routed(policy, directory).model_copy(update={"version": 1, "outbox": []})


def test_similar_complaint_is_linked_not_routed(
    policy: RoutingPolicy, directory: Directory
) -> None:
    first = open_complaint(policy, directory)
    second = routed(
        policy,
        directory,
        received(
            description="3栋2单元楼道又有人飞线充电了",
            complaint_id="c-2",
            at=T0 + timedelta(hours=3),
        ),
        candidates=[first],
    )
    assert second.status == "duplicate"
    assert second.duplicate_of == "c-1"
    assert events_of(second, COMPLAINTS_ROUTED) == []
    [linked] = events_of(second, COMPLAINTS_UPDATED)
    assert (linked["type"], linked["duplicate_of"]) == ("duplicate_linked", "c-1")


@pytest.mark.parametrize(
    ("compound", "description", "hours"),
    [
        ("cx-004", "3栋2单元楼道有人飞线充电", 1),  # another compound
        ("cx-001", "3栋2单元楼道有人飞线充电", 25),  # outside the 24-hour window
        ("cx-001", "12栋1单元楼道有人飞线充电", 1),  # another building
        ("cx-001", "东区车棚有电动车私拉电线充电很久了", 1),  # another place
    ],
)
def test_complaint_unlike_an_open_one_is_routed(
    policy: RoutingPolicy, directory: Directory, compound: str, description: str, hours: int
) -> None:
    first = open_complaint(policy, directory)
    second = routed(
        policy,
        directory,
        received(compound, description, complaint_id="c-2", at=T0 + timedelta(hours=hours)),
        candidates=[first],
    )
    assert second.status == "routed"


def test_closed_complaint_is_not_a_duplicate_target(
    policy: RoutingPolicy, directory: Directory
) -> None:
    first = open_complaint(policy, directory).model_copy(update={"status": "closed"})
    second = routed(policy, directory, received(complaint_id="c-2"), candidates=[first])
    assert second.status == "routed"


def test_a_complaint_the_check_is_unsure_of_is_routed_and_marked(
    policy: RoutingPolicy, directory: Directory
) -> None:
    first = open_complaint(policy, directory)
    second = routed(
        policy,
        directory,
        received(
            description="楼道里有人充电，线拖得很长",
            category="flying_wire_charging",
            complaint_id="c-2",
        ),
        candidates=[first],
    )
    assert second.status == "routed"
    assert second.possible_duplicate_of == "c-1"
    [event] = events_of(second, COMPLAINTS_ROUTED)
    assert event["possible_duplicate_of"] == "c-1"
    assert event["duplicate_note"]
