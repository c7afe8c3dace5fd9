"""What ``docker-compose.yml`` means, checked without a Docker engine.

The file is read as Docker Compose reads it (``devtools.compose_env``) with a ``.env``
made by ``deploy/new-env.sh``, and the broker's configuration is derived from it as the
apache/kafka image derives it (``devtools.kafka_image``). The checks are about meaning:
every address names a compose service that listens there, every volume is where its
image writes, no secret has a default, only the documented ports are published.
``tests/integration/deploy`` then runs the real programs with this configuration."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from devtools.compose_env import (
    Compose,
    ComposeError,
    interpolate,
    load_compose,
    read_dotenv,
)
from devtools.kafka_image import (
    DATA_VOLUME,
    IMAGE_DEFAULTS,
    ImageStartError,
    listeners,
    property_name,
    render,
    server_properties,
    start_environment,
)
from devtools.rates_exporter import rate_samples
from devtools.stack import BACKLOG_WORKERS
from services.notify.settings import NotifySettings
from shared.directory import DingTalkChannel, WebhookChannel, load_directory
from shared.settings import MongoSettings, refuse_example_secrets
from shared.topics import topic_specs

REPO = Path(__file__).resolve().parent.parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
SERVICES = {"intake": 8080, "routing": 8081, "notify": 8082, "stats": 8083}
SCALED = ("routing", "notify")
EXTERNAL_URLS = {"GONGZHI_PUBLIC_BASE_URL", "GONGZHI_ALERT_BASE_URL"}
"""Addresses outside the deployment, given by the operator in .env."""
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEYS?$|TOKEN|CLUSTER_ID")
IMAGE_DATA = {"mongo": "/data/db", "grafana/grafana": "/var/lib/grafana"}
"""Where the official images keep their state (their documented VOLUME/data paths)."""
MONGO_PORT = 27017


def generated_env() -> dict[str, str]:
    """A .env as deploy/new-env.sh makes it, with the two URLs an operator fills in."""
    out = subprocess.run(
        ["bash", str(REPO / "deploy" / "new-env.sh")], check=True, capture_output=True, text=True
    ).stdout
    env = {
        key: value
        for key, _, value in (line.partition("=") for line in out.splitlines())
        if key and not key.startswith("#")
    }
    env["GONGZHI_PUBLIC_BASE_URL"] = "https://gongzhi.city.test"
    env["GONGZHI_ALERT_BASE_URL"] = "http://alerts.city.test:9900"
    return env


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return generated_env()


@pytest.fixture(scope="module")
def compose(env: dict[str, str]) -> Compose:
    return load_compose(COMPOSE_FILE, env, profiles=frozenset({"monitoring"}))


@pytest.fixture(scope="module")
def broker(compose: Compose) -> dict[str, str]:
    return server_properties(compose.environment("kafka"))


# --- Compose interpolation, as the Compose specification defines it ----------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "a"),
        ("$A-x", "a-x"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${A:-d}", "a"),
        ("${A:+r}", "r"),
        ("${EMPTY:+r}", ""),
        ("${EMPTY+r}", "r"),
        ("${UNSET:-${A}}", "a"),
        ("$$A ${A}$$", "$A a$"),
        ("${UNSET}", ""),
    ],
)
def test_interpolation_follows_the_compose_rules(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "a", "EMPTY": ""}) == expected


@pytest.mark.parametrize("text", ["${EMPTY:?no}", "${UNSET:?no}", "${UNSET?no}"])
def test_a_required_variable_without_value_stops_compose(text: str) -> None:
    with pytest.raises(ComposeError, match="required variable"):
        interpolate(text, {"EMPTY": ""})
    assert interpolate("${EMPTY?no}", {"EMPTY": ""}) == ""


@pytest.mark.parametrize("text", ["${A", "${1A}", "$-", "${A:x}"])
def test_malformed_interpolation_is_an_error(text: str) -> None:
    with pytest.raises(ComposeError):
        interpolate(text, {"A": "a"})


def test_dotenv_values_are_read_without_interpolation(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# comment\nA=x$y\nB='quoted value'\nC=\n")
    assert read_dotenv(path) == {"A": "x$y", "B": "quoted value", "C": ""}


# --- The apache/kafka image's rules -------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "name"),
    [
        ("KAFKA_LOG_DIRS", "log.dirs"),
        (
            "KAFKA_LISTENER_NAME_CLIENT_PLAIN_SASL_JAAS_CONFIG",
            "listener.name.client.plain.sasl.jaas.config",
        ),
        ("KAFKA_CONFLUENT__SUPPORT", "confluent_support"),
        ("KAFKA_LOG___CLEANER", "log-cleaner"),
        ("KAFKA_KAFKA_X", "kafka.x"),
    ],
)
def test_variable_names_become_property_names(variable: str, name: str) -> None:
    assert property_name(variable) == name


def test_jvm_and_logging_variables_stay_out_of_server_properties() -> None:
    props = server_properties(
        {"KAFKA_HEAP_OPTS": "-Xmx1g", "KAFKA_OPTS": "-Dx", "KAFKA_LOG4J_LOGGERS": "a=INFO"}
    )
    assert not {"heap.opts", "opts", "log4j.loggers"} & set(props)


def test_unset_or_empty_variables_take_the_image_defaults() -> None:
    props = server_properties({"KAFKA_NODE_ID": "", "KAFKA_LOG_DIRS": "/data"})
    assert props["node.id"] == "1"
    assert props["log.dirs"] == "/data"
    assert start_environment({})["CLUSTER_ID"] == IMAGE_DEFAULTS["CLUSTER_ID"]
    assert server_properties({})["log.dirs"] == "/tmp/kraft-combined-logs"


def test_unset_listeners_take_the_image_defaults_not_the_advertised_ports() -> None:
    # configureDefaults runs first, so configure's "listeners from the advertised
    # listeners" only applies when the defaults are skipped (ZooKeeper mode).
    advertised = {"KAFKA_ADVERTISED_LISTENERS": "A://kafka:1,B://x:2"}
    assert start_environment(advertised)["KAFKA_LISTENERS"] == IMAGE_DEFAULTS["KAFKA_LISTENERS"]
    zookeeper = start_environment(advertised | {"KAFKA_ZOOKEEPER_CONNECT": "zk:2181"})
    assert zookeeper["KAFKA_LISTENERS"] == "A://0.0.0.0:1,B://0.0.0.0:2"


def test_a_sasl_named_advertised_listener_needs_kafka_opts() -> None:
    with pytest.raises(ImageStartError, match="KAFKA_OPTS"):
        start_environment({"KAFKA_ADVERTISED_LISTENERS": "SASL_PLAINTEXT://kafka:9092"})


def test_properties_are_written_sorted_and_unescaped() -> None:
    assert render({"b": 'x="1";', "a": "2"}) == 'a=2\nb=x="1";\n'


# --- Kafka as the compose file configures it ----------------------------------------


def test_kafka_keeps_its_log_dirs_on_its_volume(compose: Compose, broker: dict[str, str]) -> None:
    volumes = {m.target: m.source for m in compose.mounts("kafka")}
    assert broker["log.dirs"] == DATA_VOLUME
    assert volumes[DATA_VOLUME] in compose.document["volumes"]


def test_kafka_formats_with_the_generated_cluster_id(compose: Compose, env: dict[str, str]) -> None:
    cluster_id = start_environment(compose.environment("kafka"))["CLUSTER_ID"]
    assert cluster_id == env["KAFKA_CLUSTER_ID"] != IMAGE_DEFAULTS["CLUSTER_ID"]
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cluster_id)


def test_every_listener_other_containers_reach_is_authenticated(broker: dict[str, str]) -> None:
    protocols = dict(
        item.split(":") for item in broker["listener.security.protocol.map"].split(",")
    )
    for name, (host, _) in listeners(broker["listeners"]).items():
        if host not in ("127.0.0.1", "localhost"):
            assert protocols[name].startswith("SASL_"), f"{name} lets anyone in"
    controller_host, _ = listeners(broker["listeners"])[broker["controller.listener.names"]]
    assert controller_host == "127.0.0.1", (
        "the controller must not be reachable from other containers"
    )
    assert protocols[broker["controller.listener.names"]] == "SASL_PLAINTEXT"
    assert protocols[broker["inter.broker.listener.name"]] == "SASL_PLAINTEXT"


def test_every_principal_has_its_own_password(compose: Compose, env: dict[str, str]) -> None:
    jaas = compose.environment("kafka")["KAFKA_LISTENER_NAME_CLIENT_PLAIN_SASL_JAAS_CONFIG"]
    users = dict(re.findall(r'user_(\w+)="([^"]*)"', jaas))
    assert set(users) == {"admin", *SERVICES}
    assert len(set(users.values())) == len(users)
    for service in SERVICES:
        client = compose.environment(service)
        assert client["KAFKA_SASL_USERNAME"] == service
        assert users[service] == client["KAFKA_SASL_PASSWORD"]
    init = compose.environment("kafka-init")
    assert (init["KAFKA_SASL_USERNAME"], init["KAFKA_SASL_PASSWORD"]) == ("admin", users["admin"])
    assert server_properties(compose.environment("kafka"))["super.users"] == "User:admin"


def kafka_clients(compose: Compose) -> dict[str, dict[str, str]]:
    return {
        name: compose.environment(name)
        for name in compose.services
        if "KAFKA_BOOTSTRAP_SERVERS" in compose.environment(name)
    }


def test_every_bootstrap_address_is_advertised_under_a_service_name(
    compose: Compose, broker: dict[str, str]
) -> None:
    advertised = set(listeners(broker["advertised.listeners"]).values())
    bound = {port for host, port in listeners(broker["listeners"]).values() if host == "0.0.0.0"}
    clients = kafka_clients(compose)
    assert set(SERVICES) | {"kafka-init"} <= set(clients)
    for name, client in clients.items():
        for address in client["KAFKA_BOOTSTRAP_SERVERS"].split(","):
            host, _, port = address.rpartition(":")
            assert (host, int(port)) in advertised, f"{name} bootstraps from {address}"
            assert host in compose.services
            assert int(port) in bound
            assert client["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"


def test_every_topic_is_created_before_the_services_start(compose: Compose) -> None:
    init = compose.services["kafka-init"]
    assert init["command"] == ["python", "-m", "devtools.create_topics"]
    assert init["restart"] == "no"
    for service in SERVICES:
        condition = compose.services[service]["depends_on"]["kafka-init"]["condition"]
        assert condition == "service_completed_successfully"
    partitions = {c["KAFKA_TOPIC_PARTITIONS"] for c in kafka_clients(compose).values()}
    assert partitions == {server_properties(compose.environment("kafka"))["num.partitions"]}
    assert any(spec.config.get("cleanup.policy") == "compact" for spec in topic_specs())


def test_kafka_heap_fits_its_memory_limit(compose: Compose) -> None:
    heap = re.findall(r"-Xm[sx](\d+)m", compose.environment("kafka")["KAFKA_HEAP_OPTS"])
    assert len(heap) == 2
    assert 2 * int(max(heap)) <= megabytes(compose.services["kafka"]["mem_limit"])


def test_the_kafka_healthcheck_does_not_take_the_brokers_heap(compose: Compose) -> None:
    command = compose.services["kafka"]["healthcheck"]["test"][1]
    tool_heap = re.search(r"KAFKA_HEAP_OPTS=-Xmx(\d+)m \S*kafka-broker-api-versions", command)
    assert tool_heap, "the tool would start with the broker's heap inside the same limit"
    assert int(tool_heap.group(1)) <= 128


def megabytes(limit: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([mg])", limit).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "g" else 1)


# --- MongoDB ------------------------------------------------------------------------


def test_services_use_the_least_privilege_user_not_root(
    compose: Compose, env: dict[str, str]
) -> None:
    mongo = compose.environment("mongodb")
    for service in SERVICES:
        client = compose.environment(service)
        assert client["MONGODB_USERNAME"] == mongo["MONGO_INITDB_APP_USERNAME"]
        assert client["MONGODB_USERNAME"] != mongo["MONGO_INITDB_ROOT_USERNAME"]
        assert client["MONGODB_PASSWORD"] == mongo["MONGO_INITDB_APP_PASSWORD"]
        assert client["MONGODB_PASSWORD"] != mongo["MONGO_INITDB_ROOT_PASSWORD"]
        assert "@" not in client["MONGODB_URL"], "credentials go apart from the URL"
        assert f"authSource={mongo['MONGO_INITDB_DATABASE']}" in client["MONGODB_URL"]
        assert client["MONGODB_DATABASE"] == mongo["MONGO_INITDB_DATABASE"]


def test_the_init_script_creates_a_read_write_user_from_the_environment(compose: Compose) -> None:
    mounts = {m.target: m for m in compose.mounts("mongodb")}
    init = mounts["/docker-entrypoint-initdb.d"]
    folder = REPO / init.source
    scripts = sorted(folder.glob("*.js"))
    assert init.read_only
    assert scripts
    text = scripts[0].read_text()
    for name in ("MONGO_INITDB_APP_USERNAME", "MONGO_INITDB_APP_PASSWORD"):
        assert f"process.env.{name}" in text
        assert name in compose.environment("mongodb")
    assert re.search(r'role:\s*"readWrite",\s*db:\s*db\.getName\(\)', text)
    assert "root" not in re.findall(r'role:\s*"(\w+)"', text)


def test_wired_tiger_cache_fits_the_memory_limit(compose: Compose) -> None:
    command = compose.services["mongodb"]["command"]
    cache_gb = float(command[command.index("--wiredTigerCacheSizeGB") + 1])
    assert 0 < cache_gb * 1024 <= megabytes(compose.services["mongodb"]["mem_limit"]) / 2


# --- Addresses, volumes, secrets, ports ---------------------------------------------


def listening_port(compose: Compose, service: str) -> set[int]:
    """Ports a compose service's process listens on."""
    if service == "kafka":
        props = server_properties(compose.environment("kafka"))
        return {p for h, p in listeners(props["listeners"]).values() if h == "0.0.0.0"}
    if service == "mongodb":
        return {MONGO_PORT}
    env = compose.environment(service)
    ports = {int(env[k]) for k in ("GONGZHI_HTTP_PORT", "GONGZHI_EXPORTER_PORT") if k in env}
    return ports or {p.container_port for p in compose.ports(service)}


