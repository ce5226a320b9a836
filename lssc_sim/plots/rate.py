"""Rate figures of the image systems over the ideal channel: a score against the source rate each digital chain
achieved, as seed 003's Fig. 5 draws mIoU against bits per pixel; registered in :data:`lssc_sim.plots.base.PLOTS`.

===============  ======================  =====================================================================
plot             y                       drawn
===============  ======================  =====================================================================
``miou_vs_bpp``  mIoU                    a line per digital system; semantic systems and the segmenter's
                                         clean-image mIoU as horizontal references
``psnr_vs_bpp``  PSNR (dB)               a line per digital system; exact points marked on the top edge
``ssim_vs_bpp``  SSIM                    a line per digital system
``ss_vs_bpp``    SS = mIoU / clean mIoU  as ``miou_vs_bpp``
===============  ======================  =====================================================================

Only the ideal channel's rows are drawn (``snr_db`` NaN): there a digital chain sends its stream unchanged, so
the rate is the codec's alone. x is the achieved mean rate ``source_bits_per_pixel`` (header included), never
the target: a point whose codec could not get every image under its target sits where it really is, and the
figure's note counts those images. Horizontal bars span the images' min..max rate. A system is one line through
its sweep of qualities or rate targets, in order of rate; a lossless codec (PNG, raw) is a reference point,
a star annotated with its name. A semantic system has no bit rate (its channel input is analog): it is a
horizontal line at its noiseless score, its cost in channel uses per pixel in the legend.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from lssc_sim.plots.base import (
    PLOTS,
    SMALL,
    Row,
    Style,
    draw,
    exact_entry,
    exact_marks,
    has_snr,
    is_exact,
    new_figure,
    place_legend,
    plt,
    room_above,
    set_titles,
    uses_text,
)
from lssc_sim.plots.image import SOURCE_LABELS, SS_LABEL, SS_NOTE, images_note, ss_value
from lssc_sim.plots.lines import LineStyles

RATE = "source_bits_per_pixel"
RATE_LABEL = "bits per pixel (bpp), header included"
# What moves a system along its curve: left out of the line's parameters, so a sweep is one line, not one per value.
RATE_KNOBS = ("source.bpp", "source.quality")
LOSSLESS_CODECS = frozenset({"png", "raw"})  # from the csv alone, as every figure: no codec module is imported
METRICS = {"miou": "mIoU", "psnr_db": "PSNR (dB)", "ssim": "SSIM", "ss": SS_LABEL}
SEMANTIC_METRICS = ("miou", "ss")  # a semantic system's scores: it reconstructs no image to measure
PANEL = "ideal channel: every stream arrives as sent"
FLOOR_LABEL = "ringed: some images above the bpp target (codec floor)"


def rate_rows(rows: list[Row]) -> list[Row]:
    """The ideal channel's image rows: digital ones that carry a rate, and semantic ones."""
    return [
        r
        for r in rows
        if not has_snr(r) and (r.get("kind") == "semantic" or (r.get("kind") == "digital_image" and RATE in r))
    ]


def _mode(group: list[Row]) -> str:
    """How a system's points were made: ``lossless``, ``bpp targets``, ``quality 10–90``, ``30–45 dB PSNR
    targets`` (JPEG 2000's quality is a target PSNR), or "" at the codec's default quality."""
    codec = group[0]["source.codec"]
    if codec in LOSSLESS_CODECS:
        return "lossless"
    if any(r.get("source.bpp") not in (None, "") for r in group):
        return "bpp targets"
    values = sorted({float(r["source.quality"]) for r in group if r.get("source.quality") not in (None, "")})
    if not values:
        return ""
    span = f"{values[0]:g}" if len(values) == 1 else f"{values[0]:g}–{values[-1]:g}"
    return f"{span} dB PSNR target{'s' * (len(values) > 1)}" if codec == "jpeg2000" else f"quality {span}"


def codec_names(rows: list[Row]) -> dict[str, str]:
    """System label -> its codec in words (``JPEG``), the system label added where two systems share a codec."""
    codecs = {r["system"]: r["source.codec"] for r in rows if r.get("kind") == "digital_image"}
    shared = {c for c in codecs.values() if list(codecs.values()).count(c) > 1}
    return {s: SOURCE_LABELS.get(c, c) + (f" · {s}" if c in shared else "") for s, c in codecs.items()}


def semantic_label(row: Row) -> str:
    """``lssc (lssc_awgn, analog, 15.0 ch. uses/px, noiseless)``: a semantic system and what it costs."""
    weights = row.get("weights") or "trained"
    inner = "" if weights == row["system"] else f"{weights}, "
    return f"{row['system']} ({inner}analog, {uses_text(row['channel_uses_per_pixel'])}, noiseless)"


