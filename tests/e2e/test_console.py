"""The console in a real browser (Debian's Chromium driven by Playwright) against the
four services as processes: a property firm works its queue on a phone-sized screen,
an operator watches the desk change without reloading it.

Screenshots are kept as test artefacts (``GONGZHI_TEST_ARTEFACTS``, else
``.local/test-artefacts/console``); ``GONGZHI_UPDATE_SCREENSHOTS=1`` also writes the
README's two (``docs/screenshots``)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from shared.auth import hash_key
from tests.e2e.conftest import Pipeline, PipelineFactory
from tests.support import REPO, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
SUBMITTER, FIRM, OTHER_FIRM, OPERATOR = (
    "e2e-hotline-key",
    "e2e-dianzhong-key",
    "e2e-yiyuan-key",
    "e2e-operator-key",
)
KEYS = [
    {"name": "hotline", "sha256": hash_key(SUBMITTER), "scopes": ["submit:hotline-12345"]},
    {"name": "滇中物业", "sha256": hash_key(FIRM), "scopes": ["update:pf-dianzhong"]},
    {"name": "彝苑物业", "sha256": hash_key(OTHER_FIRM), "scopes": ["update:pf-yiyuan"]},
    {"name": "督办中心", "sha256": hash_key(OPERATOR), "scopes": ["read"]},
]
# A normal complaint must be acknowledged within 24 h: here 8.6 s, so the firm's
# complaint is overdue (and escalated) by the time the operator looks; resolve: 60 s.
DUE_SCALE = "0.0001"
PHONE_SCREEN = {"width": 390, "height": 844}
DESK_SCREEN = {"width": 1280, "height": 900}


def artefacts() -> Path:
    folder = (
        Path(os.environ.get("GONGZHI_TEST_ARTEFACTS") or REPO / ".local" / "test-artefacts")
        / "console"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def shot(page: Page, name: str, *, readme: bool = False) -> None:
    path = artefacts() / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if readme and os.environ.get("GONGZHI_UPDATE_SCREENSHOTS") == "1":
        target = REPO / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / f"{name}.png")


def submission(ref: str, compound: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": "hotline-12345",
        "source_ref": ref,
        "channel": "hotline",
        "compound_id": compound,
        "description": description,
        "reporter": {"name": "王女士", "phone": "13912345678", "hide_identity": False},
        **extra,
    }


async def submit(pipeline: Pipeline, body: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=pipeline.url("intake"), timeout=30) as client:
        answer = await client.post(
            "/v1/complaints", json=body, headers={"Authorization": f"Bearer {SUBMITTER}"}
        )
    assert answer.status_code == 202, answer.text
    complaint_id: str = answer.json()["complaint_id"]
    return complaint_id


async def routed(pipeline: Pipeline, complaint_id: str) -> dict[str, Any]:
    async def seen() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=pipeline.url("stats"), timeout=10) as client:
            answer = await client.get(
                f"/v1/complaints/{complaint_id}", headers={"Authorization": f"Bearer {OPERATOR}"}
            )
        view = answer.json() if answer.status_code == 200 else {}
        return view if view.get("lead") else None

    found: dict[str, Any] = await wait_for(seen, timeout=90)
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # Debian's Chromium: Playwright downloads no browser of its own.
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(
    browser: Browser, stats: str, key: str, viewport: dict[str, int], start: str = "/console"
) -> Page:
    context = await browser.new_context(viewport=viewport, locale="zh-CN", base_url=stats)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(start)
    await expect(page.get_by_role("heading", name="登录工作台")).to_be_visible()
    await page.get_by_label("接口密钥").fill(key)
    await page.get_by_role("button", name="登录").click()
    return page


async def test_a_firm_works_its_queue_and_the_operator_watches_the_desk_change(
    start_pipeline: PipelineFactory, browser: Browser
) -> None:
    pipeline = start_pipeline(GONGZHI_DUE_SCALE=DUE_SCALE, GONGZHI_API_KEYS=json.dumps(KEYS))
    stats = pipeline.url("stats")
    parking = await submit(
        pipeline,
        submission(
            "C-1", "cx-001", "2棟樓下車輛亂停亂放，消防車道被堵", category="parking_disorder"
        ),
    )
    wires = await submit(
        pipeline, submission("C-2", "cx-001", "3棟2單元樓道有人飛線充電", location="3棟2單元")
    )
    # A second one in the same compound, another staircase: a hot spot (未诉先办).
    more_wires = await submit(
        pipeline,
        submission("C-4", "cx-001", "5棟1單元樓道裡私拉電線給電瓶車充電", location="5棟1單元"),
    )
    elsewhere = await submit(
        pipeline, submission("C-3", "cx-007", "垃圾站的垃圾三天沒有清運", category="sanitation")
    )
    assert (await routed(pipeline, parking))["lead"]["responder_id"] == "pf-dianzhong"
    assert (await routed(pipeline, wires))["lead"]["responder_id"] == "fire"
    assert (await routed(pipeline, elsewhere))["lead"]["responder_id"] == "pf-yiyuan"
    assert (await routed(pipeline, more_wires))["lead"]["responder_id"] == "fire"

    # Keys that may not use the console are told so, in words.
    stranger = await sign_in(browser, stats, "no-such-key", DESK_SCREEN)
    await expect(stranger.get_by_role("alert")).to_have_text("密钥无效，请检查后重试。")
    submitter = await sign_in(browser, stats, SUBMITTER, DESK_SCREEN)
    await expect(submitter.get_by_role("alert")).to_contain_text("不能登录工作台")

    # The operator's desk: the firm's complaint goes overdue and is escalated.
    desk = await sign_in(browser, stats, OPERATOR, DESK_SCREEN)
    await expect(desk).to_have_url(f"{stats}/console/desk")
    await desk.evaluate("window.notReloaded = true")
    late_row = desk.locator(f'#supervision tr[data-complaint="{parking}"]')
    await expect(late_row).to_be_visible(timeout=60_000)
    await expect(late_row).to_contain_text("签收超时")
    await expect(late_row).to_contain_text("已升级")
    firm_resolution = desk.locator(
        '#ranking tr[data-responder="pf-dianzhong"] td[data-rate="resolution_rate"] .val'
    )
    await expect(firm_resolution).to_have_text("0.0%")
    resolution_tile = desk.locator('#city-rates .tile[data-rate="resolution_rate"] .big')
    city_before = await resolution_tile.inner_text()
    await expect(desk.locator("#heatmap")).to_contain_text("学桥花园")
    await shot(desk, "console-desk-before")

    # The firm, on a phone: only its own complaints, lead or support, soonest due first.
    firm = await sign_in(browser, stats, FIRM, PHONE_SCREEN)
    await expect(firm).to_have_url(f"{stats}/console/queue")
    queue = firm.locator("#queue .item")
    await expect(queue).to_have_count(3)
    await expect(firm.locator(f'.item[data-complaint="{parking}"]')).to_contain_text("主办")
    await expect(firm.locator(f'.item[data-complaint="{wires}"]')).to_contain_text("协办")
    await expect(firm.locator(f'[data-complaint="{elsewhere}"]')).to_have_count(0)
    await expect(firm.locator(f'.item[data-complaint="{parking}"] .left')).to_contain_text("已超时")
    cookies = await firm.context.cookies()
    session = next(c for c in cookies if c["name"] == "gongzhi_console")
    assert session.get("httpOnly") is True
    assert session.get("sameSite") == "Strict"
    assert FIRM not in json.dumps(cookies)
    assert await firm.evaluate("document.cookie") == ""
    await shot(firm, "console-queue", readme=True)

    # Another firm's complaint does not open, whatever its id.
    answer = await firm.goto(f"/console/complaints/{elsewhere}")
    assert answer is not None
    assert answer.status == 404
    await expect(firm.get_by_role("heading", name="查无此件")).to_be_visible()

    # The complaint's page, then a wrong action: resolving before acknowledging.
    await firm.goto("/console/queue")
    await firm.locator(f'.item[data-complaint="{parking}"] a').click()
    await expect(firm.locator("#status")).to_have_text("待签收")
    await expect(firm.locator("#reporter")).to_contain_text("139****5678")
    await expect(firm.locator("#lead")).to_contain_text("楚雄市滇中物业有限公司")
    await expect(firm.locator("#timeline")).to_contain_text("升级督办")
    await firm.get_by_label("办理结果").fill("已劃定臨時停車位")
    await firm.locator('button[data-action="resolved"]').click()
    await expect(firm.get_by_role("alert")).to_contain_text("须先签收，才能办结。")
    await expect(firm.get_by_role("alert")).to_contain_text("must acknowledge")
    await shot(firm, "console-refusal")

    # A forged form (no anti-forgery token) changes nothing.
    async with httpx.AsyncClient(base_url=stats, timeout=30) as client:
        forged = await client.post(
            f"/console/complaints/{parking}/updates",
            data={"type": "acknowledged"},
            headers={"Cookie": f"gongzhi_console={session['value']}"},
        )
    assert forged.status_code == 403
    await expect(firm.locator("#status")).to_have_text("待签收")

    # Acknowledge, then resolve with a note.
    await firm.locator('button[data-action="acknowledged"]').click()
    await expect(firm.get_by_role("status")).to_have_text("已签收。")
    await expect(firm.locator("#status")).to_have_text("已签收")
    await firm.locator('button[data-action="in_progress"]').click()
    await expect(firm.get_by_role("status")).to_have_text("已报告办理中。")
    await expect(firm.locator("#status")).to_have_text("办理中")
    await firm.get_by_label("办理结果").fill("已劃定臨時停車位，車主已挪車")
    await firm.locator('button[data-action="resolved"]').click()
    await expect(firm.get_by_role("status")).to_have_text("已办结，等待居民评价。")
    await expect(firm.locator("#status")).to_have_text("已办结")
    timeline = firm.locator("#timeline")
    await expect(timeline).to_contain_text("签收")
    await expect(timeline).to_contain_text("已劃定臨時停車位，車主已挪車")
    await expect(firm.locator(".actions")).to_have_count(0)
    await shot(firm, "console-complaint")
    await firm.goto("/console/queue")
    await expect(firm.locator("#queue .item")).to_have_count(2)

    # As a support the firm may not return the fire brigade's complaint: said in words.
    await firm.locator(f'.item[data-complaint="{wires}"] a').click()
    await expect(firm.locator(".hotspots")).to_contain_text("飞线充电 · 学桥花园 · 集中发生 · 2 件")
    await firm.get_by_label("退单理由").fill("不归物业管")
    await firm.locator('button[data-action="returned"]').click()
    await expect(firm.get_by_role("alert")).to_contain_text(
        "只有主办单位可以退单；协办单位只能报告办理中。"
    )

    # The operator's page, never reloaded, shows the rates move and the item leave.
    await expect(firm_resolution).to_have_text("100.0%", timeout=30_000)
    await expect(late_row).to_have_count(0, timeout=30_000)
    assert await resolution_tile.inner_text() != city_before
    assert await desk.evaluate("window.notReloaded") is True
    await shot(desk, "console-desk", readme=True)

    # The open hot spot is on the desk; a category narrows the supervision list.
    await expect(desk.locator("#hotspots")).to_contain_text("学桥花园", timeout=30_000)
    await desk.get_by_label("类别").select_option("flying_wire_charging")
    await desk.get_by_label("督办分组").select_option("compound")
    await desk.get_by_role("button", name="查看").click()
    rows = desk.locator("#supervision tbody tr")
    await expect(rows).to_have_count(2)
    await expect(desk.locator(f'#supervision tr[data-complaint="{elsewhere}"]')).to_have_count(0)
    await expect(desk.locator("#supervision h3")).to_have_text(["学桥花园 2"])

    # An operator reads every complaint but acts for no one.
    await desk.goto(f"/console/complaints/{elsewhere}")
    await expect(desk.locator("#lead")).to_contain_text("楚雄彝苑物业服务有限公司")
    await expect(desk.locator(".actions")).to_have_count(0)
    # A link to a complaint (as in an alert) opens it once signed in.
    linked = await sign_in(browser, stats, OPERATOR, PHONE_SCREEN, f"/console/complaints/{wires}")
    await expect(linked).to_have_url(f"{stats}/console/complaints/{wires}")
    await expect(linked.locator("#lead")).to_contain_text("楚雄市消防救援大队")
    # /dashboard is the desk.
    await desk.goto("/dashboard")
    await expect(desk).to_have_url(f"{stats}/console/desk")

    # Signing out ends the session on the server: the old cookie opens nothing.
    await firm.get_by_role("button", name="退出").click()
    await expect(firm.get_by_role("heading", name="登录工作台")).to_be_visible()
    async with httpx.AsyncClient(base_url=stats, timeout=30) as client:
        stale = await client.get(
            "/console/queue", headers={"Cookie": f"gongzhi_console={session['value']}"}
        )
    assert stale.status_code == 303
    assert stale.headers["location"] == "/console/login?next=%2Fconsole%2Fqueue"
