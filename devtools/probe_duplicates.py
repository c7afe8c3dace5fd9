"""Send the held-back duplicate pairs through the public API of a running stack
(``make up``) and report what routing made of them.

For each pair of tests/data/duplicates-unseen.yaml: submit the first complaint, wait
until the resident's view shows it routed, submit the second, wait until it is routed
or linked, and read ``duplicate_of`` (linked) and ``possible_duplicate_of`` (routed,
flagged as a possible duplicate). Each pair gets a compound and category of the demo
directory that no other pair of the run uses, and source refs of its own, so pairs
cannot meet each other. Afterwards the lead acknowledges and resolves the complaints
the probe routed, so that a later run does not meet them either (``--keep`` leaves
them open).

Reports wrong links (a look-alike linked, or a link to a complaint outside the pair)
and how many same-problem pairs were linked; exits 1 on any wrong link."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devtools.eval_duplicates import UNSEEN_PAIRS, Pair, Side, load_pairs
from shared.directory import default_directory_path, load_directory

DEMO_KEY = "gongzhi-demo-key"
SOURCE = "hotline-12345"
SETTLED = {"routed", "acknowledged", "in_progress", "resolved", "closed", "duplicate"}


class ProbeError(RuntimeError):
    """The stack did not answer as expected; the message says what was asked."""


@dataclass(frozen=True)
class Outcome:
    pair: Pair
    compound_id: str
    first_id: str
    second_id: str | None = None
    duplicate_of: str | None = None
    possible_duplicate_of: str | None = None
    skipped: str | None = None  # why the pair could not be judged

    @property
    def linked(self) -> bool:
        return self.duplicate_of == self.first_id

    @property
    def wrong_link(self) -> bool:
        """A look-alike linked, or any link to a complaint outside the pair."""
        if self.duplicate_of is None:
            return False
        return self.duplicate_of != self.first_id or not self.pair.same_problem

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "skipped"
        if self.duplicate_of:
            return "linked" if self.linked else f"linked to {self.duplicate_of}"
        if self.possible_duplicate_of:
            return "possible" if self.possible_duplicate_of == self.first_id else "possible (other)"
        return "routed"


def assign_compounds(pairs: Sequence[Pair], compounds: Sequence[str]) -> list[str]:
    """A compound for each pair such that no two pairs share compound and category."""
    used: dict[str, int] = {}
    chosen = []
    for pair in pairs:
        turn = used.get(pair.category, 0)
        if turn >= len(compounds):
            raise ProbeError(
                f"more than {len(compounds)} pairs of category {pair.category}: not enough compounds"
            )
        chosen.append(compounds[turn])
        used[pair.category] = turn + 1
    return chosen


class Probe:
    def __init__(
        self,
        intake: httpx.Client,
        view: httpx.Client,
        *,
        run: str,
        timeout: float = 60.0,
        poll: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.intake, self.view = intake, view
        self.run, self.timeout, self.poll = run, timeout, poll
        self.sleep, self.clock = sleep, clock
        self.routed: dict[str, str] = {}  # complaint id → its lead, for the clean-up

    def submit(self, pair: Pair, side: Side, which: int, compound_id: str) -> str:
        body: dict[str, Any] = {
            "source": SOURCE,
            "source_ref": f"probe-{self.run}-{pair.id}-{which}",
            "channel": "hotline",
            "compound_id": compound_id,
            "category": pair.category,
            "description": side.description,
        }
        if side.location:
            body["location"] = side.location
        answer = self.intake.post("/v1/complaints", json=body)
        if answer.status_code != 202:
            raise ProbeError(
                f"POST /v1/complaints for {pair.id}: {answer.status_code} {answer.text}"
            )
        return str(answer.json()["complaint_id"])

    def settled(self, complaint_id: str) -> dict[str, Any]:
        """The complaint's view once routing has routed or linked it."""
        deadline = self.clock() + self.timeout
        while True:
            answer = self.view.get(f"/v1/complaints/{complaint_id}")
            if answer.status_code == 200:
                view: dict[str, Any] = answer.json()
                if view.get("status") in SETTLED:
                    if view.get("status") != "duplicate" and view.get("lead"):
                        self.routed[complaint_id] = view["lead"]["responder_id"]
                    return view
            elif answer.status_code != 404:
                raise ProbeError(f"GET /v1/complaints/{complaint_id}: {answer.status_code}")
            if self.clock() >= deadline:
                raise ProbeError(f"{complaint_id} was not routed within {self.timeout:g} s")
            self.sleep(self.poll)

    def pair(self, pair: Pair, compound_id: str) -> Outcome:
        first_id = self.submit(pair, pair.first, 1, compound_id)
        first = self.settled(first_id)
        if first.get("duplicate_of"):
            # An open complaint left from elsewhere took the first one: no verdict.
            return Outcome(
                pair, compound_id, first_id, skipped=f"first linked to {first['duplicate_of']}"
            )
        second_id = self.submit(pair, pair.second, 2, compound_id)
        second = self.settled(second_id)
        return Outcome(
            pair,
            compound_id,
            first_id,
            second_id,
            duplicate_of=second.get("duplicate_of"),
            possible_duplicate_of=second.get("possible_duplicate_of"),
        )

    def clean_up(self) -> list[str]:
        """Acknowledge and resolve, as the lead, what the probe routed; the problems
        found on the way."""
        problems = []
        for complaint_id, lead in self.routed.items():
            for kind in ("acknowledged", "resolved"):
                update = {"type": kind, "actor_id": lead, "note": "duplicate probe clean-up"}
                answer = self.intake.post(f"/v1/complaints/{complaint_id}/updates", json=update)
                if answer.status_code >= 300:
                    problems.append(f"{complaint_id} {kind}: {answer.status_code} {answer.text}")
                    break
        return problems


