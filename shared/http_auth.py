"""How HTTP callers present credentials, declared as OpenAPI security schemes so each
service's document says which operations need which (and clients and schemathesis
know where to put them).

- ``apiKey``: ``Authorization: Bearer <key>``, a key of ``shared.auth``'s key ring.
- ``trackingToken``: a resident's tracking token, in ``X-Tracking-Token`` or the
  ``token`` query parameter (what intake gave with the complaint id).

The dependencies here only read what was sent; who may do what is decided by the
service (``services.intake.http``, ``services.stats.access``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import FastAPI, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import ApiKey, KeyRing
from shared.http_errors import ApiError

API_KEY_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    bearerFormat="opaque",
    description="An API key: `Authorization: Bearer <key>`. Its scopes decide what it may do.",
)
TRACKING_HEADER_SCHEME = APIKeyHeader(
    name="X-Tracking-Token",
    auto_error=False,
    scheme_name="trackingToken",
    description="A resident's tracking token, given with the complaint id: opens that "
    "complaint only.",
)
TRACKING_QUERY_SCHEME = APIKeyQuery(
    name="token",
    auto_error=False,
    scheme_name="trackingTokenQuery",
    description="The tracking token as a query parameter (for a link in a message).",
)

UNAUTHENTICATED = {"WWW-Authenticate": "Bearer"}


def unauthenticated(code: str, message: str) -> ApiError:
    return ApiError(
        401, code, message, field="Authorization", location="header", headers=UNAUTHENTICATED
    )


async def presented_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(API_KEY_SCHEME)],
) -> str | None:
    """The raw key sent, None when no ``Authorization`` header; 401 when the header is
    not ``Bearer <key>``."""
    if credentials is not None:
        return credentials.credentials.strip() or None
    if "authorization" not in request.headers:
        return None
    raise unauthenticated("malformed_credentials", "Authorization must be: Bearer <key>")


def identify(request: Request, raw_key: str) -> ApiKey:
    """The key behind ``raw_key`` in the app's key ring (``app.state.keys``), or 401."""
    keys: KeyRing = request.app.state.keys
    key = keys.identify(raw_key)
    if key is None:
        raise unauthenticated("unknown_key", "unknown API key")
    return key


async def optional_key(
    request: Request, raw_key: Annotated[str | None, Security(presented_key)]
) -> ApiKey | None:
    """The caller's key when it sent one (401 if unknown), else None."""
    return None if raw_key is None else identify(request, raw_key)


async def tracking_token(
    header: Annotated[str | None, Security(TRACKING_HEADER_SCHEME)],
    query: Annotated[str | None, Security(TRACKING_QUERY_SCHEME)],
) -> str | None:
    """The tracking token sent, from the header or else the query."""
    return header or query or None


def allow_anonymous(app: FastAPI, paths: Iterable[str]) -> None:
    """Document the operations on ``paths`` as answering without credentials too (the
    empty security requirement), when the deployment made them public."""
    public = frozenset(paths)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values() if path in public else ():
                if {} not in operation.setdefault("security", []):
                    operation["security"].append({})
        app.openapi_schema = schema
        return schema

    setattr(app, "openapi", openapi)  # noqa: B010  (mypy refuses assigning to a method)
