"""E-mail over SMTP: plain text with an HTML alternative; the delivery id travels in a
header and in the text, so a mail system can drop a resend."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from services.notify.channels.base import DeliveryError
from services.notify.rendering import Message
from shared.directory import EmailChannel


@dataclass(frozen=True)
class SmtpOptions:
    host: str | None
    port: int
    sender: str
    username: str | None
    password: str | None
    starttls: bool | None
    use_tls: bool


def build_email(
    channel: EmailChannel, message: Message, delivery_id: str, sender: str
) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = sender
    mail["To"] = ", ".join(channel.to)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{delivery_id}@gongzhi>"
    mail["X-Gongzhi-Delivery-Id"] = delivery_id
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


async def send_email(
    channel: EmailChannel,
    message: Message,
    delivery_id: str,
    *,
    smtp: SmtpOptions,
    timeout: float,
) -> None:
    if not smtp.host:
        raise DeliveryError("GONGZHI_SMTP_HOST is not set", permanent=True)
    mail = build_email(channel, message, delivery_id, smtp.sender)
    try:
        await aiosmtplib.send(
            mail,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            start_tls=smtp.starttls,
            use_tls=smtp.use_tls,
            timeout=timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        raise DeliveryError(
            f"SMTP refused every recipient ({', '.join(map(str, codes))})",
            permanent=not all(_is_temporary(c) for c in codes),
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"SMTP {exc.code}: {exc.message}", permanent=not _is_temporary(exc.code)
        ) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        # Connection refused, timeouts, a dropped connection: the server may be back soon.
        raise DeliveryError(
            f"SMTP unreachable: {type(exc).__name__}: {exc}", permanent=False
        ) from exc
