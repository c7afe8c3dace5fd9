"""A state copied for a change shares nothing that the change could alter."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel

from services.routing.policy import load_policy
from services.routing.settings import default_policy_path
from services.routing.state import ComplaintState
from shared.directory import default_directory_path, load_directory
from tests.unit.routing.conftest import routed

IMMUTABLE = (str, int, float, bool, datetime, Enum, type(None))


def a_routed_state() -> ComplaintState:
    return routed(load_policy(default_policy_path()), load_directory(default_directory_path()))


def is_immutable(value: object) -> bool:
    if isinstance(value, BaseModel):
        return bool(value.model_config.get("frozen")) and all(
            is_immutable(v) for v in value.__dict__.values()
        )
    if isinstance(value, tuple):
        return all(is_immutable(v) for v in value)
    return isinstance(value, IMMUTABLE)


def test_every_field_a_copy_shares_with_its_original_is_immutable() -> None:
    # copy_for_change copies only the lists: a mutable field added to ComplaintState
    # (a dict, a model that is not frozen) would be shared, and changing the copy would
    # change the stored state too. This fails first.
    state = a_routed_state()
    copy = state.copy_for_change()
    for name in ComplaintState.model_fields:
        mine, theirs = getattr(state, name), getattr(copy, name)
        if isinstance(mine, list):
            assert mine is not theirs, name
            assert all(is_immutable(item) for item in mine), name
        else:
            assert is_immutable(mine), name


def test_changing_a_copy_leaves_the_original_as_it_was() -> None:
    state = a_routed_state()
    before = state.model_dump()
    copy = state.copy_for_change()
    copy.timeline.append(copy.timeline[0])
    copy.support.clear()
    copy.past_leads.append("someone-else")
    copy.bounces += 1
    assert state.model_dump() == before
    following = state.next_version()
    assert (following.version, following.outbox) == (state.version + 1, [])
    assert state.outbox != []
