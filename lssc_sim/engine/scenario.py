"""Scenario files: strict YAML schema, validation before any work, and the sweep's Points.

A scenario names a dataset (optional), a set of systems, the sweep axes and the plots. Loading it validates
everything that can be checked without simulating (names, ranges, files, channel parameters) and raises one
:class:`ScenarioError` naming the file, the key path, what was expected and what was found.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lssc_sim.channels import make_channel
from lssc_sim.data import DATASETS, DatasetSpec
from lssc_sim.digital.spec import MODULATIONS
from lssc_sim.engine.checks import (
    channel_problems,
    chosen_channel_problems,
    modulation_problems,
    noiseless,
    noiseless_problems,
    plot_need_problems,
    plot_problems,
)
from lssc_sim.engine.variants import flatten, system_variants
from lssc_sim.plots.catalog import PLOT_KINDS, PlotStyle
from lssc_sim.snr import SnrAxis, snr_values, thin
from lssc_sim.systems import SYSTEMS, SystemConfig
from lssc_sim.yaml_io import format_errors, read_yaml

AXES = ("snr_db", "channel", "modulation")
QUICK_SNR_POINTS = 4
QUICK_NUM_IMAGES = 8


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file, the key, expected and found."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sweep(_Strict):
    """The sweep axes shared by all systems; each system uses the axes that apply to it.

    ``snr_db`` may be left out only when every channel is noiseless (``ideal``): those Points have no SNR and
    no modulation axis.
    """

    snr_db: SnrAxis | None = None
    channel: list[str | dict[str, Any]] = Field(default_factory=lambda: ["awgn"], min_length=1)
    modulation: list[str] = Field(default_factory=lambda: ["qpsk"], min_length=1)

    @field_validator("modulation")
    @classmethod
    def _known_modulations(cls, value: list[str]) -> list[str]:
        return _known_names(value, list(MODULATIONS))

    @model_validator(mode="after")
    def _snr_needed(self) -> Sweep:
        if self.snr_db is None and not all(noiseless(c) for c in self.channel):
            raise ValueError("snr_db: expected an SNR axis (a list of dB values or {start, stop, step}); it may be "
                             "left out only when every channel is noiseless (ideal)")  # fmt: skip
        return self

    def snr_values(self) -> list[float]:
        return [] if self.snr_db is None else snr_values(self.snr_db)

    def channel_specs(self) -> list[dict[str, Any]]:
        """Channels as ``{"name": ..., **params}`` with defaults filled in and keys sorted (stable keys)."""
        return [dict(sorted(make_channel(s).spec().items())) for s in self.channel]


class ScenarioSpec(_Strict):
    """The top level of a scenario file (systems are validated per kind by :func:`load_scenario`)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str = ""
    description: str = ""
    seed: int = 0
    dataset: DatasetSpec | None = None
    systems: dict[str, dict[str, Any]] = Field(min_length=1)
    sweep: Sweep
    plots: list[str] = Field(default_factory=list)
    plot_style: PlotStyle = PlotStyle()
    bd_anchor: str | None = Field(
        None, description="the system label the bd_table plot compares every rate curve against"
    )
    fps: float = Field(
        30.0,
        gt=0,
        allow_inf_nan=False,
        description="images per second the device sends: results.csv gives source Mbit/s and channel Msymbols/s at it",
    )

    @field_validator("plots")
    @classmethod
    def _known_plots(cls, value: list[str]) -> list[str]:
        return _known_names(value, sorted(PLOT_KINDS))


def _known_names(value: list[str], known: list[str]) -> list[str]:
    for i, name in enumerate(value):
        if name not in known:
            raise ValueError(f"entry {i}: expected one of {known}, found {name!r}")
    return value


@dataclass(frozen=True)
class Point:
    """One simulation: a system (with its swept parameters applied) at one value of each applicable axis."""

    system: str
    config: SystemConfig
    snr_db: float
    channel: dict[str, Any] | None
    modulation: str | None
    key: str = ""

    def params(self) -> dict[str, Any]:
        """Flat parameter columns for results.csv (``fec.rate``, ``channel.coherence``, ...)."""
        row: dict[str, Any] = {"key": self.key, "system": self.system, "kind": self.config.kind}
        row["snr_db"] = self.snr_db
        row["channel"] = self.channel["name"] if self.channel else ""
        for name, value in (self.channel or {}).items():
            if name != "name":
                row[f"channel.{name}"] = value
        row["modulation"] = self.modulation or ""
        row.update(flatten(self.config.model_dump(mode="json", exclude={"kind", "sweep", "snr_db", "channels"})))
        return row


