"""The responder's and operator's console at ``/console``: server-rendered pages
(Jinja2) made live with htmx and server-sent events; actions go to intake's public
API with the signed-in user's key.

``install`` mounts it on stats' app; ``tail`` is the background loop that feeds its
live updates from ``stats.snapshots``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from pymongo.asynchronous.database import AsyncDatabase

from services.stats.console import routes
from services.stats.console.app_state import Console
from services.stats.console.intake import IntakeClient
from services.stats.console.live import LiveFeed
from services.stats.console.names import Names, load_category_names
from services.stats.console.sessions import SessionCodec, SessionStore
from services.stats.settings import StatsSettings
from services.stats.store import StatsStore
from shared.auth import KeyRing
from shared.directory import Directory
from shared.mongo import Document
from shared.tail import TopicTail
from shared.topics import STATS_SNAPSHOTS

HERE = Path(__file__).resolve().parent


def make_templates() -> Jinja2Templates:
    # Autoescape everything: Jinja's default picks by file extension, and ".j2" is not
    # one it escapes.
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    return Jinja2Templates(env=env)


def install(
    app: FastAPI,
    settings: StatsSettings,
    store: StatsStore,
    db: AsyncDatabase[Document],
    keys: KeyRing,
    directory: Directory,
) -> Console:
    templates = make_templates()
    console = Console(
        settings=settings,
        store=store,
        sessions=SessionStore(
            db,
            SessionCodec(settings.console_key()),
            timedelta(hours=settings.console_session_hours),
        ),
        intake=IntakeClient(settings.intake_base_url()),
        live=LiveFeed(),
        names=Names(directory, load_category_names(settings.policy_path)),
        keys=keys,
        directory=directory,
        templates=templates,
    )
    app.state.console = console
    app.include_router(routes.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    async def to_sign_in(request: Request, _: Exception) -> Response:
        return routes.sign_in_redirect(request)

    app.add_exception_handler(routes.SignInNeededError, to_sign_in)
    return console


def tail(console: Console) -> TopicTail:
    """Follows ``stats.snapshots`` from its end: each new snapshot is a change notice."""
    kafka = console.settings.kafka
    return TopicTail(
        kafka,
        [kafka.topic(STATS_SNAPSHOTS)],
        console.live.on_records,
        client_id="gongzhi-stats-console",
    )
