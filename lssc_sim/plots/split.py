"""Seed 002's cost charts for the image systems, one bar per system variant, from results.csv (and timings.csv):

- ``bits_per_image``: source kbit per image (with Mbit/s at the scenario's fps) of the systems that send bits,
  and channel uses per pixel of every image system per modulation;
- ``transmitter_cost``: device GFLOPs, device milliseconds per image (a median, this machine) and the device's
  peak activation memory (KiB), seed 002's Fig. 3.

The costs do not depend on the SNR: the first row of each system variant gives them. Device seconds are
measurements (a median of repeated runs of one image) and live in timings.csv, since results.csv must be the same
run to run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from lssc_sim.plots.base import MODULATION_LABELS, PLOTS, Row, Style, draw, new_figure, plt, set_titles
from lssc_sim.plots.image import IMAGE_KINDS
from lssc_sim.plots.lines import COLOURS, LineStyles

KIND_WORDS = {
    "digital_image": "E1: image sent, segmented at the receiver",
    "label_map": "E2: segmented at the device, label map sent",
    "split_digital": "E3: split network, quantised features sent",
    "semantic": "split network, analog features",
}


def _variants(rows: list[Row]) -> list[tuple[str, Row]]:
    """Every image row with the name of its system variant (the system and its swept parameters,
    ``e3 · feature_bits=4``), in results.csv order."""
    rows = [r for r in rows if r.get("kind") in IMAGE_KINDS]
    styles = LineStyles(rows, lambda r: r["system"])
    return [(styles.name(r), r) for r in rows]


def _first_rows(rows: list[Row]) -> dict[str, Row]:
    """The first row of every image system variant."""
    out: dict[str, Row] = {}
    for name, row in _variants(rows):
        out.setdefault(name, row)
    return out


def bar_label(name: str, row: Row) -> str:
    """``e2_label_map`` over ``(E2: segmented at the device, label map sent)``."""
    return f"{name}\n({KIND_WORDS[row['kind']]})"


def _bars(ax, labels: list[str], values: list[float], texts: list[str], colors: list[str]) -> None:
    ys = np.arange(len(labels))
    ax.barh(ys, values, color=colors)
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()  # results.csv order from the top
    for y, v, text in zip(ys, values, texts, strict=True):
        ax.annotate(text, (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize="small")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.margins(x=0.35)


def _colors(n: int) -> list[str]:
    return [COLOURS[i % len(COLOURS)] for i in range(n)]


def bits_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """Source bits per image of the systems that send bits, and channel uses per pixel of every image system per
    modulation (the first row of each: they do not depend on the SNR)."""
    first = _first_rows(rows)
    bits = {n: r for n, r in first.items() if r.get("source_bits_per_image") not in (None, "")}
    uses: dict[str, tuple[float, str]] = {}  # bar label -> (channel uses per pixel, colour key)
    for name, r in _variants(rows):
        if r.get("channel_uses_per_pixel") not in (None, ""):
            mod = MODULATION_LABELS.get(r.get("modulation"), "analog")
            uses.setdefault(f"{name}, {mod}", (float(r["channel_uses_per_pixel"]), name))
    if not bits and not uses:
        return None
    fig, axes = new_figure(2, style, sharey=False)
    color_of = dict(zip(first, _colors(len(first)), strict=True))
    if bits:
        values = [float(r["source_bits_per_image"]) / 1e3 for r in bits.values()]
        texts = [
            f"{v:.3g} kbit" + (f", {float(r['source_mbit_per_s']):.3g} Mbit/s" if "source_mbit_per_s" in r else "")
            for v, r in zip(values, bits.values(), strict=True)
        ]
        labels = [bar_label(n, r) for n, r in bits.items()]
        _bars(axes[0], labels, values, texts, [color_of[n] for n in bits])
        axes[0].set_xscale("log")
    axes[0].set_xlabel("source kbit per image, headers included (log)")
    names = list(uses)
    _bars(
        axes[1],
        names,
        [uses[n][0] for n in names],
        [f"{uses[n][0]:.3g}" for n in names],
        [color_of[uses[n][1]] for n in names],
    )
    axes[1].set_xscale("log")
    axes[1].set_xlabel("complex channel uses per pixel (log)")
    fps = next((r for r in bits.values() if "source_mbit_per_s" in r), None)
    notes = ["one image at a time"]
    if fps is not None:
        notes = [f"Mbit/s at {float(fps['source_mbit_per_s']) * 1e6 / float(fps['source_bits_per_image']):g} images/s"]
    set_titles(fig, axes, ["bits per image", "channel uses per pixel"], title, notes, style)
    return fig


def _device_seconds(out_dir: Path) -> dict[str, float]:
    """``device_seconds`` per Point key from timings.csv ({} without the file or the column)."""
    path = out_dir / "timings.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {r["key"]: float(r["device_seconds"]) for r in csv.DictReader(handle) if r.get("device_seconds")}


def cost_figure(rows: list[Row], title: str, style: Style, seconds: dict[str, float] | None = None):
    """Seed 002's Fig. 3: device FLOPs, seconds per image and peak activation memory, one bar per system."""
    first = {n: r for n, r in _first_rows(rows).items() if r.get("device_gflops") not in (None, "")}
    if not first:
        return None
    seconds = seconds or {}
    panels = [
        ("device GFLOPs per image", [float(r["device_gflops"]) for r in first.values()], "{:.3g} GFLOPs"),
        (
            "device ms per image (median, this machine)",
            [1e3 * seconds.get(r["key"], np.nan) for r in first.values()],
            "{:.3g} ms",
        ),
        (
            "device peak activation memory (KiB, batch 1)",
            [float(r["device_peak_activation_bytes"]) / 1024 for r in first.values()],
            "{:.4g} KiB",
        ),
    ]
    fig, axes = new_figure(len(panels), style, sharey=True)
    colors = _colors(len(first))
    labels = [bar_label(n, r) for n, r in first.items()]
    for ax, (label, values, fmt) in zip(axes, panels, strict=True):
        texts = [fmt.format(v) if np.isfinite(v) else "not measured" for v in values]
        _bars(ax, labels, [v if np.isfinite(v) else 0.0 for v in values], texts, colors)
        ax.set_xlabel(label)
    set_titles(
        fig,
        axes,
        ["operations", "time", "memory"],
        title,
        ["FLOPs of the neural layers only (image and entropy coding: in the time)"],
        style,
    )
    return fig


@PLOTS.register("bits_per_image")
def bits_per_image(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`bits_figure` as ``bits_per_image.{png,pdf}``."""
    return draw(bits_figure, rows, out_dir, title, style, "bits_per_image")


@PLOTS.register("transmitter_cost")
def transmitter_cost(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`cost_figure` as ``transmitter_cost.{png,pdf}`` (device seconds from ``timings.csv``)."""
    seconds = _device_seconds(out_dir)
    return draw(lambda r, t, s: cost_figure(r, t, s, seconds), rows, out_dir, title, style, "transmitter_cost")
