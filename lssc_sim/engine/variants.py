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
            set_dotted(data, name, value)
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


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        if not isinstance(data.get(part), dict):
            data[part] = {} if data.get(part) is None else data[part]
        data = data[part]
    data[last] = value


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
