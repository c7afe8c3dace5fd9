"""``make eval-duplicates``: how well the duplicate detector does on labelled pairs.

Each pair of tests/data/duplicates.yaml is two complaints of one compound and
category, three hours apart; the second is judged against the first. A pair is the
same problem in other words (``paraphrase``) or a look-alike that differs by a place
(building, unit, floor, flat, zone, gate, side, facility) or by its fault. Prints
precision (links that were right), recall (same-problem pairs linked automatically),
the verdicts per kind of pair and every pair judged wrongly; exits 1 when a
threshold below is missed."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from services.routing.duplicates import Fingerprint, Judgement, Verdict, fingerprint, judge
from services.routing.policy import DuplicatePolicy, load_policy
from services.routing.settings import default_policy_path

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "tests" / "data" / "duplicates.yaml"
UNSEEN_PAIRS = ROOT / "tests" / "data" / "duplicates-unseen.yaml"

MIN_PRECISION = 0.98
MIN_RECALL = 0.85

PLACE_KINDS = ("building", "unit", "floor", "flat", "zone", "gate", "side", "facility")
Kind = Literal[
    "paraphrase", "building", "unit", "floor", "flat", "zone", "gate", "side", "facility", "fault"
]  # fmt: skip
KINDS: tuple[str, ...] = ("paraphrase", *PLACE_KINDS, "fault")

COMPOUND = "cx-001"
FIRST_AT = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
SECOND_AFTER = timedelta(hours=3)


def _side(value: object) -> object:
    return {"description": value} if isinstance(value, str) else value


class Side(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    location: str | None = None


class Pair(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    category: str
    kind: Kind
    first: Annotated[Side, BeforeValidator(_side)]
    second: Annotated[Side, BeforeValidator(_side)]

    @property
    def same_problem(self) -> bool:
        return self.kind == "paraphrase"


class PairFile(BaseModel):
    pairs: list[Pair] = Field(min_length=1)


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    pairs = PairFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).pairs
    ids = Counter(p.id for p in pairs)
    twice = sorted(i for i, n in ids.items() if n > 1)
    if twice:
        raise ValueError(f"{path.name}: pair ids listed twice: {', '.join(twice)}")
    return pairs


def fingerprints(pair: Pair, policy: DuplicatePolicy) -> tuple[Fingerprint, Fingerprint]:
    def of(side: Side, at: datetime) -> Fingerprint:
        return fingerprint(
            side.description,
            side.location,
            policy,
            compound_id=COMPOUND,
            category=pair.category,
            received_at=at,
        )

    return of(pair.first, FIRST_AT), of(pair.second, FIRST_AT + SECOND_AFTER)


@dataclass(frozen=True)
class Outcome:
    pair: Pair
    judgement: Judgement

    @property
    def wrong(self) -> bool:
        linked = self.judgement.verdict is Verdict.LINK
        return linked != self.pair.same_problem


@dataclass
class Evaluation:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kind: str, verdict: Verdict) -> int:
        return sum(
            1 for o in self.outcomes if o.pair.kind == kind and o.judgement.verdict is verdict
        )

    @property
    def linked(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.judgement.verdict is Verdict.LINK]

    @property
    def same_problem(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.pair.same_problem]

    @property
    def precision(self) -> float:
        linked = self.linked
        return sum(1 for o in linked if o.pair.same_problem) / len(linked) if linked else 1.0

    @property
    def recall(self) -> float:
        same = self.same_problem
        hits = sum(1 for o in same if o.judgement.verdict is Verdict.LINK)
        return hits / len(same) if same else 1.0

    @property
    def places_linked(self) -> list[Outcome]:
        """Look-alikes about different places that were linked: must be none."""
        return [o for o in self.linked if o.pair.kind in PLACE_KINDS]

    @property
    def passes(self) -> bool:
        return (
            not self.places_linked and self.precision >= MIN_PRECISION and self.recall >= MIN_RECALL
        )


def evaluate(pairs: list[Pair], policy: DuplicatePolicy) -> Evaluation:
    evaluation = Evaluation()
    for pair in pairs:
        first, second = fingerprints(pair, policy)
        evaluation.outcomes.append(Outcome(pair, judge(second, first, policy)))
    return evaluation


def _text(side: Side) -> str:
    return f"{side.description}" + (f"  [location: {side.location}]" if side.location else "")


def report(evaluation: Evaluation, title: str) -> str:
    lines = [f"{title}: {len(evaluation.outcomes)} pairs", ""]
    lines.append(f"{'kind':<12}{'pairs':>7}{'link':>7}{'possible':>10}{'distinct':>10}")
    for kind in KINDS:
        total = sum(1 for o in evaluation.outcomes if o.pair.kind == kind)
        if total:
            counts = [evaluation.count(kind, v) for v in Verdict]
            lines.append(
                f"{kind:<12}{total:>7}"
                + "".join(f"{n:>{w}}" for n, w in zip(counts, (7, 10, 10), strict=True))
            )
    same = evaluation.same_problem
    possible = sum(1 for o in same if o.judgement.verdict is Verdict.POSSIBLE)
    linked = evaluation.linked
    right = sum(1 for o in linked if o.pair.same_problem)
    lines += [
        "",
        f"precision {evaluation.precision:.3f} ({right} of {len(linked)} links right;"
        f" needs >= {MIN_PRECISION})",
        f"recall    {evaluation.recall:.3f} ({right} of {len(same)} same-problem pairs linked"
        f" automatically; needs >= {MIN_RECALL})",
        f"same-problem pairs marked possible (routed, flagged): {possible};"
        f" not flagged at all: {len(same) - right - possible}",
        f"look-alikes naming different places that were linked: {len(evaluation.places_linked)}"
        " (must be 0)",
    ]
    wrong = [o for o in evaluation.outcomes if o.wrong]
    if wrong:
        lines += ["", "judged wrongly:"]
        for o in wrong:
            j = o.judgement
            lines += [
                f"  {o.pair.id} ({o.pair.kind}, {o.pair.category}): {j.verdict.value}"
                f" {j.score:.2f} - {j.reason}",
                f"      1: {_text(o.pair.first)}",
                f"      2: {_text(o.pair.second)}",
            ]
    lines += ["", "PASS" if evaluation.passes else "FAIL"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS, help="the labelled pairs (YAML)")
    parser.add_argument("--policy", type=Path, default=None, help="the routing policy file")
    args = parser.parse_args(argv)
    policy = load_policy(args.policy or default_policy_path()).duplicates
    evaluation = evaluate(load_pairs(args.pairs), policy)
    print(report(evaluation, args.pairs.name))
    return 0 if evaluation.passes else 1


if __name__ == "__main__":
    sys.exit(main())
