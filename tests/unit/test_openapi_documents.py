"""What the four services' OpenAPI documents say, and the one error model behind them.

The documents are built from the apps themselves (no broker or database is reached
before the lifespan starts); the conformance test (tests/integration) checks the
running services answer as they say."""

from __future__ import annotations

from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.intake.update_bodies import UPDATE_TAGS, UpdateBody
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from services.routing.app import create_app as routing_app
from services.routing.settings import RoutingSettings
from services.stats.app import create_app as stats_app
from services.stats.settings import StatsSettings
from shared.auth import DEMO_API_KEY
from shared.http_errors import ErrorBody, field_error

ERROR_REF = "#/components/schemas/ErrorBody"


def documents() -> dict[str, dict[str, Any]]:
    apps: dict[str, FastAPI] = {
        "intake": intake_app(IntakeSettings(environment="test")),
        "routing": routing_app(RoutingSettings(environment="test")),
        "notify": notify_app(NotifySettings(environment="test")),
        "stats": stats_app(StatsSettings(environment="test", public_figures=False)),
    }
    return {name: app.openapi() for name, app in apps.items()}


DOCUMENTS = documents()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


@pytest.mark.parametrize("service", sorted(DOCUMENTS))
def test_every_refusal_is_documented_as_the_shared_error_model(service: str) -> None:
    doc = DOCUMENTS[service]
    assert "HTTPValidationError" not in str(doc)
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if int(status) < 400 or path == "/health":
                continue
            assert response["content"] == {"application/json": {"schema": {"$ref": ERROR_REF}}}, (
                method,
                path,
                status,
            )


@pytest.mark.parametrize("service", sorted(DOCUMENTS))
def test_operations_that_need_credentials_document_401_and_their_scheme(service: str) -> None:
    for method, path, op in operations(DOCUMENTS[service]):
        if path in ("/health", "/metrics"):
            assert "security" not in op
            continue
        assert op["security"], (method, path)
        assert "401" in op["responses"], (method, path)


def test_the_update_endpoint_documents_every_answer_of_routing() -> None:
    op = DOCUMENTS["intake"]["paths"]["/v1/complaints/{complaint_id}/updates"]["post"]
    assert {"202", "401", "403", "404", "409", "413", "422", "429", "503"} <= set(op["responses"])
    assert "only the lead" in op["description"]


def test_update_bodies_are_a_union_on_type_with_rating_only_when_rated() -> None:
    schemas = DOCUMENTS["intake"]["components"]["schemas"]
    body = DOCUMENTS["intake"]["paths"]["/v1/complaints/{complaint_id}/updates"]["post"]
    union = body["requestBody"]["content"]["application/json"]["schema"]
    assert union["discriminator"]["propertyName"] == "type"
    variants = {ref.rsplit("/", 1)[1] for ref in union["discriminator"]["mapping"].values()}
    for name in variants:
        has_rating = "rating" in schemas[name]["properties"]
        assert has_rating == (name == "Rated"), name
        assert schemas[name]["additionalProperties"] is False
    assert "rating" in schemas["Rated"]["required"]
    assert "note" in schemas["Returned"]["required"]
    tags = {
        get_args(v.model_fields["type"].annotation)[0] for v in get_args(get_args(UpdateBody)[0])
    }
    assert tags == set(UPDATE_TAGS)


def test_content_types_are_documented() -> None:
    for doc in DOCUMENTS.values():
        metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
        assert list(metrics) == ["text/plain"]
    stats = DOCUMENTS["stats"]["paths"]
    assert "/dashboard" not in stats  # a redirect to the console, which is no API
    figures = stats["/v1/stats"]["get"]["responses"]["200"]["content"]
    assert set(figures) == {"application/json", "text/csv"}


def test_public_figures_are_documented_as_needing_no_key() -> None:
    public = stats_app(StatsSettings(environment="test", public_figures=True)).openapi()
    assert {} in public["paths"]["/v1/stats"]["get"]["security"]
    assert {} in public["paths"]["/v1/scopes/{scope}"]["get"]["security"]
    assert {} not in public["paths"]["/v1/complaints/{complaint_id}"]["get"]["security"]
    private = DOCUMENTS["stats"]["paths"]["/v1/stats"]["get"]["security"]
    assert {} not in private


