"""What every channel adapter shares: the failure type and HTTP outcome rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from shared.privacy import scrub_phones

# Statuses that say the request itself is wrong: sending it again cannot help.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 413, 415, 422})


class DeliveryError(Exception):
    """The channel did not accept the alert; ``permanent`` when retrying cannot fix it."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(scrub_phones(reason)[:500])
        self.reason = scrub_phones(reason)[:500]
        self.permanent = permanent


def _excerpt(response: httpx.Response) -> str:
    return " ".join(response.text[:200].split())


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
) -> httpx.Response:
    """POST and turn every failure into a DeliveryError.

    Error texts never carry the URL: robot URLs hold their access key."""
    try:
        response = await client.post(
            url, content=content, json=json, params=params, headers=headers, timeout=timeout
        )
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"timed out: {type(exc).__name__}", permanent=False) from exc
    except httpx.TransportError as exc:
        raise DeliveryError(
            f"cannot connect: {type(exc).__name__}: {exc}", permanent=False
        ) from exc
    if response.is_success:
        return response
    permanent = response.status_code in PERMANENT_STATUSES or response.is_redirect
    raise DeliveryError(f"HTTP {response.status_code}: {_excerpt(response)}", permanent=permanent)


def check_errcode(response: httpx.Response, *, transient_codes: frozenset[int]) -> None:
    """WeCom and DingTalk answer 200 with ``errcode`` != 0 when they refuse a message."""
    try:
        answer = response.json()
    except ValueError as exc:
        raise DeliveryError(f"answer is not JSON: {_excerpt(response)}", permanent=False) from exc
    code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
    if code != 0:
        raise DeliveryError(
            f"errcode {code}: {str(answer.get('errmsg', ''))[:200]}",
            permanent=code not in transient_codes,
        )
