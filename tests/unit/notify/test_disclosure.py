"""The privacy rule: who sees the reporter's name and phone."""

from __future__ import annotations

import pytest

from services.notify.disclosure import reporter_view
from shared.events import Reporter
from tests.unit.notify.builders import MASKED, PHONE

OPEN = Reporter(name="張女士", phone=PHONE, hide_identity=False)
HIDDEN = Reporter(name="張女士", phone=PHONE, hide_identity=True)


def test_agency_sees_full_phone_and_name_even_when_hidden() -> None:
    view = reporter_view(HIDDEN, contact_details=True, category="flying_wire_charging")
    assert (view.name, view.phone, view.withheld) == ("張女士", PHONE, False)


def test_firm_sees_masked_phone_but_name_when_not_hidden() -> None:
    view = reporter_view(OPEN, contact_details=False, category="sanitation")
    assert (view.name, view.phone, view.withheld) == ("張女士", MASKED, True)


def test_firm_sees_no_name_when_reporter_asked_to_hide() -> None:
    view = reporter_view(HIDDEN, contact_details=False, category="sanitation")
    assert (view.name, view.phone) == (None, MASKED)


@pytest.mark.parametrize("category", ["property_inaction", "property_fees"])
def test_complaint_about_the_firm_hides_name_from_firms_and_committees(category: str) -> None:
    view = reporter_view(OPEN, contact_details=False, category=category)
    assert (view.name, view.phone) == (None, MASKED)


def test_no_reporter_means_nothing_to_show() -> None:
    view = reporter_view(None, contact_details=False, category="sanitation")
    assert (view.name, view.phone, view.withheld) == (None, None, False)
