"""Model compression and delivery figures (seed 004, Fig. 10; seed 000's delivered encoder) from results.csv of
``semantic`` systems run with ``compress:`` (and ``delivery:``):

========================  ===============================================================================
plot                      what
========================  ===============================================================================
``miou_vs_weight_bits``   mIoU and the stored model size against weight bits, per tensor and per channel
``miou_vs_sparsity``      mIoU and the stored model size against the pruned fraction of kernel weights
``model_delivery``        total channel uses against images sent: each semantic system's delivery of its
                          device half plus its features, each digital chain's images; break-even marked, and
                          ``model_delivery.md`` with the break-even image counts
========================  ===============================================================================

One line per (system, SNR, channel) group; float32 weights (no ``compress.bits``) sit at 32 bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lssc_sim.bounds import break_even_images
from lssc_sim.engine.results import atomic_write_text
from lssc_sim.plots.base import (
    PLOTS,
    Row,
    Style,
    channel_label,
    draw,
    new_figure,
    place_legend,
    plt,
    set_titles,
    uses_text,
)
from lssc_sim.plots.image import system_label
from lssc_sim.plots.lines import LineStyles


def _compressed(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.get("kind") == "semantic" and r.get("model_bytes_device") not in (None, "")]


def _group_label(row: Row) -> str:
    where = f"{row['channel']} {float(row['snr_db']):g} dB" if row.get("snr_db") not in (None, "") else "no noise"
    return f"{row['system']} ({row['weights']}, {where})"


def _sweep_figure(
    rows: list[Row], title: str, style: Style, x_key: str, x_label: str, keep, sizes: str
) -> plt.Figure | None:
    """mIoU and stored size against ``x_key`` (a counter), one line per system, SNR and channel; the systems
    that count a delivery are left to ``model_delivery``."""
    swept = ("compress.bits", "compress.sparsity")  # the x axis here, not what tells lines apart
    rows = [
        {k: v for k, v in r.items() if k not in swept}
        for r in _compressed(rows)
        if keep(r) and r.get("delivery_channel_uses") in (None, "")
    ]
    if not rows:
        return None
    styles = LineStyles(rows, _group_label)
    # a line per system that sweeps this axis (the other systems sit at one value of it)
    lines = {n: line for n, line in styles.group(rows, x_key).items() if len({r[x_key] for r in line}) > 1}
    if not lines:
        return None
    fig, axes = new_figure(2, style, sharey=False)
    for name, line in lines.items():
        xs = [float(r[x_key]) for r in line]
        look = styles.look(line[0])
        axes[0].plot(xs, [float(r["miou"]) for r in line], **look, label=name)
        size = [(float(r["model_bytes_device"]) + float(r["model_bytes_server"])) / 1024 for r in line]
        axes[1].plot(xs, size, **look)
    reference = next((r for r in rows if int(r["weight_bits"]) == 32 and float(r["sparsity"]) == 0), None)
    if reference is not None:
        axes[0].axhline(
            float(reference["clean_miou"]), color="0.3", ls="--", lw=1, label="float32 weights, no channel noise"
        )
    axes[0].set_ylabel("mIoU")
    axes[0].set_ylim(0, 1.02)
    first = rows[0]
    float_kib = (float(first["model_float_bytes_device"]) + float(first["model_float_bytes_server"])) / 1024
    axes[1].axhline(float_kib, color="0.3", ls=":", lw=1, label=f"float32 weights: {float_kib:.0f} KiB")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("stored weights, both halves (KiB, log)")
    for ax in axes:
        ax.set_xlabel(x_label)
        ax.grid(True, which="both", alpha=0.3)
    set_titles(fig, axes, ["task quality", "model size"], title, [sizes], style)
    place_legend(fig, axes, style)
    return fig


def bits_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """mIoU and stored size against weight bits (rows without pruning)."""
    sizes = "size: integer codes entropy-coded + scales + float32 batch-norm parameters"
    return _sweep_figure(
        rows, title, style, "weight_bits", "weight bits (32: float32)", lambda r: float(r["sparsity"]) == 0, sizes
    )


def sparsity_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """mIoU and stored size against sparsity (rows with float or one fixed weight-bit setting)."""
    sizes = "size: the non-zero kernel weights (float32) and a compressed mask of where they are, or dense float32"
    return _sweep_figure(rows, title, style, "sparsity", "fraction of kernel weights pruned", lambda r: True, sizes)


def delivery_rows(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """Semantic rows that count a delivery, and digital image rows at an SNR (one per system, modulation, SNR)."""
    semantic = [r for r in rows if r.get("kind") == "semantic" and r.get("delivery_channel_uses") not in (None, "")]
    digital = [
        r for r in rows if r.get("kind") == "digital_image" and r.get("channel_uses_per_image") not in (None, "")
    ]
    return semantic, digital


def break_even_table(rows: list[Row]) -> list[dict]:
    """Per semantic delivery row and digital row at the same channel and SNR: the break-even image count."""
    semantic, digital = delivery_rows(rows)
    table = []
    for s in semantic:
        for d in digital:
            if d["channel"] != s["channel"] or d.get("snr_db") != s.get("snr_db"):
                continue
            n = break_even_images(
                float(s["delivery_channel_uses"]),
                float(s["channel_uses_per_image"]),
                float(d["channel_uses_per_image"]),
            )
            table.append(
                {
                    "semantic": f"{s['system']} ({s['weights']})",
                    "weight_bits": s.get("weight_bits", 32),
                    "device_half_kib": round(float(s["delivery_bits"]) / 8 / 1024, 1),
                    "delivery_channel_uses": float(s["delivery_channel_uses"]),
                    "semantic_uses_per_image": float(s["channel_uses_per_image"]),
                    "digital": f"{d['system']} ({d.get('modulation', '')})",
                    "digital_uses_per_image": float(d["channel_uses_per_image"]),
                    "break_even_images": n,
                }
            )
    return table


def _delivery_label(row: Row) -> str:
    """``lssc_awgn, 8-bit weights per channel: 277 KiB delivered + 15.0 ch. uses/px``."""
    bits = int(row.get("weight_bits", 32))
    weights = "float32 weights" if bits == 32 else f"{bits}-bit weights per {row.get('weight_granularity', 'tensor')}"
    kib = float(row["delivery_bits"]) / 8 / 1024
    return f"{row['weights']}, {weights}: {kib:.0f} KiB delivered + {uses_text(float(row['channel_uses_per_pixel']))}"


def delivery_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """Total channel uses against images sent (log-log), semantic with its delivery and digital, break-even dots."""
    semantic, digital = delivery_rows(rows)
    if not semantic or not digital:
        return None
    # one channel and SNR of the image traffic: the first semantic row's (a scenario usually has one)
    where = (semantic[0]["channel"], semantic[0].get("snr_db"))
    semantic = [r for r in semantic if (r["channel"], r.get("snr_db")) == where]
    at = [r for r in digital if (r["channel"], r.get("snr_db")) == where]
    fig, axes = new_figure(1, style)
    ax = axes[0]
    n = np.logspace(0, 6, 200)
    for d in {(r["system"], r.get("modulation")): r for r in at}.values():
        ax.plot(n, n * float(d["channel_uses_per_image"]), ls="--", label=f"{system_label(d)}: images only")
    for s in semantic:
        total = float(s["delivery_channel_uses"]) + n * float(s["channel_uses_per_image"])
        ax.plot(n, total, label=_delivery_label(s))
    for entry in break_even_table(semantic + at):
        if np.isfinite(entry["break_even_images"]) and entry["break_even_images"] <= n[-1]:
            x = entry["break_even_images"]
            ax.plot([x], [x * entry["digital_uses_per_image"]], "ko", ms=4)
    ax.plot([], [], "ko", ms=4, label="break-even: fewer channel uses from here on")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("images sent")
    ax.set_ylabel("total complex channel uses (log)")
    ax.grid(True, which="both", alpha=0.3)
    delivery = {float(r["delivery.snr_db"]) for r in semantic if r.get("delivery.snr_db") not in (None, "")}
    panel = f"images: {channel_label(semantic[0])}, {float(where[1]):g} dB"
    if delivery:
        panel += f"\nmodel: LDPC + QAM with ARQ, {', '.join(f'{d:g}' for d in sorted(delivery))} dB"
    set_titles(fig, axes, [panel], title, [], style)
    place_legend(fig, axes, style)
    return fig


@PLOTS.register("miou_vs_weight_bits")
def miou_vs_weight_bits(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`bits_figure` as ``miou_vs_weight_bits.{png,pdf}``."""
    return draw(bits_figure, rows, out_dir, title, style, "miou_vs_weight_bits")


@PLOTS.register("miou_vs_sparsity")
def miou_vs_sparsity(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`sparsity_figure` as ``miou_vs_sparsity.{png,pdf}``."""
    return draw(sparsity_figure, rows, out_dir, title, style, "miou_vs_sparsity")


@PLOTS.register("model_delivery")
def model_delivery(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`delivery_figure` as ``model_delivery.{png,pdf}`` and the break-even table ``model_delivery.md``."""
    table = break_even_table(rows)
    if not table:
        return []
    lines = [
        "| semantic system | weight bits | device half (KiB) | delivery channel uses | uses/image | digital chain "
        "| uses/image | break-even images |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in table:
        lines.append(
            f"| {e['semantic']} | {e['weight_bits']} | {e['device_half_kib']} | {e['delivery_channel_uses']:.4g} | "
            f"{e['semantic_uses_per_image']:.4g} | {e['digital']} | {e['digital_uses_per_image']:.4g} | "
            f"{e['break_even_images']:.0f} |"
        )
    md = out_dir / "model_delivery.md"
    atomic_write_text(md, "\n".join(lines) + "\n")
    return [md, *draw(delivery_figure, rows, out_dir, title, style, "model_delivery")]
