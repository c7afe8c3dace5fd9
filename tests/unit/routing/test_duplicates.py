"""Duplicate detection: same compound and category, open, within 24 h, similar text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.routing.duplicates import similarity
from services.routing.policy import RoutingPolicy
from services.routing.state import ComplaintState
from shared.directory import Directory
from shared.topics import COMPLAINTS_ROUTED, COMPLAINTS_UPDATED
from tests.unit.routing.conftest import T0, events_of, received, routed


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("3栋2单元楼道有人飞线充电", "3栋2单元楼道有人飞线充电！", True),
        ("3棟2單元樓道有人飛線充電", "3栋2单元楼道有人飞线充电", True),
        ("3栋2单元楼道有人飞线充电", "3栋2单元楼道又有人飞线充电了", True),
        ("3栋2单元楼道有人飞线充电", "8栋后面的自行车棚有人拉线给电瓶车充电", False),
        ("小区垃圾没人清运", "楼上邻居噪音扰民", False),
    ],
)
def test_similarity_of_descriptions(a: str, b: str, similar: bool) -> None:
    assert (similarity(a, b) >= 0.5) is similar


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
        ("cx-001", "东区车棚有电动车私拉电线充电很久了", 1),  # different text
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
