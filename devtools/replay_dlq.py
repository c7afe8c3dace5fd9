"""Replay a dead-letter topic: put each parked message back on the topic it came from.

    python -m devtools.replay_dlq --service notify [--dry-run]

Safe to run twice: the replayer commits its position in its own consumer group
(``gongzhi-dlq-replay-<service>``), so a letter is replayed once, and every handler is
idempotent, so a message that had been handled after all changes nothing. Fix the
cause first (a directory entry, a receiver, a bug): a letter that fails again is
parked again. Phone numbers were masked when the letter was parked, so a replayed
complaint reaches responders with the masked number."""

from __future__ import annotations

import argparse
import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.broker import admin_client_options
from shared.settings import KafkaSettings
from shared.topics import SERVICES, dead_letter_topic


async def replay(settings: KafkaSettings, service: str, *, dry_run: bool) -> int:
    options = admin_client_options(settings)
    consumer = AIOKafkaConsumer(
        settings.topic(dead_letter_topic(service)),
        group_id=settings.group(f"gongzhi-dlq-replay-{service}"),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **options)
    await consumer.start()
    await producer.start()
    replayed = 0
    try:
        while batch := await consumer.getmany(timeout_ms=3000):
            for records in batch.values():
                for record in records:
                    headers = {key: value.decode() for key, value in record.headers}
                    origin = headers.get("x-origin-topic")
                    print(
                        f"{'would replay' if dry_run else 'replaying'} offset {record.offset} "
                        f"→ {origin}: {headers.get('x-error', '')[:120]}"
                    )
                    if origin and not dry_run:
                        await producer.send_and_wait(origin, record.value, key=record.key)
                        replayed += 1
            if not dry_run:
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return replayed


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay a dead-letter topic.")
    parser.add_argument("--service", choices=SERVICES, required=True)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    count = asyncio.run(replay(KafkaSettings(), args.service, dry_run=args.dry_run))
    print(f"replayed {count} letters")


if __name__ == "__main__":
    main()
