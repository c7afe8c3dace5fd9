"""Read ``docker-compose.yml`` the way Docker Compose does, without a Docker engine.

There is no engine on the development machines or in CI, so the tests that prove the
deployment read the compose file here: the ``.env`` file, ``${VAR}`` interpolation (with
``:-``, ``-``, ``:?``, ``?``, ``:+``, ``+`` and ``$$``, as in the Compose specification),
YAML anchors and merge keys, profiles, and each service's environment, published ports
and mounts in their short syntax."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ComposeError(ValueError):
    """The compose file or its ``.env`` cannot be read as Docker Compose would."""


def read_dotenv(path: Path) -> dict[str, str]:
    """The variables of a ``.env`` file (no interpolation inside it)."""
    values = dotenv_values(path, interpolate=False)
    missing = sorted(name for name, value in values.items() if value is None)
    if missing:
        raise ComposeError(f"{path}: no '=' after {', '.join(missing)}")
    return {name: value for name, value in values.items() if value is not None}


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """``text`` with every ``$VAR``/``${VAR...}`` replaced from ``env``.

    Raises ComposeError for a required variable that is missing (``:?``/``?``) and for
    syntax Compose would reject (an unclosed brace, a bad name)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            out.append(_expand(text[i + 2 : end], env))
            i = end + 1
        elif match := NAME.match(text, i + 1):
            out.append(env.get(match.group(), ""))
            i = match.end()
        else:
            raise ComposeError(f"invalid interpolation format in {text!r} at {i}")
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise ComposeError(f"unclosed '${{' in {text!r}")


def _expand(body: str, env: Mapping[str, str]) -> str:
    match = NAME.match(body)
    if match is None:
        raise ComposeError(f"invalid variable name in '${{{body}}}'")
    name, rest = match.group(), body[match.end() :]
    value = env.get(name)
    if rest == "":
        return value or ""
    for operator in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(operator):
            argument = rest[len(operator) :]
            break
    else:
        raise ComposeError(f"invalid interpolation format '${{{body}}}'")
    unset_or_empty = not value if operator.startswith(":") else value is None
    if operator in (":-", "-"):
        return interpolate(argument, env) if unset_or_empty else value or ""
    if operator in (":?", "?"):
        if unset_or_empty:
            raise ComposeError(f"required variable {name} is missing a value: {argument}")
        return value or ""
    return "" if unset_or_empty else interpolate(argument, env)


def _interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


@dataclass(frozen=True)
class Port:
    """One published port (short syntax ``[ip:][host:]container[/proto]``)."""

    host_ip: str
    host_port: str
    container_port: int


@dataclass(frozen=True)
class Mount:
    """One mount (short syntax ``source:target[:mode]``): a named volume or a host path."""

    source: str
    target: str
    read_only: bool

    @property
    def is_volume(self) -> bool:
        return not self.source.startswith((".", "/", "~"))


@dataclass(frozen=True)
class Compose:
    """An interpolated compose file."""

    document: dict[str, Any]
    profiles: frozenset[str] = frozenset()

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        """The services that run with the active profiles (all without profiles)."""
        every: dict[str, dict[str, Any]] = self.document["services"]
        return {
            name: spec
            for name, spec in every.items()
            if not spec.get("profiles") or self.profiles & set(spec["profiles"])
        }

    def environment(self, service: str) -> dict[str, str]:
        """A service's environment as its process sees it (values as strings)."""
        raw = self.document["services"][service].get("environment", {})
        if isinstance(raw, list):
            raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
        unset = sorted(name for name, value in raw.items() if value is None)
        if unset:
            raise ComposeError(f"{service}: {', '.join(unset)} take the host's value; give one")
        return {name: _scalar(value) for name, value in raw.items()}

    def ports(self, service: str) -> list[Port]:
        return [
            _port(service, entry) for entry in self.document["services"][service].get("ports", [])
        ]

    def mounts(self, service: str) -> list[Mount]:
        return [
            _mount(service, entry)
            for entry in self.document["services"][service].get("volumes", [])
        ]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _port(service: str, entry: Any) -> Port:
    if not isinstance(entry, str):
        raise ComposeError(f"{service}: write ports in the short syntax, got {entry!r}")
    spec = entry.split("/", 1)[0]
    parts = spec.rsplit(":", 2)
    if len(parts) == 1:
        return Port("", "", int(parts[0]))
    if len(parts) == 2:
        return Port("", parts[0], int(parts[1]))
    return Port(parts[0], parts[1], int(parts[2]))


def _mount(service: str, entry: Any) -> Mount:
    if not isinstance(entry, str):
        raise ComposeError(f"{service}: write volumes in the short syntax, got {entry!r}")
    parts = entry.split(":")
    if len(parts) not in (2, 3):
        raise ComposeError(f"{service}: cannot read the mount {entry!r}")
    mode = parts[2] if len(parts) == 3 else "rw"
    return Mount(parts[0], parts[1], read_only="ro" in mode.split(","))


def load_compose(
    path: Path, env: Mapping[str, str], profiles: frozenset[str] = frozenset()
) -> Compose:
    """Parse and interpolate a compose file with the variables of ``env``."""
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict) or "services" not in document:
        raise ComposeError(f"{path} has no services")
    return Compose(_interpolate_tree(document, env), profiles)
