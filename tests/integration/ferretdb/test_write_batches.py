"""Large unordered write batches behave as on MongoDB: every statement is applied or
reported, in one command each.

The services decide races in bulk: one ``insert_many`` of claim documents, where each
duplicate-key error names a loser and the rest are inserted. FerretDB inserts in groups
of 100 in one SQLite transaction and retries a failed group document by document, so
1,000 documents with duplicates spread over several groups cover both paths."""

from __future__ import annotations

import pytest
from pymongo import DeleteOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from tests.integration.ferretdb.helpers import Document, SentCommands, answered

pytestmark = pytest.mark.integration

DUPLICATE_KEY = 11000


async def test_bulk_write_of_250_delete_one_deletes_each_matching_document(
    db: AsyncDatabase[Document], sent: SentCommands
) -> None:
    coll = db["docs"]
    await coll.insert_many([{"_id": f"d{i:03d}", "v": i % 3} for i in range(300)])
    # 250 statements: ids 0..249, of which those with v == 2 do not match the condition,
    # plus ids that do not exist at all.
    deletes = [DeleteOne({"_id": f"d{i:03d}", "v": {"$ne": 2}}) for i in range(240)]
    deletes += [DeleteOne({"_id": f"absent{i}"}) for i in range(10)]
    sent.names.clear()

    result = await answered(coll.bulk_write(deletes, ordered=False), "250 DeleteOne")

    assert sent.names == ["delete"]
    assert result.deleted_count == 160
    left = {d["_id"] async for d in coll.find({})}
    expected = {f"d{i:03d}" for i in range(300) if i >= 240 or i % 3 == 2}
    assert left == expected


async def test_insert_many_of_1000_with_duplicate_ids_names_each_loser_and_inserts_the_rest(
    db: AsyncDatabase[Document], sent: SentCommands
) -> None:
    coll = db["claims"]
    await coll.insert_many([{"_id": f"k{i:04d}", "owner": "earlier"} for i in range(0, 1000, 97)])
    # Each id is claimed by the document at its first position; repeats come later in
    # the same batch (some in the same group of 100, some in another), and ids that
    # were already stored lose against the stored document.
    batch = [{"_id": f"k{i:04d}", "owner": f"pos{i}"} for i in range(950)]
    repeats = {950 + j: f"k{(j * 37) % 950:04d}" for j in range(50)}
    batch += [{"_id": _id, "owner": f"pos{pos}"} for pos, _id in repeats.items()]
    stored_before = {f"k{i:04d}" for i in range(0, 1000, 97)}
    losers = sorted(
        [i for i in range(950) if f"k{i:04d}" in stored_before]
        + [pos for pos, _id in repeats.items()]
    )
    sent.names.clear()

    with pytest.raises(BulkWriteError) as caught:
        await answered(coll.insert_many(batch, ordered=False), "insert_many of 1,000")

    assert sent.names == ["insert"]
    details = caught.value.details
    assert [e["index"] for e in details["writeErrors"]] == losers
    assert {e["code"] for e in details["writeErrors"]} == {DUPLICATE_KEY}
    assert details["nInserted"] == len(batch) - len(losers)
    owners = {d["_id"]: d["owner"] async for d in coll.find({})}
    assert len(owners) == 950 + len(stored_before - {f"k{i:04d}" for i in range(950)})
    for i in range(950):
        expected = "earlier" if f"k{i:04d}" in stored_before else f"pos{i}"
        assert owners[f"k{i:04d}"] == expected, i
