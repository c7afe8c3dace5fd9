"""The e-mail notify builds, read back as a mail client reads it."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import cast

from services.notify.channels.email import build_email
from services.notify.rendering import Message
from shared.directory import EmailChannel


@dataclass(frozen=True)
class Rendered:
    """What build_email reads of a rendered alert."""

    title: str
    text: str
    html: str


TITLE = "【督辦】鹿城社區：小區車輛亂停亂放，東門外占道嚴重，已超過簽收時限兩小時（cx-001）"


def built(sender: str = "共治平台 <gongzhi@city.test>") -> tuple[EmailMessage, list[str], str]:
    channel = EmailChannel.model_validate(
        {"type": "email", "to": ["fire@example.org", "值班室 <duty@example.org>"]}
    )
    rendered = Rendered(TITLE, "投遞編號：d-1\n反映人：張女士", "<p>投訴內容：占道</p>")
    mail = build_email(channel, cast(Message, rendered), "d-1", sender)
    parsed = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed, mail.recipients, mail.sender


def test_a_long_chinese_subject_and_display_names_read_back_whole() -> None:
    message, recipients, sender = built()
    assert str(message["Subject"]) == TITLE
    assert str(message["From"]) == "共治平台 <gongzhi@city.test>"
    assert str(message["To"]) == "fire@example.org, 值班室 <duty@example.org>"
    # The envelope holds the bare addresses.
    assert (sender, recipients) == ("gongzhi@city.test", ["fire@example.org", "duty@example.org"])
    assert all(line.isascii() for line in message.as_string().splitlines())


def test_text_with_an_html_alternative_and_the_delivery_id_in_a_header() -> None:
    message, _, _ = built()
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == "投遞編號：d-1\n反映人：張女士"
    assert "投訴內容：占道" in html.get_content()
    assert message["X-Gongzhi-Delivery-Id"] == "d-1"
    assert message["Message-ID"] == "<d-1@gongzhi>"
