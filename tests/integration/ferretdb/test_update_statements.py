"""An update command of many statements answers and applies every one of them.

FerretDB v1 kept each statement's read open until the whole command returned; with 100
pooled SQLite connections per database, a command of 100 or more statements that match
existing documents waited forever (patch 03-update-closes-each-statement). 250 is past
that limit and past FerretDB's insert batch size (100). Upserts are reported under
their statement's position in the command, as MongoDB does (patch 05-upserted-index)."""

from __future__ import annotations

import pytest
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from tests.integration.ferretdb.helpers import Document, SentCommands, answered

pytestmark = pytest.mark.integration

STATEMENTS = 250


async def test_bulk_write_of_250_update_one_on_existing_documents_applies_them_all(
    db: AsyncDatabase[Document], sent: SentCommands
) -> None:
    coll = db["docs"]
    await coll.insert_many([{"_id": f"d{i:03d}", "n": 0, "v": 0} for i in range(STATEMENTS)])
    # Alternate plain _id filters with conditional ones ({_id, v}), the shape of an
    # optimistic update; every tenth condition names a version that is not stored.
    updates = [
        UpdateOne(
            {"_id": f"d{i:03d}"} if i % 2 else {"_id": f"d{i:03d}", "v": 1 if i % 10 == 0 else 0},
            {"$set": {"n": i + 1}, "$inc": {"v": 1}},
        )
        for i in range(STATEMENTS)
    ]
    sent.names.clear()

    result = await answered(coll.bulk_write(updates, ordered=False), "250 UpdateOne")

    assert sent.names == ["update"], "the statements must reach the server as one command"
    stale = set(range(0, STATEMENTS, 10))
    assert result.matched_count == STATEMENTS - len(stale)
    assert result.modified_count == STATEMENTS - len(stale)
    stored = {d["_id"]: d async for d in coll.find({})}
    for i in range(STATEMENTS):
        expected = {"n": 0, "v": 0} if i in stale else {"n": i + 1, "v": 1}
        assert {k: stored[f"d{i:03d}"][k] for k in ("n", "v")} == expected, i


async def test_update_command_of_250_upserts_mixing_new_and_existing_ids_applies_them_all(
    db: AsyncDatabase[Document], sent: SentCommands
) -> None:
    coll = db["docs"]
    existing = [f"old{i:03d}" for i in range(STATEMENTS // 2)]
    new = [f"new{i:03d}" for i in range(STATEMENTS - len(existing))]
    await coll.insert_many([{"_id": i, "n": 0, "kept": True} for i in existing])
    ids = [x for pair in zip(existing, new, strict=True) for x in pair]  # interleaved
    upserts = [UpdateOne({"_id": i}, {"$set": {"n": 1}}, upsert=True) for i in ids]
    sent.names.clear()

    result = await answered(coll.bulk_write(upserts, ordered=False), "250 upserts")

    assert sent.names == ["update"]
    assert result.matched_count == len(existing)
    assert result.modified_count == len(existing)
    assert result.upserted_count == len(new)
    upserted = result.upserted_ids
    assert upserted is not None
    # Keyed by the statement's position in the command, as MongoDB reports it.
    assert upserted == {index: _id for index, _id in enumerate(ids) if _id in new}
    stored = {d["_id"]: d async for d in coll.find({})}
    assert sorted(stored) == sorted(ids)
    assert all(d["n"] == 1 for d in stored.values())
    assert {i for i, d in stored.items() if d.get("kept")} == set(existing)


async def test_update_many_by_id_in_list_changes_exactly_the_listed_documents(
    db: AsyncDatabase[Document],
) -> None:
    coll = db["docs"]
    await coll.insert_many([{"_id": f"d{i:03d}", "n": 0} for i in range(300)])
    listed = [f"d{i:03d}" for i in range(0, 300, 3)] + ["missing"]

    result = await answered(
        coll.update_many({"_id": {"$in": listed}}, {"$set": {"n": 1}}), "update_many $in"
    )

    assert result.matched_count == 100
    assert result.modified_count == 100
    changed = {d["_id"] async for d in coll.find({"n": 1})}
    assert changed == set(listed) - {"missing"}
