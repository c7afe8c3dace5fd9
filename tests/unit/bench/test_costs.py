"""CPU and database-command accounting of a bench step."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from devtools.bench.costs import (
    CpuMeter,
    CpuSample,
    commands_per_complaint,
    cpu_seconds,
    db_commands,
    infra_pids,
)


def test_cpu_seconds_grow_with_work_and_a_gone_process_has_none() -> None:
    before = cpu_seconds(os.getpid())
    assert before is not None
    spin_until = time.process_time() + 0.1
    while time.process_time() < spin_until:
        pass
    after = cpu_seconds(os.getpid())
    assert after is not None
    assert after > before
    assert cpu_seconds(2**22 + 12345) is None


def test_cpu_per_complaint_and_cores_busy() -> None:
    before = CpuSample(10.0, {"intake": 1.0, "kafka": 5.0})
    after = CpuSample(12.0, {"intake": 1.5, "kafka": 6.5, "late": 3.0})
    costs = CpuMeter.per_complaint(before, after, complaints=100)
    assert costs == {"intake": 5.0, "kafka": 15.0, "total": 20.0}
    assert CpuMeter.cores_busy(before, after) == 1.0


def test_the_infrastructures_pids_come_from_its_pid_files(tmp_path: Path) -> None:
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "kafka.pid").write_text("123\n")
    (tmp_path / "ferretdb").mkdir()
    (tmp_path / "ferretdb" / "ferretdb.pid").write_text("not a pid")
    assert infra_pids(tmp_path) == {"kafka": 123}


def _exposition(counts: dict[tuple[str, str], int]) -> str:
    registry = CollectorRegistry()
    counter = Counter(
        "gongzhi_db_commands_total", "Commands.", ["service", "command"], registry=registry
    )
    other = Counter("gongzhi_events_handled_total", "Other.", ["service"], registry=registry)
    other.labels("notify").inc(99)
    for (service, command), value in counts.items():
        counter.labels(service, command).inc(value)
    return generate_latest(registry).decode()


def test_db_commands_are_read_from_the_services_metrics() -> None:
    text = _exposition({("notify", "insert"): 4, ("notify", "find"): 2})
    assert db_commands(text) == {"notify": {"insert": 4.0, "find": 2.0}}


def test_db_commands_per_complaint_is_the_steps_delta_by_service_and_command() -> None:
    before = db_commands(_exposition({("stats", "update"): 10, ("stats", "find"): 5}))
    after = db_commands(
        _exposition({("stats", "update"): 60, ("stats", "find"): 5, ("stats", "insert"): 25})
    )
    per = commands_per_complaint(before, after, complaints=100)
    assert per["stats"]["total"] == pytest.approx(0.75)
    assert per["stats"]["by_command"] == {"insert": 0.25, "update": 0.5}