ADDRESS = re.compile(r"(?:\w+://)?(?:[^@/\s]*@)?([A-Za-z][\w.-]*):(\d+)")


@pytest.mark.parametrize(
    "service", ["intake", "routing", "notify", "stats", "kafka-init", "rates-exporter"]
)
def test_every_address_a_service_uses_names_a_service_that_listens_there(
    compose: Compose, service: str
) -> None:
    for name, value in compose.environment(service).items():
        if name in EXTERNAL_URLS or not re.search(r"URL|SERVERS", name):
            continue
        for host, port in ADDRESS.findall(value):
            assert host in compose.services, f"{service}: {name} names {host}, no such service"
            assert int(port) in listening_port(compose, host), f"{service}: {name} -> {host}:{port}"


def test_prometheus_scrapes_every_copy_of_every_service(compose: Compose) -> None:
    mounts = {m.target: m for m in compose.mounts("prometheus")}
    config = yaml.safe_load((REPO / mounts["/etc/prometheus/prometheus.yml"].source).read_text())
    scraped: dict[str, int] = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            assert sd["type"] == "A"
            scraped |= dict.fromkeys(sd["names"], sd["port"])
        for static in job.get("static_configs", []):
            scraped |= {t.split(":")[0]: int(t.split(":")[1]) for t in static["targets"]}
    for service in (*SERVICES, "rates-exporter"):
        assert service in scraped, f"nothing scrapes {service}"
        assert scraped[service] in listening_port(compose, service)
    for service in SCALED:
        job = next(j for j in config["scrape_configs"] if j["job_name"] == service)
        assert "dns_sd_configs" in job, f"{service} is scaled: a static target sees one copy"


