"""Alert text in Chinese, rendered from the editable templates in ``templates/``.

One template per format (text, markdown, html, sms) lays out the facts of a complaint;
one file per reason in ``templates/reasons/`` holds the title and opening line. A
hot-spot alert lists several complaints, so its formats have their own templates in
``templates/hotspot/``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from jinja2.environment import TemplateModule

from services.notify.disclosure import ReporterView, reporter_view
from services.notify.hotspot_alerts import hotspot_context, hotspot_data
from services.notify.shanghai_time import local_iso, local_time
from services.notify.triggers import Trigger
from shared.directory import Directory, Responder
from shared.events import Breach, NotificationReason, Reporter, SealedReporter, Urgency
from shared.sealing import ContactKeyRing, SealError

TEMPLATES = Path(__file__).resolve().parent / "templates"

URGENCY_LABELS = {Urgency.URGENT: "緊急", Urgency.NORMAL: "一般", Urgency.COMPLEX: "複雜"}
BREACH_LABELS = {Breach.ACKNOWLEDGE: "簽收", Breach.RESOLVE: "辦結"}
SMS_MAX_CHARS = 140
log = logging.getLogger(__name__)


class Message:
    """One alert for one responder, in every format the channels use. Each format is
    rendered when a channel first asks for it: a channel needs one or two of them."""

    def __init__(
        self,
        renderer: Renderer,
        context: dict[str, Any],
        data: Callable[[str], dict[str, Any]],
        family: str = "",
    ) -> None:
        self._renderer = renderer
        self._context = context
        self._data = data
        self._family = family

    @cached_property
    def _reason(self) -> TemplateModule:
        """The reason's macros (title, intro), bound to this alert's facts: built once
        and handed to each format as ``r``. Importing them in every format, with
        context, built the module again for each (one responder's webhook and e-mail
        formats: 76 -> 55 us); a template that still imports them works as before."""
        return self._renderer.template(f"reasons/{self._context['reason']}").make_module(
            self._context
        )

    def _format(self, name: str) -> str:
        template = self._renderer.template(self._family + name)
        return template.render({**self._context, "r": self._reason}).strip()

    @property
    def disclosed(self) -> tuple[str, ...]:
        """The reporter's name and phone as this alert shows them: what an error text
        (a receiver may echo the alert back) must not carry on."""
        view = self._context.get("reporter")
        if not isinstance(view, ReporterView):
            return ()
        return tuple(part for part in (view.name, view.phone) if part)

    @cached_property
    def title(self) -> str:
        macros: Any = self._reason  # a template module's macros are its attributes
        return str(macros.title()).strip()

    @cached_property
    def text(self) -> str:
        return self._format("text") + "\n"

    @cached_property
    def markdown(self) -> str:
        return self._format("markdown")

    @cached_property
    def html(self) -> str:
        return self._format("html")

    @cached_property
    def sms(self) -> str:
        sms = self._format("sms")
        return sms if len(sms) <= SMS_MAX_CHARS else sms[: SMS_MAX_CHARS - 1] + "…"

    @cached_property
    def data(self) -> dict[str, Any]:
        """Structured form of the same facts (the webhook body)."""
        return {**self._data(self.title), "text": self.text.rstrip("\n")}


def _reporter_line(view: ReporterView) -> str | None:
    parts = [p for p in (view.name, view.phone) if p]
    if not parts:
        return None
    line = " ".join(parts)
    return f"{line}（已按隱私規則處理）" if view.withheld else line


class Renderer:
    def __init__(
        self,
        *,
        public_base_url: str,
        contacts: ContactKeyRing,
        templates_dir: str | Path | None = None,
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.contacts = contacts
        self.environment = Environment(
            loader=FileSystemLoader(str(templates_dir or TEMPLATES)),
            autoescape=lambda name: name is not None and name.startswith("html"),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # A template that imports another (a custom one importing its reason's
            # macros) would have Jinja stat the file on every render. Templates change
            # with a deployment, and a restart loads them.
            auto_reload=False,
        )
        # Compiled once: compiling a template costs more than rendering it.
        self._templates: dict[str, Template] = {}

    def template(self, name: str) -> Template:
        found = self._templates.get(name)
        if found is None:
            found = self._templates[name] = self.environment.get_template(f"{name}.j2")
        return found

    def open_contact(self, complaint_id: str, reporter: SealedReporter) -> Reporter | None:
        """The reporter's sealed contact in clear, for an agency's alert only; one that
        does not open leaves the alert masked (and the log says so, without the blob)."""
        try:
            return self.contacts.open_reporter(complaint_id, reporter)
        except SealError as exc:
            key_id = reporter.contact.key_id if reporter.contact else None
            log.warning(
                "sealed contact does not open; the alert shows it masked",
                extra={"complaint_id": complaint_id, "key_id": key_id, "error": str(exc)},
            )
            return None

    def link(self, complaint_id: str) -> str:
        return f"{self.public_base_url}/v1/complaints/{complaint_id}"

    def console_link(self, complaint_id: str) -> str:
        """Where a person opens it: the complaint's page in stats' console."""
        return f"{self.public_base_url}/console/complaints/{complaint_id}"

    def hotspot_link(self, hotspot_id: str) -> str:
        return f"{self.public_base_url}/v1/hotspots/{hotspot_id}"

    def render(
        self, trigger: Trigger, responder: Responder | None, directory: Directory, delivery_id: str
    ) -> Message:
        event = trigger.hotspot
        if event is not None:
            hotspot = hotspot_context(
                event,
                responder,
                directory,
                delivery_id=delivery_id,
                link=self.hotspot_link(event.hotspot_id),
            )
            return Message(
                self,
                hotspot,
                lambda title: hotspot_data(event, responder, hotspot, title),
                family="hotspot/",
            )
        context = self._context(trigger, responder, directory, delivery_id)
        return Message(
            self,
            context,
            lambda title: self._data(trigger, responder, context, delivery_id, title),
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
            open_contact=lambda reporter: self.open_contact(trigger.complaint_id, reporter),
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
            "console_link": self.console_link(trigger.complaint_id),
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
            "console_link": context["console_link"],
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
                "acknowledge_by": local_iso(trigger.acknowledge_by),
                "resolve_by": local_iso(trigger.resolve_by),
            },
        }
        if trigger.reason == NotificationReason.ESCALATED:
            data["escalation"] = {
                "level": trigger.level,
                "breach": trigger.breach.value if trigger.breach else None,
                "due_at": local_iso(trigger.breached_due_at),
                "why": trigger.why,
                "lead_id": trigger.lead_id,
            }
        return data
