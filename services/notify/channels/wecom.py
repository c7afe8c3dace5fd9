"""WeCom (企業微信) group robot: a markdown message to ``/cgi-bin/webhook/send``."""

from __future__ import annotations

import aiohttp

from services.notify.channels.base import check_errcode, post
from services.notify.rendering import Message
from shared.directory import WeComChannel

# -1 system busy, 45009 call frequency over the limit: both pass by themselves.
TRANSIENT_ERRCODES = frozenset({-1, 45009})
MAX_CONTENT_BYTES = 4096


def _clip(text: str, limit: int) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "…"


async def send_wecom(
    client: aiohttp.ClientSession,
    channel: WeComChannel,
    message: Message,
    delivery_id: str,
    *,
    base_url: str,
    timeout: float,
) -> None:
    payload = {
        "msgtype": "markdown",
        "markdown": {"content": _clip(message.markdown, MAX_CONTENT_BYTES)},
    }
    response = await post(
        client,
        f"{base_url.rstrip('/')}/cgi-bin/webhook/send",
        params={"key": channel.key},
        json=payload,
        headers={"X-Gongzhi-Delivery-Id": delivery_id},
        timeout=timeout,
    )
    check_errcode(response, transient_codes=TRANSIENT_ERRCODES)