def report(outcomes: Sequence[Outcome]) -> str:
    lines = [f"{'pair':<10}{'kind':<12}{'compound':<10}verdict"]
    for o in outcomes:
        mark = "  WRONG" if o.wrong_link else ""
        lines.append(f"{o.pair.id:<10}{o.pair.kind:<12}{o.compound_id:<10}{o.verdict}{mark}")
        if o.skipped:
            lines.append(f"{'':<10}skipped: {o.skipped}")
    judged = [o for o in outcomes if not o.skipped]
    same = [o for o in judged if o.pair.same_problem]
    wrong = [o for o in judged if o.wrong_link]
    possible = [o for o in same if o.verdict == "possible"]
    lines += [
        "",
        f"pairs judged: {len(judged)} of {len(outcomes)}",
        f"wrong links: {len(wrong)}"
        + (f" ({', '.join(o.pair.id for o in wrong)})" if wrong else ""),
        f"same-problem pairs linked: {sum(o.linked for o in same)} of {len(same)};"
        f" marked possible: {len(possible)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intake", default="http://127.0.0.1:8080", help="intake's base URL")
    parser.add_argument("--view", default="http://127.0.0.1:8083", help="stats' base URL")
    parser.add_argument("--api-key", default=DEMO_KEY, help="a key that may submit and update")
    parser.add_argument("--pairs", type=Path, default=UNSEEN_PAIRS, help="the pairs (YAML)")
    parser.add_argument("--directory", type=Path, default=None, help="the directory file")
    parser.add_argument("--run", default=None, help="tells this run's source refs apart")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for routing")
    parser.add_argument("--keep", action="store_true", help="leave the complaints open")
    args = parser.parse_args(argv)

    pairs = load_pairs(args.pairs)
    directory = load_directory(args.directory or default_directory_path())
    compounds = assign_compounds(pairs, [c.id for c in directory.compounds])
    headers = {"Authorization": f"Bearer {args.api_key}"}
    run = args.run or time.strftime("%Y%m%d%H%M%S")
    with (
        httpx.Client(base_url=args.intake, headers=headers, timeout=10) as intake,
        httpx.Client(base_url=args.view, headers=headers, timeout=10) as view,
    ):
        probe = Probe(intake, view, run=run, timeout=args.timeout)
        try:
            outcomes = [probe.pair(p, c) for p, c in zip(pairs, compounds, strict=True)]
        finally:
            problems = [] if args.keep else probe.clean_up()
    print(report(outcomes))
    for problem in problems:
        print(f"clean-up: {problem}")
    return 1 if any(o.wrong_link for o in outcomes if not o.skipped) else 0


if __name__ == "__main__":
    sys.exit(main())