def test_every_volume_is_where_its_image_writes(compose: Compose, broker: dict[str, str]) -> None:
    used: set[str] = set()
    for name, spec in compose.services.items():
        for mount in compose.mounts(name):
            if not mount.is_volume:
                assert (REPO / mount.source).exists(), f"{name} mounts a missing {mount.source}"
                continue
            used.add(mount.source)
            image = spec["image"].split(":")[0]
            if image == "apache/kafka":
                expected = broker["log.dirs"]
            elif image == "prom/prometheus":
                flag = next(a for a in spec["command"] if a.startswith("--storage.tsdb.path="))
                expected = flag.split("=", 1)[1]
            else:
                expected = IMAGE_DATA[image]
            assert mount.target == expected, f"{name} keeps {mount.source} where nothing writes"
    assert used == set(compose.document["volumes"])


def test_no_secret_has_a_default() -> None:
    text = COMPOSE_FILE.read_text()
    references = re.findall(r"\$\{([A-Z0-9_]+)([^}]*)\}", text)
    secrets = {name for name, _ in references if SECRET_NAME.search(name)}
    assert {"KAFKA_ADMIN_PASSWORD", "MONGO_APP_PASSWORD", "GONGZHI_CONTACT_SEAL_KEYS"} <= secrets
    for name, rest in references:
        if name in secrets:
            assert rest.startswith(":?"), f"${{{name}{rest}}} lets {name} be empty or defaulted"
    raw = yaml.safe_load(text)
    for service, spec in raw["services"].items():
        for key, value in spec.get("environment", {}).items():
            if SECRET_NAME.search(key) and not key.endswith("_USERNAME"):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", str(value)), f"{service}: {key}"


