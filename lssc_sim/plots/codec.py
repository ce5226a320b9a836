"""Codec comparisons from results.csv of ``semantic`` systems run with ``complexity: true``: the LSSC paper's
Table II (``model_table``: CSV, Markdown and a bar chart) and Fig. 5 (``depth_ablation``: Q against depth).

The figures take the scenario's style: ``width_in`` per panel, ``height_in``, fonts; their legends stay
inside their panels (each panel has its own, about different quantities).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from lssc_sim.engine.results import atomic_write_text
from lssc_sim.plots.base import PLOTS, Row, Style, draw, new_figure, plt, resolve_style, save, set_titles, style_context

CODEC_LABELS = {"unet": "UNet", "attention_unet": "Attention-UNet", "cbam_unet": "CBAM-UNet", "lssc": "LSSC"}
# The LSSC paper's Table II, LSSC against UNet (base width 64, its dataset): relative FLOPs and size, mIoU (%).
PAPER = {"unet": {"miou": 94.07}, "lssc": {"flops_change": -13.0, "size_change": -55.0, "miou": 93.77}}
TABLE_SNR_DB = 10.0


def _codec_rows(rows: list[Row]) -> list[Row]:
    """One row per semantic system with complexity columns: the one at 10 dB, else its highest SNR."""
    best: dict[str, Row] = {}
    for row in rows:
        if row.get("kind") != "semantic" or row.get("gflops") in (None, ""):
            continue
        old = best.get(row["system"])
        score = (float(row["snr_db"]) == TABLE_SNR_DB, float(row["snr_db"]))
        if old is None or score > (float(old["snr_db"]) == TABLE_SNR_DB, float(old["snr_db"])):
            best[row["system"]] = row
    return list(best.values())


def _change(value: float, reference: float) -> float:
    return 100.0 * (value / reference - 1.0)


@PLOTS.register("model_table")
def model_table(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """Table II: size, FLOPs (total and device side), mIoU without noise and at 10 dB, changes against UNet,
    the same complexity at base width 64, and the paper's figures; ``model_comparison.{csv,md,png,pdf}``."""
    rows = _codec_rows(rows)
    if not rows:
        return []
    ref = next((r for r in rows if r["codec"] == "unet"), rows[0])
    table = []
    for r in rows:
        paper = PAPER.get(r["codec"], {})
        table.append(
            {
                "system": r["system"],
                "codec": CODEC_LABELS.get(r["codec"], r["codec"]),
                "depth": int(r["depth"]),
                "base_width": int(r["base_width"]),
                "params": int(r["params"]),
                "size_mb": round(float(r["size_mb"]), 3),
                "gflops": round(float(r["gflops"]), 4),
                "gflops_device": round(float(r["gflops_device"]), 4),
                "miou_clean": round(float(r["clean_miou"]), 4),
                f"miou_{r['snr_db']:g}db".replace("-", "m"): round(float(r["miou"]), 4),
                "flops_change_pct": round(_change(float(r["gflops"]), float(ref["gflops"])), 1),
                "size_change_pct": round(_change(float(r["params"]), float(ref["params"])), 1),
                "base64_size_mb": round(float(r["base64_size_mb"]), 2),
                "base64_gflops": round(float(r["base64_gflops"]), 2),
                "base64_gflops_device": round(float(r["base64_gflops_device"]), 2),
                "base64_flops_change_pct": round(_change(float(r["base64_gflops"]), float(ref["base64_gflops"])), 1),
                "base64_size_change_pct": round(_change(float(r["base64_params"]), float(ref["base64_params"])), 1),
                "paper_flops_change_pct": paper.get("flops_change", ""),
                "paper_size_change_pct": paper.get("size_change", ""),
                "paper_miou_pct": paper.get("miou", ""),
            }
        )
    columns = list(dict.fromkeys(k for t in table for k in t))
    csv_path, md_path = out_dir / "model_comparison.csv", out_dir / "model_comparison.md"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    lines = [f"| {' | '.join(columns)} |", f"|{'---|' * len(columns)}"]
    lines += [f"| {' | '.join(str(t.get(c, '')) for c in columns)} |" for t in table]
    note = (
        f"\nChanges are relative to {CODEC_LABELS.get(ref['codec'], ref['codec'])}; sizes at float32. "
        "base64_*: the same architectures rebuilt at base width 64 (the paper's), counted analytically. "
        "paper_*: the LSSC paper's Table II.\n"
    )
    atomic_write_text(md_path, (f"# {title}\n\n" if title else "") + "\n".join(lines) + "\n" + note)

    style = resolve_style(style)
    with style_context(style):  # the figure is drawn and saved inside it: tick labels are made while saving
        return [csv_path, md_path, *save(model_figure(table, columns, title, style), out_dir, "model_comparison")]


