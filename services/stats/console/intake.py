"""The console's actions go to intake's public API, with the signed-in user's own key,
so they meet the same checks as any caller's: scopes, rate limits, routing's rules."""

from __future__ import annotations

from typing import Any

import httpx

from services.stats.console.wording import Answer

UPDATE_TIMEOUT_SECONDS = 15.0
"""Longer than intake waits for routing's answer (``update_answer_seconds``, 10 s)."""


def answer_of(status_code: int, body: Any) -> Answer:
    """Intake's reply to ``POST /v1/complaints/{id}/updates``, read (pure)."""
    body = body if isinstance(body, dict) else {}
    if status_code == 202:
        return Answer(True, status_code, status=body.get("status"))
    # The shared error model (shared/http_errors.py); "detail" is this client's own
    # note for an answer that was not JSON.
    detail = body.get("message", body.get("detail"))
    return Answer(
        False,
        status_code,
        code=body.get("code"),
        field=body.get("field"),
        detail=None if detail is None else str(detail),
    )


class IntakeClient:
    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=UPDATE_TIMEOUT_SECONDS, transport=transport
        )

    async def post_update(
        self,
        raw_key: str,
        complaint_id: str,
        update: dict[str, Any],
        idempotency_key: str,
    ) -> Answer:
        try:
            reply = await self._client.post(
                f"/v1/complaints/{complaint_id}/updates",
                json=update,
                headers={
                    "Authorization": f"Bearer {raw_key}",
                    # A double click or a resent form names the same update: applied once.
                    "Idempotency-Key": idempotency_key,
                },
            )
        except httpx.HTTPError as exc:
            return Answer(False, 0, detail=f"intake unreachable: {type(exc).__name__}")
        try:
            body = reply.json()
        except ValueError:
            body = {"detail": reply.text[:200]}  # not the error model: shown as it came
        return answer_of(reply.status_code, body)

    async def aclose(self) -> None:
        await self._client.aclose()
