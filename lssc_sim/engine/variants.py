"""A system's own ``sweep``: the configs it expands to, and the flat columns of a config in results.csv."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from lssc_sim.systems.base import SystemConfig


def system_variants(config: SystemConfig) -> Iterator[SystemConfig]:
    """One resolved config per combination of the system's own ``sweep`` (dotted parameter paths)."""
    if not config.sweep:
        yield config
        return
    names = list(config.sweep)
    base = config.model_dump(mode="python", exclude={"sweep"})
    for combo in itertools.product(*(config.sweep[n] for n in names)):
        data = copy.deepcopy(base)
        for name, value in zip(names, combo, strict=True):
            set_path(data, name.split("."), value)
        try:
            yield type(config).model_validate(data)
        except ValidationError as exc:
            # name the sweep entry (and its value) that the failing key belongs to, not the key alone
            lines = []
            for err in exc.errors():
                dotted = ".".join(str(k) for k in err["loc"])
                culprits = [(n, v) for n, v in zip(names, combo, strict=True) if n.startswith(dotted)] or [
                    (dotted, err.get("input"))
                ]
                msg = err["msg"].removeprefix("Value error, ")
                lines += [f"{n}: {msg} (swept value {v!r})" for n, v in culprits]
            raise ValueError("\n".join(dict.fromkeys(lines))) from None


def set_path(data: dict[str, Any], parts: list[str], value: Any, delete: bool = False) -> None:
    """Set (or with ``delete`` remove) ``data[parts[0]][parts[1]]...``, creating mappings on the way; a list is
    entered by index. The one dotted-path setter: a system's sweep and the command-line overrides use it."""
    node: Any = data
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
            continue
        if not isinstance(node.get(part), dict | list):
            if delete:
                return  # nothing to remove
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        if delete:
            node.pop(int(last))
        else:
            node[int(last)] = value
    elif delete:
        node.pop(last, None)
    else:
        node[last] = value


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{name}."))
        elif isinstance(value, list):
            flat[prefix + name] = json.dumps(value)
        else:
            flat[prefix + name] = value
    return flat
