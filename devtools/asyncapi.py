"""Generate the AsyncAPI document of Gongzhi's event contract from the services' code.

``make docs`` writes it to docs/asyncapi.json; a test fails when the committed file
and the code disagree, since other systems build against it."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import warnings
from collections.abc import Iterator
from typing import Any

from faststream.specification import AsyncAPI
from pydantic import BaseModel

from shared import events, topics
from shared.events import SCHEMA_VERSION

# What each topic carries. Subscribers read raw bytes (they validate themselves, so a bad
# message can be refused with reasons), so FastStream cannot see their payload type.
TOPIC_SCHEMAS: dict[str, type[BaseModel]] = {
    topics.INGRESS_COMPLAINTS: events.ComplaintSubmission,
    topics.INGRESS_UPDATES: events.IngressUpdate,
    topics.COMPLAINTS_RECEIVED: events.ComplaintReceived,
    topics.COMPLAINTS_REJECTED: events.ComplaintRejected,
    topics.COMPLAINTS_ROUTED: events.ComplaintRouted,
    topics.COMPLAINTS_UPDATED: events.ComplaintUpdated,
    topics.COMPLAINTS_ESCALATED: events.ComplaintEscalated,
    topics.COMPLAINTS_REMINDED: events.ComplaintReminded,
    topics.NOTIFICATIONS_SENT: events.NotificationSent,
    topics.NOTIFICATIONS_FAILED: events.NotificationFailed,
    topics.STATS_SNAPSHOTS: events.StatsSnapshot,
    topics.STATS_CHANGED: events.ScopeChanged,
    topics.ROUTING_COMMANDS: events.RoutingCommand,
    topics.HOTSPOTS_DETECTED: events.HotspotDetected,
    topics.HOTSPOTS_CLOSED: events.HotspotClosed,
}

SERVICES = ("intake", "routing", "notify", "stats")


@contextlib.contextmanager
def _default_settings() -> Iterator[None]:
    """Build the apps from defaults, not from whatever this shell has configured, so the
    document is the same everywhere."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "MONGODB_", "GONGZHI_")):
            del os.environ[name]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def build_document() -> dict[str, Any]:
    brokers = []
    with _default_settings():
        for name in SERVICES:
            module = importlib.import_module(f"services.{name}.app")
            app = module.create_app()
            brokers.append(app.state.broker)
    spec = AsyncAPI(
        *brokers,
        title="Gongzhi events",
        version=str(SCHEMA_VERSION),
        description=(
            "Residents' property-management complaints: intake, routing, notify and stats "
            "talk only through these topics. Values are JSON; the key is the complaint id "
            "unless a channel says otherwise."
        ),
    )
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    _fill_subscriber_payloads(document)
    return document


def _fill_subscriber_payloads(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, message in components.get("messages", {}).items():
        model = TOPIC_SCHEMAS.get(name.split(":", 1)[0])
        if model is None or not message["payload"].get("$ref", "").endswith("/EmptyPayload"):
            continue
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        message["payload"] = {"$ref": f"#/components/schemas/{model.__name__}"}
    if not any(
        m["payload"].get("$ref", "").endswith("/EmptyPayload")
        for m in components.get("messages", {}).values()
    ):
        schemas.pop("EmptyPayload", None)


def render() -> str:
    with warnings.catch_warnings():
        # intake and routing both publish refusals to complaints.rejected: one channel.
        warnings.simplefilter("ignore", RuntimeWarning)
        document = build_document()
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
