"""Rate figures (score against achieved bits per pixel on the ideal channel), the SS and PSNR figures against SNR,
and the BD table: what they draw, what they leave out (the ideal channel from SNR axes, exact PSNRs as values),
and that the table's numbers are lssc_sim.bd's on the same curves."""

from __future__ import annotations

import csv
import math
import random

import numpy as np
import pytest
from matplotlib.collections import LineCollection

from lssc_sim import bd
from lssc_sim.plots import image, rate
from lssc_sim.plots.base import EXACT_MARKER, plt, style_context
from lssc_sim.plots.catalog import PLOT_KINDS, PlotStyle
from lssc_sim.plots.image import SOURCE_LABELS, system_label
from lssc_sim.plots.make import make_plots

RATE_PLOTS = ["miou_vs_bpp", "psnr_vs_bpp", "ssim_vs_bpp", "ss_vs_bpp"]
SNR_PLOTS = ["miou_vs_snr", "ss_vs_snr", "psnr_vs_snr", "bler_vs_snr", "images_lost_vs_snr"]
SNR_FIGURES = (image.miou_figure, image.ss_figure, image.psnr_figure, image.bler_figure, image.images_lost_figure)
RATE_FIGURES = (rate.miou_bpp_figure, rate.psnr_bpp_figure, rate.ssim_bpp_figure, rate.ss_bpp_figure)


def _build(build, rows, preset="column"):
    style = PlotStyle(preset=preset).resolved()
    with style_context(style):
        return build(rows, "t", style)


def _measured(fig):
    """Legend label -> (x, y) of every line drawn in data coordinates (no references, marks or proxies)."""
    out = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if len(line.get_xdata()) and line.get_transform().contains_branch(ax.transData):
                out.setdefault(line.get_label(), []).append((np.asarray(line.get_xdata(), float), line.get_ydata()))
    return out


def _edge_marks(fig):
    """x of every mark on the top edge (exact PSNR), lossless stars included."""
    xs = []
    for ax in fig.axes:
        for line in ax.get_lines():
            edge = not line.get_transform().contains_branch(ax.transData) and line.get_marker() in (EXACT_MARKER, "*")
            if edge and len(line.get_xdata()):
                assert list(line.get_ydata()) == [1.0] * len(line.get_xdata())  # axes coordinates: the top edge
                xs += list(line.get_xdata())
    return sorted(xs)


def _hlines(fig):
    """Label -> y of the horizontal reference lines."""
    return {
        line.get_label(): line.get_ydata()[0]
        for ax in fig.axes
        for line in ax.get_lines()
        if list(line.get_xdata()) == [0, 1] and not line.get_label().startswith("_")
    }


def _mixed(make):
    """The ideal channel's rate sweep and an AWGN sweep of the same kinds, as one scenario would write them."""
    return make.rate_sweep() + make.image_sweep(step=3)


def test_every_new_plot_writes_png_and_pdf_and_old_ones_survive_ideal_rows(tmp_path, make):
    make.write(tmp_path, _mixed(make))
    written = make_plots(tmp_path, RATE_PLOTS + SNR_PLOTS + ["bd_table"], "mixed", PlotStyle(preset="column"))
    names = {p.name for p in written}
    assert names == {f"{n}.{ext}" for n in RATE_PLOTS + SNR_PLOTS for ext in ("png", "pdf")} | {
        "bd_table.md",
        "bd_table.csv",
    }
    assert all(p.stat().st_size > 1_000 for p in written)
    assert plt.imread(tmp_path / "miou_vs_bpp.png").shape[1] == round(3.5 * 150)  # one panel, column wide


def test_catalog_kinds_of_the_new_plots():
    assert PLOT_KINDS["miou_vs_bpp"] == PLOT_KINDS["ss_vs_bpp"] == ("digital_image", "semantic")
    assert PLOT_KINDS["psnr_vs_bpp"] == PLOT_KINDS["ssim_vs_bpp"] == PLOT_KINDS["bd_table"] == ("digital_image",)
    assert PLOT_KINDS["ss_vs_snr"] == PLOT_KINDS["miou_vs_snr"] and PLOT_KINDS["psnr_vs_snr"] == ("digital_image",)


def test_labels_of_the_new_codecs_and_of_rate_targets(make):
    assert SOURCE_LABELS["heif"] == "HEVC intra (BPG-like)" and SOURCE_LABELS["raw"] == "raw 24 bpp"
    awgn = make.digital(10, "qpsk", **{"source.codec": "jpeg", "source.bpp": 0.25})
    assert system_label(awgn).startswith("JPEG 0.25 bpp target + LDPC r=0.50 + QPSK · ")
    ideal = make.rate("j", "jpeg", 0.2, 0.6, 25.0, 0.8, **{"source.bpp": 0.25})
    assert system_label(ideal) == "JPEG 0.25 bpp target"  # no link on the ideal channel, and no crash
    assert system_label(make.rate("h", "heif", 0.2, 0.6, 25.0, 0.8, **{"source.quality": 40})) == (
        "HEVC intra (BPG-like) q40"
    )