def rate_names(rows: list[Row]) -> dict[str, str]:
    """System label -> the name of its line: ``JPEG (bpp targets)``, ``PNG (lossless)``, a semantic system's
    :func:`semantic_label`."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row["system"]].append(row)
    codecs = codec_names(rows)
    names = {}
    for system, group in groups.items():
        if group[0]["kind"] == "semantic":
            names[system] = semantic_label(group[0])
        else:
            mode = _mode(group)
            names[system] = f"{codecs[system]} ({mode})" if mode else codecs[system]
    return names


def _strip(row: Row) -> Row:
    return {k: v for k, v in row.items() if k not in RATE_KNOBS}


def rate_styles(rows: list[Row]) -> LineStyles:
    """Line names and looks of the ideal channel's image rows, one line per system label (its rate knobs
    left out of the line's parameters), the same in all four figures."""
    rows = rate_rows(rows)
    names = rate_names(rows)
    return LineStyles([_strip(r) for r in rows], lambda r: names[r["system"]])


def floor_notes(rows: list[Row]) -> list[str]:
    """``codec floors (images over the target): JPEG at 0.05-0.3 bpp targets (1-50 of 50), WebP at ...``, one
    line for all codecs; none when every image met its target (or no row had one)."""
    codecs = codec_names(rows)
    over: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    for row in rows:
        count = int(float(row.get("images_over_target", 0) or 0))
        if count > 0:
            over[codecs[row["system"]]].append((float(row["source.bpp"]), count, int(row["images"])))
    parts = []
    for codec, misses in over.items():
        targets, counts, n = sorted({m[0] for m in misses}), [m[1] for m in misses], misses[0][2]
        where = f"{targets[0]:g}" if len(targets) == 1 else f"{targets[0]:g}-{targets[-1]:g}"
        many = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
        parts.append(f"{codec} at {where} bpp target{'s' * (len(targets) > 1)} ({many} of {n})")
    return [f"codec floors (images over the target): {', '.join(parts)}"] if parts else []


def _value(row: Row, metric: str) -> float:
    return ss_value(row) if metric == "ss" else float(row[metric])


def rate_figure(rows: list[Row], title: str, style: Style, metric: str) -> plt.Figure | None:
    """``metric`` (a key of :data:`METRICS`) against the achieved bits per pixel on the ideal channel.

    Digital systems are lines with min..max-rate bars; lossless codecs annotated stars; a PSNR point where every
    image arrived exactly is no value and is marked on the top edge. For mIoU and SS, semantic systems and the
    segmenter's clean-image level are horizontal references. None when no digital row has ``metric``.
    """
    styles = rate_styles(rows)
    rows = rate_rows(rows)
    digital = [r for r in rows if r["kind"] == "digital_image" and r.get(metric, "") != ""]
    if not digital:  # a semantic system alone has no rate to draw it against
        return None
    semantic = [r for r in rows if r["kind"] == "semantic"] if metric in SEMANTIC_METRICS else []
    notes = [images_note(digital), *floor_notes(digital)]
    if metric == "ss" and semantic and len(_cleans(digital)) != 1:
        notes.append(SS_NOTE)  # the semantic lines could not be put over the segmenter's one clean mIoU
    fig, axes = new_figure(1, style)
    ax = axes[0]
    size = plt.rcParams["lines.markersize"]
    any_exact = any_floor = False
    stacked = 0  # annotations of lossless points so far: each goes one line lower, PNG's and raw's never overlap
    for name, line in styles.group([_strip(r) for r in digital], RATE).items():
        look = styles.look(line[0])
        xs = np.array([float(r[RATE]) for r in line])
        ys = np.array([_value(r, metric) for r in line])
        low = np.array([float(r.get("source_bpp_min", r[RATE])) for r in line])
        high = np.array([float(r.get("source_bpp_max", r[RATE])) for r in line])
        exact = np.array([metric == "psnr_db" and is_exact(r) for r in line], bool)
        if line[0]["source.codec"] in LOSSLESS_CODECS:
            _reference_points(ax, line, xs, ys, exact, look["color"], name, stacked)
            stacked += len(line)
        else:
            ax.plot(xs, np.where(exact, np.nan, ys), **look, label=name)
            exact_marks(ax, xs[exact], look["color"])
            any_exact |= bool(exact.any())
        measured = ~exact
        floor = measured & np.array([float(r.get("images_over_target", 0) or 0) > 0 for r in line], bool)
        if floor.any():  # ringed, so that the note's target can be found on the plot
            ax.plot(xs[floor], ys[floor], "o", ls="none", mfc="none", mec=look["color"], ms=2.3 * size, mew=0.8)
            any_floor = True
        if measured.any():
            ax.errorbar(
                xs[measured],
                ys[measured],
                xerr=np.clip([xs[measured] - low[measured], high[measured] - xs[measured]], 0.0, None),
                fmt="none",
                ecolor=look["color"],
                elinewidth=0.6,
                alpha=0.6,
            )
    ax.plot([], [], "_", color="0.4", ms=2.5 * size, mew=0.8, label="bars: min–max bpp over the images")
    if any_floor:
        ax.plot([], [], "o", ls="none", mfc="none", mec="0.4", ms=2.3 * size, mew=0.8, label=FLOOR_LABEL)
    if metric in SEMANTIC_METRICS:
        _references(ax, digital, semantic, styles, metric)
    if any_exact:
        exact_entry(ax)
    elif metric == "psnr_db" and any(is_exact(r) for r in digital):  # a lossless star on the edge, annotated
        room_above(ax)
    ax.set_xscale("log")
    # plain numbers at 1-2-5 steps: a reader of bpp thinks in 0.2 and 5, not in powers of ten
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(RATE_LABEL)
    ax.set_ylabel(METRICS[metric])
    ax.grid(True, which="both", alpha=0.3)
    set_titles(fig, axes, [PANEL], title, notes, style)
    place_legend(fig, axes, style)
    return fig


