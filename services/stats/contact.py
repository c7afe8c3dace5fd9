"""The callback desk's door to a reporter's contact: ``POST /v1/complaints/{id}/contact``.

Stats keeps each complaint's contact as intake sealed it. Opening one needs a key with
the dedicated ``contact`` scope (``admin`` does not imply it: every opening should be
made by a key named for the desk that calls back) and a reason. Each opening is written
to ``stats_contact_openings`` (who: the key's name, when, which complaint, why) before
the contact is answered, and logged without the contact: no opening goes unrecorded."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Security
from pydantic import BaseModel, ConfigDict, StringConstraints
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.stats.store import StatsStore
from shared.auth import ApiKey
from shared.events import VISIBLE, SealedContact
from shared.http_auth import identify, presented_key, unauthenticated
from shared.http_errors import ApiError, documented
from shared.mongo import Document, now_ms
from shared.sealing import ContactKeyRing, SealError

CONTACT_SCOPE = "contact"
OPENINGS = "stats_contact_openings"

log = logging.getLogger(__name__)
router = APIRouter()


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            min_length=3,
            max_length=500,
            # Three characters once stripped, as the published schema must say: a
            # minLength alone counts the spaces that stripping removes.
            pattern=rf"{VISIBLE}[\s\S]+{VISIBLE}",
        ),
    ]
    """Why the desk needs the contact (a callback about a rating, a question...)."""


class ReporterContact(BaseModel):
    complaint_id: str
    name: str | None
    phone: str | None
    hide_identity: bool
    opening_id: str
    """The audit record of this opening."""


async def contact_key(
    request: Request, raw_key: Annotated[str | None, Security(presented_key)]
) -> ApiKey:
    """The caller's key: 401 without a known one, 403 without the ``contact`` scope."""
    if raw_key is None:
        raise unauthenticated(
            "missing_credentials", "needs an API key with the contact scope (Bearer <key>)"
        )
    key = identify(request, raw_key)
    if CONTACT_SCOPE not in key.scopes:
        raise ApiError(
            403, "forbidden", "opening a reporter's contact needs a key with the contact scope"
        )
    return key


@router.post(
    "/v1/complaints/{complaint_id}/contact",
    tags=["complaints"],
    summary="Open a reporter's contact (the callback desk; audited)",
    responses=documented(
        400,
        401,
        422,
        s403="The key has no `contact` scope (`forbidden`; `admin` does not imply it).",
        s404="No such complaint, or it holds no reporter contact (`not_found`).",
        s503="The contact's seal key is not in this deployment's ring (`unavailable`).",
    ),
)
async def open_contact(
    complaint_id: str,
    body: ContactRequest,
    request: Request,
    key: Annotated[ApiKey, Depends(contact_key)],
) -> ReporterContact:
    """The reporter's name and full phone, for the callback desk; each opening audited."""
    store: StatsStore = request.app.state.store
    found = await store.complaint(complaint_id)
    if found is None:
        raise ApiError(404, "not_found", "unknown complaint", field="complaint_id", location="path")
    state = found[0]
    if state.contact is None:
        raise ApiError(404, "not_found", "the complaint holds no reporter contact")
    sealed = SealedContact.model_validate(state.contact)
    contacts: ContactKeyRing = request.app.state.contacts
    try:
        reporter = contacts.open(complaint_id, sealed)
    except SealError as exc:
        log.error(
            "a stored contact does not open",
            extra={"complaint_id": complaint_id, "key_id": sealed.key_id, "error": str(exc)},
        )
        raise ApiError(
            503, "unavailable", "the contact cannot be opened with this deployment's keys"
        ) from None
    audit: ContactAudit = request.app.state.contact_audit
    opening_id = await audit.record(
        complaint_id=complaint_id, key_name=key.name, reason=body.reason, seal_key_id=sealed.key_id
    )
    log.info(
        "reporter contact opened",
        extra={
            "complaint_id": complaint_id,
            "key_name": key.name,
            "reason": body.reason,
            "opening_id": opening_id,
        },
    )
    hidden = bool((state.reporter or {}).get("hide_identity"))
    return ReporterContact(
        complaint_id=complaint_id,
        name=reporter.name,
        phone=reporter.phone,
        hide_identity=hidden,
        opening_id=opening_id,
    )


class ContactAudit:
    """``stats_contact_openings``: one document per opening, never updated."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.openings: AsyncCollection[Document] = db[OPENINGS]

    async def record(
        self, *, complaint_id: str, key_name: str, reason: str, seal_key_id: str
    ) -> str:
        opening_id = str(uuid.uuid4())
        await self.openings.insert_one(
            {
                "_id": opening_id,
                "complaint_id": complaint_id,
                "key_name": key_name,
                "reason": reason,
                "seal_key_id": seal_key_id,
                "at": now_ms(),
            }
        )
        return opening_id

    async def of(self, complaint_id: str) -> list[dict[str, Any]]:
        return [d async for d in self.openings.find({"complaint_id": complaint_id})]


def mount(app: FastAPI, db: AsyncDatabase[Document], contacts: ContactKeyRing) -> None:
    """Adds the contact door to stats' app (its key ring is on ``app.state.keys``)."""
    app.state.contacts = contacts
    app.state.contact_audit = ContactAudit(db)
    app.include_router(router)