@dataclass(frozen=True)
class Scenario:
    """A validated, frozen scenario."""

    spec: ScenarioSpec
    systems: dict[str, SystemConfig]
    path: Path | None = None
    quick: bool = False
    overrides: tuple[str, ...] = ()  # as given on the command line; their effect is in spec and systems

    @property
    def name(self) -> str:
        return self.spec.name + ("_quick" if self.quick else "")

    def points(self) -> list[Point]:
        """The cartesian product of the axes that apply to each system, in a stable order."""
        sweep = self.spec.sweep
        axis_values = {
            "snr_db": sweep.snr_values() or [None],  # a system with its own snr_db axis uses that instead
            "channel": sweep.channel_specs(),
            "modulation": list(sweep.modulation),
        }
        points = []
        for label, config in self.systems.items():
            for resolved in system_variants(config):
                values = [axis_values[a] if a in resolved.axes else [None] for a in AXES]
                if "channel" in resolved.axes and resolved.channels is not None:
                    values[1] = [c for c in values[1] if c["name"] in resolved.channels]
                if "snr_db" in resolved.axes and resolved.snr_db is not None:
                    values[0] = snr_values(resolved.snr_db)
                seen = set()
                for snr_db, channel, modulation in itertools.product(*values):
                    if channel is not None and noiseless(channel):  # no SNR, no modulation: one Point
                        snr_db, modulation = None, None
                    point = Point(label, resolved, snr_db if snr_db is not None else math.nan, channel, modulation)
                    point = _with_key(point, self)
                    if point.key not in seen:
                        seen.add(point.key)
                        points.append(point)
        return points

    def resolved(self) -> dict[str, Any]:
        """The scenario with every default filled in, as plain data (saved beside the results)."""
        data = self.spec.model_dump(mode="json")
        data["systems"] = {k: v.model_dump(mode="json") for k, v in self.systems.items()}
        data["quick"] = self.quick
        return data

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.resolved(), sort_keys=True).encode()).hexdigest()[:16]


