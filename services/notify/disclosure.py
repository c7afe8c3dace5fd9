"""What a responder may learn about the reporter (the product's privacy rule; pure).

Agencies whose directory entry allows contact details see the name and full phone.
Everyone else (property firms, committees) sees a masked phone, and no name when the
reporter asked for that or when the complaint is about the firm itself."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events import Reporter
from shared.privacy import mask_phone

ABOUT_THE_FIRM = frozenset({"property_inaction", "property_fees"})


@dataclass(frozen=True)
class ReporterView:
    name: str | None
    phone: str | None
    withheld: bool
    """True when something was masked or left out, so the message can say so."""


def reporter_view(
    reporter: Reporter | None, *, contact_details: bool, category: str
) -> ReporterView:
    if reporter is None:
        return ReporterView(name=None, phone=None, withheld=False)
    if contact_details:
        return ReporterView(name=reporter.name, phone=reporter.phone, withheld=False)
    hide_name = reporter.hide_identity or category in ABOUT_THE_FIRM
    return ReporterView(
        name=None if hide_name else reporter.name,
        phone=mask_phone(reporter.phone) if reporter.phone else None,
        withheld=reporter.phone is not None or (hide_name and reporter.name is not None),
    )
