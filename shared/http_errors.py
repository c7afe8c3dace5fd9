"""The one error body every service's HTTP API answers with, and the handlers that make
every refusal use it.

Every 4xx and 5xx is an ``ErrorBody``: a machine ``code``, a human ``message``, the
``field`` at fault (or null when the request as a whole is refused) and ``errors``,
one ``FieldError`` per problem (a 422 lists each invalid field; other refusals list
their one reason). Clients branch on ``code``, never on the wording.

``install_error_handlers`` puts the handlers on an app once, in its composition root:
FastAPI's and Starlette's own refusals (unknown path, wrong method, invalid request),
``ApiError`` raised by routes and dependencies, and anything unexpected (500). A
refusal made outside FastAPI (an ASGI guard) uses ``error_json`` so it reads the same.

``documented(...)`` gives a route's ``responses=`` entries, so that each status a
route answers is in its OpenAPI document with this model."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

Location = Literal["body", "query", "header", "path", "cookie"]


class FieldError(BaseModel):
    """One problem with one part of a request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str | None = Field(
        description="The part at fault, dotted within its location (`reporter.phone`, "
        "`Idempotency-Key`, `period`); null when the request as a whole is refused."
    )
    location: Location | None = Field(
        default=None, description="Where that part is: body, query, header, path or cookie."
    )
    code: str = Field(
        description="Machine-readable reason, e.g. `missing`, `string_too_long`, "
        "`extra_forbidden` (Pydantic's error types for invalid input), `not_assigned`."
    )
    message: str = Field(description="What is wrong, in words. Never echoes the input.")


class ErrorBody(BaseModel):
    """What every refusal of every Gongzhi service answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(
        description="Machine-readable reason of the refusal: `invalid`, `missing_credentials`, "
        "`unknown_key`, `forbidden`, `not_found`, `not_routed`, `not_allowed`, "
        "`not_assigned`, `idempotency_conflict`, `too_large`, `rate_limited`, "
        "`unavailable`, ..."
    )
    message: str = Field(description="The reason in words.")
    field: str | None = Field(description="The (first) field at fault, or null.")
    errors: list[FieldError] = Field(
        description="Every problem found; for a 422 one entry per invalid field."
    )


STATUS_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}
"""The ``code`` of a refusal that names none of its own."""


def error_body(
    code: str,
    message: str,
    *,
    field: str | None = None,
    location: Location | None = None,
    errors: Sequence[FieldError] | None = None,
) -> ErrorBody:
    listed = (
        list(errors)
        if errors
        else [FieldError(field=field, location=location, code=code, message=message)]
    )
    return ErrorBody(code=code, message=message, field=field, errors=listed)


def error_json(status: int, message: str, *, code: str | None = None) -> bytes:
    """The body of a refusal sent outside FastAPI (an ASGI guard)."""
    body = error_body(code or STATUS_CODES.get(status, "error"), message)
    return json.dumps(body.model_dump(mode="json")).encode()


class ApiError(Exception):
    """A refusal with its status, machine code and the field at fault.

    Raised by routes and dependencies; the installed handler answers it as an
    ``ErrorBody`` (with ``headers``, e.g. ``Retry-After`` on a 429)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        location: Location | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.location = field, location
        self.headers = dict(headers or {})

    def body(self) -> ErrorBody:
        return error_body(self.code, self.message, field=self.field, location=self.location)