def model_figure(table: list[dict], columns: list[str], title: str, style: Style) -> plt.Figure:
    """Bar charts of Table II: FLOPs (server and device side), model size, mIoU without noise and at 10 dB."""
    labels = [t["codec"] for t in table]
    x = np.arange(len(table))
    fig, axes = new_figure(3, style, sharey=False)
    axes[0].bar(x, [t["gflops"] for t in table], color="C0", label="server (decoder)")
    axes[0].bar(x, [t["gflops_device"] for t in table], color="C1", label="device (encoder)")
    axes[0].set_ylabel(f"GFLOPs per image (base width {table[0]['base_width']})")
    axes[0].set_ylim(0, 1.3 * max(t["gflops"] for t in table))  # room for the legend above the bars
    axes[0].legend(loc="upper right")
    axes[1].bar(x, [t["size_mb"] for t in table], color="C2")
    axes[1].set_ylabel("model size (MB, float32)")
    snr_key = next(k for k in columns if k.startswith("miou_") and k != "miou_clean")
    clean, noisy = [t["miou_clean"] for t in table], [t[snr_key] for t in table]
    snr_label = f"AWGN {snr_key.removeprefix('miou_').replace('db', ' dB')}"
    for offset, values, color, label in ((-0.2, clean, "C4", "no channel noise"), (0.2, noisy, "C5", snr_label)):
        bars = axes[2].bar(x + offset, values, 0.4, color=color, label=label)
        axes[2].bar_label(bars, fmt="%.3f", fontsize=0.8 * float(style["font_size"]), rotation=90, padding=2)
    axes[2].set_ylabel("mIoU")
    axes[2].set_ylim(max(0.0, min(clean + noisy) - 0.15), 1.0)  # the differences, not the bars' common base
    # above the panel: the bars fill it from the bottom up to the top
    axes[2].legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False, borderaxespad=0.2)
    for ax in axes:
        ax.set_xticks(x, labels, rotation=15)
        ax.grid(True, axis="y", alpha=0.3)
    set_titles(fig, [], [], title, [], style)
    return fig


def depth_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """Fig. 5: the objective Q = lambda mIoU - mu G - nu M and its three terms against the downsamplings;
    beside it FLOPs and size against the depth."""
    from lssc_sim.codecs.complexity import LAMBDA, MU, NU  # imports Keras: only when this plot is drawn

    rows = sorted(_codec_rows(rows), key=lambda r: int(r["depth"]))
    if not rows:
        return None
    depth = [int(r["depth"]) for r in rows]
    miou = np.array([float(r["miou"]) for r in rows])
    g = np.array([float(r["q_flops_ratio"]) for r in rows])
    m = np.array([float(r["q_size_ratio"]) for r in rows])
    fig, (ax, ax2) = new_figure(2, style, sharey=False)
    ax.plot(depth, [float(r["q"]) for r in rows], "ko-", lw=2, label="Q")
    ax.plot(depth, LAMBDA * miou, "s--", label=rf"$\lambda$ mIoU ($\lambda$={LAMBDA:g})")
    ax.plot(depth, -MU * g, "^--", label=rf"$-\mu G$ ($\mu$={MU:g}; G = FLOPs / UNet's)")
    ax.plot(depth, -NU * m, "v--", label=rf"$-\nu M$ ($\nu$={NU:g}; M = size / UNet's)")
    ax.set_xlabel("downsampling layers (depth)")
    ax.set_ylabel("objective and its terms")
    ax.legend()
    ax2.plot(depth, [float(r["gflops"]) for r in rows], "o-", color="C0", label="GFLOPs per image")
    ax2.set_xlabel("downsampling layers (depth)")
    ax2.set_ylabel(f"GFLOPs per image (base width {rows[0]['base_width']})", color="C0")
    twin = ax2.twinx()
    twin.plot(depth, [float(r["size_mb"]) for r in rows], "s--", color="C2", label="size")
    twin.set_ylabel("model size (MB, float32)", color="C2")
    for a in (ax, ax2):
        a.set_xticks(depth)
        a.grid(True, alpha=0.3)
    snr = float(rows[0]["snr_db"])
    set_titles(fig, [ax], [f"mIoU at AWGN {snr:g} dB"], title, [], style)
    return fig


@PLOTS.register("depth_ablation")
def depth_ablation(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`depth_figure` as ``depth_ablation.{png,pdf}``."""
    return draw(depth_figure, rows, out_dir, title, style, "depth_ablation")
