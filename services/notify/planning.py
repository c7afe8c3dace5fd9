"""Which deliveries one trigger calls for: one per (responder, channel), each with a
stable delivery id (pure; no I/O)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from services.notify.triggers import Trigger
from shared.directory import (
    DingTalkChannel,
    Directory,
    EmailChannel,
    NotificationChannel,
    SmsChannel,
    WebhookChannel,
    WeComChannel,
)
from shared.ids import stable_id

NO_CHANNEL = "none"
"""Channel of a delivery that cannot be made (unknown responder, no channel listed):
recorded and reported as failed, so the gap is visible instead of silent."""


@dataclass(frozen=True)
class PlannedDelivery:
    delivery_id: str
    responder_id: str
    channel: str
    channel_key: str
    """Names the destination without holding it (the id stays stable if the directory
    lists the channels in another order)."""


def channel_key(channel: NotificationChannel) -> str:
    match channel:
        case WebhookChannel(url=url):
            destination = url
        case WeComChannel(key=key):
            destination = key
        case DingTalkChannel(access_token=token):
            destination = token
        case EmailChannel(to=to):
            destination = ",".join(sorted(to))
        case SmsChannel(phones=phones):
            destination = ",".join(sorted(phones))
    return _key(channel.type, destination)


@functools.lru_cache(maxsize=1024)
def _key(channel_type: str, destination: str) -> str:
    # Cached: every delivery looks its channel up by key, and the directory's channels
    # are few; deriving the id each time was 4 % of notify's CPU (cProfile).
    return stable_id(channel_type, destination)[:13]


def delivery_id(trigger: Trigger, responder_id: str, channel: str, key: str) -> str:
    return stable_id(
        "notify", trigger.complaint_id, responder_id, trigger.reason.value, trigger.occasion,
        channel, key,
    )  # fmt: skip


def plan_deliveries(trigger: Trigger, directory: Directory) -> list[PlannedDelivery]:
    planned: list[PlannedDelivery] = []
    for responder_id in trigger.recipients:
        responder = directory.responders_by_id.get(responder_id)
        channels = responder.channels if responder else []
        if not channels:
            planned.append(
                PlannedDelivery(
                    delivery_id(trigger, responder_id, NO_CHANNEL, NO_CHANNEL),
                    responder_id,
                    NO_CHANNEL,
                    NO_CHANNEL,
                )
            )
            continue
        seen: set[str] = set()
        for channel in channels:
            key = channel_key(channel)
            if key in seen:
                continue
            seen.add(key)
            planned.append(
                PlannedDelivery(
                    delivery_id(trigger, responder_id, channel.type, key),
                    responder_id,
                    channel.type,
                    key,
                )
            )
    return planned


def find_channel(directory: Directory, responder_id: str, key: str) -> NotificationChannel | None:
    responder = directory.responders_by_id.get(responder_id)
    if responder is None:
        return None
    return next((c for c in responder.channels if channel_key(c) == key), None)
