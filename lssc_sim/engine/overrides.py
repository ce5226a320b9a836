"""Command-line overrides of a scenario's keys, in the dotted style of Hydra and OmegaConf.

``dataset.num_images=20`` sets a key, ``'sweep.snr_db=[0, 5, 10]'`` a list, ``systems.png_ldpc.fec.rate=0.75`` a
system's parameter, ``~systems.lssc`` removes a key. Values are read as YAML (``0.75`` a number, ``[0, 5]`` a list,
``{name: rayleigh}`` a mapping, ``null``). A key is checked against the scenario schema before it is set, so a
misspelt key is refused with the keys that exist there; the overridden scenario is then validated like a file.
Hydra itself is not used: it would own the command line and the working directory, for a few lines of parsing.
"""

from __future__ import annotations

import copy
import typing
from typing import Any

import yaml
from pydantic import BaseModel

from lssc_sim.engine.variants import set_path
from lssc_sim.yaml_io import check_limits, model_in


def apply_overrides(raw: Any, overrides: list[str] | tuple[str, ...], top: type[BaseModel]) -> dict[str, Any]:
    """A copy of the scenario data ``raw`` with ``overrides`` applied in order.

    Parameters
    ----------
    raw : dict
        The scenario as read from YAML.
    overrides : list of str
        ``key.path=value`` or ``~key.path``.
    top : pydantic model
        The schema of the top level (:class:`lssc_sim.engine.scenario.ScenarioSpec`); ``systems.<label>``
        entries are checked against the system class their ``kind`` names.

    Raises
    ------
    ValueError
        One line per bad override, naming it: no ``=``, a value that is not YAML, a key the schema does not have.
    """
    if not isinstance(raw, dict):
        return raw  # not a scenario at all: the validation says so
    data = copy.deepcopy(raw)
    problems = []
    for text in overrides:
        try:
            parts, value, delete = _parse(text)
            parts = _check_key(parts, value, data, top)
            set_path(data, parts, value, delete)
        except ValueError as exc:
            shown = text if len(text) <= 100 else f"{text[:97]}..."  # a hostile value is not echoed whole
            problems.append(f"override {shown!r}: {exc}")
    if problems:
        raise ValueError("\n".join(problems))
    return data


def _parse(text: str) -> tuple[list[str], Any, bool]:
    delete = text.startswith("~")
    key, sep, value_text = text.removeprefix("~").partition("=")
    if delete and sep:
        raise ValueError("~key.path removes a key and takes no value")
    if not delete and not sep:
        raise ValueError("expected key.path=value (or ~key.path to remove a key)")
    parts = key.strip().split(".")
    if not all(parts):
        raise ValueError(f"expected a dotted key path such as dataset.num_images, found {key!r}")
    if delete:
        return parts, None, True
    try:
        check_limits(value_text)  # the limits of a scenario file hold for a value given here too
        value = yaml.safe_load(value_text) if value_text.strip() else ""
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        shown = value_text if len(value_text) <= 60 else f"{value_text[:57]}..."
        raise ValueError(f"the value {shown!r} is not valid YAML ({reason}); quote it in the shell") from None
    return parts, value, False


def _check_key(parts: list[str], value: Any, data: dict[str, Any], top: type[BaseModel]) -> list[str]:
    """The key path as it is to be set (a system's own ``sweep`` takes dotted names as single keys); refuse one the
    schema does not have (values are left to the validation that follows)."""
    if parts[0] == "systems" and len(parts) > 2:
        from lssc_sim.systems import SYSTEMS

        systems = data.get("systems") if isinstance(data.get("systems"), dict) else {}
        label, entry = parts[1], systems.get(parts[1])
        if not isinstance(entry, dict) and parts[2:] != ["kind"]:
            raise ValueError(
                f"systems.{label} is not a system of the scenario (its systems: {', '.join(systems) or 'none'}); "
                f"add one with systems.{label}.kind=KIND"
            )
        kind = value if parts[2:] == ["kind"] else entry.get("kind")
        if kind not in SYSTEMS:
            raise ValueError(f"systems.{label}.kind: expected one of {SYSTEMS.names()}; found {kind!r}")
        if parts[2] == "sweep" and len(parts) > 3:  # systems.x.sweep.fec.rate: the sweep's key is 'fec.rate'
            parts = [*parts[:3], ".".join(parts[3:])]
        swept = [k for k in (entry or {}).get("sweep") or {} if _overlaps(k, ".".join(parts[2:]))]
        if swept and parts[2] != "sweep":
            raise ValueError(
                f"systems.{label}.sweep sets {swept[0]!r} for every variant and would undo this override: override "
                f"'systems.{label}.sweep.{swept[0]}=[...]' instead"
            )
        _walk(SYSTEMS.get(kind), parts[2:], entry, f"systems.{label}")
        return parts
    _walk(top, parts, data, "")
    return parts


def _overlaps(swept: str, dotted: str) -> bool:
    """Whether the swept key and the overridden key path name the same value or one holds the other."""
    return swept == dotted or swept.startswith(dotted + ".") or dotted.startswith(swept + ".")


def _walk(annotation: Any, parts: list[str], node: Any, where: str) -> None:
    if not parts:
        return
    part, rest = parts[0], parts[1:]
    here = f"{where}.{part}" if where else part
    if isinstance(node, list):  # a list entry by index: sweep.channel.1.coherence=4032
        if not part.isdigit() or int(part) >= len(node):
            raise ValueError(f"{where} is a list of {len(node)} entries; expected an index 0..{len(node) - 1}")
        if rest and not isinstance(node[int(part)], dict):
            raise ValueError(
                f"{here} is {node[int(part)]!r}, not a mapping: {'.'.join(rest)} cannot be set inside it (give the "
                f"whole entry, e.g. '{here}={{name: {node[int(part)]}, ...}}')"
            )
        args = typing.get_args(annotation)
        _walk(args[0] if args else Any, rest, node[int(part)], here)
        return
    model = model_in(annotation)
    if model is not None and model.model_config.get("extra") == "forbid":
        if part not in model.model_fields:
            raise ValueError(
                f"unknown key {part!r}{f' in {where}' if where else ''}; expected one of: "
                f"{', '.join(sorted(model.model_fields))}"
            )
        child = node.get(part) if isinstance(node, dict) else None
        _walk(model.model_fields[part].annotation, rest, child, here)
    elif (values := _dict_values(annotation)) is not None:  # free keys (a system's sweep, the systems)
        child = node.get(part) if isinstance(node, dict) else None
        _walk(values, rest, child, here)
    # anything else (Any, a channel entry's mapping) is checked by the validation after the overrides


def _dict_values(annotation: Any) -> Any:
    """The value type of a ``dict`` in ``annotation`` (through unions, ``Optional`` and ``Annotated``), or None."""
    if typing.get_origin(annotation) is dict:
        return typing.get_args(annotation)[1]
    for arg in typing.get_args(annotation):
        found = _dict_values(arg)
        if found is not None:
            return found
    return None
