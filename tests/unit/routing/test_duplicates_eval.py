"""The duplicate detector on the labelled pairs of tests/data/duplicates.yaml (what
`make eval-duplicates` prints): a wrong link hides a resident's complaint."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from devtools.eval_duplicates import (
    MIN_PRECISION,
    MIN_RECALL,
    PLACE_KINDS,
    UNSEEN_PAIRS,
    Evaluation,
    Pair,
    evaluate,
    load_pairs,
    main,
)
from services.routing.policy import RoutingPolicy


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    return load_pairs()


@pytest.fixture(scope="module")
def evaluation(pairs: list[Pair], policy: RoutingPolicy) -> Evaluation:
    return evaluate(pairs, policy.duplicates)


def test_the_set_covers_every_category_and_both_halves(
    pairs: list[Pair], policy: RoutingPolicy
) -> None:
    assert len(pairs) >= 150
    assert {p.category for p in pairs} == {c.code for c in policy.categories}
    kinds = Counter(p.kind for p in pairs)
    assert 0.4 <= kinds["paraphrase"] / len(pairs) <= 0.6
    assert set(PLACE_KINDS) | {"fault"} <= set(kinds)


def test_no_pair_naming_different_places_is_linked(evaluation: Evaluation) -> None:
    assert [o.pair.id for o in evaluation.places_linked] == []


def test_precision_and_recall(evaluation: Evaluation) -> None:
    assert evaluation.precision >= MIN_PRECISION
    assert evaluation.recall >= MIN_RECALL


def test_the_held_back_pairs_are_well_formed(policy: RoutingPolicy) -> None:
    # Only their shape: their figures are read once, never tuned on.
    unseen = load_pairs(UNSEEN_PAIRS)
    assert len(unseen) >= 30
    assert {p.category for p in unseen} <= {c.code for c in policy.categories}
    assert not {p.id for p in unseen} & {p.id for p in load_pairs()}


def test_the_command_fails_when_a_threshold_is_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missed = tmp_path / "pairs.yaml"
    missed.write_text(
        "pairs:\n"
        "  - {id: x-1, category: sanitation, kind: paraphrase,"
        " first: 小区垃圾没人清运, second: 楼上邻居装修噪音太大}\n",
        encoding="utf-8",
    )
    assert main(["--pairs", str(missed)]) == 1
    out = capsys.readouterr().out
    assert "recall    0.000" in out
    assert "x-1 (paraphrase, sanitation): distinct" in out
    assert out.rstrip().endswith("FAIL")
