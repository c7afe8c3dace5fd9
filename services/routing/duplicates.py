"""Duplicate detection (一件多訴): whether a new complaint is the same problem as an
open one, judged so that a wrong link, which hides a resident's complaint, is rare.

``fingerprint`` reads a complaint once (where it is, in which words, what is wrong,
what it is about) into a small JSON-serialisable value that a recent-complaints index
can keep. ``judge`` compares two fingerprints and gives a verdict:

- ``link``: same compound and category, received within the window, the same place
  and closely similar words (more similar still when one complaint names more of the
  place than the other, or only one names a place): the new complaint is linked, not
  routed;
- ``possible``: similar, nothing tells them apart, but not sure: routed as usual
  and marked ``possible_duplicate_of``;
- ``distinct``: everything else, and always when the two name different places,
  different faults (不亮 vs 漏水) or different subjects (物业费 vs 停车费).

``best_match`` picks the candidate to link to (or to mention). The policy's
``duplicates:`` section holds the thresholds and the word groups. This module does no
I/O; ``wording`` loads jieba's dictionary once (``wording.load_segmenter``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.routing.places import Places, compare_places
from services.routing.policy import DuplicatePolicy
from services.routing.wording import lexicon_of, read


class Verdict(StrEnum):
    LINK = "link"
    POSSIBLE = "possible"
    DISTINCT = "distinct"


class Fingerprint(BaseModel):
    """One complaint as the duplicate check compares it; computed once, stored with
    the complaint (``model_dump(mode="json")`` / ``Fingerprint.model_validate``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    compound_id: str
    category: str
    received_at: AwareDatetime
    tokens: tuple[str, ...]
    faults: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    places: Places = Places()


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    score: float  # how far the words agree, 0 to 1
    reason: str
    candidate_id: str | None = None


def fingerprint(
    description: str,
    location: str | None,
    policy: DuplicatePolicy,
    *,
    compound_id: str,
    category: str,
    received_at: datetime,
) -> Fingerprint:
    reading = read(description, location, lexicon_of(policy))
    return Fingerprint(
        compound_id=compound_id,
        category=category,
        received_at=received_at,
        tokens=reading.words,
        faults=reading.faults,
        subjects=reading.subjects,
        places=reading.places,
    )


def word_score(a: Sequence[str], b: Sequence[str]) -> float:
    """How far two complaints' words agree, 0 to 1: the share of the terser
    complaint's words that the other uses too. A resident who adds details (蚊子特别多)
    does not lower it; one who names another thing or fault does."""
    left, right = set(a), set(b)
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))


def _differ(kind: str, mine: Sequence[str], theirs: Sequence[str]) -> str | None:
    """Why two complaints differ in ``kind`` (both name some, none in common)."""
    if mine and theirs and not set(mine) & set(theirs):
        return f"different {kind}: {'/'.join(mine)} vs {'/'.join(theirs)}"
    return None


def _distinct(score: float, reason: str) -> Judgement:
    return Judgement(Verdict.DISTINCT, round(score, 3), reason)


def judge(new: Fingerprint, candidate: Fingerprint, policy: DuplicatePolicy) -> Judgement:
    """Whether ``new`` repeats ``candidate`` (an open complaint; the caller knows
    which are open). Refuses, whatever the words, a candidate of another compound or
    category or received more than the window apart."""
    if new.compound_id != candidate.compound_id:
        return _distinct(0.0, f"another compound ({candidate.compound_id})")
    if new.category != candidate.category:
        return _distinct(0.0, f"another category ({candidate.category})")
    apart = abs(new.received_at - candidate.received_at)
    if apart > policy.window:
        return _distinct(
            0.0, f"received {_hours(apart)} apart, beyond the {_hours(policy.window)} window"
        )
    places = compare_places(new.places, candidate.places)
    if places.relation == "conflict":
        return _distinct(0.0, f"different places: {'; '.join(places.differences)}")
    differs = _differ("faults", new.faults, candidate.faults) or _differ(
        "subjects", new.subjects, candidate.subjects
    )
    if differs:
        return _distinct(0.0, differs)
    score = word_score(new.tokens, candidate.tokens)
    where = {
        "same": f"same place ({', '.join(places.agreed)})",
        "neither": "neither names a place",
        "partial": f"same place ({', '.join(places.agreed)}) but one names more of it",
        "crossed": f"both name {', '.join(places.agreed)} but each names a part the other does not",
        "one_sided": "only one names a place",
        "unrelated": "they name places that cannot be compared",
    }[places.relation]
    needed = policy.link_score if places.relation in ("same", "neither") else policy.strong_score
    words = f"words agree {score:.2f}"
    # Places that cannot be told the same are never linked on the words alone.
    guessing = places.relation in ("unrelated", "crossed")
    if score >= needed and not guessing:
        return Judgement(Verdict.LINK, round(score, 3), f"{where}; {words}")
    if score >= policy.possible_score:
        wanted = "the same place" if guessing else f"{needed:.2f}"
        return Judgement(
            Verdict.POSSIBLE, round(score, 3), f"{where}; {words}, a link needs {wanted}"
        )
    return _distinct(score, f"{where}; {words}, below {policy.possible_score:.2f}")


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"


def best_match(
    new: Fingerprint, candidates: Sequence[tuple[str, Fingerprint]], policy: DuplicatePolicy
) -> Judgement | None:
    """The candidate to link to (the best ``link``), else the one to mention (the
    best ``possible``), else None. Ties go to the earlier complaint, the original."""
    best: dict[Verdict, tuple[tuple[float, datetime, str], Judgement]] = {}
    for candidate_id, candidate in candidates:
        judgement = judge(new, candidate, policy)
        if judgement.verdict is Verdict.DISTINCT:
            continue
        # Highest score first, then earliest received, then id (for a stable answer).
        rank = (-judgement.score, candidate.received_at, candidate_id)
        held = best.get(judgement.verdict)
        if held is None or rank < held[0]:
            best[judgement.verdict] = (rank, replace(judgement, candidate_id=candidate_id))
    for verdict in (Verdict.LINK, Verdict.POSSIBLE):
        if verdict in best:
            return best[verdict][1]
    return None
