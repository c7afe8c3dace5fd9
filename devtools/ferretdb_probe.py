"""Time the FerretDB commands that the build patches (deploy/local/ferretdb/) change.

    python -m devtools.ferretdb_probe --url mongodb://127.0.0.1:27017/

Not a test: it prints figures, for comparing two builds on the same machine. It fills a
throwaway database with ``--documents`` documents of about 1 KB, then times

- ``find({_id: {$in: <200 ids>}})`` (patch 04 reads them through the _id index; before,
  the whole collection was scanned and decoded), next to 200 ``find_one`` by _id;
- one ``bulk_write`` of 250 ``UpdateOne`` on existing documents (before patch 03, any
  such command of 100 or more never answered), and the same count as upserts of which
  half insert;

and drops the database again. A command that does not answer within ``--timeout``
seconds is reported as such instead of hanging the run."""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from pymongo import MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import NetworkTimeout

Document = dict[str, Any]


def timed(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` runs in ms, and the last run's result."""
    times: list[float] = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def fill(coll: Collection[Document], count: int) -> list[str]:
    ids = [f"c{i:06d}" for i in range(count)]
    pad = "x" * 1000
    for start in range(0, count, 1000):
        coll.insert_many(
            [{"_id": i, "n": 0, "pad": pad} for i in ids[start : start + 1000]], ordered=False
        )
    return ids


def probe(url: str, documents: int, repeat: int, timeout: float) -> None:
    client: MongoClient[Document] = MongoClient(url, socketTimeoutMS=int(timeout * 1000))
    db = client[f"probe_{uuid.uuid4().hex[:10]}"]
    try:
        coll = db["docs"]
        start = time.perf_counter()
        ids = fill(coll, documents)
        print(f"filled {documents} documents of ~1 KB in {time.perf_counter() - start:.1f} s")
        wanted = random.Random(13).sample(ids, 200)

        ms, found = timed(lambda: list(coll.find({"_id": {"$in": wanted}})), repeat)
        assert isinstance(found, list)
        print(f"find $in 200 ids: {ms:.1f} ms (median of {repeat}), {len(found)} documents")
        ms, _ = timed(lambda: [coll.find_one({"_id": i}) for i in wanted], repeat)
        print(f"200 find_one by _id: {ms:.1f} ms (median of {repeat})")

        updates = [UpdateOne({"_id": i}, {"$inc": {"n": 1}}) for i in ids[:250]]
        report("bulk_write 250 UpdateOne (existing)", lambda: coll.bulk_write(updates), 250)
        upserts = [
            UpdateOne({"_id": i}, {"$set": {"n": 2}}, upsert=True)
            for i in ids[250:375] + [f"new{i:06d}" for i in range(125)]
        ]
        report("bulk_write 250 upserts (half new)", lambda: coll.bulk_write(upserts), 250)
    finally:
        client.drop_database(db.name)
        client.close()


def report(label: str, action: Callable[[], object], statements: int) -> None:
    start = time.perf_counter()
    try:
        action()
    except NetworkTimeout:
        print(f"{label}: no answer within {time.perf_counter() - start:.0f} s")
        return
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds * 1000:.0f} ms, {statements / seconds:,.0f} statements/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="MongoDB URL of the FerretDB to probe")
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per command")
    args = parser.parse_args()
    if args.documents < 400:
        parser.error("--documents must be at least 400 (the probe updates 375 of them)")
    probe(args.url, args.documents, args.repeat, args.timeout)


if __name__ == "__main__":
    main()
