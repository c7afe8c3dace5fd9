"""E-mail over SMTP: plain text with an HTML alternative, sent over pooled sessions; the
delivery id travels in a header and in the text, so a mail system can drop a resend."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass
from email import base64mime
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

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


@dataclass(frozen=True)
class Mail:
    """One e-mail, ready for the wire: its envelope and its bytes."""

    sender: str
    recipients: list[str]
    content: bytes


CRLF = "\r\n"


@functools.lru_cache(maxsize=1024)
def _address(value: str) -> tuple[str, str]:
    """An address as a header shows it, with a non-ASCII display name encoded (RFC
    2047), and the bare address for the envelope. Cached: the directory names few
    addresses, and parsing them was a third of building a mail."""
    parsed = parseaddr(value)
    return formataddr(parsed, charset="utf-8"), parsed[1]


def build_email(channel: EmailChannel, message: Message, delivery_id: str, sender: str) -> Mail:
    # Assembled from the email package's encoders, not its message model: building a
    # MIMEMultipart and flattening it cost 0.66 ms per mail, most of notify's e-mail
    # CPU under load (py-spy); this writes the same MIME in a tenth of that. The
    # boundary starts with "=_", which neither base64 nor an encoded word can hold.
    boundary = f"=_gongzhi_{delivery_id}"
    headers = [
        f"Subject: {Header(message.title, 'utf-8', header_name='Subject').encode(linesep=CRLF)}",
        f"From: {_address(sender)[0]}",
        "To: " + f",{CRLF} ".join(_address(to)[0] for to in channel.to),
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: <{delivery_id}@gongzhi>",
        f"X-Gongzhi-Delivery-Id: {delivery_id}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    parts = [_part("plain", message.text, boundary), _part("html", message.html, boundary)]
    content = CRLF.join(headers) + CRLF + CRLF + "".join(parts) + f"--{boundary}--{CRLF}"
    return Mail(
        _address(sender)[1], [_address(to)[1] for to in channel.to], content.encode("ascii")
    )


def _part(subtype: str, text: str, boundary: str) -> str:
    return (
        f"--{boundary}{CRLF}"
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}"
        + base64mime.body_encode(text.encode("utf-8"), maxlinelen=76, eol=CRLF)
    )


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


class SmtpPool:
    """SMTP sessions kept open and reused: a fresh session per alert costs a TCP
    connection, a greeting, EHLO (and STARTTLS and AUTH) before the first byte of mail.

    A session that fails is closed and not reused; the next alert opens a new one."""

    def __init__(self, options: SmtpOptions, *, size: int, timeout: float) -> None:
        self.options = options
        self.timeout = timeout
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(size)

    async def send(self, mail: Mail) -> None:
        async with self._slots:
            session = self._idle.pop() if self._idle else await self._open()
            try:
                await session.sendmail(
                    mail.sender, mail.recipients, mail.content, timeout=self.timeout
                )
            except BaseException:
                with contextlib.suppress(Exception):
                    session.close()
                raise
            self._idle.append(session)

    async def _open(self) -> aiosmtplib.SMTP:
        options = self.options
        session = aiosmtplib.SMTP(
            hostname=options.host,
            port=options.port,
            username=options.username,
            password=options.password,
            start_tls=options.starttls,
            use_tls=options.use_tls,
            timeout=self.timeout,
        )
        await session.connect()
        return session

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for session in idle:
            with contextlib.suppress(Exception):
                await session.quit()


async def send_email(
    channel: EmailChannel,
    message: Message,
    delivery_id: str,
    *,
    pool: SmtpPool,
) -> None:
    if not pool.options.host:
        raise DeliveryError("GONGZHI_SMTP_HOST is not set", permanent=True)
    mail = build_email(channel, message, delivery_id, pool.options.sender)
    try:
        await pool.send(mail)
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
