"""Routing's settings, from the environment (``GONGZHI_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.access import load_outside_systems
from shared.settings import ServiceSettings


def default_policy_path() -> Path:
    """The policy that ships with the project (the product's routing policy)."""
    return Path(__file__).resolve().parent / "data" / "policy.yaml"


class RoutingSettings(ServiceSettings):
    """Routing's configuration.

    - ``GONGZHI_POLICY_PATH``: the routing policy file (default: the shipped policy).
    - ``GONGZHI_DIRECTORY_PATH``: the directory file (default: the demo directory).
    - ``GONGZHI_DUE_SCALE``: multiplies every due window of the policy (acknowledge and
      resolve), so a test or a demo can run the whole escalation ladder in seconds:
      ``GONGZHI_DUE_SCALE=0.0005`` turns the 1-hour acknowledge window of an urgent
      complaint into 1.8 s. The reminder fraction and the duplicate window are not scaled.
    - ``GONGZHI_TIMER_MAX_WAIT_SECONDS``: the longest the timer loop sleeps between
      looks at its next due complaint (it wakes sooner when one is due).
    - ``GONGZHI_KAFKA_SYSTEMS_PATH``: the operator's list of outside systems (the file
      kafka-init makes the ACLs from): routing reads the update topic of each responder
      system listed there, ``ingress.updates.<responder id>``.
    """

    http_port: int = 8081
    policy_path: str | None = None
    due_scale: float = Field(default=1.0, gt=0)
    timer_max_wait_seconds: float = Field(default=1.0, gt=0)
    batch_max_records: int = Field(default=500, ge=1)
    """Records consumed per batch (decided, written and published together)."""
    kafka_systems_path: str | None = None

    def responder_systems(self) -> tuple[str, ...]:
        """Responders with a system of their own; raises DataFileError if the file is broken."""
        if self.kafka_systems_path is None:
            return ()
        return load_outside_systems(self.kafka_systems_path).responders

    def resolved_policy_path(self) -> Path:
        return Path(self.policy_path) if self.policy_path else default_policy_path()