@pytest.mark.parametrize("build", SNR_FIGURES, ids=lambda b: b.__name__)
def test_snr_figures_leave_the_ideal_channel_out(make, build):
    mixed = _mixed(make)
    fig = _build(build, mixed)
    assert [ax.get_title() for ax in fig.axes] == ["AWGN"]  # no panel for the ideal channel
    for label, lines in _measured(fig).items():
        assert "ideal" not in label and "bpp target" not in label
        for xs, _ in lines:
            assert np.isfinite(xs).all() and xs.min() >= -5 and xs.max() <= 25  # SNRs of the AWGN sweep
    plt.close(fig)
    assert build(make.rate_sweep(), "t", PlotStyle().resolved()) is None  # the ideal channel alone: nothing


@pytest.mark.parametrize("build", RATE_FIGURES, ids=lambda b: b.__name__)
def test_rate_figures_draw_only_the_ideal_channel_one_line_per_system_sorted_by_rate(make, build):
    rows = _mixed(make)
    random.Random(1).shuffle(rows)  # the order of results.csv must not matter
    fig = _build(build, rows)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "bits per pixel (bpp), header included"
    lines = _measured(fig)
    ideal_rates = {r["source_bits_per_pixel"] for r in make.rate_sweep() if r["kind"] == "digital_image"}
    for drawn in lines.values():
        for xs, _ in drawn:
            assert set(xs) <= ideal_rates  # never an SNR
            assert list(xs) == sorted(xs)
    # one line per system although source.bpp or source.quality differs from point to point
    assert len(lines["JPEG (bpp targets)"][0][0]) == 7 and len(lines["WebP (quality 20–70)"][0][0]) == 6
    bars = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert bars, "min..max bpp bars"
    plt.close(fig)
    assert build(make.image_sweep(step=5), "t", PlotStyle().resolved()) is None  # no ideal-channel rows


def test_exact_psnr_is_marked_on_the_edge_never_drawn_as_a_value(make):
    rows = make.rate_sweep()
    avif = [r for r in rows if r["system"] == "avif_ideal"]
    top = max(avif, key=lambda r: r["source_bits_per_pixel"])
    top.update(psnr_exact=True, psnr_db=101.3)
    fig = _build(rate.psnr_bpp_figure, rows)
    for lines in _measured(fig).values():
        for _, ys in lines:
            assert np.nanmax(ys) < 60  # neither PNG's nor AVIF's bound of ~100 dB
    assert _edge_marks(fig) == [top["source_bits_per_pixel"], 12.1]  # AVIF's arrow, PNG's star
    assert fig.axes[0].get_ylim()[1] < 60
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("exact (lossless)") for t in texts)
    assert [t.get_text() for t in fig.axes[0].texts] == ["PNG: exact"]
    plt.close(fig)

    fig = _build(image.psnr_figure, make.image_sweep(step=3))  # lossless PNG over AWGN: exact once nothing is lost
    exact_snrs = sorted(
        r["snr_db"] for r in make.image_sweep(step=3) if r["kind"] == "digital_image" and r["psnr_exact"]
    )
    assert _edge_marks(fig) == exact_snrs
    assert all(np.nanmax(ys) < 60 for lines in _measured(fig).values() for _, ys in lines)
    plt.close(fig)


def test_lossless_point_semantic_and_clean_references(make):
    fig = _build(rate.miou_bpp_figure, make.rate_sweep())
    stars = [line for line in fig.axes[0].get_lines() if line.get_marker() == "*"]
    assert [list(s.get_xdata()) for s in stars] == [[12.1]] and stars[0].get_label() == "PNG (lossless)"
    assert [t.get_text() for t in fig.axes[0].texts] == ["PNG"]
    refs = _hlines(fig)
    assert refs["lssc (lssc_awgn, analog, 15.0 ch. uses/px, noiseless)"] == pytest.approx(0.95)
    assert refs["clean images, UNet segmenter: mIoU 0.955"] == pytest.approx(0.955)
    assert fig.axes[0].get_lines()[-1].get_linestyle() == ":"  # the clean level dotted
    plt.close(fig)
    # SS: the semantic system over the same clean mIoU as the digital curves (its own SS is 1 by definition)
    fig = _build(rate.ss_bpp_figure, make.rate_sweep())
    refs = _hlines(fig)
    label = "lssc (lssc_awgn, analog, 15.0 ch. uses/px, noiseless): mIoU over the segmenter's clean mIoU"
    assert refs[label] == pytest.approx(0.95 / 0.955)
    assert refs["clean images, UNet segmenter (SS = 1)"] == 1.0
    plt.close(fig)
    for build in (rate.psnr_bpp_figure, rate.ssim_bpp_figure):  # a semantic system has no image to measure
        fig = _build(build, make.rate_sweep())
        assert not any("lssc" in k or "clean" in k for k in _hlines(fig))
        plt.close(fig)


