"""Where the console sends a browser after signing in."""

from __future__ import annotations

import pytest

from services.stats.console.routes import back_to


@pytest.mark.parametrize(
    "target",
    ["/console/queue", "/console/desk", "/console/complaints/c-6b5a9387a67e5874a58f"],
)
def test_a_console_page_is_where_the_sign_in_returns_to(target: str) -> None:
    assert back_to(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://elsewhere.example/console/queue",
        "//elsewhere.example/console/queue",
        "/console/complaints/c-1/../../v1/stats",
        "/console/logout",
        "/v1/stats",
        "/console/desk?period=2026-11",
    ],
)
def test_anything_else_returns_to_the_console_home(target: str | None) -> None:
    assert back_to(target) == "/console"
