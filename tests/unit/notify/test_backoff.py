"""Retry spacing, and what a failed attempt's error may carry (the sealing of contacts
is tested in tests/unit/test_sealing.py)."""

from __future__ import annotations

from services.notify.channels.base import DeliveryError
from services.notify.owner import retry_delay, withheld
from services.notify.triggers import from_routed
from shared.events import Reporter
from tests.unit.notify.builders import PHONE, routed
from tests.unit.notify.test_rendering import DIRECTORY, RENDERER


def test_retry_delay_grows_with_jitter_and_stays_under_the_cap() -> None:
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)]:
        delays = [retry_delay(attempt, base=2.0, cap=60.0) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_an_error_echoing_the_alert_loses_the_reporters_contact() -> None:
    hidden = Reporter(name="張女士", phone=PHONE, hide_identity=True)
    trigger = from_routed(routed(reporter=hidden))
    message = RENDERER.render(trigger, DIRECTORY.responder("fire"), DIRECTORY, "d-1")
    assert message.disclosed == ("張女士", PHONE)  # an agency sees the contact
    echoed = DeliveryError(
        f"HTTP 400: bad request {message.text[:120]} 反映人：張女士", permanent=True
    )
    error = withheld(echoed, message.disclosed)
    assert "張女士" not in error.reason
    assert PHONE not in error.reason
    assert error.permanent
    assert error.reason.startswith("HTTP 400: bad request")
    firm = RENDERER.render(trigger, DIRECTORY.responder("pf-dianzhong"), DIRECTORY, "d-2")
    assert firm.disclosed == ("138****5678",)
    plain = DeliveryError("HTTP 503: busy", permanent=False)
    assert withheld(plain, message.disclosed) is plain
