"""The Kafka access table (shared/access.py) against what uses it: the topics and the
services' code, the README, docker-compose.yml's broker and kafka-init, and the ACLs
made from it. tests/integration/deploy/test_kafka_acls.py proves them on the broker."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from devtools.compose_env import Compose, load_compose
from devtools.create_topics import InitSettings, outside_systems, plan
from devtools.kafka_acls import ALLOW, LITERAL, Binding, managed_by
from devtools.kafka_image import server_properties
from shared import topics
from shared.access import (
    ADMIN,
    HOTSPOT_GROUP,
    README_MARKER,
    SERVICE_GROUPS,
    Acl,
    Grant,
    OutsideSystems,
    acls,
    grants,
    load_outside_systems,
    markdown,
    service_grants,
)
from shared.datafile import DataFileError
from shared.settings import KafkaSettings
from shared.topics import (
    COMPLAINTS_ROUTED,
    INGRESS_COMPLAINTS,
    INGRESS_UPDATES,
    SERVICES,
    STATS_SNAPSHOTS,
    responder_updates_topic,
    topic_specs,
)

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLE = OutsideSystems(
    sources=("hotline-12345",),
    responders=("pf-dianzhong", "fire"),
    readers={"city-data-office": (STATS_SNAPSHOTS,)},
)
JAAS_USER = re.compile(r'user_([a-z0-9-]+)="([^"]*)"')


def by_principal(granted: tuple[Grant, ...]) -> dict[str, list[Grant]]:
    found: dict[str, list[Grant]] = {}
    for grant in granted:
        found.setdefault(grant.principal, []).append(grant)
    return found


# --- The table against the topics and the services' code ------------------------------


def test_every_topic_has_a_writer_and_a_reader() -> None:
    granted = grants(EXAMPLE)
    for spec in topic_specs(4, EXAMPLE.responders):
        writers = [g.principal for g in granted if spec.name in g.writes]
        readers = [g.principal for g in granted if spec.name in (*g.reads, *g.follows)]
        assert writers, f"nobody may write {spec.name}"
        assert readers, f"nobody may read {spec.name}"


def test_the_table_names_only_topics_that_exist() -> None:
    known = {spec.name for spec in topic_specs(4, EXAMPLE.responders)}
    for grant in grants(EXAMPLE):
        assert grant.topics <= known, f"{grant.principal}: {sorted(grant.topics - known)}"


def group_id_of(service: str) -> str:
    """``GROUP_ID`` in ``services/<service>/app.py``, read without importing the app."""
    tree = ast.parse((REPO / "services" / service / "app.py").read_text())
    [value] = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["GROUP_ID"]
        and isinstance(node.value, ast.Constant)
    ]
    assert isinstance(value, str)
    return value


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_joins_the_group_its_code_uses(service: str) -> None:
    [grant] = [g for g in service_grants() if g.principal == service]
    assert grant.groups[0] == group_id_of(service) == SERVICE_GROUPS[service]
    # Routing's hot-spot stage has a group of its own, and so transactions of its own.
    assert (
        grant.groups[1:] == grant.transactions == ((HOTSPOT_GROUP,) if service == "routing" else ())
    )


def topics_named_in(package: Path) -> set[str]:
    """The topics a service's code names: constants imported from shared.topics, and its
    dead-letter topic if it imports dead_letter_topic."""
    named: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "shared.topics":
                for alias in node.names:
                    if alias.name == "dead_letter_topic":
                        named.add(topics.dead_letter_topic(package.name))
                    elif alias.name.isupper() and alias.name != "SERVICES":
                        named.add(getattr(topics, alias.name))
    return named


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_granted_every_topic_its_code_names(service: str) -> None:
    """A topic a service starts to use without a grant fails in production only, with
    an authorisation error: this catches it first."""
    [grant] = [g for g in service_grants() if g.principal == service]
    named = topics_named_in(REPO / "services" / service)
    assert named, f"found no topic in services/{service}"
    assert named <= grant.topics, f"{service} uses {sorted(named - grant.topics)} ungranted"


def test_only_the_routing_service_may_write_what_responders_read_as_routing() -> None:
    writers = {g.principal for g in grants(EXAMPLE) if COMPLAINTS_ROUTED in g.writes}
    assert writers == {"routing"}
    shared_updates = {g.principal for g in grants(EXAMPLE) if INGRESS_UPDATES in g.writes}
    assert shared_updates == {"intake", "routing"}


def test_a_responder_system_writes_its_own_update_topic_and_nothing_else() -> None:
    found = by_principal(grants(EXAMPLE))
    for responder in EXAMPLE.responders:
        [grant] = found[responder]
        assert grant.writes == (responder_updates_topic(responder),)
        assert not grant.reads
        assert not grant.follows
        assert not grant.groups
    [routing] = found["routing"]
    assert {responder_updates_topic(r) for r in EXAMPLE.responders} <= set(routing.reads)


def test_outside_systems_read_only_what_they_are_granted() -> None:
    found = by_principal(grants(EXAMPLE))
    [source] = found["hotline-12345"]
    assert (source.writes, source.reads, source.follows) == ((INGRESS_COMPLAINTS,), (), ())
    [reader] = found["city-data-office"]
    assert (reader.writes, reader.reads, reader.groups) == (
        (),
        (STATS_SNAPSHOTS,),
        ("city-data-office",),
    )


# --- ACLs -----------------------------------------------------------------------------


def test_acls_allow_exactly_the_grants() -> None:
    made = acls(grants(EXAMPLE))
    assert not any(acl.principal == f"User:{ADMIN}" for acl in made)
    assert {a for a in made if a.principal == "User:hotline-12345"} == {
        Acl("User:hotline-12345", "TOPIC", INGRESS_COMPLAINTS, "WRITE")
    }
    intake = {a for a in made if a.principal == "User:intake"}
    assert Acl("User:intake", "GROUP", "gongzhi-intake", "READ") in intake
    assert Acl("User:intake", "TOPIC", topics.ROUTING_REPLIES, "READ") in intake
    assert {a.operation for a in made} == {"READ", "WRITE"}
    assert Acl("User:routing", "TRANSACTIONAL_ID", "gongzhi-hotspots-3", "WRITE") in made
    expected = sum(
        len(g.writes) + len(g.reads) + len(g.follows) + len(g.groups) + 4 * len(g.transactions)
        for g in grants(EXAMPLE)
        if not g.super_user
    )
    assert len(made) == expected, "a grant lists a topic or group twice"


def test_acls_carry_the_deployments_prefix_on_topics_and_groups() -> None:
    made = acls(grants(EXAMPLE), prefix="t-1.")
    assert made
    assert all(acl.name.startswith("t-1.") for acl in made)
    assert Acl("User:routing", "GROUP", "t-1.gongzhi-routing", "READ") in made


def test_bindings_round_trip_and_foreign_ones_are_not_taken_for_gongzhis() -> None:
    acl = Acl("User:fire", "TOPIC", "ingress.updates.fire", "WRITE")
    binding = Binding.allowing(acl)
    assert (binding.pattern_type, binding.host, binding.permission) == (LITERAL, "*", ALLOW)
    assert binding.as_acl() == acl
    assert binding._replace(pattern_type=4).as_acl() is None  # PREFIXED
    assert binding._replace(permission=2).as_acl() is None  # DENY
    assert binding._replace(operation=8).as_acl() is None  # DESCRIBE


def test_a_deployment_manages_only_the_acls_under_its_prefix() -> None:
    on = Binding.allowing(Acl("User:x", "GROUP", "t-1.gongzhi-stats", "READ"))
    off = Binding.allowing(Acl("User:x", "GROUP", "t-2.gongzhi-stats", "READ"))
    cluster = Binding(4, "kafka-cluster", LITERAL, "User:x", "*", 12, ALLOW)
    assert managed_by("t-1.")(on)
    assert not managed_by("t-1.")(off)
    assert managed_by("")(off)
    assert not managed_by("")(cluster)


# --- Outside systems: the operator's file ----------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"sources": ["Hotline_12345"]}, "not a principal name"),
        ({"responders": ["routing"]}, "Gongzhi's own principals"),
        ({"sources": ["admin"]}, "Gongzhi's own principals"),
        ({"readers": {"gongzhi-routing": ["complaints.routed"]}}, "Gongzhi's own"),
        ({"responders": ["fire", "fire"]}, "listed twice: fire"),
        ({"readers": {"bi": ["complaints.routd"]}}, "no such topic complaints.routd"),
        ({"readers": {"bi": []}}, "lists no topic"),
        ({"readers": {"bi": ["ingress.complaints"]}}, "in clear and is read by intake only"),
        ({"sinks": ["x"]}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_systems_file_is_refused_with_the_reason(
    tmp_path: Path, document: object, message: str
) -> None:
    path = tmp_path / "kafka-systems.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(DataFileError, match=message) as caught:
        load_outside_systems(path)
    assert str(path) in str(caught.value)


def test_a_reader_may_be_granted_a_responders_update_topic() -> None:
    systems = OutsideSystems(responders=("fire",), readers={"audit": ("ingress.updates.fire",)})
    assert systems.readers["audit"] == ("ingress.updates.fire",)


def test_the_example_systems_file_loads_and_grants_nobody() -> None:
    example = load_outside_systems(REPO / "deploy" / "config" / "kafka-systems.example.yaml")
    assert example == OutsideSystems()


def test_without_a_systems_file_there_are_no_outside_systems() -> None:
    assert outside_systems(InitSettings(kafka_systems_path=None)) == OutsideSystems()


def test_each_responder_system_gets_an_update_topic_like_ingress_updates() -> None:
    wanted = plan(KafkaSettings(topic_partitions=6), EXAMPLE)
    partitions = {spec.name: spec.partitions for spec in wanted.topics}
    assert partitions[responder_updates_topic("fire")] == partitions[INGRESS_UPDATES] == 6
    assert partitions[responder_updates_topic("pf-dianzhong")] == 6
    assert len(partitions) == len(topic_specs()) + 2


# --- docker-compose.yml: the broker and kafka-init --------------------------------------


def generated_env(**extra: str) -> dict[str, str]:
    out = subprocess.run(
        ["bash", str(REPO / "deploy" / "new-env.sh")], check=True, capture_output=True, text=True
    ).stdout
    env = {k: v for k, _, v in (line.partition("=") for line in out.splitlines()) if k[:1] != "#"}
    env |= {
        "GONGZHI_PUBLIC_BASE_URL": "https://gongzhi.city.test",
        "GONGZHI_ALERT_BASE_URL": "http://alerts.city.test:9900",
    }
    return env | extra


def kafka_user_entry(name: str) -> str:
    return subprocess.run(
        ["bash", str(REPO / "deploy" / "new-env.sh"), "--kafka-user", name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def compose() -> Compose:
    users = " ".join(
        kafka_user_entry(n) for n in ("hotline-12345", "pf-dianzhong", "fire", "city-data-office")
    )
    return load_compose(REPO / "docker-compose.yml", generated_env(KAFKA_SYSTEM_USERS=users))


def test_the_broker_allows_nothing_without_an_acl_but_to_admin(compose: Compose) -> None:
    broker = server_properties(compose.environment("kafka"))
    assert broker["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert broker["allow.everyone.if.no.acl.found"] == "false"
    assert broker["super.users"] == f"User:{ADMIN}"


def jaas_users(compose: Compose) -> dict[str, str]:
    jaas = compose.environment("kafka")["KAFKA_LISTENER_NAME_CLIENT_PLAIN_SASL_JAAS_CONFIG"]
    assert jaas.rstrip().endswith(";")
    return dict(JAAS_USER.findall(jaas))


def test_outside_systems_log_in_with_the_users_of_the_env(compose: Compose) -> None:
    users = jaas_users(compose)
    assert set(users) == {ADMIN, *SERVICES, *(p for p in by_principal(grants(EXAMPLE)))}
    assert len(set(users.values())) == len(users)
    without = load_compose(REPO / "docker-compose.yml", generated_env())
    assert set(jaas_users(without)) == {ADMIN, *SERVICES}


def test_each_service_logs_in_as_the_principal_the_table_grants(compose: Compose) -> None:
    init_prefix = compose.environment("kafka-init").get("KAFKA_TOPIC_PREFIX", "")
    for grant in service_grants():
        env = compose.environment(grant.principal)
        assert env["KAFKA_SASL_USERNAME"] == grant.principal
        # The ACLs name the topics and groups the service really uses.
        assert env.get("KAFKA_TOPIC_PREFIX", "") == init_prefix


def test_kafka_init_creates_exactly_the_tables_acls(
    compose: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kafka-init's own planning, run with its compose environment and the operator's
    file where compose mounts it."""
    env = compose.environment("kafka-init")
    assert env["KAFKA_SASL_USERNAME"] == ADMIN
    [mount] = [m for m in compose.mounts("kafka-init") if m.target == "/config"]
    assert mount.read_only
    assert (REPO / mount.source).resolve() == REPO / "deploy" / "config"
    path = Path(env["GONGZHI_KAFKA_SYSTEMS_PATH"])
    assert path.parent == Path(mount.target)
    (tmp_path / path.name).write_text(yaml.safe_dump(EXAMPLE.model_dump(mode="json")))
    env["GONGZHI_KAFKA_SYSTEMS_PATH"] = str(tmp_path / path.name)
    for name in [n for n in os.environ if n.startswith(("KAFKA_", "GONGZHI_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    wanted = plan(KafkaSettings(), outside_systems(InitSettings()))

    assert wanted.acls == acls(grants(EXAMPLE))
    principals = {acl.principal.removeprefix("User:") for acl in wanted.acls}
    assert principals <= set(jaas_users(compose)), "ACLs for a principal that cannot log in"
    names = {spec.name for spec in wanted.topics}
    assert {responder_updates_topic(r) for r in EXAMPLE.responders} <= names


def test_new_env_makes_a_kafka_user_entry_for_an_outside_system() -> None:
    entry = kafka_user_entry("pf-dianzhong")
    [(name, password)] = JAAS_USER.findall(entry)
    assert name == "pf-dianzhong"
    assert re.fullmatch(r"[A-Za-z0-9_-]{24,}", password)
    assert kafka_user_entry("pf-dianzhong") != entry
    refused = subprocess.run(
        ["bash", str(REPO / "deploy" / "new-env.sh"), "--kafka-user", "PF_Dianzhong"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert "lowercase" in refused.stderr


# --- The README ------------------------------------------------------------------------


def test_the_readme_shows_the_table() -> None:
    text = (REPO / "README.md").read_text()
    parts = text.split(README_MARKER)
    assert len(parts) == 3, f"README.md needs the table between two {README_MARKER} lines"
    assert parts[1].strip() == markdown().strip(), (
        "README.md's Kafka table is out of date: paste `python -m shared.access` there"
    )