def test_the_example_env_passes_no_secret(env: dict[str, str]) -> None:
    example = read_dotenv(REPO / "deploy" / "compose.env.example")
    assert set(env) <= set(example), "deploy/compose.env.example lacks variables"
    assert all(value == "" for value in example.values())
    with pytest.raises(ComposeError, match="required variable"):
        load_compose(COMPOSE_FILE, example)


def test_the_generated_env_is_fresh_and_complete(env: dict[str, str]) -> None:
    again = generated_env()
    secrets = [name for name in env if SECRET_NAME.search(name)]
    assert all(env[name] and env[name] != again[name] for name in secrets)
    assert len({env[name] for name in secrets}) == len(secrets)
    # A key ring is id:key; every secret itself is URL-safe base64 (safe in a JAAS line,
    # a YAML file and a shell word alike).
    values = [
        env[name].partition(":")[2] if name.endswith("_KEYS") else env[name] for name in secrets
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16,}", value) for value in values)
    ring = NotifySettings(
        contact_seal_keys=env["GONGZHI_CONTACT_SEAL_KEYS"],
        contact_seal_key_id=env["GONGZHI_CONTACT_SEAL_KEY_ID"],
    ).contact_key_ring()
    assert ring.current == env["GONGZHI_CONTACT_SEAL_KEY_ID"]
    load_compose(COMPOSE_FILE, env, profiles=frozenset({"monitoring"}))


