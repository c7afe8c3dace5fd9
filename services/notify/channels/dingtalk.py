"""DingTalk (釘釘) group robot: a markdown message to ``/robot/send``, signed when the
robot has a secret (its "加簽" security setting)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

import aiohttp

from services.notify.channels.base import DeliveryError, check_errcode, post
from services.notify.rendering import Message
from shared.directory import DingTalkChannel

# -1 system busy, 130101 sending too fast: both pass by themselves.
TRANSIENT_ERRCODES = frozenset({-1, 130101})


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot signature: base64(HMAC-SHA256(secret, "<ms>\\n<secret>"))."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


async def send_dingtalk(
    client: aiohttp.ClientSession,
    channel: DingTalkChannel,
    message: Message,
    delivery_id: str,
    *,
    base_url: str,
    timeout: float,
) -> None:
    params = {"access_token": channel.access_token}
    if channel.secret_env:
        secret = os.environ.get(channel.secret_env, "")
        if not secret:
            raise DeliveryError(
                f"DingTalk secret variable {channel.secret_env} is not set", permanent=True
            )
        timestamp_ms = int(time.time() * 1000)
        params |= {"timestamp": str(timestamp_ms), "sign": dingtalk_sign(secret, timestamp_ms)}
    payload = {
        "msgtype": "markdown",
        "markdown": {"title": message.title, "text": message.markdown},
    }
    response = await post(
        client,
        f"{base_url.rstrip('/')}/robot/send",
        params=params,
        json=payload,
        headers={"X-Gongzhi-Delivery-Id": delivery_id},
        timeout=timeout,
    )
    check_errcode(response, transient_codes=TRANSIENT_ERRCODES)
