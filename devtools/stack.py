"""Run the four services as separate processes on this machine.

Used by ``make up``/``make down``, the demo, the end-to-end tests and the benchmarks.
Each service is ``python -m services.<name>`` with its own log file; a service is
ready when its ``/health`` answers 200."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PORTS = {"intake": 8080, "routing": 8081, "notify": 8082, "stats": 8083}
SERVICES = tuple(DEFAULT_PORTS)
BACKLOG_WORKERS = frozenset({"routing", "notify", "stats"})
"""Services that work through what Kafka holds for them. On a shared host they yield the
CPU to intake, whose callers wait on an open connection: in a surge residents still get
their answer at once, and the backlog is worked with the cores left (as docker-compose's
``cpu_shares`` does)."""
BACKLOG_NICE = 10


@dataclass
class ServiceProcess:
    """One service process: start, wait for health, kill, restart."""

    name: str
    port: int
    env: Mapping[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {**self.env, "GONGZHI_HTTP_PORT": str(self.port)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if self.name in BACKLOG_WORKERS:
            lower_cpu_priority(self.process.pid, BACKLOG_NICE)
        self.starts += 1

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}:\n"
                    + tail(self.log_path)
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s:\n" + tail(self.log_path))

    def kill(self) -> None:
        """SIGKILL: no shutdown work at all, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def terminate(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait for a graceful exit."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def lower_cpu_priority(pid: int, nice: int) -> None:
    """Nice a process and its session's autogroup: with Linux's autogroup on, sessions
    (each service here starts its own) share the CPU equally whatever their processes'
    nice values, so the process's own nice alone would change nothing."""
    os.setpriority(os.PRIO_PROCESS, pid, nice)
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Stack:
    """The four services (optionally several copies of one) sharing an environment."""

    env: Mapping[str, str]
    log_dir: Path
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    processes: list[ServiceProcess] = field(default_factory=list)

    def add(self, name: str, port: int | None = None, **extra_env: str) -> ServiceProcess:
        copy = sum(1 for p in self.processes if p.name == name)
        service = ServiceProcess(
            name=name,
            port=port if port is not None else self.ports[name],
            env={**self.env, **extra_env},
            log_path=self.log_dir / (f"{name}.log" if copy == 0 else f"{name}-{copy + 1}.log"),
        )
        self.processes.append(service)
        return service

    def start_all(self, timeout: float = 90.0) -> None:
        for service in self.processes:
            if not service.alive():
                service.start()
        for service in self.processes:
            service.wait_healthy(timeout)

    def stop_all(self) -> None:
        for service in reversed(self.processes):
            service.terminate()

    def __getitem__(self, name: str) -> ServiceProcess:
        return next(p for p in self.processes if p.name == name)


def default_stack(env: Mapping[str, str] | None = None, log_dir: Path | None = None) -> Stack:
    stack = Stack(
        env=dict(env if env is not None else os.environ),
        log_dir=log_dir or REPO / ".local" / "logs",
    )
    for name in SERVICES:
        stack.add(name)
    return stack


# make up / make down: the services run detached, remembered by pid files.


def _pid_file(name: str) -> Path:
    return REPO / ".local" / "run" / f"{name}.pid"


def up() -> None:
    stack = default_stack()
    for service in stack.processes:
        pid_file = _pid_file(service.name)
        if pid_file.exists() and _running(int(pid_file.read_text())):
            print(f"{service.name}: already running (pid {pid_file.read_text().strip()})")
            continue
        service.start()
        assert service.process is not None
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(str(service.process.pid))
    for service in stack.processes:
        service.wait_healthy()
        print(f"{service.name}: healthy on {service.url} (log: {service.log_path})")


def down() -> None:
    for name in SERVICES:
        pid_file = _pid_file(name)
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        if _running(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        pid_file.unlink()
        print(f"{name}: stopped")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description="Start or stop the four services locally.")
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args()
    up() if args.command == "up" else down()


if __name__ == "__main__":
    main()
