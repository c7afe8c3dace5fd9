"""Real receivers on 127.0.0.1 that record what notify (or anything else) sends them.

- ``HttpReceiver``: a FastAPI app served by uvicorn in a background thread; records
  every request (path, query, headers, raw body) and can be told to fail N times or
  always with a status, answer with a given JSON (e.g. WeCom/DingTalk ``errcode``),
  or delay. It answers ``{"errcode": 0, "errmsg": "ok"}`` by default, which suits a
  plain webhook, the WeCom and DingTalk robots and the SMS gateway alike.
- ``SmtpReceiver``: an aiosmtpd server that records each message and can be told to
  answer a temporary failure N times.

``python -m devtools.receivers --http-port 9900 --smtp-port 2525`` serves both until
interrupted and prints one JSON line per delivery (phones masked) — the demo uses it."""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import os
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from devtools.loopback import free_port
from services.notify.signing import verify_signature
from shared.privacy import scrub_phones


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    status: int
    """What the receiver answered."""
    at: float
    """``time.monotonic()`` when it arrived."""

    def json(self) -> Any:
        """The body parsed as JSON (like ``httpx.Response.json()``)."""
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str | None:
        return self.headers.get("x-gongzhi-delivery-id")


@dataclass
class _Rule:
    prefix: str
    status: int = 200
    times: int | None = None
    """How many requests the rule still applies to; None = every one."""
    delay: float = 0.0
    answer: Any = None


class HttpReceiver:
    def __init__(self, port: int | None = None, *, on_request: Any = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._rules: list[_Rule] = []
        self._on_request = on_request
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # Behaviour -----------------------------------------------------------------
    def fail(self, prefix: str = "/", *, status: int = 503, times: int | None = None) -> None:
        """Answer ``status`` to requests under ``prefix`` (``times`` of them, or always)."""
        with self._lock:
            self._rules.append(_Rule(prefix, status=status, times=times))

    def answer(self, prefix: str, body: Any, *, times: int | None = None) -> None:
        """Answer 200 with ``body`` (e.g. ``{"errcode": 93000, "errmsg": "invalid"}``)."""
        with self._lock:
            self._rules.append(_Rule(prefix, answer=body, times=times))

    def delay(self, prefix: str, seconds: float, *, times: int | None = None) -> None:
        with self._lock:
            self._rules.append(_Rule(prefix, delay=seconds, times=times))

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self._requests.clear()

    # Inspection ----------------------------------------------------------------
    def requests(self, prefix: str = "/") -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self._requests if r.path.startswith(prefix)]

    def accepted(self, prefix: str = "/") -> list[ReceivedRequest]:
        return [r for r in self.requests(prefix) if 200 <= r.status < 300]

    # Serving -------------------------------------------------------------------
    def _take_rules(self, path: str) -> tuple[float, _Rule | None]:
        """The delay and the answering rule for one request (each used once)."""
        delay, answering = 0.0, None
        with self._lock:
            for rule in self._rules:
                if not path.startswith(rule.prefix) or rule.times == 0:
                    continue
                is_delay = rule.delay > 0
                if not is_delay and answering is not None:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                if is_delay:
                    delay += rule.delay
                else:
                    answering = rule
        return delay, answering

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT"])
        async def record(request: Request) -> Response:
            arrived = time.monotonic()
            body = await request.body()
            delay, rule = self._take_rules(request.url.path)
            if delay:
                await asyncio.sleep(delay)
            status = rule.status if rule is not None else 200
            answer = (
                rule.answer
                if rule is not None and rule.answer is not None
                else {"errcode": 0, "errmsg": "ok"}
                if status < 300
                else {"error": f"told to fail with {status}"}
            )
            received = ReceivedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                status=status,
                at=arrived,
            )
            with self._lock:
                self._requests.append(received)
            if self._on_request is not None:
                self._on_request(received)
            return Response(json.dumps(answer), status_code=status, media_type="application/json")

        return app

    def start(self) -> HttpReceiver:
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"HTTP receiver did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return str(part.get_content())
        raise KeyError(content_type)


@dataclass
class _SmtpHandler:
    owner: SmtpReceiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return self.owner._receive(envelope)


@dataclass
class SmtpReceiver:
    port: int = field(default_factory=free_port)
    on_mail: Any = None
    _mails: list[ReceivedMail] = field(default_factory=list)
    _failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Any = None

    def fail(self, times: int, reply: str = "451 4.3.0 Try again later") -> None:
        with self._lock:
            self._failures.extend([reply] * times)

    def _receive(self, envelope: Any) -> str:
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            mail = ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            self._mails.append(mail)
        if self.on_mail is not None:
            self.on_mail(mail)
        return "250 Message accepted"

    @property
    def mails(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._mails)

    def start(self) -> SmtpReceiver:
        self._controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def __enter__(self) -> SmtpReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _print_request(secret: str | None) -> Any:
    def show(request: ReceivedRequest) -> None:
        entry: dict[str, Any] = {
            "path": request.path,
            "delivery_id": request.delivery_id,
            "status": request.status,
        }
        signature = request.headers.get("x-gongzhi-signature")
        if signature and secret:
            entry["signature_ok"] = verify_signature(
                request.body, request.headers.get("x-gongzhi-timestamp", ""), signature,
                secret.split(","),
            )  # fmt: skip
        try:
            payload = request.json()
            entry["title"] = payload.get("title") or payload.get("text") or payload.get("markdown")
        except ValueError:
            pass
        print(scrub_phones(json.dumps(entry, ensure_ascii=False)), flush=True)

    return show


def _print_mail(mail: ReceivedMail) -> None:
    entry = {
        "to": mail.rcpt_tos,
        "subject": str(mail.message["Subject"]),
        "delivery_id": str(mail.message["X-Gongzhi-Delivery-Id"]),
    }
    print(scrub_phones(json.dumps(entry, ensure_ascii=False)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http-port", type=int, default=9900)
    parser.add_argument("--smtp-port", type=int, default=2525)
    args = parser.parse_args()
    secret = os.environ.get("GONGZHI_WEBHOOK_SECRET")
    http = HttpReceiver(args.http_port, on_request=_print_request(secret)).start()
    smtp = SmtpReceiver(args.smtp_port, on_mail=_print_mail).start()
    print(f"receivers: http {http.url}, smtp 127.0.0.1:{smtp.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        http.stop()
        smtp.stop()


if __name__ == "__main__":
    main()
