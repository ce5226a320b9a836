"""Reading YAML configuration files and reporting pydantic validation errors the way users need them:
``file: key.path: what was expected; found what``.

A configuration file is read with limits, so that a hostile or broken one is refused in milliseconds with a
clear error instead of exhausting memory or the stack: at most 1 MiB, 64 levels of nesting, and 100,000 nodes
once every alias is expanded (an "alias bomb" of nested ``&anchor`` / ``*alias`` lists grows tenfold per line).
The limits are checked on PyYAML's event stream, which is parsed without recursion, before anything is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000


def read_yaml(path: Path, error: type[Exception]) -> Any:
    """``yaml.safe_load`` of ``path`` within the limits above; a missing file, invalid YAML or a file over a limit
    raises ``error`` naming the file."""
    if not path.is_file():
        raise error(f"{path}: file not found")
    if path.stat().st_size > MAX_BYTES:
        raise error(f"{path}: {path.stat().st_size} bytes; a configuration file is at most {MAX_BYTES} bytes")
    try:
        text = path.read_text()
        check_limits(text)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{path}: {exc}") from None


def check_limits(text: str) -> None:
    """Raise ``ValueError`` when the YAML ``text`` nests deeper than ``MAX_DEPTH`` or expands (aliases included)
    to more than ``MAX_NODES`` nodes, saying which limit it exceeded; ``yaml.YAMLError`` when it does not parse."""
    sizes: dict[str, int] = {}  # expanded node count of each anchored node
    written = 0  # nodes written out in the text, each once: over the limit it is the size, not the aliases
    stack: list[list] = [[0, None]]  # [nodes so far, anchor] of each open collection; the bottom is the stream
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([1, event.anchor])
            written += 1
            if len(stack) - 1 > MAX_DEPTH:
                raise ValueError(f"nested more than {MAX_DEPTH} levels deep (line {event.start_mark.line + 1})")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            count, anchor = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            count, anchor = 1, event.anchor
            written += 1
        elif isinstance(event, yaml.AliasEvent):
            count, anchor = sizes.get(event.anchor, 1), None
        else:
            continue
        if anchor is not None:
            sizes[anchor] = count
        stack[-1][0] += count
        if stack[-1][0] > MAX_NODES and written > MAX_NODES:
            raise ValueError(
                f"holds more than {MAX_NODES} values (line {event.start_mark.line + 1}), far more than any "
                "configuration"
            )
        if stack[-1][0] > MAX_NODES:
            raise ValueError(
                f"expands to more than {MAX_NODES} values once its aliases (*name) are resolved (line "
                f"{event.start_mark.line + 1}): an alias bomb"
            )


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
            found = keys[-1] if keys else err["loc"][-1]
            lines.append(f"{path}: {where}: unknown key{expected} (found {found!r})")
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
        sub = model_in(info.annotation) if info else None
        if sub is None:
            return []
        model = sub
    return sorted(model.model_fields)


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The first pydantic model in a type annotation (through unions, ``Optional`` and ``Annotated``), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = model_in(arg)
        if found is not None:
            return found
    return None
