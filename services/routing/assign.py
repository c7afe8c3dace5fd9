"""Who acts on a complaint: the policy's lead and support kinds resolved against the
complaint's compound in the directory."""

from __future__ import annotations

from dataclasses import dataclass

from services.routing.policy import CategoryPolicy
from shared.directory import COMPOUND_COMMUNITY, Compound, Directory, Responder
from shared.events import Assignee, ResponderKind

_CITY_WIDE = frozenset(
    {
        ResponderKind.HOUSING,
        ResponderKind.PLANNING,
        ResponderKind.URBAN_MANAGEMENT,
        ResponderKind.FIRE,
        ResponderKind.PROPERTY_PARTY_COMMITTEE,
    }
)


@dataclass(frozen=True)
class Assignment:
    lead: Assignee
    support: tuple[Assignee, ...] = ()
    unknown_compound: bool = False


def assignee(responder: Responder) -> Assignee:
    return Assignee(responder_id=responder.id, kind=responder.kind)


def resolve_kind(kind: ResponderKind, compound: Compound, directory: Directory) -> str | None:
    """The responder id that stands for ``kind`` in ``compound``, or None.

    A compound with no firm has its committee take the firm's place, and with no
    committee either its community; a missing committee falls back to the community."""
    if kind == ResponderKind.PROPERTY_FIRM:
        return compound.property_firm or compound.committee or compound.community
    if kind == ResponderKind.COMMITTEE:
        return compound.committee or compound.community
    if kind in (ResponderKind.COMMUNITY, ResponderKind.COMMUNITY_PARTY):
        return compound.community
    if kind in _CITY_WIDE:
        agency = directory.agency(kind)
        return agency.id if agency else None
    return None


def assign(category: CategoryPolicy, compound_id: str, directory: Directory) -> Assignment:
    compound = directory.compound(compound_id)
    if compound is None:
        # Not dropped: the city's dispatch desk finds out where it belongs.
        fallback = directory.responder(directory.fallback_responder)
        return Assignment(lead=assignee(fallback), unknown_compound=True)
    lead_id = resolve_kind(category.lead, compound, directory) or compound.community
    seen = {lead_id}
    support: list[Assignee] = []
    for kind in category.support:
        responder_id = resolve_kind(kind, compound, directory)
        if responder_id is None or responder_id in seen:
            continue
        seen.add(responder_id)
        support.append(assignee(directory.responder(responder_id)))
    return Assignment(lead=assignee(directory.responder(lead_id)), support=tuple(support))


def expand(targets: list[str], compound_id: str, directory: Directory) -> list[str]:
    """Directory references (``escalates_to``/``returns_to``) as responder ids, with
    ``@community`` replaced by the compound's community (dropped if it is unknown)."""
    compound = directory.compound(compound_id)
    ids: list[str] = []
    for target in targets:
        if target == COMPOUND_COMMUNITY:
            if compound is None:
                continue
            target = compound.community
        if target not in ids:
            ids.append(target)
    return ids
