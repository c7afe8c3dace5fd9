"""Generic webhook: the alert as signed JSON (scheme in ``SIGNING.md``)."""

from __future__ import annotations

import json
import os
import time

import aiohttp

from services.notify.channels.base import DeliveryError, post
from services.notify.rendering import Message
from services.notify.signing import signature_header, split_secrets
from shared.directory import WebhookChannel


async def send_webhook(
    client: aiohttp.ClientSession,
    channel: WebhookChannel,
    message: Message,
    delivery_id: str,
    *,
    timeout: float,
) -> None:
    body = json.dumps(message.data, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Gongzhi-Delivery-Id": delivery_id,
        "X-Gongzhi-Timestamp": timestamp,
    }
    if channel.secret_env:
        secrets = split_secrets(os.environ.get(channel.secret_env, ""))
        if not secrets:
            # Sending unsigned would teach the receiver to accept forgeries.
            raise DeliveryError(
                f"webhook secret variable {channel.secret_env} is not set", permanent=True
            )
        headers["X-Gongzhi-Signature"] = signature_header(body, timestamp, secrets)
    await post(client, channel.url, content=body, headers=headers, timeout=timeout)