def documented_ports() -> set[tuple[str, int]]:
    """The rows of the published-ports table in deploy/README.md."""
    text = (REPO / "deploy" / "README.md").read_text()
    table = text.split("<!-- published-ports -->")[1]
    return {(s, int(p)) for s, p in re.findall(r"^\| `(\S+)` \| (\d+) \|", table, re.MULTILINE)}


def test_only_the_documented_ports_are_published_on_loopback(compose: Compose) -> None:
    published = set()
    for name in compose.services:
        for port in compose.ports(name):
            assert port.host_ip == "127.0.0.1", f"{name} is published on every interface"
            published.add((name, port.container_port))
    assert published == documented_ports()
    assert {("intake", 8080), ("stats", 8083)} <= published
    for service in SCALED:
        assert not compose.ports(service), f"{service} cannot scale with a fixed host port"
        assert "container_name" not in compose.services[service]


def test_long_running_services_restart_rotate_logs_and_have_memory_limits(compose: Compose) -> None:
    for name, spec in compose.services.items():
        assert spec["logging"]["options"]["max-size"]
        assert spec["logging"]["options"]["max-file"]
        if name == "kafka-init":
            continue
        assert spec["restart"] == "unless-stopped", name
        assert megabytes(spec["mem_limit"]) > 0, name


def test_services_wait_for_healthy_dependencies(compose: Compose) -> None:
    for service in SERVICES:
        spec = compose.services[service]
        assert spec["command"] == ["python", "-m", f"services.{service}"]
        assert spec["environment"]["GONGZHI_HTTP_PORT"] == str(SERVICES[service])
        assert spec["healthcheck"]["test"]
        for dependency in ("kafka", "mongodb"):
            assert spec["depends_on"][dependency]["condition"] == "service_healthy"


