"""The bench's lean receivers, driven by the clients notify uses (httpx, aiosmtplib)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import aiosmtplib
import httpx
import orjson
import pytest

from devtools.bench.sinks import (
    BadRequestError,
    LeanHttpReceiver,
    LeanSmtpReceiver,
    parse_head,
)


def test_a_head_gives_the_length_and_whether_the_connection_stays_open() -> None:
    head = parse_head(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 12")
    assert (head.method, head.path, head.content_length, head.keep_alive) == (
        "POST",
        "/hook",
        12,
        True,
    )
    assert not parse_head(b"POST / HTTP/1.1\r\nConnection: close").keep_alive
    assert not parse_head(b"POST / HTTP/1.0").keep_alive
    assert parse_head(b"POST / HTTP/1.0\r\nConnection: keep-alive").keep_alive


def test_a_chunked_body_or_a_broken_line_is_refused_with_the_reason() -> None:
    with pytest.raises(BadRequestError, match="chunked"):
        parse_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked")
    with pytest.raises(BadRequestError, match="request line"):
        parse_head(b"HELLO")
    with pytest.raises(BadRequestError, match="not a number"):
        parse_head(b"POST / HTTP/1.1\r\nContent-Length: ten")


async def test_webhooks_on_one_keep_alive_connection_are_each_told_and_answered() -> None:
    seen: list[tuple[str, bytes, float]] = []
    receiver = await LeanHttpReceiver(on_request=lambda *r: seen.append(r)).start()
    try:
        async with httpx.AsyncClient(
            base_url=receiver.url, limits=httpx.Limits(max_connections=1)
        ) as client:
            answers = [
                await client.post(f"/hook/{n}", json={"complaint_id": f"c-{n}"}) for n in range(3)
            ]

            async def parts() -> AsyncIterator[bytes]:
                yield b"a"
                yield b"b"

            chunked = await client.post("/x", content=parts())
    finally:
        await receiver.stop()
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == {"errcode": 0, "errmsg": "ok"}
    assert [(path, orjson.loads(body)) for path, body, _ in seen] == [
        (f"/hook/{n}", {"complaint_id": f"c-{n}"}) for n in range(3)
    ]
    assert seen[0][2] <= seen[1][2] <= seen[2][2]
    assert chunked.status_code == 400
    assert receiver.requests == 3


async def test_mails_on_one_smtp_session_are_all_accepted() -> None:
    mails: list[bytes] = []
    receiver = await LeanSmtpReceiver(on_mail=mails.append).start()
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=receiver.port) as smtp:
            for n in range(2):
                message = EmailMessage()
                message["From"] = "gongzhi@localhost"
                message["To"] = "desk@example.org"
                message["Subject"] = f"投訴 {n}"
                message["X-Gongzhi-Delivery-Id"] = f"d-{n}"
                message.set_content("第一行\n.\n最後一行")
                await smtp.send_message(message)
        await aiosmtplib.send(
            "Subject: plain\r\n\r\nbody\r\n",
            sender="a@localhost",
            recipients=["b@localhost"],
            hostname="127.0.0.1",
            port=receiver.port,
        )
    finally:
        await receiver.stop()
    assert receiver.mails == 3
    assert b"X-Gongzhi-Delivery-Id: d-1" in mails[1]
    assert mails[2].endswith(b"\r\nbody\r\n")


async def test_an_unknown_smtp_command_is_refused_and_the_session_goes_on() -> None:
    receiver = await LeanSmtpReceiver(on_mail=lambda _m: None).start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
        greeting = await reader.readline()
        writer.write(b"STARTTLS\r\nNOOP\r\nQUIT\r\n")
        answers = [await reader.readline() for _ in range(3)]
        writer.close()
    finally:
        await receiver.stop()
    assert greeting.startswith(b"220")
    assert [a[:3] for a in answers] == [b"502", b"250", b"221"]
