"""What a bench step costs: CPU time of every process on the machine's cores (the
services or baseline stages, the broker, FerretDB and the bench itself) and the
database commands each service sent, per complaint.

CPU comes from ``/proc/<pid>/stat`` (user + system time of all the process's threads);
commands from each service's ``gongzhi_db_commands_total{service,command}`` counter on
``/metrics`` (PyMongo command monitoring), read before and after a step."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

TICKS = os.sysconf("SC_CLK_TCK")
DB_COMMANDS = "gongzhi_db_commands"
"""The counter's family name (its samples are ``gongzhi_db_commands_total``)."""


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (None once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def infra_pids(root: Path) -> dict[str, int]:
    """The broker's and FerretDB's pids, from the pid files their scripts write under
    the infrastructure's data root (``deploy/local/kafka.sh`` and ``ferretdb.sh``)."""
    found: dict[str, int] = {}
    for name, pid_file in (
        ("kafka", root / "kafka" / "kafka.pid"),
        ("ferretdb", root / "ferretdb" / "ferretdb.pid"),
    ):
        try:
            found[name] = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
    return found


@dataclass(frozen=True)
class CpuSample:
    at: float
    seconds: dict[str, float]


class CpuMeter:
    """CPU seconds of named processes, sampled before and after a step."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)

    def sample(self, at: float) -> CpuSample:
        seconds = {}
        for name, pid in self.pids.items():
            if (used := cpu_seconds(pid)) is not None:
                seconds[name] = used
        return CpuSample(at, seconds)

    @staticmethod
    def per_complaint(before: CpuSample, after: CpuSample, complaints: int) -> dict[str, float]:
        """Milliseconds per complaint by process, and their ``total``."""
        used = {
            name: after.seconds[name] - before.seconds.get(name, 0.0)
            for name in after.seconds
            if name in before.seconds
        }
        count = max(complaints, 1)
        costs = {name: round(seconds * 1000 / count, 2) for name, seconds in used.items()}
        costs["total"] = round(sum(used.values()) * 1000 / count, 2)
        return costs

    @staticmethod
    def cores_busy(before: CpuSample, after: CpuSample) -> float:
        """How many cores the measured processes kept busy on average during the step."""
        used = sum(
            after.seconds[name] - before.seconds.get(name, 0.0)
            for name in after.seconds
            if name in before.seconds
        )
        return round(used / max(after.at - before.at, 1e-9), 2)


Commands = dict[str, dict[str, float]]
"""``{service: {command: count}}``."""


def db_commands(metrics_text: str) -> Commands:
    """The database command counters in a Prometheus text exposition."""
    found: Commands = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != DB_COMMANDS:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            service = sample.labels.get("service", "?")
            command = sample.labels.get("command", "?")
            found.setdefault(service, {})[command] = sample.value
    return found


async def scrape_commands(client: httpx.AsyncClient, urls: Mapping[str, str]) -> Commands:
    """Every service's command counters (a service that does not answer is left out)."""
    found: Commands = {}
    for url in urls.values():
        try:
            answer = await client.get(f"{url}/metrics")
            answer.raise_for_status()
        except httpx.HTTPError:
            continue
        for service, commands in db_commands(answer.text).items():
            found.setdefault(service, {}).update(commands)
    return found


def commands_per_complaint(
    before: Commands, after: Commands, complaints: int
) -> dict[str, dict[str, object]]:
    """Per service: commands per complaint in all (``total``) and by command name."""
    count = max(complaints, 1)
    result: dict[str, dict[str, object]] = {}
    for service, commands in sorted(after.items()):
        earlier = before.get(service, {})
        delta = {name: value - earlier.get(name, 0.0) for name, value in commands.items()}
        by_command = {
            name: round(value / count, 4) for name, value in sorted(delta.items()) if value > 0
        }
        result[service] = {
            "total": round(sum(delta.values()) / count, 4),
            "by_command": by_command,
        }
    return result
