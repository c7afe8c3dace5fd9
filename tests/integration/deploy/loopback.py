"""Run docker-compose.yml's containers as local processes: the test's stand-in for Docker.

Each container becomes a process on this machine with the environment compose gives it,
and three things a container has for free are mapped instead:

- names: every ``service:port`` a container is told (``kafka:9092``, ``mongodb:27017``,
  ``routing:8081``) and every address a container binds (``0.0.0.0:9092``,
  ``127.0.0.1:9093``) becomes ``127.0.0.1:<a free port>``, one port per (service,
  container port), so two containers never collide and every client still reaches
  exactly the listener compose names;
- mounts: a path under a mount's target becomes the same path under its source (the
  operator's ``deploy/config`` is a test folder), a named volume a test folder;
- the image: ``/app`` (the Dockerfile's WORKDIR) is the repository.

The Kafka container is the image's own start sequence on the cached Kafka jars:
``kafka.docker.KafkaDockerWrapper setup`` writes ``server.properties`` and formats the
log dir (tolerating "already formatted", as the image's launch script does), then
``kafka.Kafka`` runs with the container's ``KAFKA_HEAP_OPTS``."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devtools.compose_env import Compose
from devtools.kafka_image import start_environment
from devtools.loopback import free_port

REPO = Path(__file__).resolve().parents[3]
IMAGE_WORKDIR = "/app"
ENDPOINT = re.compile(r"(?<![\w.-])([A-Za-z0-9][\w.-]*):(\d+)(?![\d])")
OWN_HOSTS = ("0.0.0.0", "127.0.0.1", "localhost")


def kafka_libs() -> Path:
    cache = Path(os.environ.get("GONGZHI_CACHE_DIR", REPO / ".cache"))
    libs = cache / "kafka" / "libs"
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise RuntimeError(f"no Kafka jars in {libs}: run `make setup`")
    return libs


@dataclass
class LoopbackMap:
    """Container ports and paths of one compose project, mapped onto this machine."""

    compose: Compose
    root: Path
    sources: Mapping[str, Path] = field(default_factory=dict)
    """Bind-mount sources replaced by test folders (``./deploy/config`` -> tmp)."""
    ports: dict[tuple[str, int], int] = field(default_factory=dict)

    def port(self, service: str, container_port: int) -> int:
        key = (service, container_port)
        if key not in self.ports:
            self.ports[key] = free_port()
        return self.ports[key]

    def address(self, service: str, container_port: int) -> str:
        return f"127.0.0.1:{self.port(service, container_port)}"

    def rewrite(self, service: str, value: str) -> str:
        """``value`` as seen from ``service``'s process on this machine."""

        def endpoint(match: re.Match[str]) -> str:
            host, port = match.group(1), int(match.group(2))
            if host in OWN_HOSTS:
                return self.address(service, port)
            if host in self.compose.services:
                return self.address(host, port)
            return match.group(0)

        value = ENDPOINT.sub(endpoint, value)
        return self.path(service, value)

    def path(self, service: str, value: str) -> str:
        for mount in self.compose.mounts(service):
            if value == mount.target or value.startswith(mount.target + "/"):
                return str(self.mount_source(mount.source)) + value[len(mount.target) :]
        if value == IMAGE_WORKDIR or value.startswith(IMAGE_WORKDIR + "/"):
            return str(REPO) + value[len(IMAGE_WORKDIR) :]
        return value

    def mount_source(self, source: str) -> Path:
        if source in self.sources:
            return self.sources[source]
        if source.startswith((".", "/")):
            return (REPO / source).resolve()
        volume = self.root / "volumes" / source
        volume.mkdir(parents=True, exist_ok=True)
        return volume

    def environment(self, service: str) -> dict[str, str]:
        """The service's compose environment, mapped; nothing from this test's own."""
        env = {
            name: self.rewrite(service, value)
            for name, value in self.compose.environment(service).items()
        }
        for name, value in env.items():
            if value == "0.0.0.0":  # a bind-all host setting: this machine's loopback
                env[name] = "127.0.0.1"
        return env


def process_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """A minimal process environment plus ``extra``: no variable leaks in from the test."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "JAVA_HOME") if k in os.environ}
    return {**base, "PYTHONUNBUFFERED": "1", **extra}


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class KafkaContainer:
    """The kafka service: the image's setup step and broker, from the cached jars."""

    loopback: LoopbackMap
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def image_environment(self) -> dict[str, str]:
        return start_environment(self.loopback.environment("kafka"))

    @property
    def final_config(self) -> Path:
        return self.folder / "config" / "server.properties"

    def setup(self) -> str:
        """``KafkaDockerWrapper setup``: write the configuration, format the log dir."""
        for name in ("default", "mounted", "config"):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        (self.folder / "default" / "server.properties").touch()
        result = subprocess.run(
            [
                "java",
                "-Xmx256m",
                "-cp",
                f"{kafka_libs()}/*",
                "kafka.docker.KafkaDockerWrapper",
                "setup",
                "--default-configs-dir",
                str(self.folder / "default"),
                "--mounted-configs-dir",
                str(self.folder / "mounted"),
                "--final-configs-dir",
                str(self.folder / "config"),
            ],
            env=process_environment(self.image_environment),
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0 and "already formatted" not in output.lower():
            raise RuntimeError(f"KafkaDockerWrapper setup failed:\n{output}")
        return output

    def start(self) -> None:
        heap = shlex.split(self.image_environment["KAFKA_HEAP_OPTS"])
        log = (self.folder / "kafka.log").open("ab")
        self.process = subprocess.Popen(
            ["java", *heap, "-cp", f"{kafka_libs()}/*", "kafka.Kafka", str(self.final_config)],
            env=process_environment({}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for_port(self.loopback.port("kafka", 9092), 120, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        path = self.folder / "kafka.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