def _answer(status: int, body: ErrorBody, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


_LOCATIONS: frozenset[str] = frozenset({"body", "query", "header", "path", "cookie"})


def field_error(error: Mapping[str, Any], union_tags: frozenset[str] = frozenset()) -> FieldError:
    """One of Pydantic's errors as a ``FieldError``; ``msg`` and ``type`` only: the
    input (and Pydantic's ``input``/``ctx``, which may hold a reporter's phone number)
    is never echoed back."""
    loc = [str(part) for part in error.get("loc", ())]
    location: Location | None = None
    if loc and loc[0] in _LOCATIONS:
        location = loc.pop(0)  # type: ignore[assignment]
    # A discriminated union names the variant it tried (``rated``) before the field: the
    # caller sent a field of the body, not of a variant, so the tag is left out.
    if len(loc) > 1 and loc[0] in union_tags:
        loc.pop(0)
    code = str(error.get("type", "invalid"))
    message = str(error.get("msg"))
    ctx = error.get("ctx") or {}
    if code == "json_invalid":
        loc = []  # Pydantic names the character offset, which is no field
    if code.startswith("union_tag") and not loc:
        discriminator = str(ctx.get("discriminator", "")).strip("'\"")
        loc = [discriminator] if discriminator else []
    if code == "union_tag_invalid":
        # Pydantic's own message quotes the tag sent.
        message = f"Input should be {ctx.get('expected_tags')}"
    return FieldError(field=".".join(loc) or None, location=location, code=code, message=message)


def validation_body(
    errors: Iterable[Mapping[str, Any]], union_tags: frozenset[str] = frozenset()
) -> ErrorBody:
    listed = [field_error(e, union_tags) for e in errors]
    first = listed[0] if listed else None
    where = f"{first.field}: " if first is not None and first.field else ""
    message = f"{where}{first.message}" if first is not None else "the request is invalid"
    if len(listed) > 1:
        message += f" (and {len(listed) - 1} more)"
    return ErrorBody(
        code="invalid",
        message=message,
        field=first.field if first is not None else None,
        errors=listed,
    )


def install_error_handlers(app: FastAPI, *, union_tags: Iterable[str] = ()) -> None:
    """Answer every refusal of ``app`` with an ``ErrorBody``.

    ``union_tags``: the tags of the discriminated unions the app's request bodies use
    (left out of a field's path, see ``field_error``)."""
    tags = frozenset(union_tags)

    @app.exception_handler(ApiError)
    async def refused(_: Request, exc: ApiError) -> JSONResponse:
        return _answer(exc.status, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _answer(422, validation_body(exc.errors(), tags))

    @app.exception_handler(StarletteHTTPException)
    async def http_refusal(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        body = error_body(code, str(exc.detail))
        return _answer(exc.status_code, body, exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs it too; this names the route, and the client gets the same model.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _answer(500, error_body("internal", "internal error; it has been logged"))

    _document_errors(app)
    # A query parameter the operation does not take is refused too (a typo would
    # otherwise be answered as if it had not been sent).
    from shared.http_query import refuse_undocumented_query  # it builds on this module

    refuse_undocumented_query(app)


# --- OpenAPI ----------------------------------------------------------------------------

REASONS: Mapping[int, str] = {
    400: "The body could not be read (not UTF-8, or not the declared content type).",
    401: "No credentials, malformed ones, or an unknown key (`missing_credentials`, "
    "`malformed_credentials`, `unknown_key`).",
    403: "The credentials are valid but may not do this (`forbidden`).",
    404: "No such resource, or not one these credentials may see (`not_found`).",
    409: "The request conflicts with the resource's state.",
    413: "The request body is larger than the service accepts (`too_large`).",
    422: "The request is invalid: each invalid field is listed in `errors` (`invalid`).",
    429: "Over the key's rate limit (`rate_limited`); see `Retry-After`.",
    503: "A dependency (Kafka, MongoDB) is away (`unavailable`); retry later.",
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with (`Bearer`).",
        "schema": {"type": "string"},
    }
}


ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _document_errors(app: FastAPI) -> None:
    """Make the app's document say what the handlers answer: FastAPI documents its 422
    with its own ``HTTPValidationError`` (a ``detail`` array), and an error of a route
    serving HTML or text in that route's media type; both are an ``ErrorBody`` in JSON."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in error_schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault("ErrorBody", error_schema)
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content") or {}
                    refs = [c.get("schema", {}).get("$ref", "") for c in content.values()]
                    if any(r.endswith(("/ErrorBody", "/HTTPValidationError")) for r in refs):
                        response["content"] = {"application/json": {"schema": ERROR_REF}}
                        if status == "422":
                            response["description"] = REASONS[422]
        app.openapi_schema = schema
        return schema

    setattr(app, "openapi", openapi)  # noqa: B010  (mypy refuses assigning to a method)


def documented(*statuses: int, **reasons: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the refusals a route answers, each with ``ErrorBody``.

    ``reasons`` replace the default description of a status, keyed ``s409="..."``."""
    out: dict[int | str, dict[str, Any]] = {}
    named = (int(name.removeprefix("s")) for name in reasons)
    for status in sorted({*statuses, *named}):
        entry: dict[str, Any] = {
            "model": ErrorBody,
            "description": reasons.get(f"s{status}", REASONS.get(status, "Refused.")),
        }
        if status == 429:
            entry["headers"] = RETRY_AFTER
        if status == 401:
            entry["headers"] = WWW_AUTHENTICATE
        out[status] = entry
    return out
