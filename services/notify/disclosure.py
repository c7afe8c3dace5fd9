"""What a responder may learn about the reporter (the product's privacy rule; pure).

Agencies whose directory entry allows contact details see the name and full phone:
only for them is the sealed contact opened. Everyone else (property firms, committees)
sees the masked phone the event carries, and no name when the reporter asked for that
or when the complaint is about the firm itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.events import Reporter, SealedReporter

ABOUT_THE_FIRM = frozenset({"property_inaction", "property_fees"})


@dataclass(frozen=True)
class ReporterView:
    name: str | None
    phone: str | None
    withheld: bool
    """True when something was masked or left out, so the message can say so."""


def reporter_view(
    reporter: SealedReporter | None,
    *,
    contact_details: bool,
    category: str,
    open_contact: Callable[[SealedReporter], Reporter | None],
) -> ReporterView:
    """``open_contact`` is called only when the policy discloses the contact; when it
    gives nothing (no contact sealed, or it does not open) the masked view is shown."""
    if reporter is None:
        return ReporterView(name=None, phone=None, withheld=False)
    if contact_details:
        opened = open_contact(reporter)
        if opened is not None:
            return ReporterView(name=opened.name, phone=opened.phone, withheld=False)
    hide_name = reporter.hide_identity or category in ABOUT_THE_FIRM
    return ReporterView(
        name=None if hide_name else reporter.name,
        phone=reporter.masked_phone,
        # A sealed contact with no phone holds a name, which is then left out.
        withheld=reporter.masked_phone is not None or (hide_name and reporter.contact is not None),
    )
