"""MongoDB client factory (PyMongo's native async API; runs on MongoDB and FerretDB)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.settings import MongoSettings

Document = dict[str, Any]


def now_ms() -> datetime:
    """The current time at MongoDB's precision (milliseconds), so that a stored time reads
    back equal to the one kept in memory."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def make_mongo_client(settings: MongoSettings) -> AsyncMongoClient[Document]:
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
    )


def database(
    client: AsyncMongoClient[Document], settings: MongoSettings
) -> AsyncDatabase[Document]:
    return client[settings.database]
