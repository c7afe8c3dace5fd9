"""Refuse query parameters an operation does not take, and one-value parameters sent
more than once.

FastAPI ignores a query parameter it does not know, so ``/v1/stats?perod=2026-10``
answers this month's figures as if the caller had asked for them: the typo is never
seen. Each documented operation that can answer 422 refuses, with the shared error
model, any query parameter its OpenAPI document does not name (its parameters and its
query security schemes, e.g. the tracking ``token``), and a parameter that takes one
value sent twice (FastAPI would keep the last one). Routes outside the document (the
console, redirects) and operations without a 422 (``/health``, ``/metrics``) are left
as they are."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http_errors import validation_body


@dataclass(frozen=True)
class QueryRule:
    names: frozenset[str]
    """The query parameters the operation takes."""
    repeatable: frozenset[str]
    """Those whose schema is an array: the others may be sent once."""


def _is_array(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "array" or any(_is_array(s) for s in schema.get("anyOf", []))


def documented_query_rules(document: Mapping[str, Any]) -> dict[tuple[str, str], QueryRule]:
    """(path, method) -> its query parameters, for the operations that answer 422."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    out: dict[tuple[str, str], QueryRule] = {}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if "422" not in operation.get("responses", {}):
                continue
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            names = {p["name"] for p in query}
            for requirement in operation.get("security", []):
                for scheme in requirement:
                    if schemes.get(scheme, {}).get("in") == "query":
                        names.add(schemes[scheme]["name"])
            repeatable = {p["name"] for p in query if _is_array(p.get("schema", {}))}
            out[(path, method.upper())] = QueryRule(frozenset(names), frozenset(repeatable))
    return out


def _problems(sent: Counter[str], rule: QueryRule) -> list[dict[str, Any]]:
    """Pydantic-shaped errors: parameters not taken, and single ones sent again."""
    offered = ", ".join(sorted(rule.names)) or "none"
    errors: list[dict[str, Any]] = []
    for name, times in sorted(sent.items()):
        if name not in rule.names:
            message = f"this operation takes no such query parameter (it takes: {offered})"
            errors.append({"loc": ("query", name), "type": "extra_forbidden", "msg": message})
        elif times > 1 and name not in rule.repeatable:
            message = f"sent {times} times; it takes one value"
            errors.append({"loc": ("query", name), "type": "repeated_parameter", "msg": message})
    return errors


class UndocumentedQueryRefusal:
    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._operations: list[tuple[re.Pattern[str], str, QueryRule]] | None = None

    def _rule(self, scope: Scope) -> QueryRule | None:
        """The query parameters of the documented operation the request is for, if any."""
        if self._operations is None:
            # Matched on the document's own path templates: it is what the check holds
            # the service to, and FastAPI's route tree is not flat to walk.
            self._operations = [
                (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"),
                 method, rule)
                for (path, method), rule in documented_query_rules(self.api.openapi()).items()
            ]  # fmt: skip
        for pattern, method, rule in self._operations:
            if method == scope["method"] and pattern.match(scope["path"]):
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            rule = self._rule(scope)
            if rule is not None:
                sent = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                errors = _problems(Counter(name for name, _ in sent), rule)
                if errors:
                    await self._refuse(scope, receive, send, errors)
                    return
        await self.app(scope, receive, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, errors: list[dict[str, Any]]
    ) -> None:
        payload = json.dumps(validation_body(errors).model_dump(mode="json")).encode()
        await Response(payload, 422, media_type="application/json")(scope, receive, send)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` as ``X``: FastAPI's rendering of an optional parameter."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list):
        return schema
    kept = [b for b in branches if b != {"type": "null"}]
    if len(kept) != 1 or len(kept) == len(branches):
        return schema
    return {**{k: v for k, v in schema.items() if k != "anyOf"}, **kept[0]}


def document_wire_parameters(app: FastAPI) -> None:
    """A query, header or path parameter is absent or text: null is no value it can
    carry, so an optional one is documented as its type alone (FastAPI writes
    ``anyOf: [string, null]``, which tells clients and schemathesis a null could be sent)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if "schema" in parameter:
                        parameter["schema"] = _without_null(parameter["schema"])
        app.openapi_schema = schema
        return schema

    setattr(app, "openapi", openapi)  # noqa: B010  (mypy refuses assigning to a method)


def refuse_undocumented_query(app: FastAPI) -> None:
    """Install the refusal on ``app`` (its document is read on the first request), and
    document its parameters as the wire carries them."""
    document_wire_parameters(app)
    app.add_middleware(UndocumentedQueryRefusal, api=app)
