"""The running tallies behind the snapshots add up to exactly what a recount says."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from services.stats.complaint import ComplaintRecord
from services.stats.figures import Filters, compute
from services.stats.owner import snapshot_of
from services.stats.periods import Scope
from services.stats.tallies import NotificationRecord, Tally, contributions
from shared.events import StatsSnapshot
from tests.unit.stats.derived import records
from tests.unit.stats.history import october

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def running_snapshots(
    complaints: list[ComplaintRecord], notes: list[NotificationRecord], now: datetime
) -> dict[str, StatsSnapshot]:
    """Snapshots as stats builds them: each complaint's contributions, summed by scope."""
    by_complaint: dict[str, list[NotificationRecord]] = defaultdict(list)
    for note in notes:
        by_complaint[note.complaint_id].append(note)
    totals: dict[str, Tally] = defaultdict(Tally)
    for complaint in complaints:
        for scope, tally in contributions(
            complaint, by_complaint[complaint.complaint_id], now
        ).items():
            totals[scope].add(tally)
    return {scope: snapshot_of(scope, tally, now) for scope, tally in totals.items()}


def recounted(
    scope: Scope, complaints: list[ComplaintRecord], notes: list[NotificationRecord]
) -> dict:  # type: ignore[type-arg]
    filters = {
        "city": Filters(),
        "community": Filters(community=scope.subject),
        "responder": Filters(responder=scope.subject),
    }[scope.kind]
    return compute(complaints, notes, scope.period, filters, NOW, breakdowns=False)


def test_every_scope_s_running_figures_equal_its_recount() -> None:
    complaints, notes = records([e for _, e in october().events])
    snapshots = running_snapshots(complaints, notes, NOW)
    assert {
        "city:2026-10",
        "responder:pf-dianzhong:2026-10",
        "community:cm-xueqiao:2026-10",
    } <= set(snapshots)
    for key, snapshot in snapshots.items():
        expected = recounted(Scope.parse(key), complaints, notes)
        counts = dict(snapshot.counts)
        counts.pop("rejected", None)  # the recount adds it only when told the number
        assert counts == expected["counts"], key
        assert snapshot.rates == expected["rates"], key
        assert snapshot.medians_seconds == expected["medians_seconds"], key
        assert snapshot.by_category == expected["by_category"], key


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_moving_a_complaint_s_contribution_in_and_out_leaves_the_rest_untouched(seed: int) -> None:
    complaints, notes = records([e for _, e in october().events], seed)
    whole = running_snapshots(complaints, notes, NOW)
    tally = Tally()
    for complaint in complaints:
        for part in contributions(complaint, [], NOW).values():
            tally.add(part)
    for complaint in complaints:
        for part in contributions(complaint, [], NOW).values():
            tally.remove(part)
    assert not tally
    assert whole == running_snapshots(complaints, notes, NOW)


def test_a_due_time_passing_moves_a_complaint_into_the_overdue_count() -> None:
    routed_at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    silent = ComplaintRecord(
        "c-silent",
        status="routed",
        lead_id="pf-dianzhong",
        routed_at=routed_at,
        acknowledge_by=routed_at + timedelta(hours=24),
        resolve_by=routed_at + timedelta(days=7),
        routed_day="2026-11-27",
        routed_month="2026-11",
    )
    due = routed_at + timedelta(hours=24)
    before = contributions(silent, [], due)
    after = contributions(silent, [], due + timedelta(milliseconds=1))
    for key in ("city:2026-11", "responder:pf-dianzhong:2026-11-27"):
        assert before[key].counts["acknowledge_overdue"] == 0
        assert after[key].counts["acknowledge_overdue"] == 1
        assert after[key].counts["acknowledge_due"] == 1