def test_a_validation_error_names_its_field_and_never_echoes_the_input() -> None:
    phone = "13812345678"
    nested = field_error(
        {
            "loc": ("body", "reporter", "phone"),
            "type": "string_pattern_mismatch",
            "msg": "String should match pattern",
            "input": phone,
        }
    )
    assert (nested.field, nested.location, nested.code) == (
        "reporter.phone",
        "body",
        "string_pattern_mismatch",
    )
    assert phone not in nested.model_dump_json()
    tagged = field_error(
        {"loc": ("body", "rated", "rating"), "type": "missing", "msg": "Field required"},
        UPDATE_TAGS,
    )
    assert tagged.field == "rating"
    bad_tag = field_error(
        {
            "loc": ("body",),
            "type": "union_tag_invalid",
            "msg": f"Input tag '{phone}' found",
            "ctx": {"discriminator": "'type'", "tag": phone, "expected_tags": "'rated'"},
        },
        UPDATE_TAGS,
    )
    assert (bad_tag.field, bad_tag.message) == ("type", "Input should be 'rated'")
    assert field_error({"loc": ("body", 7), "type": "json_invalid", "msg": "x"}).field is None


async def test_refusals_outside_routes_use_the_model_too() -> None:
    """Unknown paths, wrong methods, missing and unknown keys, oversized bodies: the
    same ``ErrorBody`` (no broker needed: these answer before any route runs)."""
    app = intake_app(IntakeSettings(environment="test", max_body_bytes=1024))
    transport = httpx.ASGITransport(app=app)
    demo = {"Authorization": f"Bearer {DEMO_API_KEY}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = {
            "unknown path": (await client.get("/nowhere"), 404, "not_found"),
            "wrong method": (await client.get("/v1/complaints"), 405, "method_not_allowed"),
            "no key": (await client.post("/v1/complaints", json={}), 401, "missing_credentials"),
            "basic auth": (
                await client.post(
                    "/v1/complaints", json={}, headers={"Authorization": "Basic eDp5"}
                ),
                401,
                "malformed_credentials",
            ),
            "unknown key": (
                await client.post("/v1/complaints", json={}, headers={"Authorization": "Bearer x"}),
                401,
                "unknown_key",
            ),
            "too large": (
                await client.post("/v1/complaints", content=b"x" * 2000, headers=demo),
                413,
                "too_large",
            ),
            "rating without rated": (
                await client.post(
                    "/v1/complaints/c-1/updates",
                    json={"type": "resolved", "actor_id": "pf", "rating": "satisfied"},
                    headers=demo,
                ),
                422,
                "invalid",
            ),
        }
    for name, (answer, status, code) in answers.items():
        assert answer.status_code == status, (name, answer.text)
        body = ErrorBody.model_validate(answer.json())
        assert body.code == code, name
        assert body.errors, name
        assert body.message, name
    assert answers["no key"][0].headers["WWW-Authenticate"] == "Bearer"
    assert answers["wrong method"][0].headers["Allow"] == "POST"
    assert answers["rating without rated"][0].json()["field"] == "rating"


async def test_a_tracking_token_is_refused_for_any_other_complaint_before_any_lookup() -> None:
    """401 whether or not the complaint exists (no store is reached: none is running)."""
    app = stats_app(StatsSettings(environment="test"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        wrong = await client.get("/v1/complaints/c-1", headers={"X-Tracking-Token": "nope"})
        in_query = await client.get("/v1/complaints/c-1", params={"token": "nope"})
        nothing = await client.get("/v1/complaints/c-1")
        hotspot = await client.get("/v1/hotspots/h-1", headers={"X-Tracking-Token": "nope"})
    assert (wrong.status_code, wrong.json()["code"]) == (401, "unknown_token")
    assert wrong.json()["field"] == "X-Tracking-Token"
    assert (in_query.status_code, in_query.json()["code"]) == (401, "unknown_token")
    assert (nothing.status_code, nothing.json()["code"]) == (401, "missing_credentials")
    assert (hotspot.status_code, hotspot.json()["code"]) == (403, "forbidden")


async def test_a_query_parameter_the_operation_does_not_take_is_refused() -> None:
    """A typo (``perod``) is a 422 naming it, not this month's figures; routes outside
    the document (the dashboard's redirect) and /health are left alone."""
    app = stats_app(StatsSettings(environment="test", public_figures=True))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        typo = await client.get("/v1/stats", params={"perod": "2026-10"})
        blank = await client.get("/v1/stats?=false")
        twice = await client.get("/v1/stats?responder=&responder=false")
        redirect = await client.get("/dashboard", params={"perod": "2026-10"})
    assert typo.status_code == 422, typo.text
    body = ErrorBody.model_validate(typo.json())
    assert (body.code, body.field, body.errors[0].location) == ("invalid", "perod", "query")
    assert body.errors[0].code == "extra_forbidden"
    assert "period" in body.message  # says what the operation takes
    assert blank.status_code == 422
    assert (twice.status_code, twice.json()["errors"][0]["code"]) == (422, "repeated_parameter")
    assert redirect.status_code == 307
