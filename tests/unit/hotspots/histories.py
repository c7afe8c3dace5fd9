"""Generated signal histories: bursts, duplicates, resolutions and reopenings over
weeks in several compounds of one community, plus one compound whose sanitation
problem keeps coming back all along (a recurring hot spot longer than its window)."""

from __future__ import annotations

import random
from datetime import timedelta

from services.hotspots.signals import (
    ComplaintReopened,
    ComplaintReported,
    ComplaintResolved,
    ComplaintSignal,
)
from tests.unit.hotspots.conftest import PARKING, WIRES, at

COMPOUNDS = ("cx-001", "cx-002", "cx-003", "cx-004")
CATEGORIES = (PARKING, "sanitation", WIRES)


def _lifecycle(
    rng: random.Random, complaint: ComplaintReported, out: list[ComplaintSignal]
) -> None:
    """Resolutions and reopenings of one complaint, at increasing times."""
    common = {
        "complaint_id": complaint.complaint_id,
        "compound_id": complaint.compound_id,
        "community_id": complaint.community_id,
        "category": complaint.category,
    }
    when = complaint.at
    for times in range(1, 4):
        if rng.random() > 0.8:
            return
        when += timedelta(hours=rng.randint(1, 72))
        out.append(ComplaintResolved(**common, at=when))
        if rng.random() > 0.35:
            return
        when += timedelta(hours=rng.randint(1, 48))
        out.append(
            ComplaintReopened(
                **common, at=when, times=times, reported_at=complaint.at, place=complaint.place
            )
        )


def history(seed: int, days: int = 70, *, late: bool = False) -> list[ComplaintSignal]:
    """In event-time order; with ``late``, some reports arrive up to 6 hours late."""
    rng = random.Random(seed)
    reports: list[ComplaintReported] = []
    for d in range(days):
        for compound in COMPOUNDS:
            for category in CATEGORIES:
                if rng.random() > 0.06:
                    continue
                start = d * 24 + rng.uniform(0, 20)
                first: str | None = None
                for _ in range(rng.choice([1, 1, 2, 3, 4, 6])):
                    complaint_id = f"c{len(reports):04d}"
                    duplicate = first is not None and rng.random() < 0.3
                    reports.append(
                        ComplaintReported(
                            complaint_id=complaint_id,
                            compound_id=compound,
                            community_id="cm-xueqiao",
                            category=category,
                            at=at(start + rng.uniform(0, 8)),
                            place=rng.choice([None, "3栋门口", "地下车库", "2单元楼道"]),
                            duplicate_of=first if duplicate else None,
                        )
                    )
                    first = first or complaint_id
        if d % 6 == 0:  # the chronic one
            reports.append(
                ComplaintReported(
                    complaint_id=f"c{len(reports):04d}",
                    compound_id="cx-005",
                    community_id="cm-xueqiao",
                    category="sanitation",
                    at=at(d * 24 + 9),
                    place="垃圾站",
                )
            )
    signals: list[ComplaintSignal] = list(reports)
    for report in reports:
        _lifecycle(rng, report, signals)
    if not late:
        return sorted(signals, key=lambda s: s.at)

    def arrival(signal: ComplaintSignal) -> object:
        delay = rng.uniform(0, 6) if signal.kind == "reported" and rng.random() < 0.2 else 0
        return signal.at + timedelta(hours=delay)

    keyed = [(arrival(s), i, s) for i, s in enumerate(sorted(signals, key=lambda s: s.at))]
    return [s for _, _, s in sorted(keyed, key=lambda k: (k[0], k[1]))]