def test_codec_floor_is_stated_and_ringed(make):
    rows = make.rate_sweep()
    fig = _build(rate.miou_bpp_figure, rows)
    title = " ".join(fig.get_suptitle().split())
    assert "codec floors (images over the target): JPEG at 0.05 bpp target (12 of 50)" in title
    rings = [line for line in fig.axes[0].get_lines() if line.get_marker() == "o" and line.get_mfc() == "none"]
    assert [list(r.get_xdata()) for r in rings if len(r.get_xdata())] == [[0.12]]
    plt.close(fig)
    more = rows + [make.rate("jpeg_ideal", "jpeg", 0.11, 0.5, 20.0, 0.5, **{"source.bpp": 0.08}, images_over_target=3)]
    assert rate.floor_notes(rate.rate_rows(more)) == [
        "codec floors (images over the target): JPEG at 0.05-0.08 bpp targets (3-12 of 50)"
    ]
    clean = [r for r in rows if r.get("images_over_target", 0) == 0]
    assert rate.floor_notes(rate.rate_rows(clean)) == []


def _curves(rows):
    """The curves bd_table must use, built here independently: ideal-channel lossy systems, PSNR without the
    exact points."""
    out = {}
    for r in rows:
        if r["kind"] != "digital_image" or r["source.codec"] in ("png", "raw") or not math.isnan(r["snr_db"]):
            continue
        c = out.setdefault(r["system"], ([], [], []))
        c[0].append(r["source_bits_per_pixel"])
        c[1].append(r["miou"])
        c[2].append(math.nan if r["psnr_exact"] else r["psnr_db"])
    return out


def test_bd_table_matches_lssc_sim_bd_against_the_default_and_a_named_anchor(tmp_path, make):
    rows = _mixed(make)
    avif_top = max((r for r in rows if r["system"] == "avif_ideal"), key=lambda r: r["source_bits_per_pixel"])
    avif_top.update(psnr_exact=True, psnr_db=101.3)  # left out of BD-PSNR
    make.write(tmp_path, rows)
    curves = _curves(rows)
    for anchor, named in (("jpeg2000_ideal", None), ("webp_ideal", "webp_ideal")):
        written = make_plots(tmp_path, ["bd_table"], "BD", bd_anchor=named)
        assert [p.name for p in written] == ["bd_table.md", "bd_table.csv"]
        table = list(csv.DictReader((tmp_path / "bd_table.csv").open()))
        assert [t["curve"] for t in table] == [s for s in curves if s != anchor]  # PNG is no curve
        ra, ma, pa = curves[anchor]
        for t in table:
            rt, mt, pt = curves[t["curve"]]
            assert t["anchor"] == anchor
            for m in bd.METHODS:
                assert float(t[f"bd_rate_miou_{m}_pct"]) == bd.bd_rate(ra, ma, rt, mt, m).value
                assert float(t[f"bd_miou_{m}"]) == bd.bd_quality(ra, ma, rt, mt, m).value
                assert float(t[f"bd_rate_psnr_{m}_pct"]) == bd.bd_rate(ra, pa, rt, pt, m).value
                assert float(t[f"bd_psnr_{m}_db"]) == bd.bd_quality(ra, pa, rt, pt, m).value
            assert float(t["bpp_low"]) == max(min(ra), min(rt)) and float(t["bpp_high"]) == min(max(ra), max(rt))
        md = (tmp_path / "bd_table.md").read_text()
        assert f"against {'JPEG 2000' if named is None else 'WebP'} (`{anchor}`)" in md
        assert "bpp interval" in md and "cubic" in md and "pchip" in md and "BD-mIoU" in md and "BD-PSNR" in md
        assert "PNG (`png_ideal`): 12.1 bpp, mIoU 0.9550, exact (PSNR unbounded)" in md
        avif = next(t for t in table if t["curve"] == "avif_ideal")
        row = next(line for line in md.splitlines() if "`avif_ideal`" in line)  # the first table's row
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2] == f"{float(avif['bd_rate_miou_cubic_pct']):.2f}"
        assert cells[4] == f"{float(avif['bd_miou_cubic']):.4f}"
        assert cells[6] == f"{float(avif['bd_psnr_cubic_db']):.2f}"
        # AVIF's top point is exact: BD-PSNR averages over a shorter rate interval than BD-mIoU, and says so
        assert float(avif["psnr_bpp_high"]) < float(avif["bpp_high"]) and "BD-PSNR over" in cells[-1]


def test_bd_table_without_an_anchor_says_so(tmp_path, make):
    rows = make.rate_sweep()
    rows += [{**r, "system": "j2k_b"} for r in rows if r["system"] == "jpeg2000_ideal"]  # two JPEG 2000 systems
    make.write(tmp_path, rows)
    make_plots(tmp_path, ["bd_table"], "")
    assert "No anchor was named" in (tmp_path / "bd_table.md").read_text()
    assert list(csv.DictReader((tmp_path / "bd_table.csv").open())) == []
    make_plots(tmp_path, ["bd_table"], "", bd_anchor="png_ideal")  # a lossless point is no curve
    assert "The anchor `png_ideal` (bd_anchor) has no rate curve" in (tmp_path / "bd_table.md").read_text()
    make.write(tmp_path, make.image_sweep(step=5))  # nothing on the ideal channel: no table at all
    assert make_plots(tmp_path, ["bd_table"], "") == []
