"""Kafka broker factory, dead letters and topic creation shared by every service."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Literal, TypedDict

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream._internal.types import CustomCallable
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.privacy import scrub_phones
from shared.settings import KafkaSettings
from shared.topics import topic_specs

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1_000_000


def _security(settings: KafkaSettings) -> BaseSecurity | None:
    if settings.security_protocol == "PLAINTEXT":
        return None
    ssl_context = None
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        import ssl

        ssl_context = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.security_protocol == "SSL":
        return BaseSecurity(ssl_context=ssl_context, use_ssl=True)
    if not settings.sasl_username or settings.sasl_password is None:
        raise ValueError("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required for SASL")
    sasl_class = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }[settings.sasl_mechanism]
    return sasl_class(
        username=settings.sasl_username,
        password=settings.sasl_password.get_secret_value(),
        ssl_context=ssl_context,
        use_ssl=settings.security_protocol == "SASL_SSL",
    )


def make_broker(settings: KafkaSettings, *, client_id: str, **options: Any) -> KafkaBroker:
    """A broker whose producer is idempotent and waits for every in-sync replica."""
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=settings.linger_ms,
        security=_security(settings),
        graceful_timeout=30.0,
        # Per-message "Received/Processed" lines would drown the useful ones.
        log_level=logging.DEBUG,
        **options,
    )


class BatchConsumerOptions(TypedDict):
    """Typed, so that FastStream's ``subscriber`` overload for batches is the one chosen."""

    batch: Literal[True]
    max_records: int
    batch_timeout_ms: int
    fetch_max_wait_ms: int
    fetch_min_bytes: int
    decoder: CustomCallable
    """FastStream's own alias (it exports none): with any other type mypy matches no
    ``subscriber`` overload and the handler is left untyped."""


async def records_as_they_came(message: StreamMessage[Any]) -> Any:
    """The batch's records, undecoded: every handler reads ``msg.raw_message`` and
    parses each record itself. FastStream's own batch decoder builds a message object
    for every record first, which was 8 % of stats' CPU at saturation (py-spy)."""
    return message.raw_message


def batch_consumer_options(settings: KafkaSettings, max_records: int) -> BatchConsumerOptions:
    """The options every service's batch consumer shares: how records are gathered into
    a batch (see ``KafkaSettings.fetch_wait_ms`` and ``poll_timeout_ms``)."""
    return {
        "batch": True,
        "max_records": max_records,
        "batch_timeout_ms": settings.poll_timeout_ms,
        "fetch_max_wait_ms": settings.fetch_wait_ms,
        "fetch_min_bytes": settings.fetch_min_bytes,
        "decoder": records_as_they_came,
    }


def admin_client_options(settings: KafkaSettings) -> dict[str, Any]:
    """aiokafka client options for tools that talk to Kafka without FastStream."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = (
            settings.sasl_password.get_secret_value() if settings.sasl_password else None
        )
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        import ssl

        options["ssl_context"] = ssl.create_default_context(cafile=settings.ssl_cafile)
    return options


async def ensure_topics(
    settings: KafkaSettings, responder_systems: Sequence[str] = ()
) -> dict[str, int]:
    """Create every topic the system uses, with the update topic of each responder
    system (idempotent; existing topics are left alone); the partition count of each,
    by its full name."""
    specs = topic_specs(settings.topic_partitions, responder_systems)
    admin = AIOKafkaAdminClient(**admin_client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(settings.topic(spec.name), spec.partitions, 1, topic_configs=spec.config)
            for spec in specs
            if settings.topic(spec.name) not in existing
        ]
        if missing:
            # Another service may have created them first.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        names = [settings.topic(spec.name) for spec in specs]
        described = await admin.describe_topics(names)
        return {t["topic"]: len(t["partitions"]) for t in described if t["partitions"]}
    finally:
        await admin.close()


def dead_letter_headers(
    *,
    service: str,
    origin_topic: str,
    origin_partition: int,
    origin_offset: int,
    error: str,
    attempts: int,
) -> dict[str, str]:
    """The provenance a dead letter carries, so an operator can find and replay it.

    Phone numbers are masked: a dead letter is read by operators."""
    return {
        "x-origin-topic": origin_topic,
        "x-origin-partition": str(origin_partition),
        "x-origin-offset": str(origin_offset),
        "x-error": scrub_phones(error)[:2000],
        "x-attempts": str(attempts),
        "x-service": service,
    }


def dead_letter_body(body: bytes) -> bytes:
    """The parked copy of a message: phones masked, cut to the broker's size limit."""
    return scrub_phones(body.decode("utf-8", errors="replace")).encode()[:MAX_MESSAGE_BYTES]
