"""The residents' complaint generator (devtools.samples.ComplaintMix) run through the
duplicate detector: retellings are the only links, and as rare as asked."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from devtools.samples import COMPOUNDS, RESIDENT_PROBLEMS, ComplaintMix, resident_complaints
from services.routing.duplicates import Fingerprint, Verdict, best_match, fingerprint
from services.routing.policy import RoutingPolicy
from shared.events import ComplaintSubmission

AT = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def run(policy: RoutingPolicy, count: int, share: float, seed: int) -> Counter[tuple[bool, str]]:
    """(retelling?, verdict) for each complaint, judged against the open ones before it."""
    rng = random.Random(seed)
    mix = ComplaintMix(rng, duplicate_share=share)
    open_ones: dict[tuple[str, str], list[tuple[str, Fingerprint]]] = defaultdict(list)
    outcomes: Counter[tuple[bool, str]] = Counter()
    categories = tuple(RESIDENT_PROBLEMS)
    for index in range(count):
        compound, category = rng.choice(COMPOUNDS[:4]), rng.choice(categories)
        text, location, retold = mix.describe(compound, category)
        new = fingerprint(
            text,
            location,
            policy.duplicates,
            compound_id=compound,
            category=category,
            received_at=AT,
        )
        found = best_match(new, open_ones[(compound, category)], policy.duplicates)
        verdict = found.verdict if found else Verdict.DISTINCT
        outcomes[(retold, verdict.value)] += 1
        if verdict is not Verdict.LINK:
            open_ones[(compound, category)].append((f"c-{index}", new))
    return outcomes


@pytest.mark.parametrize("seed", [1, 2])
def test_only_retellings_are_linked_and_about_as_often_as_asked(
    policy: RoutingPolicy, seed: int
) -> None:
    outcomes = run(policy, 600, 0.1, seed)
    linked = outcomes[(True, "link")] + outcomes[(False, "link")]
    assert outcomes[(False, "link")] == 0
    assert 0.05 <= linked / 600 <= 0.13


def test_without_retellings_nothing_is_linked(policy: RoutingPolicy) -> None:
    outcomes = run(policy, 400, 0.0, 3)
    assert outcomes[(False, "link")] == 0
    assert not any(retold for retold, _ in outcomes)


def test_resident_complaints_are_valid_and_varied() -> None:
    bodies = list(resident_complaints(300, seed=5, run="t"))
    for body in bodies:
        ComplaintSubmission.model_validate(body)
    descriptions = [b["description"] for b in bodies]
    assert len(set(descriptions)) >= 0.9 * len(descriptions)
    assert any(b.get("location") for b in bodies)
    assert any(any(c in d for c in "棟樓單區") for d in descriptions)  # some traditional
    assert len({b["compound_id"] for b in bodies}) == len(COMPOUNDS)
    assert len({b["source_ref"] for b in bodies}) == 300


def test_a_share_of_one_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate_share"):
        ComplaintMix(random.Random(1), duplicate_share=1.0)
