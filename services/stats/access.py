"""Who may read what on stats' HTTP API.

- An operator's key (scope ``read`` or ``admin``) reads every complaint and the figures.
- A responder's key (``update:<responder id>``) reads the complaints assigned to that
  responder (lead, support, or lead before a return), with the reporter shown as the
  privacy policy allows a responder of its kind.
- A resident's tracking token (given by intake with the complaint id) opens that one
  complaint, masked.
- The figures answer without a key when the deployment makes them public
  (``GONGZHI_PUBLIC_FIGURES``); no complaint's details ever do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security

from shared.auth import ApiKey, responders_of, tracking_token_opens
from shared.directory import Directory
from shared.http_auth import optional_key, tracking_token, unauthenticated
from shared.http_errors import ApiError

ABOUT_THE_FIRM = frozenset({"property_inaction", "property_fees"})


@dataclass(frozen=True)
class Reader:
    """Who is asking: a key's holder, or a resident with a token."""

    key: ApiKey | None = None
    token: str | None = None

    @property
    def operator(self) -> bool:
        return self.key is not None and responders_of(self.key) is None

    @property
    def responders(self) -> set[str]:
        found = responders_of(self.key) if self.key is not None else set()
        return found or set()


async def reader(
    key: Annotated[ApiKey | None, Security(optional_key)],
    tracking: Annotated[str | None, Security(tracking_token)],
) -> Reader:
    """The caller, or 401 when it names none."""
    if key is None and tracking is None:
        raise unauthenticated(
            "missing_credentials",
            "needs an API key (Authorization: Bearer <key>) or a tracking token",
        )
    return Reader(key=key, token=tracking)


async def figures_reader(
    request: Request, key: Annotated[ApiKey | None, Security(optional_key)]
) -> None:
    """The figures: open when the deployment made them public, else an operator's key."""
    if request.app.state.settings.figures_are_public:
        return
    if key is None:
        raise unauthenticated(
            "missing_credentials",
            "needs an API key with the read scope (Authorization: Bearer <key>)",
        )
    if responders_of(key) is not None:
        raise ApiError(403, "forbidden", "the figures need a key with the read scope")


ReaderOf = Annotated[Reader, Depends(reader)]
FiguresReader = Annotated[None, Depends(figures_reader)]


def may_read(reader: Reader, complaint_id: str, view: dict[str, Any], secret: str) -> bool:
    if reader.key is not None:
        if reader.operator:
            return True
        assigned = {view["lead"]["responder_id"]} if view.get("lead") else set()
        assigned |= {s["responder_id"] for s in view.get("support") or []}
        assigned |= set(view.get("past_leads") or [])
        return bool(reader.responders & assigned)
    return reader.token is not None and tracking_token_opens(secret, complaint_id, reader.token)


def as_seen_by(reader: Reader, view: dict[str, Any], directory: Directory) -> dict[str, Any]:
    """The view with the reporter as the policy lets this reader see it (the phone is
    always masked here; a firm or committee also loses the name when the complaint is
    about the firm)."""
    if reader.operator or reader.key is None or not view.get("reporter"):
        return view
    responders = [directory.responders_by_id.get(r) for r in reader.responders]
    may_see_names = all(r is not None and r.contact_details for r in responders)
    if view.get("category") in ABOUT_THE_FIRM and not may_see_names:
        return view | {"reporter": {**view["reporter"], "name": None}}
    return view
