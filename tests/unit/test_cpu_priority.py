"""The local stack lowers the backlog workers' CPU priority where Linux applies it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.stack import lower_cpu_priority


@pytest.fixture
def own_session() -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session, as the stack starts each service."""
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def test_the_process_and_its_sessions_autogroup_are_niced(
    own_session: subprocess.Popen[bytes],
) -> None:
    lower_cpu_priority(own_session.pid, 10)

    assert os.getpriority(os.PRIO_PROCESS, own_session.pid) == 10
    autogroup = Path(f"/proc/{own_session.pid}/autogroup")
    if autogroup.exists():  # only on kernels built with autogroup scheduling
        assert autogroup.read_text().split()[-1] == "10"


def test_this_process_keeps_its_priority(own_session: subprocess.Popen[bytes]) -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    lower_cpu_priority(own_session.pid, 10)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
