"""``{_id: {$in: [...]}}`` returns exactly the documents MongoDB returns, and is read
through the _id index rather than by scanning the collection.

The build narrows such a query in SQLite (patch 04-id-in-pushdown) and FerretDB filters
every row it reads again in full; these tests hold both halves to MongoDB's answers:
other conditions next to the $in, ids that are missing or listed twice, more ids than
SQLite's 32,766 bound parameters, an empty list, and ids whose JSON form needs escapes."""

from __future__ import annotations

import random
from typing import Any

import pytest
from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from tests.integration.ferretdb.helpers import Document, answered

pytestmark = pytest.mark.integration


PLAIN = [f"c{i:04d}" for i in range(900)]
OBJECT_IDS = [ObjectId() for _ in range(50)]
# Strings whose JSON text has escapes or other non-ASCII forms: the narrowing compares
# JSON texts, so a mismatch in how they are written would lose these documents.
ESCAPED = ["a<b&c>", "é中文", 'quo"te\\slash', "line\nbreak", "sep\u2028x", "emoji😀", "", " "]
SQLITE_MAX_VARIABLE_NUMBER = 32_766


def doc(i: int, _id: Any) -> Document:
    return {"_id": _id, "n": i, "kind": "even" if i % 2 == 0 else "odd"}


@pytest.fixture
async def coll(db: AsyncDatabase[Document]) -> AsyncCollection[Document]:
    everything = [*PLAIN, *OBJECT_IDS, *ESCAPED, 5]  # 5: a number, also stored as "5"
    await db["docs"].insert_many([doc(i, _id) for i, _id in enumerate([*everything, "5"])])
    return db["docs"]


async def found(coll: AsyncCollection[Document], query: Document) -> list[Document]:
    """The documents ``query`` finds, in a stable order (ids of several types)."""
    docs = await answered(coll.find(query).to_list(), f"find {str(query)[:80]}")
    return sorted(docs, key=lambda d: d["n"])


async def stored(coll: AsyncCollection[Document], ids: list[Any]) -> list[Document]:
    """The documents with these ids, read one by one (the expected answer)."""
    docs = [await coll.find_one({"_id": i}) for i in dict.fromkeys(ids)]
    return sorted((d for d in docs if d is not None), key=lambda d: d["n"])


async def test_finds_exactly_the_listed_documents_of_every_id_type(
    coll: AsyncCollection[Document],
) -> None:
    ids = [*random.Random(1).sample(PLAIN, 200), *OBJECT_IDS[:10], *ESCAPED]
    random.Random(2).shuffle(ids)

    result = await found(coll, {"_id": {"$in": ids}})

    assert len(result) == len(ids)
    assert result == await stored(coll, ids)


async def test_other_conditions_next_to_the_in_list_still_apply(
    coll: AsyncCollection[Document],
) -> None:
    ids = PLAIN[:300]
    odd_ones = [d["_id"] for d in await stored(coll, ids) if d["kind"] == "odd"]

    odd = await found(coll, {"_id": {"$in": ids}, "kind": "odd"})
    assert [d["_id"] for d in odd] == odd_ones
    not_first = await found(coll, {"_id": {"$in": ids, "$nin": PLAIN[:100]}})
    assert [d["n"] for d in not_first] == list(range(100, 300))
    either_end = {"_id": {"$in": ids}, "$or": [{"n": {"$lt": 5}}, {"n": {"$gte": 295}}]}
    assert [d["n"] for d in await found(coll, either_end)] == [0, 1, 2, 3, 4, *range(295, 300)]
    assert await found(coll, {"_id": {"$in": ids}, "n": {"$gte": 300}}) == []


async def test_missing_and_repeated_ids_give_each_stored_document_once(
    coll: AsyncCollection[Document],
) -> None:
    present = [PLAIN[7], OBJECT_IDS[3], ESCAPED[1]]
    ids = [*present, "absent", ObjectId(), *present, PLAIN[7]]

    result = await found(coll, {"_id": {"$in": ids}})

    assert [d["_id"] for d in result] == [PLAIN[7], OBJECT_IDS[3], ESCAPED[1]]
    assert await found(coll, {"_id": {"$in": ["absent", ObjectId()]}}) == []


async def test_more_ids_than_sqlite_binds_parameters(coll: AsyncCollection[Document]) -> None:
    present = PLAIN[::45]  # 20 of them
    ids = [f"absent{i}" for i in range(SQLITE_MAX_VARIABLE_NUMBER + 1000)] + present

    result = await found(coll, {"_id": {"$in": ids}})

    assert [d["_id"] for d in result] == present


async def test_an_empty_list_matches_nothing(coll: AsyncCollection[Document]) -> None:
    assert await found(coll, {"_id": {"$in": []}}) == []
    assert await found(coll, {"_id": {"$in": []}, "kind": "odd"}) == []
    assert await coll.count_documents({"_id": {"$in": []}}) == 0


async def test_a_list_with_numbers_matches_across_number_types(
    coll: AsyncCollection[Document],
) -> None:
    # Not narrowed in SQLite (5.0 equals the stored 5 only by value, not by its JSON
    # text), so the answer comes from the full filter; the string "5" is no match.
    result = await found(coll, {"_id": {"$in": [5.0, PLAIN[1]]}})

    assert [d["_id"] for d in result] == [PLAIN[1], 5]
    assert [d["_id"] for d in await found(coll, {"_id": {"$in": ["5"]}})] == ["5"]


async def test_count_and_delete_by_id_list_touch_exactly_the_listed_documents(
    coll: AsyncCollection[Document],
) -> None:
    ids = [*PLAIN[100:150], *OBJECT_IDS[:5], "absent"]

    assert await coll.count_documents({"_id": {"$in": ids}, "kind": "even"}) == 28
    deleted = await answered(coll.delete_many({"_id": {"$in": ids}}), "delete_many $in")

    assert deleted.deleted_count == 55
    assert await coll.count_documents({}) == len(PLAIN) + len(OBJECT_IDS) + len(ESCAPED) + 2 - 55
    assert await coll.count_documents({"_id": {"$in": ids}}) == 0


async def test_a_string_or_object_id_list_is_read_through_the_id_index(
    db: AsyncDatabase[Document], coll: AsyncCollection[Document]
) -> None:
    """What keeps reading a batch by _id from costing a scan of the whole collection."""
    for ids in ([PLAIN[1], OBJECT_IDS[0]], []):
        plan = await db.command("explain", {"find": coll.name, "filter": {"_id": {"$in": ids}}})
        assert plan["filterPushdown"] is True
        assert any("USING INDEX" in step for step in plan["queryPlanner"]["Plan"]), plan
    # With a number in the list it is not narrowed: the plan scans.
    plan = await db.command("explain", {"find": coll.name, "filter": {"_id": {"$in": [5]}}})
    assert plan["filterPushdown"] is False
