"""Sealed reporter details and retry spacing."""

from __future__ import annotations

import pytest

from services.notify.owner import retry_delay
from services.notify.sealing import Sealer
from shared.events import Reporter
from shared.privacy import contains_full_phone
from tests.unit.notify.builders import PHONE


def test_sealed_reporter_holds_no_phone_and_opens_with_the_same_key() -> None:
    reporter = Reporter(name="張女士", phone=PHONE, hide_identity=True)
    sealed = Sealer("k1").seal(reporter)
    assert sealed is not None
    assert not contains_full_phone(sealed)
    assert "張" not in sealed
    assert Sealer("k1").unseal(sealed) == reporter


def test_another_key_cannot_open_a_sealed_reporter() -> None:
    sealed = Sealer("k1").seal(Reporter(phone=PHONE))
    with pytest.raises(ValueError, match="cannot be opened"):
        Sealer("k2").unseal(sealed)


def test_retry_delay_grows_with_jitter_and_stays_under_the_cap() -> None:
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)]:
        delays = [retry_delay(attempt, base=2.0, cap=60.0) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
