"""Checks across a scenario's sections that its schema cannot make: channel entries, codeword lengths against the
swept modulations, noiseless channels, the channels a system chooses, and plots that would draw nothing. Each
returns messages (empty when all is well) for :func:`lssc_sim.engine.scenario.scenario_from_dict` to report at
once. No TensorFlow here: constructing a channel only checks its parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lssc_sim.channels import CHANNELS, make_channel
from lssc_sim.digital.spec import MODULATIONS
from lssc_sim.engine.variants import system_variants
from lssc_sim.plots.catalog import PLOT_KINDS
from lssc_sim.systems import SystemConfig


def channel_name(channel: Any) -> str | None:
    """The name of a ``sweep.channel`` entry (a name or a mapping with ``name``); None when it has none."""
    name = channel if isinstance(channel, str) else channel.get("name") if isinstance(channel, dict) else None
    return name if isinstance(name, str) else None


def noiseless(channel: str | dict[str, Any]) -> bool:
    """Whether a channel entry names a noiseless channel (unknown names are reported elsewhere)."""
    name = channel_name(channel)
    return name is not None and name in CHANNELS and CHANNELS.get(name).noiseless


def channel_problems(entries: list[Any]) -> list[str]:
    """One message per bad channel entry (constructing a channel does no TensorFlow work: it checks parameters)."""
    problems = []
    for i, entry in enumerate(entries):
        name = entry if isinstance(entry, str) else entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name not in CHANNELS:
            problems.append(f"entry {i}: expected a channel name among {CHANNELS.names()}, found {name!r}")
            continue
        try:
            make_channel(entry)
        except (TypeError, ValueError) as exc:
            problems.append(f"entry {i} ({name}): {exc}")
    return problems


def modulation_problems(config: SystemConfig, modulations: list[str]) -> list[str]:
    """A codeword length ``fec.n`` the swept modulations cannot map into whole symbols (every swept variant)."""
    if "modulation" not in config.axes:
        return []
    problems = []
    for variant in system_variants(config):
        n = getattr(getattr(variant, "fec", None), "n", None)
        for modulation in modulations if n is not None else ():
            m = MODULATIONS[modulation]
            if n % m:
                problems.append(
                    f"fec.n: {n} bits do not fill whole {modulation} symbols ({m} bits each); "
                    f"expected a multiple of {m} for sweep.modulation {modulation!r}"
                )
    return list(dict.fromkeys(problems))


def noiseless_problems(label: str, config: SystemConfig, channels: list[Any]) -> list[str]:
    """A noiseless channel swept for a system that has nothing to measure on it (the ``ber`` system)."""
    if "channel" not in config.axes or config.ideal_channel:
        return []
    return [
        f"sweep.channel[{i}]: the noiseless channel {channel_name(c)!r} does not apply "
        f"to system {label!r} ({config.kind}); expected a channel with noise (it applies to image systems)"
        for i, c in enumerate(channels)
        if noiseless(c) and (config.channels is None or channel_name(c) in config.channels)
    ]


def chosen_channel_problems(config: SystemConfig, channels: list[Any]) -> list[str]:
    """A system's ``channels`` that name no swept channel, or that select none."""
    if config.channels is None:
        return []
    swept = list(dict.fromkeys(n for n in map(channel_name, channels) if n is not None))
    unknown = [n for n in config.channels if n not in swept]
    if unknown:
        return [f"channels: expected names among the scenario's swept channels {swept}, found {unknown}"]
    if not config.channels:
        return [f"channels: selects none of the swept channels {swept}; expected at least one (or no key: all)"]
    return []


def _coded_ber(config: SystemConfig) -> bool:
    """Whether any variant of ``config`` is a ``ber`` system with a code."""
    return any(v.kind == "ber" and getattr(v, "fec", None) is not None for v in system_variants(config))


# Plots that draw only some systems of the kinds PLOT_KINDS lists: what they need (for the message) and the test
PLOT_NEEDS: dict[str, tuple[str, Callable[[SystemConfig], bool]]] = {
    "bler_vs_ebno": ("coded ber systems (a fec section)", _coded_ber),
}


def plot_need_problems(plots: list[str], systems: Iterable[SystemConfig]) -> list[str]:
    """A plot of :data:`PLOT_NEEDS` none of whose needed systems the scenario has (it would draw nothing)."""
    systems = list(systems)
    return [
        f"plots[{i}]: {name!r} draws {what}; none of this scenario's systems is one (remove the plot, or add one)"
        for i, name in enumerate(plots)
        if name in PLOT_NEEDS
        for what, needed in [PLOT_NEEDS[name]]
        if not any(map(needed, systems))
    ]


def plot_problems(plots: list[str], kinds: set[str]) -> list[str]:
    """A plot that would draw none of the scenario's system kinds is refused rather than silently skipped."""
    problems = []
    for i, name in enumerate(plots):
        if not isinstance(name, str) or name not in PLOT_KINDS:
            continue  # reported by the schema
        drawn = PLOT_KINDS[name]
        if kinds and not set(drawn) & kinds:
            either = " or ".join([", ".join(drawn[:-1]), drawn[-1]] if len(drawn) > 1 else drawn)
            problems.append(
                f"plots[{i}]: {name!r} draws {either} systems; this scenario has "
                f"{', '.join(sorted(kinds))} (remove it, or add a system it draws)"
            )
    return problems
