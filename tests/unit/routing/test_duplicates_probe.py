"""devtools/probe_duplicates.py against a fake stack: intake and the resident's view
as httpx mock transports, with the new detector deciding what a routed pair shows.
The pairs are the evaluation set's: the held-back ones are only checked for how they
spread over compounds, so that no result of theirs is seen before the real probe."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devtools.eval_duplicates import UNSEEN_PAIRS, Pair, load_pairs
from devtools.probe_duplicates import Probe, ProbeError, assign_compounds, report
from services.routing.duplicates import Fingerprint, Verdict, best_match, fingerprint
from services.routing.policy import RoutingPolicy


class FakeStack:
    """Routes each submission at once with ``best_match``; a view answers 404 for the
    first look (the event is still on its way). ``stray`` links every second
    complaint to a complaint outside its pair, as a broken detector might."""

    def __init__(self, policy: RoutingPolicy, *, stray: bool = False) -> None:
        self.policy = policy.duplicates
        self.stray = stray
        self.views: dict[str, dict[str, Any]] = {}
        self.looked: Counter[str] = Counter()
        self.open: list[tuple[str, Fingerprint]] = []
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.submitted: list[dict[str, Any]] = []

    def intake(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer test-key"
        body = json.loads(request.content)
        if request.url.path.endswith("/updates"):
            self.updates.append((request.url.path.split("/")[3], body))
            return httpx.Response(202, json={"status": "accepted"})
        self.submitted.append(body)
        complaint_id = f"c-{len(self.submitted)}"
        new = fingerprint(
            body["description"],
            body.get("location"),
            self.policy,
            compound_id=body["compound_id"],
            category=body["category"],
            received_at=datetime(2026, 11, 28, tzinfo=UTC),
        )
        found = best_match(new, self.open, self.policy)
        view: dict[str, Any] = {"status": "routed", "lead": {"responder_id": "pf-dianzhong"}}
        if self.stray and body["source_ref"].endswith("-2"):
            view = {"status": "duplicate", "duplicate_of": "c-somebody-else", "lead": None}
        elif found and found.verdict is Verdict.LINK:
            view = {"status": "duplicate", "duplicate_of": found.candidate_id, "lead": None}
        else:
            if found:
                view["possible_duplicate_of"] = found.candidate_id
            self.open.append((complaint_id, new))
        self.views[complaint_id] = view
        return httpx.Response(202, json={"complaint_id": complaint_id, "status": "received"})

    def view(self, request: httpx.Request) -> httpx.Response:
        complaint_id = request.url.path.rsplit("/", 1)[1]
        self.looked[complaint_id] += 1
        if self.looked[complaint_id] == 1:
            return httpx.Response(
                404,
                json={
                    "code": "not_found",
                    "message": "unknown complaint",
                    "field": "complaint_id",
                    "errors": [],
                },
            )
        return httpx.Response(200, json={"complaint_id": complaint_id, **self.views[complaint_id]})

    def probe(self, **options: Any) -> Probe:
        headers = {"Authorization": "Bearer test-key"}
        return Probe(
            httpx.Client(
                transport=httpx.MockTransport(self.intake), base_url="http://i", headers=headers
            ),
            httpx.Client(
                transport=httpx.MockTransport(self.view), base_url="http://v", headers=headers
            ),
            run="t1",
            sleep=lambda _: None,
            **options,
        )


COMPOUNDS = [f"cx-{n:03d}" for n in range(1, 13)]


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    return load_pairs()


def test_pairs_never_share_compound_and_category() -> None:
    unseen = load_pairs(UNSEEN_PAIRS)
    compounds = COMPOUNDS
    chosen = assign_compounds(unseen, compounds)
    combos = list(zip(chosen, (p.category for p in unseen), strict=True))
    assert len(set(combos)) == len(combos)
    with pytest.raises(ProbeError, match="not enough compounds"):
        assign_compounds(unseen, compounds[:1])


def test_a_probe_run_submits_both_complaints_and_reads_the_verdicts(
    policy: RoutingPolicy, pairs: list[Pair]
) -> None:
    stack = FakeStack(policy)
    probe = stack.probe()
    pairs = pairs[::8]  # a spread over the categories
    outcomes = [
        probe.pair(p, c) for p, c in zip(pairs, assign_compounds(pairs, COMPOUNDS), strict=True)
    ]
    assert [b["source_ref"] for b in stack.submitted[:2]] == [
        f"probe-t1-{pairs[0].id}-1",
        f"probe-t1-{pairs[0].id}-2",
    ]
    assert all(
        b["category"] == p.category for b, p in zip(stack.submitted[::2], pairs, strict=True)
    )
    assert not any(o.wrong_link for o in outcomes)
    for outcome in outcomes:
        expected = stack.views[outcome.second_id or ""]
        assert outcome.duplicate_of == expected.get("duplicate_of")
        assert outcome.possible_duplicate_of == expected.get("possible_duplicate_of")
    assert "wrong links: 0" in report(outcomes)


def test_a_link_outside_the_pair_is_a_wrong_link(policy: RoutingPolicy, pairs: list[Pair]) -> None:
    probe = FakeStack(policy, stray=True).probe()
    same = next(p for p in pairs if p.same_problem)
    outcome = probe.pair(same, "cx-001")
    assert outcome.wrong_link
    assert outcome.verdict == "linked to c-somebody-else"
    assert f"wrong links: 1 ({same.id})" in report([outcome])


def test_clean_up_resolves_what_was_routed_as_its_lead(
    policy: RoutingPolicy, pairs: list[Pair]
) -> None:
    stack = FakeStack(policy)
    probe = stack.probe()
    outcome = probe.pair(pairs[0], "cx-001")
    assert probe.clean_up() == []
    routed = [cid for cid, view in stack.views.items() if view["status"] == "routed"]
    assert [(cid, u["type"], u["actor_id"]) for cid, u in stack.updates] == [
        (cid, kind, "pf-dianzhong") for cid in routed for kind in ("acknowledged", "resolved")
    ]
    assert outcome.first_id in routed


def test_a_complaint_that_is_never_routed_stops_the_probe(
    policy: RoutingPolicy, pairs: list[Pair]
) -> None:
    stack = FakeStack(policy)
    ticks = iter(range(1000))
    probe = stack.probe(timeout=5, clock=lambda: float(next(ticks)))
    stack.view = lambda request: httpx.Response(404)  # type: ignore[method-assign]
    probe.view = httpx.Client(transport=httpx.MockTransport(stack.view), base_url="http://v")
    with pytest.raises(ProbeError, match="was not routed within 5 s"):
        probe.pair(pairs[0], "cx-001")
