"""Sends one alert to one channel of whatever type the directory lists, through clients
shared by every alert: one HTTP client (it pools connections per host) and a pool of
SMTP sessions."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from services.notify.channels.base import DeliveryError
from services.notify.channels.dingtalk import send_dingtalk
from services.notify.channels.email import SmtpOptions, SmtpPool, send_email
from services.notify.channels.sms import send_sms
from services.notify.channels.webhook import send_webhook
from services.notify.channels.wecom import send_wecom
from services.notify.rendering import Message
from services.notify.settings import NotifySettings
from shared.directory import (
    DingTalkChannel,
    EmailChannel,
    NotificationChannel,
    SmsChannel,
    WebhookChannel,
    WeComChannel,
)


def _host(url: str | None) -> str:
    return urlsplit(url or "").netloc or "none"


class ChannelSender:
    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.timeout = settings.delivery_timeout_seconds
        self.smtp = SmtpPool(
            SmtpOptions(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                username=settings.smtp_username,
                password=(
                    settings.smtp_password.get_secret_value() if settings.smtp_password else None
                ),
                starttls=settings.smtp_starttls,
                use_tls=settings.smtp_use_tls,
            ),
            size=settings.smtp_sessions,
            timeout=self.timeout,
        )

    def destination(self, channel: NotificationChannel | None) -> str:
        """Where an alert goes, for the per-destination bound: one dead receiver may
        hold only its own share of the attempts in flight."""
        match channel:
            case WebhookChannel(url=url):
                return _host(url)
            case WeComChannel():
                return _host(self.settings.wecom_base_url)
            case DingTalkChannel():
                return _host(self.settings.dingtalk_base_url)
            case EmailChannel():
                return f"smtp:{self.settings.smtp_host}:{self.settings.smtp_port}"
            case SmsChannel():
                return _host(self.settings.sms_gateway_url)
        return "none"

    async def send(
        self, channel: NotificationChannel | None, message: Message, delivery_id: str
    ) -> None:
        match channel:
            case None:
                raise DeliveryError("no notification channel for this responder", permanent=True)
            case WebhookChannel():
                await send_webhook(self.client, channel, message, delivery_id, timeout=self.timeout)
            case WeComChannel():
                await send_wecom(
                    self.client, channel, message, delivery_id,
                    base_url=self.settings.wecom_base_url, timeout=self.timeout,
                )  # fmt: skip
            case DingTalkChannel():
                await send_dingtalk(
                    self.client, channel, message, delivery_id,
                    base_url=self.settings.dingtalk_base_url, timeout=self.timeout,
                )  # fmt: skip
            case EmailChannel():
                await send_email(channel, message, delivery_id, pool=self.smtp)
            case SmsChannel():
                token = self.settings.sms_gateway_token
                await send_sms(
                    self.client, channel, message, delivery_id,
                    gateway_url=self.settings.sms_gateway_url,
                    token=token.get_secret_value() if token else None,
                    timeout=self.timeout,
                )  # fmt: skip

    async def close(self) -> None:
        await self.smtp.close()
