"""The bench's load: its complaints, paced sends and the lean HTTP client."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import orjson
import pytest

from devtools.bench.load import BenchComplaints, HttpError, offer, post_all
from devtools.receivers import HttpReceiver
from shared.events import ComplaintSubmission
from shared.ids import complaint_id_for


def test_each_bench_compound_gets_its_share_of_complaints_side_by_side_with_others() -> None:
    complaints = BenchComplaints("t", per_compound=4).take(450, "s")
    per_compound = Counter(c["compound_id"] for c in complaints)
    # Two windows of 50 compounds × 4, then the next 50 compounds start.
    assert sorted(Counter(per_compound.values()).items()) == [(1, 50), (4, 100)]
    # Neighbours in the stream are in different compounds.
    assert complaints[0]["compound_id"] != complaints[1]["compound_id"]
    assert complaints[0]["compound_id"] == complaints[50]["compound_id"]
    assert complaints[0]["compound_id"] != complaints[200]["compound_id"]


def test_bench_complaints_are_valid_distinct_and_told_in_varied_words() -> None:
    source = BenchComplaints("t", per_compound=20)
    complaints = source.take(300, "a") + source.take(300, "b")
    for body in complaints:
        ComplaintSubmission.model_validate(body)
    ids = {complaint_id_for(c["source"], c["source_ref"]) for c in complaints}
    assert len(ids) == 600
    by_compound: dict[str, list[str]] = {}
    for c in complaints:
        by_compound.setdefault(c["compound_id"], []).append(c["description"])
    assert all(len(set(texts)) == len(texts) for texts in by_compound.values())
    assert len({c["description"] for c in complaints}) > 0.95 * len(complaints)
    # Every complaint is a situation of its own: the mix retold none.
    assert sum(len(told) for told in source.mix.reported.values()) == 600
    assert all(c["compound_id"].startswith("bench-t-") for c in complaints)


class FakeProducer:
    """Records when each record was sent; acknowledges at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes, list[tuple[str, bytes]] | None]] = []

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: Any = None
    ) -> asyncio.Future[None]:
        self.sent.append((time.monotonic(), value, headers))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_a_paced_offer_spreads_the_records_over_the_step() -> None:
    producer = FakeProducer()
    accepted: dict[int, float] = {}
    started = time.monotonic()
    await offer(
        producer,
        "t",
        [(b"k", str(n).encode()) for n in range(21)],
        rate=100,
        stamp=lambda at: [("sent", str(at).encode())],
        on_sent=accepted.__setitem__,
    )
    times = [at for at, _, _ in producer.sent]
    assert times[-1] - started == pytest.approx(0.2, abs=0.05)
    assert sorted(accepted) == list(range(21))
    assert all(headers is not None for _, _, headers in producer.sent)


async def test_a_burst_sends_everything_at_once() -> None:
    producer = FakeProducer()
    started = time.monotonic()
    await offer(producer, "t", [(b"k", b"v")] * 500, rate=None)
    assert len(producer.sent) == 500
    assert producer.sent[-1][0] - started < 0.1


async def test_posts_are_all_answered_over_keep_alive_connections() -> None:
    with HttpReceiver() as receiver:
        answers: dict[int, bytes] = {}
        await post_all(
            "127.0.0.1",
            receiver.port,
            "/v1/complaints",
            {"content-type": "application/json"},
            [orjson.dumps({"n": n}) for n in range(40)],
            concurrency=8,
            on_answer=lambda index, body, _at: answers.__setitem__(index, body),
        )
        bodies = sorted(r.json()["n"] for r in receiver.requests("/v1/complaints"))
    assert sorted(answers) == list(range(40))
    assert orjson.loads(answers[0]) == {"errcode": 0, "errmsg": "ok"}
    assert bodies == list(range(40))


async def test_a_refused_post_stops_the_run_with_the_servers_answer() -> None:
    with HttpReceiver() as receiver:
        receiver.fail("/v1", status=401, times=1)
        with pytest.raises(HttpError, match="401"):
            await post_all(
                "127.0.0.1",
                receiver.port,
                "/v1/complaints",
                {},
                [b"{}"] * 3,
                concurrency=1,
                on_answer=lambda *_: None,
            )