def _reference_points(ax, line: list[Row], xs, ys, exact, color: str, name: str, stacked: int) -> None:
    """A lossless codec's points: stars, annotated with the codec (``stacked`` lines below the first annotation
    of the figure); an exact PSNR on the top edge."""
    star = dict(ls="none", marker="*", color=color, mec="k", mew=0.5, ms=2.4 * plt.rcParams["lines.markersize"])
    edge = ax.get_xaxis_transform()  # x in data, y in axes: the top edge, whatever the y limits
    if (~exact).any():
        ax.plot(xs[~exact], ys[~exact], **star, label=name)
    if exact.any():  # never an empty unclipped line: its extent would sit at the figure's corner and upset the layout
        ax.plot(xs[exact], np.ones(int(exact.sum())), **star, transform=edge, clip_on=False, zorder=5, label=name)
    codec = SOURCE_LABELS.get(line[0]["source.codec"], line[0]["source.codec"])
    size = SMALL * plt.rcParams["font.size"]
    for i, (x, y, on_edge) in enumerate(zip(xs, ys, exact, strict=True)):
        ax.annotate(
            f"{codec}: exact" if on_edge else codec,
            (x, 1.0 if on_edge else y),
            xycoords=edge if on_edge else "data",
            xytext=(-5, -5 - 1.3 * size * (stacked + i)),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=size,
        )


def _cleans(digital: list[Row]) -> list[float]:
    """The segmenter's clean-image mIoUs among the digital rows (one, unless several segmenters were run)."""
    return sorted({round(float(r["clean_miou"]), 4) for r in digital if "clean_miou" in r})


def _references(ax, digital: list[Row], semantic: list[Row], styles: LineStyles, metric: str) -> None:
    """Horizontal references: each semantic system's noiseless score (dash-dot, its colour) and the segmenter's
    clean-image level (dotted grey; SS = 1 by definition).

    For SS a semantic system is put over the segmenter's clean-image mIoU too, as the digital curves are: its own
    SS, over its own noiseless mIoU, is 1 on this channel by definition and would compare nothing.
    """
    cleans = _cleans(digital)
    common = cleans[0] if len(cleans) == 1 else None  # several segmenters: no one level to put everything over
    for name, line in styles.group([_strip(r) for r in semantic], "miou").items():
        for row in line:  # one row per system on the ideal channel; a swept parameter gives one line per value
            if metric == "ss" and common is not None:
                y, label = float(row["miou"]) / common, f"{name}: mIoU over the segmenter's clean mIoU"
            else:
                y, label = _value(row, metric), name
            ax.axhline(y, color=styles.colour(row), ls="-.", lw=1.0, label=label)
    for clean in cleans:
        if metric == "ss":
            ax.axhline(1.0, color="0.3", ls=":", lw=1.0, label="clean images, UNet segmenter (SS = 1)")
            break
        ax.axhline(clean, color="0.3", ls=":", lw=1.0, label=f"clean images, UNet segmenter: mIoU {clean:.3f}")


def miou_bpp_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """mIoU against bits per pixel (:func:`rate_figure`)."""
    return rate_figure(rows, title, style, "miou")


def psnr_bpp_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """PSNR against bits per pixel (:func:`rate_figure`)."""
    return rate_figure(rows, title, style, "psnr_db")


def ssim_bpp_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """SSIM against bits per pixel (:func:`rate_figure`)."""
    return rate_figure(rows, title, style, "ssim")


def ss_bpp_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """SS = mIoU / clean mIoU against bits per pixel (:func:`rate_figure`)."""
    return rate_figure(rows, title, style, "ss")


@PLOTS.register("miou_vs_bpp")
def miou_vs_bpp(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`miou_bpp_figure` as ``miou_vs_bpp.{png,pdf}``."""
    return draw(miou_bpp_figure, rows, out_dir, title, style, "miou_vs_bpp")


@PLOTS.register("psnr_vs_bpp")
def psnr_vs_bpp(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`psnr_bpp_figure` as ``psnr_vs_bpp.{png,pdf}``."""
    return draw(psnr_bpp_figure, rows, out_dir, title, style, "psnr_vs_bpp")


@PLOTS.register("ssim_vs_bpp")
def ssim_vs_bpp(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`ssim_bpp_figure` as ``ssim_vs_bpp.{png,pdf}``."""
    return draw(ssim_bpp_figure, rows, out_dir, title, style, "ssim_vs_bpp")


@PLOTS.register("ss_vs_bpp")
def ss_vs_bpp(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`ss_bpp_figure` as ``ss_vs_bpp.{png,pdf}``."""
    return draw(ss_bpp_figure, rows, out_dir, title, style, "ss_vs_bpp")
