"""Who is told of a hot spot, resolved against the directory the way routing resolves
a complaint's lead: first the community, then the category's lead, and for a
recurring hot spot the coordination desk (督辦). Nobody is listed twice."""

from __future__ import annotations

from services.hotspots.changes import Hotspot
from services.routing.assign import assignee, resolve_kind
from services.routing.policy import CategoryPolicy
from shared.directory import Compound, Directory
from shared.events import Assignee, HotspotKind


def recipients(hotspot: Hotspot, category: CategoryPolicy, directory: Directory) -> list[Assignee]:
    """The responders to alert for ``hotspot`` of ``category``.

    The lead is resolved for each compound in the hot spot (a community hot spot tells
    the firm of each compound, or one city-wide agency). A compound the directory does
    not know is the city dispatch desk's, as in routing: the desk stands in for its
    community and for a firm or committee it may have."""
    compounds = [_compound(c, directory) for c in hotspot.compound_ids]
    ids = [c.community for c in compounds]
    for compound in compounds:
        ids.append(resolve_kind(category.lead, compound, directory) or compound.community)
    if hotspot.kind == HotspotKind.RECURRING:
        ids.append(directory.coordination_responder)
    return [assignee(directory.responder(i)) for i in dict.fromkeys(ids)]


def _compound(compound_id: str, directory: Directory) -> Compound:
    known = directory.compound(compound_id)
    if known is not None:
        return known
    return Compound(id=compound_id, name=compound_id, community=directory.fallback_responder)
