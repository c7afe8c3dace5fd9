"""The bench's load: the complaints it sends and the two ways it sends them.

- ``BenchComplaints``: residents' texts from ``devtools.samples.ComplaintMix`` with no
  retellings (``duplicate_share=0``), in compounds of the bench's own that the directory
  does not know, so the fallback desk is alerted, by webhook and by e-mail, for every
  complaint. Each compound gets ``per_compound`` complaints, interleaved with 49 other
  compounds, so routing's duplicate check compares every complaint with the open
  complaints of its compound and category, as in a city, and finds none to link.
- ``offer``: paced sends on a Kafka topic (a rate) or all at once (a burst), without
  awaiting each send.
- ``post_all``: HTTP posts over keep-alive connections with minimal parsing, so that the
  load generator (on the same cores as intake) measures intake, not an HTTP client."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from devtools.samples import ComplaintMix

COMPOUNDS_SIDE_BY_SIDE = 50
Headers = list[tuple[str, bytes]]


class BenchComplaints:
    def __init__(self, run: str, *, seed: int = 42, per_compound: int = 20) -> None:
        if per_compound < 1:
            raise ValueError("per_compound must be at least 1")
        self.run = run
        self.per_compound = per_compound
        self.mix = ComplaintMix(random.Random(seed), duplicate_share=0.0)
        self.sequence = 0

    def compound_of(self, sequence: int) -> str:
        """Complaints 0, 1, 2 … go to compounds 0 … 49, 0 … 49, … until each of the 50
        has ``per_compound``, then to the next 50."""
        window = COMPOUNDS_SIDE_BY_SIDE * self.per_compound
        number = sequence // window * COMPOUNDS_SIDE_BY_SIDE + sequence % COMPOUNDS_SIDE_BY_SIDE
        return f"bench-{self.run}-{number:05d}"

    def take(self, count: int, step: str) -> list[dict[str, Any]]:
        bodies = []
        for _ in range(count):
            bodies.append(
                self.mix.complaint(
                    self.sequence,
                    run=f"{self.run}-{step}",
                    compound_id=self.compound_of(self.sequence),
                )
            )
            self.sequence += 1
        return bodies


async def offer(
    producer: AIOKafkaProducer,
    topic: str,
    records: Sequence[tuple[bytes, bytes]],
    rate: float | None,
    *,
    stamp: Callable[[float], Headers] | None = None,
    on_sent: Callable[[int, float], None] | None = None,
) -> float:
    """Send ``(key, value)`` records at ``rate`` per second, or all at once when ``rate``
    is None; returns when the broker acknowledged them all (monotonic clock).

    ``on_sent(index, at)`` learns when each record was handed to the producer (its
    acceptance); ``stamp(at)`` gives the headers to send with it."""
    started = time.monotonic()
    pending = []
    for index, (key, value) in enumerate(records):
        if rate is not None and (delay := started + index / rate - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        at = time.monotonic()
        headers = stamp(at) if stamp is not None else None
        pending.append(await producer.send(topic, value, key=key, headers=headers))
        if on_sent is not None:
            on_sent(index, at)
    await asyncio.gather(*pending)
    return time.monotonic()


class HttpError(RuntimeError):
    pass


def request_bytes(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server keeps the connection open."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head.split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError) as exc:
        raise HttpError(f"not an HTTP status line: {lines[0][:80]!r}") from exc
    length, keep_alive = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and value != "identity":
            raise HttpError(f"transfer-encoding {value!r} is not read")
        elif name == "connection" and value == "close":
            keep_alive = False
    return status, await reader.readexactly(length), keep_alive


async def post_all(
    url_host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    bodies: Sequence[bytes],
    concurrency: int,
    on_answer: Callable[[int, bytes, float], None],
) -> float:
    """POST every body, ``concurrency`` requests in flight on as many connections;
    ``on_answer(index, body, at)`` for each 2xx answer. Returns when all are answered.
    Any other status stops the run with the server's answer."""
    requests = [request_bytes(f"{url_host}:{port}", path, headers, body) for body in bodies]
    next_index = 0

    async def client() -> None:
        nonlocal next_index
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            while next_index < len(requests):
                index, next_index = next_index, next_index + 1
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(url_host, port)
                writer.write(requests[index])
                await writer.drain()
                status, answer, keep_alive = await read_response(reader)
                if not 200 <= status < 300:
                    raise HttpError(f"POST {path} answered {status}: {answer[:300]!r}")
                on_answer(index, answer, time.monotonic())
                if not keep_alive:
                    writer.close()
                    reader = writer = None
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(client() for _ in range(min(concurrency, len(requests)) or 1)))
    return time.monotonic()
