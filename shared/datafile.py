"""Loading operator-edited YAML data files with errors that name the file, entry and field."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

_ENV_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")

ModelT = TypeVar("ModelT", bound=BaseModel)


class DataFileError(ValueError):
    """A data file could not be loaded; the message says where and why."""


def _expand_env(text: str) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}`` so one file serves several deployments."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is None:
            if default is None:
                raise DataFileError(f"environment variable {name} is not set")
            return default
        return value

    return _ENV_REFERENCE.sub(substitute, text)


def _describe_location(raw: Any, location: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into ``responders[3] (id=fire).channels[0].url``."""
    parts: list[str] = []
    node = raw
    for step in location:
        if isinstance(step, int):
            label = f"[{step}]"
            if isinstance(node, list) and step < len(node):
                node = node[step]
                if isinstance(node, dict):
                    # Entries are named by their id (directory) or code (policy).
                    name = next((k for k in ("id", "code") if k in node), None)
                    if name is not None:
                        label += f" ({name}={node[name]})"
            else:
                node = None
            parts.append(label)
        else:
            parts.append(f".{step}" if parts else str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return "".join(parts) or "<top level>"


def load_model(path: str | Path, model: type[ModelT]) -> ModelT:
    """Parse a YAML file into ``model``; raise DataFileError naming file, entry and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(_expand_env(text))
    except DataFileError as exc:
        raise DataFileError(f"{path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DataFileError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_describe_location(raw, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()
        )
        raise DataFileError(f"{path}: {problems}") from exc
    except ValueError as exc:
        raise DataFileError(f"{path}: {exc}") from exc