def _with_key(point: Point, scenario: Scenario) -> Point:
    # The key hashes everything that determines the result, so a changed scenario never reuses stale Points.
    identity = {
        "seed": scenario.spec.seed,
        "dataset": scenario.spec.dataset.model_dump(mode="json")
        if point.config.needs_dataset and scenario.spec.dataset
        else None,
        "system": point.system,
        # sweep and channels choose which Points exist, not what one of them gives
        "config": point.config.model_dump(mode="json", exclude={"sweep", "channels"}),
        "snr_db": point.snr_db if not math.isnan(point.snr_db) else None,
        "channel": point.channel,
        "modulation": point.modulation,
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return Point(point.system, point.config, point.snr_db, point.channel, point.modulation, key)


# ---------------------------------------------------------------------------------------------- loading


def load_scenario(path: str | Path, quick: bool = False, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, validate and freeze a scenario file.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    quick : bool
        Shrink the sweep for a smoke run: at most 4 SNR points, at most 8 images, and each system's own
        ``quick()`` reduction of its Monte-Carlo budget.
    overrides : list of str
        ``key.path=value`` or ``~key.path`` (:mod:`lssc_sim.engine.overrides`), applied before validation.

    Raises
    ------
    ScenarioError
        The file is missing, is not YAML, or violates the schema; every problem found is listed.
    """
    path = Path(path)
    return scenario_from_dict(read_yaml(path, ScenarioError), path, quick, overrides)


def scenario_from_dict(
    raw: Any, path: str | Path = "<scenario>", quick: bool = False, overrides: list[str] | tuple[str, ...] = ()
) -> Scenario:
    """Validate already-parsed scenario data (see :func:`load_scenario`); every problem found is reported."""
    path = Path(path)
    if overrides:
        from lssc_sim.engine.overrides import apply_overrides

        try:
            raw = apply_overrides(raw, overrides, ScenarioSpec)
        except ValueError as exc:
            raise ScenarioError("\n".join(f"{path}: {line}" for line in str(exc).splitlines())) from None
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{path}: expected a mapping of keys (name, systems, sweep, ...), found {type(raw).__name__}"
        )
    problems: list[str] = []
    spec = None
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        problems.append(format_errors(path, exc, raw, ScenarioSpec))
    sweep = raw.get("sweep")
    if isinstance(sweep, dict) and isinstance(sweep.get("channel"), list):
        problems += [f"{path}: sweep.channel: {m}" for m in channel_problems(sweep["channel"])]
    dataset = spec.dataset if spec is not None else None
    systems: dict[str, SystemConfig] = {}
    entries = raw.get("systems") if isinstance(raw.get("systems"), dict) else {}
    for label, entry in entries.items():
        config, messages = _system(path, label, entry, dataset, spec is not None and spec.dataset is None)
        problems += messages
        if config is not None and spec is not None:
            problems += [f"{path}: systems.{label}.{m}" for m in modulation_problems(config, spec.sweep.modulation)]
            problems += [f"{path}: {m}" for m in noiseless_problems(label, config, spec.sweep.channel)]
            problems += [f"{path}: systems.{label}.{m}" for m in chosen_channel_problems(config, spec.sweep.channel)]
        if config is not None:
            systems[label] = _quick_system(config) if quick else config
    kinds = {
        e["kind"]
        for e in entries.values()
        if isinstance(e, dict) and isinstance(e.get("kind"), str) and e["kind"] in SYSTEMS
    }
    plots = raw.get("plots") if isinstance(raw.get("plots"), list) else []
    problems += [f"{path}: {m}" for m in plot_problems(plots, kinds)]
    if not problems:  # the systems are all valid: what each plot needs among them
        problems += [f"{path}: {m}" for m in plot_need_problems(plots, systems.values())]
    anchor = raw.get("bd_anchor")
    if isinstance(anchor, str) and entries and anchor not in entries:
        problems.append(f"{path}: bd_anchor: expected one of the system labels {sorted(entries)}, found {anchor!r}")
    if dataset is not None:
        try:
            # --quick draws its own random subset (not inside the full one): check the images the run reads
            DATASETS.get(dataset.name).check(_quick_dataset(dataset) if quick else dataset)
        except (ValueError, OSError) as exc:
            problems.append(f"{path}: dataset: {exc}")
    if problems:
        listed = ", ".join(o if len(o) <= 100 else f"{o[:97]}..." for o in overrides)
        given = [f"{path}: (after the overrides {listed})"] if overrides else []
        raise ScenarioError("\n".join(problems + given))
    if quick:
        spec = _quick_spec(spec)
    return Scenario(spec, systems, path, quick, tuple(overrides))


def _system(
    path: Path, label: str, entry: Any, dataset: DatasetSpec | None, no_dataset: bool
) -> tuple[SystemConfig | None, list[str]]:
    """The validated config of ``systems.<label>`` and the problems found (config None when it is invalid)."""
    where = f"systems.{label}"
    kind = entry.get("kind") if isinstance(entry, dict) else None
    if not isinstance(kind, str) or kind not in SYSTEMS:
        return None, [f"{path}: {where}.kind: expected one of {SYSTEMS.names()}, found {kind!r}"]
    cls = SYSTEMS.get(kind)
    try:
        config = cls.model_validate(entry)
    except ValidationError as exc:
        return None, [format_errors(path, exc, entry, cls, prefix=where)]
    problems, variants = [], []
    try:
        variants = list(system_variants(config))
    except (KeyError, TypeError, ValueError) as exc:  # a swept value, named by its sweep entry
        problems += [f"{path}: {where}.sweep.{line}" for line in str(exc).splitlines()]
    if config.needs_dataset and no_dataset:
        problems.append(
            f"{path}: dataset: system {label!r} ({kind}) needs images; expected a dataset section "
            f"(known datasets: {DATASETS.names()}), found none"
        )
    for resolved in variants or [config]:
        problems += [f"{path}: {where}: {m}" for m in resolved.check_files(dataset)]
    return (config if not problems else None), list(dict.fromkeys(problems))


def _quick_system(config: SystemConfig) -> SystemConfig:
    config = config.quick()
    if config.snr_db is None:
        return config
    return config.model_copy(update={"snr_db": thin(config.snr_db, QUICK_SNR_POINTS)})


def _quick_spec(spec: ScenarioSpec) -> ScenarioSpec:
    snr = spec.sweep.snr_db
    sweep = spec.sweep.model_copy(update={"snr_db": None if snr is None else thin(snr, QUICK_SNR_POINTS)})
    update: dict[str, Any] = {"sweep": sweep}
    if spec.dataset is not None:
        update["dataset"] = _quick_dataset(spec.dataset)
    return spec.model_copy(update=update)


def _quick_dataset(dataset: DatasetSpec) -> DatasetSpec:
    """The dataset a ``--quick`` run reads: at most ``QUICK_NUM_IMAGES`` images."""
    return dataset.model_copy(update={"num_images": min(dataset.num_images, QUICK_NUM_IMAGES)})
