"""``make demo``: the whole pipeline on local infrastructure, with a report at the end.

Starts an alert receiver (webhooks) and an SMTP server on loopback, the four services as
processes, sends sample complaints in Chinese over HTTP and ``ingress.complaints``, walks
some of them through their lifecycle (resolved and rated, returned, never acknowledged,
rated dissatisfied, a duplicate), lets a hot spot form (three parking complaints at one
compound: one alert to its community, not three), then reports what happened to each
and prints the responders' ranking from ``stats.snapshots``. Due times are scaled down so that an
urgent complaint escalates within seconds."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from devtools.loopback import free_port, produce
from devtools.receivers import HttpReceiver, SmtpReceiver
from devtools.samples import complaint, complaints
from devtools.stack import REPO, Stack
from services.intake.settings import DEMO_API_KEY
from services.notify.signing import verify_signature
from services.stats.watch import latest_snapshots, render_table
from shared.directory import default_directory_path, load_directory
from shared.ids import complaint_id_for
from shared.settings import KafkaSettings
from shared.topics import INGRESS_COMPLAINTS

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
WEBHOOK_SECRET = "demo-webhook-secret"
DUE_SCALE = "0.002"  # urgent: acknowledge within 7.2 s, escalate again 7.2 s later
# Counts that no longer change once the demo's traffic is done (overdue ones grow with
# the clock): the snapshot topic has caught up when they match the API.
SETTLED_COUNTS = ("received", "duplicates", "routed", "acknowledged", "resolved", "rated",
                  "reopened", "bounces")  # fmt: skip


@dataclass
class Story:
    """One complaint the demo follows, and what it does to it."""

    label: str
    body: dict[str, Any]
    via: str = "http"
    complaint_id: str = ""
    plan: list[dict[str, Any]] = field(default_factory=list)


def stories(run: str) -> list[Story]:
    rng = random.Random(11)

    def body(ref: str, compound: str, category: str | None, text: str, **extra: Any) -> Any:
        base = complaint(0, rng, run=run, compound_id=compound, give_category=False)
        base.update(source_ref=f"{run}-{ref}", description=text, **extra)
        if category:
            base["category"] = category
        return base

    return [
        Story(
            "飛線充電, 無物業小區 (resolved, rated satisfied)",
            body("A", "cx-002", None, "3棟2單元樓道有人飛線充電，電線從五樓窗戶垂下來"),
            plan=[
                {"type": "acknowledged", "actor_id": "fire"},
                {"type": "in_progress", "actor_id": "fire", "note": "已到現場勸導"},
                {"type": "resolved", "actor_id": "fire", "note": "私拉電線已拆除"},
                {"type": "rated", "actor_id": "resident", "rating": "satisfied"},
            ],
        ),
        Story(
            "車輛亂停亂放, 無物業無業委會",
            body("B", "cx-003", "parking_disorder", "小區門口車輛亂停亂放，救護車都進不來了"),
            via="kafka",
        ),
        Story(
            "物業費, 有物業有業委會",
            body("C", "cx-001", None, "物業費今年漲了三成，沒有經過業主大會表決"),
        ),
        Story(
            "環境臟亂差, returned by the firm (退單)",
            body("D", "cx-001", "sanitation", "2棟后面的垃圾站好幾天沒人清運，臭氣熏天"),
            plan=[
                {
                    "type": "returned",
                    "actor_id": "pf-dianzhong",
                    "note": "該垃圾站屬市政環衛管理，不在物業服務合同范圍內",
                }
            ],
        ),
        Story(
            "消防通道堵塞, never acknowledged (escalates)",
            body("E", "cx-004", None, "消防通道被三輛私家車長期占用，消防車開不進來"),
            via="kafka",
        ),
        Story(
            "設施維修, rated dissatisfied (reopened)",
            body("F", "cx-007", None, "5棟電梯壞了兩個星期還沒修好，老人上下樓很困難"),
            plan=[
                {"type": "acknowledged", "actor_id": "pf-yiyuan"},
                {"type": "resolved", "actor_id": "pf-yiyuan", "note": "已更換電梯控制板"},
                {"type": "rated", "actor_id": "resident", "rating": "dissatisfied"},
            ],
        ),
        Story(
            "飛線充電 again, same compound (duplicate)",
            body("G", "cx-002", None, "3棟2單元樓道有人飛線充電，電線從5樓窗戶上垂下來"),
        ),
        Story(
            "違章搭建, 聯合處置",
            body("H", "cx-005", None, "頂樓住戶在樓頂私搭亂建陽光房，已經加了一層"),
        ),
        Story(
            "unknown compound (fallback desk)",
            body("I", "cx-999", None, "小區里老鼠到處跑，垃圾堆放沒人管"),
        ),
    ]


HOTSPOT_COMPOUND = "cx-006"
HOTSPOT_TEXTS = (  # (place, what the resident says)
    ("5棟", "5棟樓下車輛亂停，把單元門都堵住了"),
    ("東門", "小區東門口每天都有車亂停亂放，早上出不去"),
    ("地下車庫", "地下車庫入口被亂停的車擋住，電動車都推不出來"),
)


async def hot_spot_forms(
    intake: httpx.AsyncClient,
    stats: httpx.AsyncClient,
    receiver: HttpReceiver,
    rng: random.Random,
    run_id: str,
    names: dict[str, str],
) -> None:
    """Three different parking complaints at one compound within the day: a hot spot
    (未訴先辦) opens at the third, and its community is told once."""
    print(f"\ndemo: three parking complaints at {HOTSPOT_COMPOUND} {names.get('cm-lucheng')} ...")
    for index, (place, text) in enumerate(HOTSPOT_TEXTS):
        body = complaint(index, rng, run=f"{run_id}-hot", compound_id=HOTSPOT_COMPOUND)
        body.update(category="parking_disorder", description=text, location=place)
        (await intake.post("/v1/complaints", json=body, headers=AUTH)).raise_for_status()

    async def alert() -> dict[str, Any] | None:
        for request in receiver.accepted("/hooks/cm-lucheng"):
            sent = request.json()
            if (
                sent.get("reason") == "hotspot"
                and sent["hotspot"]["scope"]["id"] == HOTSPOT_COMPOUND
            ):
                return dict(sent)
        return None

    sent = await wait_until(alert, 60, "the hot spot's alert")
    listed = (await stats.get("/v1/hotspots", params={"status": "open"}, headers=AUTH)).json()
    ours = [h for h in listed["hotspots"] if h["hotspot_id"] == sent["hotspot_id"]]
    alerts_to_community = [
        r
        for r in receiver.accepted("/hooks/cm-lucheng")
        if r.json().get("hotspot_id") == sent["hotspot_id"]
    ]
    print(
        f"demo: hot spot {sent['hotspot_id']} opened with {sent['hotspot']['count']} complaints; "
        f"told: {', '.join(names.get(a, a) for a in (ours[0]['alerted'] if ours else []))}; "
        f"alerts to the community: {len(alerts_to_community)}"
    )
    print("demo: the community's alert (webhook text):\n")
    print("    " + sent["text"].replace("\n", "\n    "))


async def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.3)
    raise RuntimeError(f"demo: timed out waiting for {what}")


async def run(bootstrap: str, mongodb_url: str) -> None:
    run_id = time.strftime("%Y%m%d%H%M%S")
    prefix, database = f"demo{run_id}.", f"gongzhi_demo_{run_id}"
    directory = load_directory(default_directory_path())
    names = {r.id: r.name for r in directory.responders}
    receiver, smtp = HttpReceiver().start(), SmtpReceiver().start()
    ports = {name: free_port() for name in ("intake", "routing", "notify", "stats")}
    log_dir = REPO / ".local" / "demo" / run_id
    stack = Stack(
        env={
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "MONGODB_URL": mongodb_url,
            "MONGODB_DATABASE": database,
            "KAFKA_TOPIC_PREFIX": prefix,
            "GONGZHI_ENVIRONMENT": "local",
            "GONGZHI_ALERT_BASE_URL": receiver.url,
            "GONGZHI_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "GONGZHI_SMTP_HOST": "127.0.0.1",
            "GONGZHI_SMTP_PORT": str(smtp.port),
            "GONGZHI_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['stats']}",
            "GONGZHI_DUE_SCALE": DUE_SCALE,
            "GONGZHI_SNAPSHOT_INTERVAL_SECONDS": "0.5",
            # Recount as soon as the interval allows: the demo's month is small.
            "GONGZHI_SNAPSHOT_BUSY_FACTOR": "1",
        },
        log_dir=log_dir,
        ports=ports,
    )
    for name in ("routing", "intake", "notify", "stats"):
        stack.add(name)
    print(f"demo: starting the four services (logs in {log_dir.relative_to(REPO)}) ...")
    started = time.monotonic()
    stack.start_all()
    print(
        f"demo: all four healthy in {time.monotonic() - started:.1f}s: "
        + ", ".join(f"{p.name} :{p.port}" for p in stack.processes)
    )
    try:
        await drive(stack, receiver, smtp, bootstrap, prefix, names, run_id)
    finally:
        stack.stop_all()
        receiver.stop()
        smtp.stop()


async def drive(
    stack: Stack,
    receiver: HttpReceiver,
    smtp: SmtpReceiver,
    bootstrap: str,
    prefix: str,
    names: dict[str, str],
    run_id: str,
) -> None:
    followed = stories(run_id)
    background = list(complaints(40, seed=3, run=f"{run_id}-bg", source="wechat-mp"))
    intake = httpx.AsyncClient(base_url=stack["intake"].url, timeout=30)
    stats = httpx.AsyncClient(base_url=stack["stats"].url, timeout=30)
    ingress = f"{prefix}{INGRESS_COMPLAINTS}"

    print(f"\ndemo: sending {len(followed)} followed and {len(background)} other complaints")
    for story in followed:
        if story.via == "http":
            answer = await intake.post("/v1/complaints", json=story.body, headers=AUTH)
            answer.raise_for_status()
            story.complaint_id = answer.json()["complaint_id"]
    kafka_stories = [s for s in followed if s.via == "kafka"]
    await produce(
        bootstrap,
        ingress,
        [
            (f"{s.body['source']}:{s.body['source_ref']}".encode(), orjson.dumps(s.body))
            for s in kafka_stories
        ]
        + [(f"{b['source']}:{b['source_ref']}".encode(), orjson.dumps(b)) for b in background]
        + [(b"broken", b"{this is not json")],
    )
    for story in kafka_stories:
        story.complaint_id = complaint_id_for(story.body["source"], story.body["source_ref"])
    bad = await intake.post(
        "/v1/complaints", json={"source": "web", "description": "x"}, headers=AUTH
    )
    missing = sorted(str(e["field"]) for e in bad.json()["errors"])
    print(
        f"demo: a bad HTTP submission was refused: {bad.status_code} (missing/invalid: "
        f"{', '.join(missing)})"
    )

    async def view(complaint_id: str) -> dict[str, Any] | None:
        answer = await stats.get(f"/v1/complaints/{complaint_id}", headers=AUTH)
        return answer.json() if answer.status_code == 200 else None

    async def settled(story: Story) -> Any:
        current = await view(story.complaint_id)
        return current if current and current.get("status") not in (None, "received") else None

    for story in followed:
        await wait_until(lambda s=story: settled(s), 60, f"routing of {story.label}")

    for story in followed:
        for step in story.plan:
            answer = await intake.post(
                f"/v1/complaints/{story.complaint_id}/updates", json=step, headers=AUTH
            )
            if answer.status_code != 202:
                print(
                    f"demo: update {step['type']} on {story.label} → {answer.status_code} "
                    f"{answer.text}"
                )
            await asyncio.sleep(0.3)

    await hot_spot_forms(intake, stats, receiver, random.Random(5), run_id, names)

    escalating = next(s for s in followed if "escalates" in s.label)

    async def escalated_twice() -> bool:
        current = await view(escalating.complaint_id)
        return bool(current and (current.get("escalation_level") or 0) >= 2)

    print("demo: waiting for the unacknowledged fire-lane complaint to escalate twice ...")
    await wait_until(escalated_twice, 90, "two escalations")
    await asyncio.sleep(3)  # let the last alerts and figures land

    await report(followed, view, receiver, smtp, names)
    figures = (await stats.get("/v1/stats")).json()
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    city = f"city:{figures['period']}"

    async def snapshots_caught_up() -> dict[str, Any] | None:
        # Snapshots are coalesced, so the topic trails the database for a moment:
        # show the table once the city's snapshot agrees with the API.
        snapshots = await latest_snapshots(kafka)
        latest = snapshots.get(city)
        settled = latest is not None and all(
            latest.counts.get(key) == figures["counts"].get(key) for key in SETTLED_COUNTS
        )
        return snapshots if settled else None

    snapshots = await wait_until(snapshots_caught_up, 120, f"the {city} snapshot to catch up")
    print("\nResponders ranked by the three rates (from stats.snapshots):\n")
    print(render_table(snapshots))
    print(f"\ndemo: city-wide this month: {figures.get('counts')}")
    print(f"demo: the console was at {stack['stats'].url}/console (stopped with the demo)")
    await intake.aclose()
    await stats.aclose()


async def report(
    followed: list[Story],
    view: Any,
    receiver: HttpReceiver,
    smtp: SmtpReceiver,
    names: dict[str, str],
) -> None:
    hooks = receiver.accepted("/hooks/")
    per_complaint: Counter[str] = Counter(r.json()["complaint_id"] for r in hooks)
    reasons: Counter[str] = Counter(r.json()["reason"] for r in hooks)
    signed_ok = sum(
        verify_signature(
            r.body,
            r.headers.get("x-gongzhi-timestamp", ""),
            r.headers.get("x-gongzhi-signature", ""),
            WEBHOOK_SECRET,
        )
        for r in hooks
    )
    print("\nWhat happened to each followed complaint:\n")
    for story in followed:
        current = await view(story.complaint_id) or {}
        lead = (current.get("lead") or {}).get("responder_id")
        support = [s["responder_id"] for s in current.get("support") or []]
        steps = " → ".join(entry["type"] for entry in current.get("timeline") or [])
        print(f"■ {story.label}  [{story.complaint_id}]")
        print(
            f"    category {current.get('category')}, compound {current.get('compound_id')}, "
            f"status {current.get('status')}, escalation level {current.get('escalation_level')}"
        )
        if current.get("duplicate_of"):
            print(f"    linked as a duplicate of {current['duplicate_of']} (not routed again)")
        else:
            print(f"    lead: {lead} {names.get(lead or '', '')}")
            print(
                "    support: " + (", ".join(f"{s} {names.get(s, '')}" for s in support) or "none")
            )
        print(f"    timeline: {steps}")
        print(f"    webhook alerts: {per_complaint.get(story.complaint_id, 0)}")
    print(
        f"\nAlerts: {len(hooks)} webhooks ({dict(reasons)}), "
        f"{signed_ok}/{len(hooks)} signatures verified; {len(smtp.mails)} e-mails"
    )
    if smtp.mails:
        mail = smtp.mails[0].message
        print(f"  first e-mail: To {mail['To']} — {mail['Subject']}")


def main() -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    mongodb_url = os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017/")
    try:
        asyncio.run(run(bootstrap, mongodb_url))
    except RuntimeError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
