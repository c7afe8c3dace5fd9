"""Refuse query parameters an operation does not take.

FastAPI ignores a query parameter it does not know, so ``/v1/stats?perod=2026-10``
answers this month's figures as if the caller had asked for them: the typo is never
seen. Each documented operation that can answer 422 refuses, with the shared error
model, any query parameter its OpenAPI document does not name (its parameters and its
query security schemes, e.g. the tracking ``token``). Routes outside the document (the
console, redirects) and operations without a 422 (``/health``, ``/metrics``) are left
as they are."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http_errors import validation_body


def documented_query_names(document: Mapping[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(path, method) -> the query parameters it takes, for operations that answer 422."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    out: dict[tuple[str, str], frozenset[str]] = {}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if "422" not in operation.get("responses", {}):
                continue
            names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            for requirement in operation.get("security", []):
                for scheme in requirement:
                    if schemes.get(scheme, {}).get("in") == "query":
                        names.add(schemes[scheme]["name"])
            out[(path, method.upper())] = frozenset(names)
    return out


class UndocumentedQueryRefusal:
    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._operations: list[tuple[re.Pattern[str], str, frozenset[str]]] | None = None

    def _taken(self, scope: Scope) -> frozenset[str] | None:
        """The query parameters of the documented operation the request is for, if any."""
        if self._operations is None:
            # Matched on the document's own path templates: it is what the check holds
            # the service to, and FastAPI's route tree is not flat to walk.
            self._operations = [
                (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"),
                 method, names)
                for (path, method), names in documented_query_names(self.api.openapi()).items()
            ]  # fmt: skip
        for pattern, method, names in self._operations:
            if method == scope["method"] and pattern.match(scope["path"]):
                return names
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            taken = self._taken(scope)
            if taken is not None:
                sent = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                unknown = sorted({name for name, _ in sent} - taken)
                if unknown:
                    await self._refuse(send, unknown, taken)
                    return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, unknown: list[str], taken: frozenset[str]) -> None:
        offered = ", ".join(sorted(taken)) or "none"
        message = f"this operation takes no such query parameter (it takes: {offered})"
        errors = [
            {"loc": ("query", name), "type": "extra_forbidden", "msg": message} for name in unknown
        ]
        payload = json.dumps(validation_body(errors).model_dump(mode="json")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def refuse_undocumented_query(app: FastAPI) -> None:
    """Install the refusal on ``app`` (its document is read on the first request)."""
    app.add_middleware(UndocumentedQueryRefusal, api=app)
