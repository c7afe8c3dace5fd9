"""The privacy rule: who sees the reporter's name and phone."""

from __future__ import annotations

import pytest

from services.notify.disclosure import ReporterView, reporter_view
from shared.events import Reporter, SealedReporter
from tests.unit.notify.builders import CONTACTS, MASKED, PHONE

OPEN = CONTACTS.sealed_reporter("c-1", Reporter(name="張女士", phone=PHONE, hide_identity=False))
HIDDEN = CONTACTS.sealed_reporter("c-1", Reporter(name="張女士", phone=PHONE, hide_identity=True))


class Opener:
    """Opens the sealed contact as notify does, and remembers whether it was asked to."""

    def __init__(self) -> None:
        self.opened = 0

    def __call__(self, reporter: SealedReporter) -> Reporter | None:
        self.opened += 1
        return CONTACTS.open_reporter("c-1", reporter)


def reporter_view_of(
    reporter: SealedReporter | None, *, contact_details: bool, category: str
) -> tuple[ReporterView, int]:
    opener = Opener()
    view = reporter_view(
        reporter, contact_details=contact_details, category=category, open_contact=opener
    )
    return view, opener.opened


def test_agency_sees_full_phone_and_name_even_when_hidden() -> None:
    view, opened = reporter_view_of(HIDDEN, contact_details=True, category="flying_wire_charging")
    assert (view.name, view.phone, view.withheld) == ("張女士", PHONE, False)
    assert opened == 1


def test_firm_sees_masked_phone_but_name_when_not_hidden() -> None:
    view, opened = reporter_view_of(OPEN, contact_details=False, category="sanitation")
    assert (view.name, view.phone, view.withheld) == ("張女士", MASKED, True)
    assert opened == 0  # the sealed contact is opened only where the policy discloses it


def test_firm_sees_no_name_when_reporter_asked_to_hide() -> None:
    view, opened = reporter_view_of(HIDDEN, contact_details=False, category="sanitation")
    assert (view.name, view.phone, view.withheld) == (None, MASKED, True)
    assert opened == 0


@pytest.mark.parametrize("category", ["property_inaction", "property_fees"])
def test_complaint_about_the_firm_hides_name_from_firms_and_committees(category: str) -> None:
    view, opened = reporter_view_of(OPEN, contact_details=False, category=category)
    assert (view.name, view.phone) == (None, MASKED)
    assert opened == 0


def test_no_reporter_means_nothing_to_show() -> None:
    view, _ = reporter_view_of(None, contact_details=False, category="sanitation")
    assert (view.name, view.phone, view.withheld) == (None, None, False)


def test_an_agency_sees_the_masked_view_when_the_contact_does_not_open() -> None:
    view = reporter_view(
        HIDDEN, contact_details=True, category="sanitation", open_contact=lambda _: None
    )
    assert (view.name, view.phone, view.withheld) == (None, MASKED, True)
