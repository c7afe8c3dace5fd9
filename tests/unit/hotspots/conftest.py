"""Fixtures for hot-spot tests: the shipped policy and demo directory, and terse
builders of signal histories (times are hours after T0)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.hotspots.changes import Change
from services.hotspots.detector import Detector
from services.hotspots.signals import (
    ComplaintReopened,
    ComplaintReported,
    ComplaintResolved,
    ComplaintUnlinked,
)
from services.routing.policy import RoutingPolicy, load_policy
from services.routing.settings import default_policy_path
from shared.directory import Directory, default_directory_path, load_directory

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
PARKING = "parking_disorder"
WIRES = "flying_wire_charging"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture(scope="session")
def policy() -> RoutingPolicy:
    return load_policy(default_policy_path())


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory(default_directory_path())


@pytest.fixture
def detector(policy: RoutingPolicy) -> Detector:
    return Detector(policy.hotspots)


def reported(
    complaint_id: str,
    hours: float,
    *,
    compound: str = "cx-001",
    community: str | None = "cm-xueqiao",
    category: str = PARKING,
    place: str | None = None,
    duplicate_of: str | None = None,
) -> ComplaintReported:
    return ComplaintReported(
        complaint_id=complaint_id,
        compound_id=compound,
        community_id=community,
        category=category,
        at=at(hours),
        place=place,
        excerpt=f"{complaint_id} 小区里车辆乱停",
        duplicate_of=duplicate_of,
    )


def resolved(
    complaint_id: str, hours: float, *, compound: str = "cx-001", category: str = PARKING
) -> ComplaintResolved:
    return ComplaintResolved(
        complaint_id=complaint_id,
        compound_id=compound,
        community_id="cm-xueqiao",
        category=category,
        at=at(hours),
    )


def reopened(
    complaint_id: str,
    hours: float,
    times: int,
    *,
    reported_hours: float,
    compound: str = "cx-001",
    category: str = PARKING,
) -> ComplaintReopened:
    return ComplaintReopened(
        complaint_id=complaint_id,
        compound_id=compound,
        community_id="cm-xueqiao",
        category=category,
        at=at(hours),
        times=times,
        reported_at=at(reported_hours),
        place="3栋门口",
    )


def unlinked(complaint_id: str, hours: float) -> ComplaintUnlinked:
    return ComplaintUnlinked(
        complaint_id=complaint_id,
        compound_id="cx-001",
        community_id="cm-xueqiao",
        category=PARKING,
        at=at(hours),
    )


def summary(change: Change) -> tuple[str, str, str, str, tuple[str, ...]]:
    """(type, kind, scope kind, scope id, complaint ids) of a change."""
    hotspot = change.hotspot
    return (
        change.type,
        hotspot.kind.value,
        hotspot.scope.kind.value,
        hotspot.scope.id,
        tuple(hotspot.complaint_ids),
    )


def only(changes: list[Change], kind: str) -> list[Change]:
    """The changes about hot spots of one kind (cluster or recurring)."""
    return [c for c in changes if c.hotspot.kind == kind]
