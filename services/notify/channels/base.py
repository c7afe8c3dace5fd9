"""What every channel adapter shares: the failure type and HTTP outcome rules."""

from __future__ import annotations

import json as json_module
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from shared.privacy import scrub_phones

# Statuses that say the request itself is wrong: sending it again cannot help.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 413, 415, 422})


class DeliveryError(Exception):
    """The channel did not accept the alert; ``permanent`` when retrying cannot fix it."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(scrub_phones(reason)[:500])
        self.reason = scrub_phones(reason)[:500]
        self.permanent = permanent


@dataclass(frozen=True)
class Answer:
    """What a receiver answered (the body read in full, the connection reused)."""

    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json_module.loads(self.body)


def _excerpt(answer: Answer) -> str:
    return " ".join(answer.text[:200].split())


async def post(
    client: aiohttp.ClientSession,
    url: str,
    *,
    content: bytes | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
) -> Answer:
    """POST and turn every failure into a DeliveryError.

    Error texts never carry the URL: robot URLs hold their access key."""
    try:
        async with client.post(
            url,
            data=content,
            json=json,
            params=params,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as response:
            answer = Answer(response.status, await response.read())
    except TimeoutError as exc:
        raise DeliveryError(f"timed out: {type(exc).__name__}", permanent=False) from exc
    except aiohttp.ClientError as exc:
        raise DeliveryError(
            f"cannot connect: {type(exc).__name__}: {_without_url(exc)}", permanent=False
        ) from exc
    if 200 <= answer.status < 300:
        return answer
    permanent = answer.status in PERMANENT_STATUSES or 300 <= answer.status < 400
    raise DeliveryError(f"HTTP {answer.status}: {_excerpt(answer)}", permanent=permanent)


def _without_url(exc: aiohttp.ClientError) -> str:
    """aiohttp names the URL (with its query string) in some errors: keep only the host."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"{exc.host}:{exc.port}: {exc.os_error}"
    return type(exc).__name__


def check_errcode(answer: Answer, *, transient_codes: frozenset[int]) -> None:
    """WeCom and DingTalk answer 200 with ``errcode`` != 0 when they refuse a message."""
    try:
        parsed = answer.json()
    except ValueError as exc:
        raise DeliveryError(f"answer is not JSON: {_excerpt(answer)}", permanent=False) from exc
    code = parsed.get("errcode", 0) if isinstance(parsed, dict) else 0
    if code != 0:
        raise DeliveryError(
            f"errcode {code}: {str(parsed.get('errmsg', ''))[:200]}",
            permanent=code not in transient_codes,
        )
