"""Finding and masking phone numbers in free text."""

from __future__ import annotations

import pytest

from shared.privacy import contains_full_phone, scrub_phones


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        '{"phone":"13812345678"}',
        "電話13812345678請回電",
        "+86 138 1234 5678",
        "tel: 138-1234-5678",
    ],
)
def test_a_full_mobile_number_is_found(text: str) -> None:
    assert contains_full_phone(text)
    assert not contains_full_phone(scrub_phones(text))


@pytest.mark.parametrize(
    "text",
    [
        # A Kafka member id: its last UUID group may read as a mobile number.
        "Consumer routing-f8f5a862-b340-45f8-bc64-f15512345678 assigned to partitions",
        "138****5678",
        "213812345678",
        "order 13812345678901",
    ],
)
def test_digits_inside_ids_and_longer_numbers_are_no_phone(text: str) -> None:
    assert not contains_full_phone(text)
