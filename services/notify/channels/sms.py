"""SMS through a generic HTTP gateway: ``{phones, text, delivery_id}`` as JSON."""

from __future__ import annotations

import aiohttp

from services.notify.channels.base import DeliveryError, post
from services.notify.rendering import Message
from shared.directory import SmsChannel


async def send_sms(
    client: aiohttp.ClientSession,
    channel: SmsChannel,
    message: Message,
    delivery_id: str,
    *,
    gateway_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    if not gateway_url:
        raise DeliveryError("GONGZHI_SMS_GATEWAY_URL is not set", permanent=True)
    headers = {"X-Gongzhi-Delivery-Id": delivery_id}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    await post(
        client,
        gateway_url,
        json={"phones": list(channel.phones), "text": message.sms, "delivery_id": delivery_id},
        headers=headers,
        timeout=timeout,
    )
