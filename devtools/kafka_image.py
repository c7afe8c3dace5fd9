"""What the apache/kafka image makes of a container's environment, in Python.

The image's start script (``/etc/kafka/docker/run``) first sets defaults for variables
left unset or empty (``configureDefaults``), then checks and completes them
(``configure``: ``CLUSTER_ID`` required, ``KAFKA_LISTENERS`` derived from
``KAFKA_ADVERTISED_LISTENERS`` when unset, ``KAFKA_OPTS`` required when an advertised
listener's name contains ``SASL_``), and finally ``kafka.docker.KafkaDockerWrapper``
writes ``server.properties`` from every ``KAFKA_*`` variable but a few excluded ones:
the first ``KAFKA_`` removed, lower case, ``_`` -> ``.``, then ``...`` -> ``-`` and
``..`` -> ``_`` (so ``___`` -> ``-`` and ``__`` -> ``_``); the value is written as it
is. The tests check this model against the wrapper class in the Kafka jars."""

from __future__ import annotations

import re
from collections.abc import Mapping

IMAGE_DEFAULTS: Mapping[str, str] = {
    "CLUSTER_ID": "5L6g3nShT-eMCtK--X86sw",
    "KAFKA_NODE_ID": "1",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT"
    ),
    "KAFKA_LISTENERS": (
        "PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092"
    ),
    "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://localhost:29092,PLAINTEXT_HOST://localhost:9092",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:29093",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_LOG_DIRS": "/tmp/kraft-combined-logs",
}
"""``configureDefaults``: applied to each variable that is unset or empty."""

EXCLUDED: frozenset[str] = frozenset(
    {
        "KAFKA_VERSION",
        "KAFKA_HEAP_OPTS",
        "KAFKA_LOG4J_OPTS",
        "KAFKA_OPTS",
        "KAFKA_JMX_OPTS",
        "KAFKA_JVM_PERFORMANCE_OPTS",
        "KAFKA_GC_LOG_OPTS",
        "KAFKA_LOG4J_ROOT_LOGLEVEL",
        "KAFKA_LOG4J_LOGGERS",
        "KAFKA_TOOLS_LOG4J_LOGLEVEL",
        "KAFKA_JMX_HOSTNAME",
    }
)
"""Variables the wrapper leaves out of ``server.properties`` (JVM and logging options)."""

DATA_VOLUME = "/var/lib/kafka/data"
"""The image declares this folder a volume and owns it; its default log dir is elsewhere."""


class ImageStartError(ValueError):
    """The image's start script would exit before Kafka starts."""


def property_name(variable: str) -> str:
    """``KAFKA_LOG_DIRS`` -> ``log.dirs``, by the wrapper's rules."""
    if not variable.startswith("KAFKA_"):
        raise ValueError(f"{variable} does not start with KAFKA_")
    return (
        variable.replace("KAFKA_", "", 1)
        .lower()
        .replace("_", ".")
        .replace("...", "-")
        .replace("..", "_")
    )


def start_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The environment the wrapper sees after ``configureDefaults`` and ``configure``."""
    env = dict(environment)
    if not env.get("KAFKA_ZOOKEEPER_CONNECT"):
        for name, default in IMAGE_DEFAULTS.items():
            if not env.get(name):
                env[name] = default
    roles = env.get("KAFKA_PROCESS_ROLES")
    if roles:
        if not env.get("CLUSTER_ID"):
            raise ImageStartError("CLUSTER_ID environment variable not set")
        if roles == "controller":
            if env.get("KAFKA_ADVERTISED_LISTENERS"):
                raise ImageStartError("KAFKA_ADVERTISED_LISTENERS is not supported on a controller")
            env.pop("KAFKA_ADVERTISED_LISTENERS", None)
    advertised = env.get("KAFKA_ADVERTISED_LISTENERS", "")
    if not env.get("KAFKA_LISTENERS") and roles != "controller" and advertised:
        env["KAFKA_LISTENERS"] = re.sub(r"://[^:]*:", "://0.0.0.0:", advertised)
    if advertised and re.search(r"SASL_.*://", advertised) and not env.get("KAFKA_OPTS"):
        raise ImageStartError("KAFKA_OPTS environment variable not set")
    if "SSL://" in advertised:
        for name in ("KAFKA_SSL_KEYSTORE_FILENAME", "KAFKA_SSL_KEY_CREDENTIALS"):
            if not env.get(name):
                raise ImageStartError(f"{name} environment variable not set")
    return env


def server_properties(environment: Mapping[str, str]) -> dict[str, str]:
    """``server.properties`` as the wrapper writes it from a container's environment."""
    env = start_environment(environment)
    return {
        property_name(name): value
        for name, value in env.items()
        if name.startswith("KAFKA_") and name not in EXCLUDED
    }


def render(properties: Mapping[str, str]) -> str:
    """The properties file, one ``key=value`` a line, values unescaped (as the wrapper)."""
    return "".join(f"{key}={value}\n" for key, value in sorted(properties.items()))


def read_properties(text: str) -> dict[str, str]:
    """The ``key=value`` lines of a properties file the wrapper wrote."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            found[key.strip()] = value
    return found


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """``CLIENT://kafka:9092,CONTROLLER://127.0.0.1:9093`` -> {name: (host, port)}."""
    found: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        match = re.fullmatch(r"([A-Za-z0-9_]+)://(\[[^\]]*\]|[^:]*):(\d+)", item)
        if match is None:
            raise ValueError(f"cannot read the listener {item!r}")
        found[match.group(1)] = (match.group(2), int(match.group(3)))
    return found
