"""The figures of a known history, worked out by hand, from the pure computation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.stats.figures import Filters, compute, flatten
from services.stats.tallies import NotificationRecord
from tests.unit.stats.derived import records
from tests.unit.stats.history import (
    OCT_5_COUNTS,
    OCT_5_RATES,
    OCTOBER_BY_CATEGORY,
    OCTOBER_COUNTS,
    OCTOBER_MEDIANS,
    OCTOBER_RATES,
    RESPONDER_RATES,
    october,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def figures_of(period: str, filters: Filters | None = None, seed: int | None = None) -> dict:  # type: ignore[type-arg]
    events = [e for _, e in october().events]
    complaints, notifications = records(events, seed)
    return compute(complaints, notifications, period, filters or Filters(), NOW, rejected=1)


def test_october_counts_rates_and_medians_match_the_hand_worked_figures() -> None:
    figures = figures_of("2026-10")
    assert figures["counts"] == OCTOBER_COUNTS
    assert figures["rates"] == OCTOBER_RATES
    assert figures["medians_seconds"] == OCTOBER_MEDIANS
    assert figures["by_category"] == OCTOBER_BY_CATEGORY


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_arrival_order_does_not_change_the_figures(seed: int) -> None:
    assert figures_of("2026-10", seed=seed) == figures_of("2026-10")


def test_rates_per_responder_follow_the_current_lead() -> None:
    responders = figures_of("2026-10")["responders"]
    assert {r: d["rates"] for r, d in responders.items()} == RESPONDER_RATES
    # D was returned by the firm: it counts for the community that took it over.
    assert responders["pf-dianzhong"]["counts"]["routed"] == 2
    assert responders["cm-xueqiao"]["counts"]["routed"] == 2
    assert responders["cm-xueqiao"]["counts"]["notifications_failed"] == 1


def test_responder_filter_gives_the_same_figures_as_the_breakdown() -> None:
    alone = figures_of("2026-10", Filters(responder="fire"))
    breakdown = figures_of("2026-10")["responders"]["fire"]
    assert alone["counts"] == breakdown["counts"]
    assert alone["rates"] == breakdown["rates"]
    assert "rejected" not in alone["counts"]


def test_community_figures_leave_out_the_unrouted_duplicate() -> None:
    community = figures_of("2026-10")["communities"]["cm-xueqiao"]
    assert community["counts"]["received"] == 5
    assert community["counts"]["routed"] == 5


def test_a_day_counts_only_its_own_complaints() -> None:
    figures = figures_of("2026-10-05")
    assert {k: figures["counts"][k] for k in OCT_5_COUNTS} == OCT_5_COUNTS
    assert figures["rates"] == OCT_5_RATES
    assert figures["counts"]["duplicates"] == 1
    assert figures["counts"]["notifications_sent"] == 1
    assert "daily" not in figures


def test_month_has_a_daily_series_of_volume_by_category() -> None:
    daily = figures_of("2026-10")["daily"]
    assert len(daily) == 31
    assert daily["2026-10-05"] == {
        "received": 3,
        "by_category": {"parking_disorder": 1, "sanitation": 2},
    }
    assert sum(d["received"] for d in daily.values()) == OCTOBER_COUNTS["received"]


def test_an_empty_period_has_zero_counts_and_no_rates() -> None:
    figures = figures_of("2026-09")
    assert {k: v for k, v in figures["counts"].items() if k != "rejected"} == dict.fromkeys(
        figures["counts"].keys() - {"rejected"}, 0
    )
    assert figures["rates"] == dict.fromkeys(OCTOBER_RATES)
    assert figures["medians_seconds"] == dict.fromkeys(OCTOBER_MEDIANS)


def test_an_acknowledge_due_time_still_ahead_is_not_in_the_response_rate() -> None:
    # On 12 October at 10:00 (UTC+8), E's acknowledge due time is a day ahead.
    early = datetime(2026, 10, 12, 2, tzinfo=UTC)
    events = [e for _, e in october().events if e.occurred_at <= early]
    complaints, notifications = records(events)
    figures = compute(complaints, notifications, "2026-10", Filters(responder="cm-xueqiao"), early)
    assert figures["counts"]["acknowledge_due"] == 1
    assert figures["rates"]["response_rate"] == 1.0
    assert figures["counts"]["acknowledge_overdue"] == 0


def test_flattened_rows_carry_every_figure_of_the_json() -> None:
    figures = figures_of("2026-10")
    rows = {(scope, metric): value for scope, metric, value in flatten(figures)}
    assert rows[("all", "counts.received")] == "6"
    assert rows[("all", "rates.satisfaction_rate")] == "0.6667"
    assert rows[("responder:cm-xueqiao", "rates.satisfaction_rate")] == ""
    assert rows[("day:2026-10-05", "by_category.sanitation")] == "2"
    assert rows[("all", "medians_seconds.time_to_acknowledge")] == "5400.0"


def test_a_later_alert_about_an_older_complaint_counts_in_its_own_month() -> None:
    events = [e for _, e in october().events]
    complaints, _ = records(events)
    november = NotificationRecord("d9", "c-oct-d", "cm-xueqiao", "sent", "2026-11-02", "2026-11")
    lookup = {c.complaint_id: c for c in complaints}
    figures = compute(
        [], [november], "2026-11", Filters(category="facility_repair"), NOW, lookup=lookup
    )
    assert figures["counts"]["notifications_sent"] == 1
    assert figures["counts"]["received"] == 0
    other = compute([], [november], "2026-11", Filters(category="sanitation"), NOW, lookup=lookup)
    assert other["counts"]["notifications_sent"] == 0
