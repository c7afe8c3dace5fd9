"""How a complaint's parts are named and put back together."""

from __future__ import annotations

from services.stats.parts import Facts, merge, part_document, part_id


def test_part_zero_is_the_complaint_id_so_a_whole_complaint_document_reads_as_one_part() -> None:
    assert part_id("c-1", 0) == "c-1"
    assert part_id("c-1", 3) == "c-1~3"
    legacy = {"_id": "c-1", "partition": 2, "events": {"e1": {"type": "received"}}}
    merged = merge([legacy])
    assert merged["c-1"].partition == 2
    assert merged["c-1"].parts == 1
    assert set(merged["c-1"].events) == {"e1"}


def test_parts_merge_by_complaint_and_name_the_numbers_not_read() -> None:
    docs = [
        part_document("c-1", 0, 1, {"e1": {"at": 1}}, {}, ["2026-11"]),
        part_document("c-1", 2, 1, {"e3": {"at": 3}}, {"n1": {"at": 4}}, ["2026-11", "2026-12"]),
        part_document("c-2", 0, 0, {"e9": {"at": 9}}, {}, ["2026-12"]),
    ]
    merged = merge(docs)
    one = merged["c-1"]
    assert set(one.events) == {"e1", "e3"}
    assert set(one.notified) == {"n1"}
    assert one.periods == {"2026-11", "2026-12"}
    assert one.parts == 3
    assert one.missing() == [1]
    assert merged["c-2"].missing() == []


def test_a_fact_read_twice_counts_once() -> None:
    facts = Facts.of(part_document("c-1", 0, 0, {"e1": {"at": 1}}, {}, []))
    facts.add(part_document("c-1", 1, 0, {"e1": {"at": 1}, "e2": {"at": 2}}, {}, []))
    assert sorted(facts.events) == ["e1", "e2"]
