"""Alert text in Chinese, rendered from the editable templates in ``templates/``.

One template per format (text, markdown, html, sms) lays out the facts; one file per
reason in ``templates/reasons/`` holds the title and opening line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.notify.disclosure import ReporterView, reporter_view
from services.notify.triggers import Trigger
from shared.directory import Directory, Responder
from shared.events import Breach, NotificationReason, Urgency

# China has kept one offset without daylight saving since 1991; a fixed offset needs no
# time-zone database on the host.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
TEMPLATES = Path(__file__).resolve().parent / "templates"

URGENCY_LABELS = {Urgency.URGENT: "緊急", Urgency.NORMAL: "一般", Urgency.COMPLEX: "複雜"}
BREACH_LABELS = {Breach.ACKNOWLEDGE: "簽收", Breach.RESOLVE: "辦結"}
SMS_MAX_CHARS = 140
_TITLE = '{% import "reasons/" ~ reason ~ ".j2" as r with context %}{{ r.title() }}'


@dataclass(frozen=True)
class Message:
    """One alert for one responder, in every format the channels use."""

    title: str
    text: str
    markdown: str
    html: str
    sms: str
    data: dict[str, Any]
    """Structured form of the same facts (the webhook body)."""


def local_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _reporter_line(view: ReporterView) -> str | None:
    parts = [p for p in (view.name, view.phone) if p]
    if not parts:
        return None
    line = " ".join(parts)
    return f"{line}（已按隱私規則處理）" if view.withheld else line


class Renderer:
    def __init__(self, *, public_base_url: str, templates_dir: str | Path | None = None) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.environment = Environment(
            loader=FileSystemLoader(str(templates_dir or TEMPLATES)),
            autoescape=lambda name: name is not None and name.startswith("html"),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def link(self, complaint_id: str) -> str:
        return f"{self.public_base_url}/v1/complaints/{complaint_id}"

    def render(
        self, trigger: Trigger, responder: Responder | None, directory: Directory, delivery_id: str
    ) -> Message:
        context = self._context(trigger, responder, directory, delivery_id)
        rendered = {
            name: self.environment.get_template(f"{name}.j2").render(context).strip()
            for name in ("text", "markdown", "html", "sms")
        }
        title_text = self.environment.from_string(_TITLE).render(context).strip()
        sms = rendered["sms"]
        if len(sms) > SMS_MAX_CHARS:
            sms = sms[: SMS_MAX_CHARS - 1] + "…"
        return Message(
            title=title_text,
            text=rendered["text"] + "\n",
            markdown=rendered["markdown"],
            html=rendered["html"],
            sms=sms,
            data={
                **self._data(trigger, responder, context, delivery_id, title_text),
                "text": rendered["text"],
            },
        )

    def _context(
        self, trigger: Trigger, responder: Responder | None, directory: Directory, delivery_id: str
    ) -> dict[str, Any]:
        summary = trigger.summary
        category = summary.category if summary else "other"
        view = reporter_view(
            summary.reporter if summary else None,
            contact_details=responder.contact_details if responder else False,
            category=category,
        )
        compound = (summary.compound_name or summary.compound_id) if summary else "（未知小區）"
        where = " ".join(p for p in (compound, summary.location if summary else None) if p)
        lead = directory.responders_by_id.get(trigger.lead_id or "")
        is_lead = responder is not None and responder.id == trigger.lead_id
        return {
            "reason": trigger.reason.value,
            "complaint_id": trigger.complaint_id,
            "delivery_id": delivery_id,
            "responder_name": responder.name if responder else None,
            "role": "牽頭辦理" if is_lead else "協同辦理",
            "category": category,
            "category_name": summary.category_name if summary else "投訴",
            "compound": compound,
            "where": where,
            "urgency": URGENCY_LABELS[summary.urgency] if summary else "一般",
            "description": summary.description if summary else None,
            "reporter": view,
            "reporter_line": _reporter_line(view),
            "acknowledge_by": local_time(trigger.acknowledge_by),
            "resolve_by": local_time(trigger.resolve_by),
            "breached_due_at": local_time(trigger.breached_due_at),
            "breach_label": BREACH_LABELS[trigger.breach] if trigger.breach else "",
            "level": trigger.level,
            "why": trigger.why,
            "lead_name": lead.name if lead else trigger.lead_id,
            "link": self.link(trigger.complaint_id),
        }

    def _data(
        self,
        trigger: Trigger,
        responder: Responder | None,
        context: dict[str, Any],
        delivery_id: str,
        title: str,
    ) -> dict[str, Any]:
        summary = trigger.summary
        view: ReporterView = context["reporter"]
        data: dict[str, Any] = {
            "delivery_id": delivery_id,
            "reason": trigger.reason.value,
            "complaint_id": trigger.complaint_id,
            "responder_id": responder.id if responder else None,
            "trigger_event_id": trigger.event_id,
            "title": title,
            "link": context["link"],
            "complaint": {
                "category": context["category"],
                "category_name": context["category_name"],
                "urgency": summary.urgency.value if summary else None,
                "compound_id": summary.compound_id if summary else None,
                "compound_name": summary.compound_name if summary else None,
                "location": summary.location if summary else None,
                "description": context["description"],
                "reporter": {"name": view.name, "phone": view.phone}
                if view.name or view.phone
                else None,
            },
            "due": {
                "acknowledge_by": _iso(trigger.acknowledge_by),
                "resolve_by": _iso(trigger.resolve_by),
            },
        }
        if trigger.reason == NotificationReason.ESCALATED:
            data["escalation"] = {
                "level": trigger.level,
                "breach": trigger.breach.value if trigger.breach else None,
                "due_at": _iso(trigger.breached_due_at),
                "why": trigger.why,
                "lead_id": trigger.lead_id,
            }
        return data


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None
