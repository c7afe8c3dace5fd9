"""Alert text: Chinese, from the templates, with the privacy rule applied."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.notify.rendering import TEMPLATES, Renderer
from services.notify.triggers import (
    Trigger,
    from_escalated,
    from_reminded,
    from_routed,
    from_updated,
)
from shared.events import Reporter
from tests.unit.notify.builders import (
    CONTACTS,
    MASKED,
    PHONE,
    directory,
    escalated,
    reminded,
    reopened,
    responder,
    routed,
)

DIRECTORY = directory(
    [
        responder("fire", "fire", contact_details=True, channels=[]),
        responder("pf-dianzhong", "property_firm", contact_details=False, channels=[]),
        responder("housing", "housing", contact_details=True, channels=[]),
        responder("cm-xueqiao", "community", contact_details=True, channels=[]),
    ]
)
RENDERER = Renderer(public_base_url="https://gongzhi.example/", contacts=CONTACTS)


def render(trigger: Trigger, responder_id: str) -> dict[str, str]:
    message = RENDERER.render(trigger, DIRECTORY.responder(responder_id), DIRECTORY, "delivery-123")
    return {
        "title": message.title,
        "text": message.text,
        "markdown": message.markdown,
        "html": message.html,
        "sms": message.sms,
    }


def test_routed_alert_says_what_where_how_urgent_when_and_links() -> None:
    text = render(from_routed(routed()), "fire")["text"]
    assert text.startswith("【新派單】飛線充電 · 學橋小區")
    assert "請牽頭辦理" in text
    assert "地點：學橋小區 3棟2單元" in text
    assert "緊急程度：緊急" in text
    # 00:00 UTC is 08:00 in Shanghai; acknowledge within 1 h, resolve within 24 h.
    assert "簽收時限：2026-11-28 09:00" in text
    assert "辦結時限：2026-11-29 08:00" in text
    # A person opens the console's page; the API's address stays for systems.
    assert "https://gongzhi.example/console/complaints/c-1" in text
    assert "/v1/complaints/" not in text
    assert "投遞編號：delivery-123" in text


def test_support_is_asked_to_assist() -> None:
    assert "請協同辦理" in render(from_routed(routed()), "pf-dianzhong")["text"]


def test_agency_sees_full_phone_firm_sees_masked_phone_in_every_format() -> None:
    trigger = from_routed(routed())
    agency = render(trigger, "fire")
    firm = render(trigger, "pf-dianzhong")
    for name in ("text", "markdown", "html"):
        assert PHONE in agency[name]
        assert "張女士" in agency[name]
        assert PHONE not in firm[name]
        assert MASKED in firm[name]
    assert PHONE not in agency["sms"]


def test_firm_gets_no_name_for_a_complaint_about_the_firm() -> None:
    trigger = from_routed(
        routed(lead="housing", category="property_fees", category_name="物業收費")
    )
    data = RENDERER.render(trigger, DIRECTORY.responder("pf-dianzhong"), DIRECTORY, "d-1").data
    assert data["complaint"]["reporter"] == {"name": None, "phone": MASKED}
    assert "張女士" not in str(data)


def test_escalation_says_why_and_level() -> None:
    text = render(from_escalated(escalated(level=2)), "housing")["text"]
    assert text.startswith("【督辦·第2級】")
    assert "原因：物業公司超過1小時未簽收" in text
    assert "簽收已超過時限（2026-11-28 09:00）" in text
    assert "pf-dianzhong 單位" in text


@pytest.mark.parametrize(
    ("trigger", "title"),
    [
        (from_routed(routed(round_=2, rerouted=True)), "【改派】"),
        (from_reminded(reminded()), "【催辦】"),
        (from_updated(reopened()), "【重新辦理】"),
    ],
)
def test_each_reason_has_its_own_title(trigger: Trigger | None, title: str) -> None:
    assert trigger is not None
    rendered = render(trigger, "fire")
    assert rendered["title"].startswith(title)
    assert rendered["markdown"].startswith(f"### {title}")
    assert title in rendered["sms"]


def test_html_escapes_what_residents_wrote() -> None:
    trigger = from_routed(routed(reporter=Reporter(name="<script>x</script>", phone=PHONE)))
    html = render(trigger, "fire")["html"]
    assert "<script>x" not in html
    assert "&lt;script&gt;" in html


def test_sms_is_short() -> None:
    assert len(render(from_escalated(escalated()), "housing")["sms"]) <= 140


def test_a_custom_template_that_still_imports_its_reason_renders_as_the_shipped_one(
    tmp_path: Path,
) -> None:
    # Formats get the reason's macros as ``r``; templates written before that import
    # them themselves, and an operator's copy (GONGZHI_TEMPLATES_DIR) must keep working.
    shutil.copytree(TEMPLATES, tmp_path, dirs_exist_ok=True)
    for name in ("text", "html", "markdown", "sms"):
        shipped = (TEMPLATES / f"{name}.j2").read_text(encoding="utf-8")
        (tmp_path / f"{name}.j2").write_text(
            '{% import "reasons/" ~ reason ~ ".j2" as r with context %}\n' + shipped,
            encoding="utf-8",
        )
    older = Renderer(
        public_base_url="https://gongzhi.example/", contacts=CONTACTS, templates_dir=tmp_path
    )
    trigger = from_routed(routed())
    for responder_id in ("fire", "pf-dianzhong"):
        responder_ = DIRECTORY.responder(responder_id)
        theirs = older.render(trigger, responder_, DIRECTORY, "delivery-123")
        ours = RENDERER.render(trigger, responder_, DIRECTORY, "delivery-123")
        assert (theirs.title, theirs.text, theirs.html, theirs.markdown, theirs.sms) == (
            ours.title,
            ours.text,
            ours.html,
            ours.markdown,
            ours.sms,
        )
