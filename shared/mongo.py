"""MongoDB client factory and the bulk operations every store uses (PyMongo's native
async API; runs on MongoDB and on FerretDB v1).

FerretDB v1 shapes these helpers: its only atomic write is a unique ``_id`` insert, it
applies updates document by document, and it filters by anything but ``_id`` by
decoding the whole collection. So stores write in bulk, prefer inserts, and read by
``_id`` (the local build pushes ``_id: {$in: [...]}`` down to its index)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import bson
from bson.binary import Binary
from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)
from pymongo.operations import DeleteOne, ReplaceOne, UpdateOne

from shared.metrics import DB_COMMANDS
from shared.settings import MongoSettings

Document = dict[str, Any]
WriteOp = UpdateOne | ReplaceOne[Document] | DeleteOne

STATEMENTS_PER_COMMAND = 99
"""Unpatched FerretDB v1 never answers an update command of 100 or more statements
that match existing documents (each statement holds one of its 100 SQLite
connections until the command ends); the local build fixes that, and staying below
it keeps the services safe on any FerretDB v1."""
IDS_PER_READ = 500
DUPLICATE_KEY = 11000


PACKED_CODEC: CodecOptions[Document] = CodecOptions(tz_aware=True)
"""How packed values read back: as the client reads documents (aware UTC times)."""


def packed(value: Mapping[str, Any]) -> Binary:
    """A nested document stored as one BSON binary value.

    FerretDB v1 stores a type schema beside every field of a document, more than half
    of the bytes of a nested one, and marshals, parses and rewrites them field by field
    on every insert and read: a routing state of 3 KB took 6 KB, and stored documents
    were most of FerretDB's CPU (pprof). A nested value that is only ever read whole
    is stored packed instead, and keeps its types (times stay BSON times)."""
    return Binary(bson.encode(value, codec_options=PACKED_CODEC))


def unpacked(value: Any) -> Document:
    """A nested document as ``packed`` stored it, or as a plain sub-document (written
    before values were packed: both read alike, so an upgrade needs no migration)."""
    if isinstance(value, bytes):
        return bson.decode(value, codec_options=PACKED_CODEC)
    return dict(value or {})


PACKED_FIELD = "packed"


def packed_document(document: Mapping[str, Any], keep: Collection[str] = ("_id",)) -> Document:
    """A document as stored with its fields packed (see ``packed``), but for those in
    ``keep``: the ones queried, which stay plain."""
    rest = {key: value for key, value in document.items() if key not in keep}
    return {key: document[key] for key in keep if key in document} | {PACKED_FIELD: packed(rest)}


def unpacked_document(stored: Mapping[str, Any]) -> Document:
    """A document as ``packed_document`` stored it, or as it was stored whole."""
    document = {key: value for key, value in stored.items() if key != PACKED_FIELD}
    if PACKED_FIELD in stored:
        document |= unpacked(stored[PACKED_FIELD])
    return document


def now_ms() -> datetime:
    """The current time at MongoDB's precision (milliseconds), so that a stored time reads
    back equal to the one kept in memory."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class _CommandCounter(CommandListener):
    """Counts every command a service sends: the cost the batch design is judged by."""

    def __init__(self, service: str) -> None:
        self.service = service

    def started(self, event: CommandStartedEvent) -> None:
        DB_COMMANDS.labels(self.service, event.command_name).inc()

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


def make_mongo_client(settings: MongoSettings, service: str) -> AsyncMongoClient[Document]:
    """A client that fails fast when the server is away, so handlers retry instead of hang.

    Credentials given apart from the URL are passed as they are: no percent-encoding, so
    a password may hold ``/``, ``@`` or ``:``."""
    credentials: dict[str, Any] = {}
    if settings.username is not None and settings.password is not None:
        credentials = {
            "username": settings.username,
            "password": settings.password.get_secret_value(),
        }
    return AsyncMongoClient(
        settings.url.get_secret_value(),
        **credentials,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=3000,
        tz_aware=True,
        # FerretDB v1 has no retryable writes; our writes are idempotent anyway.
        retryWrites=False,
        event_listeners=[_CommandCounter(service)],
    )


def database(
    client: AsyncMongoClient[Document], settings: MongoSettings
) -> AsyncDatabase[Document]:
    return client[settings.database]


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def insert_new(
    collection: AsyncCollection[Document], documents: Sequence[Document]
) -> set[Any]:
    """Insert every document whose ``_id`` is new; the ``_id``s that were already there.

    One command (the server groups the documents itself). A duplicate key is how a
    redelivered or racing write shows itself, so it is an answer, not an error."""
    if not documents:
        return set()
    try:
        await collection.insert_many(list(documents), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        return {documents[error["index"]]["_id"] for error in errors}
    return set()


async def read_by_ids(
    collection: AsyncCollection[Document],
    ids: Iterable[Any],
    projection: Mapping[str, Any] | None = None,
) -> dict[Any, Document]:
    """The documents with these ``_id``s, one command per few hundred ids."""
    wanted = sorted(set(ids))
    found: dict[Any, Document] = {}
    for part in chunks(wanted, IDS_PER_READ):
        async for document in collection.find({"_id": {"$in": list(part)}}, projection):
            found[document["_id"]] = document
    return found


async def write_all(collection: AsyncCollection[Document], operations: Sequence[WriteOp]) -> None:
    """Apply unordered bulk writes in commands below FerretDB's statement limit."""
    for part in chunks(operations, STATEMENTS_PER_COMMAND):
        await collection.bulk_write(list(part), ordered=False)
