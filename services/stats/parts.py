"""A complaint's stored facts as insert-only parts.

FerretDB v1 applies an update as a read, a decode and a rewrite of the whole document,
statement by statement, each in a transaction of its own; it writes an insert batch in
one transaction. Under load the upserts of complaint documents were most of FerretDB's
work, so stats never updates a complaint's facts: each batch that brings a complaint new
facts inserts one more part of it.

- Part 0 has the complaint id as its ``_id`` (as a whole complaint document had before
  parts, which reads as a complaint of one part); part ``n`` is ``<complaint id>~<n>``.
- A part is written only by the partition's owner, and only once it knows parts 0 to
  ``n - 1``: so the parts of a complaint are numbered without gaps, and a reader probes
  ``_id``s upwards until one is missing.
- Two owners racing on one part number (an old owner finishing during a rebalance) are
  decided by the unique ``_id``: the loser reads the winner's part and takes the next
  number. A fact has the same key wherever it is stored, so reading a fact twice counts
  it once.
- Each part carries every period its complaint was known to touch when it was written.
  A complaint's newest part is therefore found by a scan for any of its periods, and the
  parts before it by ``_id``.
- A part's facts (``events``, ``notified``) are stored packed (``shared.mongo.packed``):
  they are only ever read whole."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.stats.facts import Fact
from shared.mongo import packed, unpacked

Document = dict[str, Any]

SEPARATOR = "~"
PROBE_WINDOW = 8
"""Part ``_id``s read at once per complaint while probing for its parts."""


def part_id(complaint_id: str, number: int) -> str:
    return complaint_id if number == 0 else f"{complaint_id}{SEPARATOR}{number}"


def complaint_of(document: Mapping[str, Any]) -> str:
    return str(document.get("complaint_id") or document["_id"])


def number_of(document: Mapping[str, Any]) -> int:
    return int(document.get("part", 0))


@dataclass
class Facts:
    """What a complaint's parts hold together."""

    partition: int
    events: dict[str, Fact] = field(default_factory=dict)
    notified: dict[str, Fact] = field(default_factory=dict)
    periods: set[str] = field(default_factory=set)
    numbers: set[int] = field(default_factory=set)
    """The part numbers read."""

    @property
    def parts(self) -> int:
        """The number the next part takes: one past the highest read."""
        return max(self.numbers, default=-1) + 1

    def missing(self) -> list[int]:
        """Part numbers below the highest read that were not read."""
        return sorted(set(range(self.parts)) - self.numbers)

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Facts:
        facts = cls(int(document.get("partition", 0)))
        facts.add(document)
        return facts

    def add(self, document: Mapping[str, Any]) -> None:
        self.events.update(unpacked(document.get("events")))
        self.notified.update(unpacked(document.get("notified")))
        self.periods.update(document.get("periods") or [])
        self.numbers.add(number_of(document))


def merge(documents: Iterable[Mapping[str, Any]]) -> dict[str, Facts]:
    """Parts grouped by complaint, each complaint's facts merged (by complaint id)."""
    merged: dict[str, Facts] = {}
    for document in documents:
        complaint_id = complaint_of(document)
        if complaint_id in merged:
            merged[complaint_id].add(document)
        else:
            merged[complaint_id] = Facts.of(document)
    return merged


def part_document(
    complaint_id: str,
    number: int,
    partition: int,
    events: Mapping[str, Fact],
    notified: Mapping[str, Fact],
    periods: Iterable[str],
) -> Document:
    return {
        "_id": part_id(complaint_id, number),
        "complaint_id": complaint_id,
        "part": number,
        "partition": partition,
        "events": packed(events),
        "notified": packed(notified),
        "periods": sorted(set(periods)),
    }
