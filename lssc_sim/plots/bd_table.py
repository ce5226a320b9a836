"""``bd_table``: Bjøntegaard deltas of every rate curve against an anchor, laid out as seed 003's Table II (BD-mIoU
and BD-rate of each codec against its baselines), written as ``bd_table.md`` and ``bd_table.csv``; no figure.

=============  =============================================================================  =============
plot           writes                                                                         systems
=============  =============================================================================  =============
``bd_table``   ``bd_table.md`` (for a reader) and ``bd_table.csv`` (every number, full         digital_image
               precision): BD-rate, BD-mIoU and BD-PSNR, cubic and pchip fits
=============  =============================================================================  =============

A curve is the ideal-channel rows of one digital system, as :mod:`lssc_sim.plots.rate` draws them: rate the
achieved ``source_bits_per_pixel`` (header included), qualities ``miou`` and ``psnr_db``. A PSNR point where
every image arrived exactly is no measurement (its value is only a bound) and is left out of the PSNR deltas.
A lossless codec is one point, not a curve: it is listed under the table as a reference. The numbers are
:func:`lssc_sim.bd.bd_table`'s, unrounded in the CSV; a cell it cannot compute is NaN (``n/a``) with the
reason in the note.

The anchor is ``style["bd_anchor"]`` (the scenario's ``bd_anchor``, handed over by ``make_plots``); without
one, the system that codes with JPEG 2000 if exactly one does; else the table says that no anchor was named.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from lssc_sim import bd
from lssc_sim.engine.results import atomic_write_text
from lssc_sim.plots.base import PLOTS, Row, Style, is_exact
from lssc_sim.plots.rate import LOSSLESS_CODECS, RATE, codec_names, rate_rows

DEFAULT_ANCHOR_CODEC = "jpeg2000"  # the classic anchor of image-coding comparisons (seed 003 has J2K among them)
# quality key -> (name in the headers, unit, decimals shown in the Markdown)
QUALITIES = {"miou": ("mIoU", "", 4), "psnr": ("PSNR", "dB", 2)}
COLUMNS = [
    "curve",
    "codec",
    "anchor",
    *(f"bd_rate_{q}_{m}_pct" for q in QUALITIES for m in bd.METHODS),
    *(f"bd_{q}_{m}{'_db' * (q == 'psnr')}" for q in QUALITIES for m in bd.METHODS),
    "bpp_low",
    "bpp_high",
    "miou_low",
    "miou_high",
    "psnr_bpp_low",
    "psnr_bpp_high",
    "psnr_low_db",
    "psnr_high_db",
    "note_miou",
    "note_psnr",
]


def rate_curves(rows: list[Row]) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list[Row]]]:
    """The rate curves and the lossless reference points among ``rows``' ideal-channel digital rows.

    Returns
    -------
    curves : dict
        System label -> ``{"rate", "miou", "psnr"}``, float64 ``[n]`` each, in results.csv order; ``psnr`` NaN
        where every image arrived exactly (which :mod:`lssc_sim.bd` drops).
    references : dict
        System label -> its rows, for the lossless codecs.
    """
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rate_rows(rows):
        if row["kind"] == "digital_image":
            groups[row["system"]].append(row)
    curves, references = {}, {}
    for system, group in groups.items():
        if group[0]["source.codec"] in LOSSLESS_CODECS:
            references[system] = group
            continue
        curves[system] = {
            "rate": np.array([float(r[RATE]) for r in group]),
            "miou": np.array([float(r.get("miou", np.nan)) for r in group]),
            "psnr": np.array([np.nan if is_exact(r) else float(r.get("psnr_db", np.nan)) for r in group]),
        }
    return curves, references


def choose_anchor(curves: dict, rows: list[Row], named: str | None) -> tuple[str | None, str]:
    """The anchor's system label and, when there is none, why: the named one, else the one JPEG 2000 system."""
    if named:
        if named in curves:
            return named, ""
        return None, (
            f"The anchor `{named}` (bd_anchor) has no rate curve on the ideal channel (a lossy digital system "
            f"with ideal-channel rows); the curves are: {', '.join(f'`{c}`' for c in curves) or 'none'}."
        )
    j2k = [s for s in curves if _codec(rows, s) == DEFAULT_ANCHOR_CODEC]
    if len(j2k) == 1:
        return j2k[0], ""
    return None, (
        f"No anchor was named (the scenario's bd_anchor), and {len(j2k)} systems code with JPEG 2000, the "
        f"default anchor when exactly one does; no deltas computed. The curves: {', '.join(f'`{c}`' for c in curves)}."
    )


