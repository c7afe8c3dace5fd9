"""Generate the AsyncAPI document of Gongzhi's event contract from the services' code.

``make docs`` writes it to docs/asyncapi.json; a test fails when the committed file
and the code disagree, since other systems build against it."""

from __future__ import annotations

import importlib
import json
from typing import Any

from faststream.specification import AsyncAPI

from shared.events import SCHEMA_VERSION

SERVICES = ("intake", "routing", "notify", "stats")


def build_document() -> dict[str, Any]:
    brokers = []
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
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
