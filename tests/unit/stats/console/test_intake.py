"""What the console makes of intake's answers, and how it calls intake."""

from __future__ import annotations

import json

import httpx
import pytest

from services.stats.console.intake import IntakeClient, answer_of
from services.stats.console.wording import Answer, refusal_text
from shared.http_errors import error_body


def refused(code: str | None, message: str, field: str | None = None) -> dict[str, object]:
    """Intake's refusal as it answers it: the shared error model."""
    return error_body(code or "error", message, field=field).model_dump(mode="json")


def test_an_accepted_update_carries_the_new_status() -> None:
    assert answer_of(202, {"complaint_id": "c-1", "status": "acknowledged"}) == Answer(
        True, 202, status="acknowledged"
    )
    assert answer_of(202, {"status": "queued", "request_id": "r"}).status == "queued"


def test_a_refusal_keeps_routing_s_code_field_and_reason() -> None:
    reason = "the lead must acknowledge the complaint before you resolve it"
    body = refused("not_allowed", reason, "type")
    answer = answer_of(409, body)
    assert (answer.accepted, answer.code, answer.field) == (False, "not_allowed", "type")
    assert answer.detail == reason
    validation = answer_of(
        422, refused("invalid", "note: String should have at most 2000 characters", "note")
    )
    assert validation.detail == "note: String should have at most 2000 characters"
    assert validation.field == "note"


@pytest.mark.parametrize(
    ("answer", "action", "words"),
    [
        (answer_of(409, refused('not_allowed', 'the lead must acknowledge the complaint before you resolve it', 'type')),
         "resolved", "须先签收，才能办结。"),
        (answer_of(409, refused('not_allowed', 'cannot acknowledge a complaint that is resolved', 'type')),
         "acknowledged", "此件当前状态为「已办结」，不能签收。"),
        (answer_of(409, refused('not_allowed', 'the complaint is closed', 'type')),
         "returned", "此件已评价归档，不能再操作。"),
        (answer_of(403, refused('not_assigned', "only the lead (fire) may post 'resolved'; a supporting responder may only post in_progress", 'actor_id')),
         "resolved", "只有主办单位可以办结；协办单位只能报告办理中。"),
        (answer_of(403, refused('not_assigned', "'x' is not assigned", 'actor_id')),
         "acknowledged", "您的单位不是此件的承办单位，不能签收。"),
        (answer_of(422, refused('invalid', "returning a complaint needs a reason in 'note'", 'note')),
         "returned", "退单须填写理由。"),
        (answer_of(403, refused("forbidden", "this key may not act as 'fire'", "actor_id")), "acknowledged",
         "您的密钥不能代表该单位签收。"),
        (answer_of(404, refused('not_found', 'unknown complaint', 'complaint_id')), "acknowledged", "查无此件，或此件不属于您的单位。"),
        (answer_of(429, refused('rate_limited', 'rate limit exceeded')), "resolved", "操作过于频繁，请稍后再试。"),
        (Answer(False, 0, detail="intake unreachable: ConnectError"), "resolved",
         "系统暂时无法处理，请稍后重试（操作未执行）。"),
    ],
)  # fmt: skip
def test_every_refusal_is_said_in_words_the_responder_can_act_on(
    answer: Answer, action: str, words: str
) -> None:
    assert refusal_text(answer, action) == words


async def test_the_client_posts_with_the_user_s_key_and_an_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def intake(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"complaint_id": "c-9", "status": "acknowledged"})

    client = IntakeClient("http://intake.test/", transport=httpx.MockTransport(intake))
    update = {"type": "acknowledged", "actor_id": "pf-dianzhong", "note": None}
    answer = await client.post_update("firm-key", "c-9", update, idempotency_key="attempt-1")
    await client.aclose()
    assert answer == Answer(True, 202, status="acknowledged")
    (request,) = seen
    assert str(request.url) == "http://intake.test/v1/complaints/c-9/updates"
    assert request.headers["Authorization"] == "Bearer firm-key"
    assert request.headers["Idempotency-Key"] == "attempt-1"
    assert json.loads(request.content) == update


async def test_an_unreachable_intake_is_a_refusal_not_a_crash() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = IntakeClient("http://intake.test", transport=httpx.MockTransport(down))
    answer = await client.post_update("k", "c-1", {"type": "acknowledged"}, idempotency_key="a")
    await client.aclose()
    assert (answer.accepted, answer.http_status) == (False, 0)
    assert "ConnectError" in (answer.detail or "")
