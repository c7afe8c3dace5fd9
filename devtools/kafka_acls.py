"""Make a broker's ACLs exactly those of ``shared/access.py``: list, create and delete.

aiokafka has no ACL methods (aio-libs/aiokafka#955), but it has the protocol's
DescribeAcls, CreateAcls and DeleteAcls requests and negotiates their versions; this
module sends them with aiokafka's own client, so kafka-init needs no second Kafka
library. Runs as the super user."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from shared.access import Acl
from shared.broker import admin_client_options
from shared.settings import KafkaSettings

# The protocol's codes (org.apache.kafka.common.{resource,acl}).
ANY = 1
RESOURCE_TYPES = {"TOPIC": 2, "GROUP": 3, "TRANSACTIONAL_ID": 5}
OPERATIONS = {"READ": 3, "WRITE": 4}
LITERAL = 3
ALLOW = 3
EVERY_HOST = "*"


class Binding(NamedTuple):
    """One ACL as the broker holds it (any kind, not only the ones Gongzhi makes)."""

    resource_type: int
    name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission: int

    @classmethod
    def allowing(cls, acl: Acl) -> Binding:
        return cls(
            RESOURCE_TYPES[acl.resource_type],
            acl.name,
            LITERAL,
            acl.principal,
            EVERY_HOST,
            OPERATIONS[acl.operation],
            ALLOW,
        )

    def as_acl(self) -> Acl | None:
        """The Gongzhi ACL this is, or None for any other kind of binding."""
        resource = {code: name for name, code in RESOURCE_TYPES.items()}.get(self.resource_type)
        operation = {code: name for name, code in OPERATIONS.items()}.get(self.operation)
        if (
            resource is None
            or operation is None
            or (self.pattern_type, self.host, self.permission) != (LITERAL, EVERY_HOST, ALLOW)
        ):
            return None
        return Acl(self.principal, resource, self.name, operation)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Changes:
    created: frozenset[Binding]
    deleted: frozenset[Binding]


class AclRequestError(RuntimeError):
    """The broker refused an ACL request; the message carries its error."""


@contextlib.asynccontextmanager
async def connected(settings: KafkaSettings) -> AsyncIterator[Any]:
    """aiokafka's client, bootstrapped with the settings' credentials."""
    client = AIOKafkaClient(**admin_client_options(settings))
    try:
        await client.bootstrap()
        yield client
    finally:
        await client.close()


def _check(error_code: int, message: str | None, what: str) -> None:
    if error_code:
        error = for_code(error_code)
        raise AclRequestError(f"{what}: {error.__name__}: {message or error.description}")


async def _send(client: Any, request: Any) -> Any:
    return await client.send(client.get_random_node(), request)


async def list_bindings(client: Any) -> frozenset[Binding]:
    """Every ACL on the cluster."""
    response = await _send(client, DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY))
    _check(response.error_code, response.error_message, "DescribeAcls")
    return frozenset(
        Binding(resource_type, name, pattern_type, principal, host, operation, permission)
        for resource_type, name, pattern_type, entries in response.resources
        for principal, host, operation, permission in entries
    )


async def _create(client: Any, binding: Binding) -> None:
    response = await _send(client, CreateAclsRequest(*_fields(binding)))
    for error_code, message in response.creation_responses:
        _check(error_code, message, f"CreateAcls {binding}")


async def _delete(client: Any, binding: Binding) -> None:
    # A filter naming every field matches this one binding only.
    response = await _send(client, DeleteAclsRequest(*_fields(binding)))
    for error_code, message, *_ in response.filter_responses:
        _check(error_code, message, f"DeleteAcls {binding}")


def _fields(b: Binding) -> tuple[int, str, int, str, str, int, int]:
    return (b.resource_type, b.name, b.pattern_type, b.principal, b.host, b.operation, b.permission)


def managed_by(prefix: str) -> Callable[[Binding], bool]:
    """The bindings a deployment with this ``KAFKA_TOPIC_PREFIX`` owns: every one on a
    topic or group under the prefix (with no prefix, every topic and group ACL)."""

    def owned(binding: Binding) -> bool:
        return binding.resource_type in RESOURCE_TYPES.values() and binding.name.startswith(prefix)

    return owned


async def apply_acls(
    settings: KafkaSettings, wanted: Iterable[Acl], owned: Callable[[Binding], bool]
) -> Changes:
    """Create the wanted ACLs that are missing and delete every owned one not wanted, so
    that a principal dropped from the table (a responder's system retired) loses its
    rights at the next run. Idempotent."""
    want = frozenset(Binding.allowing(acl) for acl in wanted)
    async with connected(settings) as client:
        have = await list_bindings(client)
        missing = want - have
        extra = frozenset(b for b in have - want if owned(b))
        await asyncio.gather(*(_create(client, b) for b in missing))
        await asyncio.gather(*(_delete(client, b) for b in extra))
    return Changes(created=missing, deleted=extra)


async def current_acls(
    settings: KafkaSettings, owned: Callable[[Binding], bool]
) -> frozenset[Acl | Binding]:
    """The owned bindings on the broker, each as a Gongzhi ACL where it is one."""
    async with connected(settings) as client:
        bindings = await list_bindings(client)
    return frozenset(b.as_acl() or b for b in bindings if owned(b))