# --- What each service is given -----------------------------------------------------


def settings_class(service: str) -> type[BaseSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    cls: type[BaseSettings] = getattr(module, f"{service.capitalize()}Settings")
    return cls


def known_variables(cls: type[BaseSettings]) -> set[str]:
    """Environment variable names a settings class reads (top level and nested)."""
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            prefix = annotation.model_config.get("env_prefix", "")
            names |= {f"{prefix}{sub}".upper() for sub in annotation.model_fields}
        else:
            names.add(f"{cls.model_config.get('env_prefix', '')}{name}".upper())
    return names


def demo_directory() -> Path:
    return REPO / "shared" / "data" / "directory.yaml"


def directory_references() -> set[str]:
    """The ``${VAR}`` the demo directory expands when a service loads it."""

    def strings(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [s for value in node.values() for s in strings(value)]
        if isinstance(node, list):
            return [s for item in node for s in strings(item)]
        return [node] if isinstance(node, str) else []

    text = "\n".join(strings(yaml.safe_load(demo_directory().read_text())))
    return set(re.findall(r"\$\{([A-Z0-9_]+)", text))


def directory_secrets() -> set[str]:
    """The variables the demo directory names for its channels' secrets (notify reads them)."""
    directory = load_directory(demo_directory())
    return {
        channel.secret_env
        for responder in directory.responders
        for channel in responder.channels
        if isinstance(channel, WebhookChannel | DingTalkChannel) and channel.secret_env
    }


def directory_variables() -> set[str]:
    return directory_references() | directory_secrets()


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_one_the_service_reads(compose: Compose, service: str) -> None:
    environment = compose.environment(service)
    unknown = set(environment) - known_variables(settings_class(service)) - directory_variables()
    assert not unknown, f"{service} is given variables its settings ignore: {sorted(unknown)}"


def test_services_that_read_the_directory_get_what_it_expands(compose: Compose) -> None:
    # Unset, the demo directory's webhooks would point at 127.0.0.1: the container itself.
    assert "GONGZHI_ALERT_BASE_URL" in directory_references()
    for service in ("routing", "notify"):
        missing = directory_references() - set(compose.environment(service))
        assert not missing, f"{service} expands the directory without {missing}"
    assert directory_secrets() <= set(compose.environment("notify"))
    assert "127.0.0.1" not in compose.environment("notify")["GONGZHI_ALERT_BASE_URL"]


def config_files() -> list[tuple[str, str]]:
    """Every (service, variable) of compose that names a file under /config."""
    compose = load_compose(COMPOSE_FILE, generated_env(), profiles=frozenset({"monitoring"}))
    return [
        (service, name)
        for service in compose.services
        for name, value in compose.environment(service).items()
        if value.startswith("/config/")
    ]


def test_the_services_read_their_keys_directory_and_policy_from_config() -> None:
    assert {
        ("intake", "GONGZHI_API_KEYS_FILE"),
        ("stats", "GONGZHI_API_KEYS_FILE"),
        ("routing", "GONGZHI_DIRECTORY_PATH"),
        ("routing", "GONGZHI_POLICY_PATH"),
        ("routing", "GONGZHI_KAFKA_SYSTEMS_PATH"),
        ("notify", "GONGZHI_DIRECTORY_PATH"),
    } <= set(config_files())


@pytest.mark.parametrize(("service", "variable"), config_files())
def test_configuration_files_come_from_deploy_config(
    compose: Compose, service: str, variable: str
) -> None:
    # Stats once read /config/api-keys.yaml with nothing mounted there: it could not start.
    path = compose.environment(service)[variable]
    mounts = [m for m in compose.mounts(service) if path.startswith(m.target + "/")]
    assert mounts, f"{service}: {variable}={path} but nothing is mounted there"
    assert mounts[0].read_only
    assert (REPO / mounts[0].source).resolve() == REPO / "deploy" / "config"


def test_services_in_production_refuse_example_secrets(compose: Compose) -> None:
    environment = compose.environment("notify") | {"GONGZHI_WEBHOOK_SECRET": "change-me"}
    with pytest.raises(ValueError, match="GONGZHI_WEBHOOK_SECRET holds an example value"):
        refuse_example_secrets(settings_class("notify")(), environment)
    with pytest.raises(ValidationError, match="GONGZHI_CONTACT_SEAL_KEY holds an example"):
        NotifySettings(contact_seal_key="change-me", environment="production")
    with pytest.raises(ValidationError, match="KAFKA_SASL_PASSWORD holds an example"):
        settings_class("routing")(environment="production", kafka={"sasl_password": "CHANGE_ME"})
    with pytest.raises(ValidationError, match="MONGODB_PASSWORD holds an example"):
        settings_class("routing")(
            environment="production", mongo={"username": "gongzhi", "password": "password"}
        )
    settings_class("routing")(environment="production", kafka={"sasl_password": "s3cr3t-Xy"})


# --- Monitoring ---------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    path = REPO / "deploy" / "monitoring" / "grafana" / "dashboards" / "gongzhi.json"
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def exposed_metric_names() -> set[str]:
    """Sample names the services' and the exporter's metrics produce."""
    for module in ("shared.metrics", "shared.lag", "services.notify.metrics"):
        importlib.import_module(module)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names = {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in suffixes.get(family.type, ())
    }
    return names | {"gongzhi_stats_rate_ratio", "gongzhi_stats_figures_up", "up"}


def test_the_dashboard_shows_what_operators_watch() -> None:
    exprs = [t["expr"] for p in dashboard()["panels"] for t in p["targets"]]
    text = "\n".join(exprs)
    for needed in (
        "gongzhi_events_handled_total",
        "gongzhi_handler_seconds_bucket",
        "gongzhi_consumer_lag_records",
        "gongzhi_notify_deliveries_total",
        "gongzhi_stats_rate_ratio",
    ):
        assert needed in text, f"no panel shows {needed}"
    used = set(re.findall(r"\b(gongzhi_\w+|up)\b(?=[{\[\s)])", text))
    assert used <= exposed_metric_names(), f"unknown metrics: {used - exposed_metric_names()}"


def test_grafana_is_provisioned_with_the_dashboard_and_its_datasource(compose: Compose) -> None:
    mounts = {m.target: REPO / m.source for m in compose.mounts("grafana")}
    provisioning = mounts["/etc/grafana/provisioning"]
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())
    source = sources["datasources"][0]
    host, port = ADDRESS.search(source["url"]).groups()  # type: ignore[union-attr]
    assert host == "prometheus"
    assert host in compose.services
    assert port == "9090"
    providers = yaml.safe_load((provisioning / "dashboards" / "gongzhi.yaml").read_text())
    folder = providers["providers"][0]["options"]["path"]
    assert (mounts[folder] / "gongzhi.json").is_file()
    for panel in dashboard()["panels"]:
        assert panel["datasource"]["uid"] == source["uid"]


def test_the_exporter_serves_every_rate_the_figures_hold() -> None:
    rates = {"response_rate": 0.5, "resolution_rate": None, "satisfaction_rate": 1.0}
    figures = {
        "period": "2026-11",
        "rates": rates,
        "responders": {"pf-a": {"rates": {"resolution_rate": 0.25}}},
        "communities": {"cm-b": {"rates": {}}},
    }
    assert dict(rate_samples(figures)) == {
        ("city", "all", "response_rate", "2026-11"): 0.5,
        ("city", "all", "satisfaction_rate", "2026-11"): 1.0,
        ("responder", "pf-a", "resolution_rate", "2026-11"): 0.25,
    }


def test_mongodb_credentials_come_in_pairs() -> None:
    with pytest.raises(ValidationError, match="set together"):
        MongoSettings(username="gongzhi")
    settings = MongoSettings(username="gongzhi", password="p/@ss:w%rd")
    assert settings.password is not None
    assert settings.password.get_secret_value() == "p/@ss:w%rd"


def test_backlog_workers_yield_the_cpu_to_intake_as_on_the_local_stack(compose: Compose) -> None:
    for service in SERVICES:
        shares = compose.services[service].get("cpu_shares", 1024)
        if service in BACKLOG_WORKERS:
            assert 0 < shares <= 1024 // 4, service
        else:
            assert shares == 1024, service