def _codec(rows: list[Row], system: str) -> str:
    return next(r.get("source.codec", "") for r in rows if r.get("system") == system)


def _overlap(rate_a, quality_a, rate_t, quality_t, axis: str) -> tuple[float, float]:
    """The interval a delta averages over: where both curves' ``axis`` ("rate" or "quality") ranges meet,
    over their finite points; NaNs when they do not."""
    ranges = []
    for rate, quality in ((rate_a, quality_a), (rate_t, quality_t)):
        keep = np.isfinite(rate) & np.isfinite(quality)
        values = (rate if axis == "rate" else quality)[keep]
        if not values.size:
            return math.nan, math.nan
        ranges.append((values.min(), values.max()))
    low, high = max(r[0] for r in ranges), min(r[1] for r in ranges)
    return (float(low), float(high)) if high > low else (math.nan, math.nan)


def _notes(note: str, quality: str) -> str:
    """:func:`lssc_sim.bd.bd_table`'s note with its cells named by the quality (BD-quality -> BD-mIoU)."""
    return note.replace("BD-quality", f"BD-{quality}").replace("BD-rate", f"BD-rate at equal {quality}")


def bd_rows(curves: dict[str, dict[str, np.ndarray]], anchor: str, codecs: dict[str, str]) -> list[dict]:
    """One row per curve but the anchor: both qualities' :func:`lssc_sim.bd.bd_table` merged, with intervals."""
    by_quality = {q: bd.bd_table({s: (c["rate"], c[q]) for s, c in curves.items()}, anchor) for q in QUALITIES}
    a = curves[anchor]
    out = []
    for miou, psnr in zip(by_quality["miou"], by_quality["psnr"], strict=True):
        c = curves[miou["curve"]]
        row = {"curve": miou["curve"], "codec": codecs[miou["curve"]], "anchor": anchor}
        for q, got in (("miou", miou), ("psnr", psnr)):
            for m in bd.METHODS:
                row[f"bd_rate_{q}_{m}_pct"] = got[f"bd_rate_{m}_pct"]
                row[f"bd_{q}_{m}{'_db' * (q == 'psnr')}"] = got[f"bd_quality_{m}"]
        row["bpp_low"], row["bpp_high"] = _overlap(a["rate"], a["miou"], c["rate"], c["miou"], "rate")
        row["miou_low"], row["miou_high"] = _overlap(a["rate"], a["miou"], c["rate"], c["miou"], "quality")
        row["psnr_bpp_low"], row["psnr_bpp_high"] = _overlap(a["rate"], a["psnr"], c["rate"], c["psnr"], "rate")
        row["psnr_low_db"], row["psnr_high_db"] = _overlap(a["rate"], a["psnr"], c["rate"], c["psnr"], "quality")
        row["note_miou"] = _notes(miou["note"], "mIoU")
        row["note_psnr"] = _notes(psnr["note"], "PSNR")
        out.append(row)
    return out


def _cell(value: float, decimals: int) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{decimals}f}"


def _interval(low: float, high: float, fmt: str) -> str:
    return "none" if not math.isfinite(low) else f"{low:{fmt}}–{high:{fmt}}"


def _md_table(header: list[str], lines: list[list[str]], numeric: int) -> list[str]:
    """A Markdown table: two text columns, ``numeric`` right-aligned ones, the rest text."""
    align = ["---", "---", *["---:"] * numeric, *["---"] * (len(header) - 2 - numeric)]
    rows = [header, align, *lines]
    return ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]


