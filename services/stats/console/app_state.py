"""What the console's routes reach through ``app.state.console``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.templating import Jinja2Templates

from services.stats.console.intake import IntakeClient
from services.stats.console.live import LiveFeed
from services.stats.console.names import Names
from services.stats.console.sessions import SessionStore
from services.stats.settings import StatsSettings
from services.stats.store import StatsStore
from shared.auth import KeyRing
from shared.directory import Directory


@dataclass
class Console:
    settings: StatsSettings
    store: StatsStore
    sessions: SessionStore
    intake: IntakeClient
    live: LiveFeed
    names: Names
    keys: KeyRing
    directory: Directory
    templates: Jinja2Templates
