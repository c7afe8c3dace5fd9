"""Lean alert receivers for the bench: an HTTP/1.1 server that answers every request
200 and an SMTP server that accepts every mail, both on the bench's own event loop.

The bench process also runs the load generator, on the same two cores as the
services, so its receivers parse only what the bench needs: the request line, the
``Content-Length`` and the body (a webhook's JSON names its complaint), and a mail's
end. Keep-alive connections are served request after request, as notify's pooled
clients use them. Tests and tools that need recorded requests, failures on demand or
delays use ``devtools.receivers`` instead."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devtools.loopback import free_port

READ_LIMIT = 1 << 20
"""Largest request head or mail the receivers read (asyncio's default is 64 KiB)."""
OK_ANSWER = b'{"errcode":0,"errmsg":"ok"}'
OK_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(OK_ANSWER)).encode()
    + b"\r\n\r\n"
    + OK_ANSWER
)


class BadRequestError(ValueError):
    """A request the lean receiver does not read (it answers 400 and closes)."""


@dataclass(frozen=True)
class Head:
    method: str
    path: str
    content_length: int
    keep_alive: bool


def parse_head(head: bytes) -> Head:
    """The request line and the headers the receiver acts on."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, path, version = lines[0].split(" ")
    except ValueError as exc:
        raise BadRequestError(f"not an HTTP request line: {lines[0][:80]!r}") from exc
    length = 0
    connection = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            if not value.isdigit():
                raise BadRequestError(f"content-length is not a number: {value[:40]!r}")
            length = int(value)
        elif name == "transfer-encoding" and value.lower() != "identity":
            raise BadRequestError(f"transfer-encoding {value!r} is not read; send content-length")
        elif name == "connection":
            connection = value.lower()
    # HTTP/1.1 keeps a connection open unless told otherwise; HTTP/1.0 only when asked.
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return Head(method, path, length, keep_alive)


OnRequest = Callable[[str, bytes, float], None]
"""``(path, body, arrived)``: ``arrived`` is ``time.monotonic()`` when the head was read."""


@dataclass
class LeanHttpReceiver:
    """Answers every request ``200 {"errcode":0,"errmsg":"ok"}`` (fine for a webhook,
    the WeCom and DingTalk robots and the SMS gateway) and tells ``on_request``."""

    on_request: OnRequest
    port: int = field(default_factory=free_port)
    requests: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> LeanHttpReceiver:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, limit=READ_LIMIT
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                arrived = time.monotonic()
                try:
                    request = parse_head(head[:-4])
                except BadRequestError as exc:
                    reason = str(exc).encode()
                    writer.write(
                        b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: "
                        + str(len(reason)).encode()
                        + b"\r\n\r\n"
                        + reason
                    )
                    await writer.drain()
                    return
                body = await reader.readexactly(request.content_length)
                self.requests += 1
                self.on_request(request.path, body, arrived)
                writer.write(OK_RESPONSE)
                await writer.drain()
                if not request.keep_alive:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


OnMail = Callable[[bytes], None]
"""The mail as sent (headers and body, dot-stuffing left in)."""


@dataclass
class LeanSmtpReceiver:
    """Accepts every mail to every recipient; no TLS, no authentication."""

    on_mail: OnMail
    port: int = field(default_factory=free_port)
    mails: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> LeanSmtpReceiver:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, limit=READ_LIMIT
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 bench ESMTP\r\n")
        try:
            await writer.drain()
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-bench\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    writer.write(b"250 OK\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    await writer.drain()
                    # The terminator's leading CRLF ends the last line of the mail, so an
                    # empty mail (a lone ".") is not read; notify never sends one.
                    mail = await reader.readuntil(b"\r\n.\r\n")
                    self.mails += 1
                    self.on_mail(mail[:-3])
                    writer.write(b"250 Message accepted\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"502 Command not implemented\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        finally:
            writer.close()
