"""The FerretDB tests' database: a fresh one per test on the real MongoDB-protocol
server, through a client that records the commands it sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.settings import MongoSettings
from tests.integration.ferretdb.helpers import Document, SentCommands


@pytest.fixture
def sent() -> SentCommands:
    return SentCommands()


@pytest.fixture
async def db(
    mongo_settings: MongoSettings, sent: SentCommands
) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_settings.url.get_secret_value(), event_listeners=[sent]
    )
    try:
        yield client[mongo_settings.database]
        await client.drop_database(mongo_settings.database)
    finally:
        await client.close()