def format_markdown(
    table: list[dict],
    anchor: str | None,
    why: str,
    curves: dict[str, dict[str, np.ndarray]],
    references: dict[str, list[Row]],
    codecs: dict[str, str],
    title: str,
) -> str:
    """``bd_table.md``: what was compared with what, the main table (BD-rate at equal mIoU, BD-mIoU, BD-PSNR),
    BD-rate at equal PSNR and the lossless reference points; ``why`` alone when there is no anchor."""
    out = [f"# {title}", ""] if title else []
    level = "##" if title else "#"
    if anchor is None:
        return "\n".join([*out, f"{level} Bjøntegaard deltas (BD-rate, BD-mIoU, BD-PSNR)", "", why, ""])
    a = curves[anchor]
    out += [
        f"{level} Bjøntegaard deltas against {codecs.get(anchor, anchor)} (`{anchor}`)",
        "",
        f"Anchor: `{anchor}`, {a['rate'].size} points, {a['rate'].min():.3g}–{a['rate'].max():.3g} bpp. Ideal "
        "channel; rate = achieved bits per pixel, header included. BD-rate: mean rate change at equal quality "
        "(negative: fewer bits than the anchor). BD-mIoU, BD-PSNR: mean quality change at equal rate (positive: "
        "better than the anchor). Each is averaged over the interval where the curve and the anchor overlap "
        "(bpp interval: BD-mIoU and BD-PSNR; mIoU / PSNR interval: BD-rate). cubic: least-squares cubic fit "
        "(VCEG-M33); pchip: piecewise cubic Hermite interpolation. PSNR points where every image arrived exactly "
        "(PSNR unbounded) are left out of the PSNR deltas.",
        "",
    ]
    header = ["Codec", "System"]
    header += [f"BD-rate {m} (%)" for m in bd.METHODS] + [f"BD-mIoU {m}" for m in bd.METHODS]
    header += [f"BD-PSNR {m} (dB)" for m in bd.METHODS] + ["bpp interval", "mIoU interval", "Note"]
    lines = []
    for r in table:
        cells = [r["codec"], f"`{r['curve']}`"]
        cells += [_cell(r[f"bd_rate_miou_{m}_pct"], 2) for m in bd.METHODS]
        cells += [_cell(r[f"bd_miou_{m}"], 4) for m in bd.METHODS]
        cells += [_cell(r[f"bd_psnr_{m}_db"], 2) for m in bd.METHODS]
        cells += [_interval(r["bpp_low"], r["bpp_high"], ".3g"), _interval(r["miou_low"], r["miou_high"], ".3f")]
        psnr_span = (r["psnr_bpp_low"], r["psnr_bpp_high"])
        moved = psnr_span != (r["bpp_low"], r["bpp_high"]) and math.isfinite(psnr_span[0])
        extra = [f"BD-PSNR over {_interval(*psnr_span, '.3g')} bpp"] if moved else []
        bd_psnr_notes = [p for p in r["note_psnr"].split("; ") if p.startswith("BD-PSNR")]
        cells.append("; ".join(p for p in [r["note_miou"], *bd_psnr_notes, *extra] if p))
        lines.append(cells)
    out += _md_table(header, lines, 6)
    out += ["", "BD-rate at equal PSNR:", ""]
    header = ["Codec", "System", *(f"BD-rate {m} (%)" for m in bd.METHODS), "PSNR interval (dB)", "Note"]
    lines = []
    for r in table:
        notes = [p for p in r["note_psnr"].split("; ") if p.startswith("BD-rate")]
        lines.append(
            [r["codec"], f"`{r['curve']}`"]
            + [_cell(r[f"bd_rate_psnr_{m}_pct"], 2) for m in bd.METHODS]
            + [_interval(r["psnr_low_db"], r["psnr_high_db"], ".1f"), "; ".join(notes)]
        )
    out += _md_table(header, lines, 2)
    if references:
        out += ["", "Reference points (lossless codecs: one point each, no curve):", ""]
        for system, group in references.items():
            for r in group:
                psnr = "exact (PSNR unbounded)" if is_exact(r) else f"PSNR {float(r['psnr_db']):.2f} dB"
                out.append(
                    f"- {codecs[system]} (`{system}`): {float(r[RATE]):.3g} bpp, mIoU {float(r['miou']):.4f}, {psnr}"
                )
    return "\n".join(out) + "\n"


def write_csv(table: list[dict]) -> str:
    """``bd_table.csv``: :data:`COLUMNS`, floats at full precision (``repr``), NaN as ``nan``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: repr(float(v)) if isinstance(v, float) else v for k, v in row.items()})
    return buffer.getvalue()


@PLOTS.register("bd_table")
def bd_table(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """BD-rate, BD-mIoU and BD-PSNR of every rate curve against ``style["bd_anchor"]``, as
    ``bd_table.{md,csv}``; nothing when no digital system has ideal-channel rows."""
    curves, references = rate_curves(rows)
    if not curves and not references:
        return []
    anchor, why = choose_anchor(curves, rows, (style or {}).get("bd_anchor"))
    codecs = codec_names(rate_rows(rows))
    table = [] if anchor is None else bd_rows(curves, anchor, codecs)
    md_path, csv_path = out_dir / "bd_table.md", out_dir / "bd_table.csv"
    atomic_write_text(md_path, format_markdown(table, anchor, why, curves, references, codecs, title))
    atomic_write_text(csv_path, write_csv(table))
    return [md_path, csv_path]
