"""The body of ``POST /v1/complaints/{id}/updates``: one shape per update type, so the
OpenAPI document says what each needs (a discriminated union on ``type``).

What the schema says (and intake refuses with 422 before routing sees it):
- ``rating`` only with ``rated``, and ``rated`` needs one;
- ``returned`` needs a reason in ``note``.

What it cannot say, because it depends on the complaint and the directory, routing
decides (403 or 409, see the operation's description). The topic's contract stays
``shared.events.ComplaintUpdateRequest``: what routing applies, from HTTP or Kafka."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.events import VISIBLE, Message, Note, Rating, ShortText, UpdateType

Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=VISIBLE)
]


class _Update(Message):
    actor_id: ShortText = Field(
        description="The responder acting (its directory id), or `resident` for a rating."
    )
    note: Note | None = None


class Acknowledged(_Update):
    """The lead takes the complaint."""

    type: Literal["acknowledged"]


class InProgress(_Update):
    """Work has started (the lead, or a supporting responder for its part)."""

    type: Literal["in_progress"]


class Resolved(_Update):
    """The lead says the problem is solved; the resident is asked for a rating."""

    type: Literal["resolved"]


class Returned(_Update):
    """The lead says the complaint is not its to handle; it goes to the next responder."""

    type: Literal["returned"]
    note: Reason = Field(description="Why the complaint is returned (required).")


class Rated(_Update):
    """The resident's rating (or a callback desk's, on their behalf)."""

    type: Literal["rated"]
    rating: Rating


class Unlinked(_Update):
    """Undo a duplicate link: the complaint is routed on its own."""

    type: Literal["unlinked"]


UpdateBody = Annotated[
    Acknowledged | InProgress | Resolved | Returned | Rated | Unlinked,
    Field(discriminator="type"),
]
UPDATE_TAGS = frozenset(t.value for t in UpdateType)
"""The union's tags, which Pydantic puts in an error's location before the field."""
