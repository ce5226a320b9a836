"""Reading YAML configuration files and reporting pydantic validation errors the way users need them:
``file: key.path: what was expected; found what``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """``yaml.safe_load`` of ``path``; a missing file or invalid YAML raises ``error`` naming the file."""
    if not path.is_file():
        raise error(f"{path}: file not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None


def format_errors(path: Path, exc: ValidationError, raw: Any, model: type[BaseModel], prefix: str = "") -> str:
    """One line per problem, naming the file and the key path (``prefix`` is prepended to the path)."""
    lines = []
    for err in exc.errors():
        keys = _input_path(raw, err["loc"], err["type"])
        # A check across several keys has no location of its own: its message names the keys.
        where = ".".join([prefix] * bool(prefix) + [str(k) for k in keys]) or "(across keys)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, keys[:-1])
            expected = f"; expected one of: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{path}: {where}: unknown key{expected} (found {keys[-1]!r})")
        elif err["type"] == "missing":
            lines.append(f"{path}: {where}: missing required key")
        elif err["type"] in ("value_error", "type_error", "assertion_error"):  # our validators' own words
            lines.append(f"{path}: {msg}" if not keys and not prefix else f"{path}: {where}: {msg}")
        else:
            lines.append(f"{path}: {where}: expected: {msg[0].lower() + msg[1:]}; found {err['input']!r}")
    return "\n".join(lines)


def _input_path(raw: Any, loc: tuple, err_type: str) -> list:
    """The part of a pydantic error location that exists in the input (drops union tags)."""
    keys, node = [], raw
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            keys.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            keys.append(part)
            node = node[part]
        elif err_type == "missing" and i == len(loc) - 1:
            keys.append(part)
    return keys


def _allowed_keys(model: type[BaseModel], keys: list) -> list[str]:
    for key in keys:
        if isinstance(key, int):
            continue
        info = model.model_fields.get(key)
        sub = _model_in(info.annotation) if info else None
        if sub is None:
            return []
        model = sub
    return sorted(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
