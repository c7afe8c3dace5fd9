"""Fixtures for routing's pure-logic tests: the shipped policy and demo directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.routing.policy import RoutingPolicy, load_policy
from services.routing.route import classify_received, fingerprint_of, route_received
from services.routing.settings import default_policy_path
from services.routing.state import OPEN_STATUSES, ComplaintState
from shared.directory import Directory, default_directory_path, load_directory
from shared.events import Channel, ComplaintReceived, Reporter
from shared.sealing import dev_key_ring


@pytest.fixture(scope="session")
def policy() -> RoutingPolicy:
    return load_policy(default_policy_path())


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory(default_directory_path())


T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def received(
    compound_id: str = "cx-001",
    description: str = "3栋2单元楼道有人飞线充电",
    *,
    category: str | None = None,
    complaint_id: str = "c-1",
    at: datetime = T0,
) -> ComplaintReceived:
    return ComplaintReceived(
        event_id=f"ev-{complaint_id}",
        occurred_at=at,
        complaint_id=complaint_id,
        source="hotline-12345",
        source_ref=f"HL-{complaint_id}",
        channel=Channel.HOTLINE,
        compound_id=compound_id,
        category=category,
        description=description,
        reporter=dev_key_ring().sealed_reporter(
            complaint_id, Reporter(name="張女士", phone="13812345678", hide_identity=True)
        ),
        ingress="kafka",
    )


def routed(
    policy: RoutingPolicy,
    directory: Directory,
    event: ComplaintReceived | None = None,
    *,
    candidates: list[ComplaintState] | None = None,
    now: datetime = T0,
) -> ComplaintState:
    """``event`` routed (or linked) against the open ``candidates``, as the index of open
    complaints would offer them."""
    event = event or received()
    offered = [
        (c.complaint_id, fingerprint_of(c.summary, c.received_at, policy))
        for c in candidates or []
        if c.status in OPEN_STATUSES
    ]
    return route_received(
        event,
        classify_received(policy, event),
        policy=policy,
        directory=directory,
        open_candidates=offered,
        now=now,
    )


def events_of(state: ComplaintState, topic: str) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in state.outbox if e.topic == topic]
