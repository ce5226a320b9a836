"""Figures and tables of the image systems and codec comparisons, drawn from a results.csv on disk: their
content, the presets' sizes, the uncertainty they draw, the sample sizes and the --quick mark in the title."""

from __future__ import annotations

import csv

import matplotlib.figure
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer

from lssc_sim import theory
from lssc_sim.engine.results import ResultStore
from lssc_sim.plots import image
from lssc_sim.plots.base import QUICK_MARK, plt, style_context
from lssc_sim.plots.catalog import PlotStyle
from lssc_sim.plots.image import shannon_snr_db, system_label
from lssc_sim.plots.make import make_plots

IMAGE_PLOTS = ["miou_vs_snr", "bler_vs_snr", "images_lost_vs_snr"]
BER_PLOTS = ["ber_vs_ebno", "ber_vs_snr", "bler_vs_ebno"]


def _digital_row(snr, modulation, lost):
    m = {"qpsk": 2, "16qam": 4}[modulation]
    return {
        "system": "png_ldpc",
        "kind": "digital_image",
        "channel": "awgn",
        "modulation": modulation,
        "snr_db": float(snr),
        "source.codec": "png",
        "receiver.mode": "strict",
        "code_rate": 0.4970,
        "channel_uses_per_pixel": 13.0 / m,
        "channel_uses_per_image": 13.0 / m * 16384,
        "source_bits_per_image": 12.9 * 16384,
        "miou": 0.97 - 0.6 * lost,
        "clean_miou": 0.97,
        "lost_miou": 0.37,
        "images": 100,
        "images_lost": int(100 * lost),
        "bler": 0.5 * lost,
        "blocks_decoded": 5000,
    }


def _semantic_row(snr, system="lssc", **extra):
    return {
        "system": system,
        "kind": "semantic",
        "channel": "awgn",
        "modulation": "",
        "snr_db": float(snr),
        "weights": "lssc_awgn",
        "channel_uses_per_pixel": 15.0,
        "miou": 0.95 - 0.01 * max(0, 10 - snr),
        "clean_miou": 0.955,
        **extra,
    }


def _write(tmp_path, rows):
    # through the store, as the runner writes them
    store = ResultStore(tmp_path)
    keys = []
    for i, row in enumerate(rows):
        key = f"k{i:03d}"
        store.save(
            key,
            {k: v for k, v in row.items() if k in ("system", "kind", "channel", "modulation", "snr_db")},
            row,
            0.0,
            "run",
        )
        keys.append(key)
    store.write_csv(keys)


def test_shannon_marker_inverts_capacity():
    assert shannon_snr_db("awgn", 1000, 1000) == pytest.approx(0.0, abs=1e-9)  # 1 bit per use: SNR 1
    snr = shannon_snr_db("rayleigh", 2000, 1000)
    assert float(theory.capacity_rayleigh(snr)) == pytest.approx(2.0, abs=1e-3)
    assert snr > shannon_snr_db("awgn", 2000, 1000)  # fading costs SNR
    assert shannon_snr_db("phase_noise", 1, 1) is None


def test_labels_name_the_chain_and_the_bandwidth():
    assert system_label(_digital_row(0, "16qam", 0)) == "PNG + LDPC r=0.50 + 16-QAM · 3.2 ch. uses/px"
    assert system_label(_semantic_row(0)) == "lssc (lssc_awgn, analog) · 15.0 ch. uses/px"


def test_image_plots_are_drawn(tmp_path):
    rows = [
        _digital_row(s, mod, lost=float(s < cliff)) for mod, cliff in (("qpsk", 2), ("16qam", 7)) for s in range(-5, 26)
    ]
    rows += [_semantic_row(s) for s in range(-5, 26)]
    _write(tmp_path, rows)
    written = make_plots(tmp_path, ["miou_vs_snr", "bler_vs_snr", "images_lost_vs_snr"], "test")
    names = {p.name for p in written}
    for stem in ("miou_vs_snr", "bler_vs_snr", "images_lost_vs_snr"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
        assert (tmp_path / f"{stem}.png").stat().st_size > 20_000


def _codec_row(codec, depth=3, scale=1.0):
    return _semantic_row(
        10,
        system=f"{codec}_{depth}",
        codec=codec,
        depth=depth,
        base_width=8,
        params=int(1e5 * scale),
        size_mb=0.4 * scale,
        gflops=0.2 * scale,
        gflops_device=0.1 * scale,
        base64_params=int(6.4e6 * scale),
        base64_size_mb=25.6 * scale,
        base64_gflops=12.0 * scale,
        base64_gflops_device=6.0 * scale,
        q_flops_ratio=scale,
        q_size_ratio=scale,
        q=0.9 - 0.3 * scale,
    )


def test_model_table_reports_changes_against_unet_and_the_papers_figures(tmp_path):
    _write(tmp_path, [_codec_row("unet", 4, 1.0), _codec_row("lssc", 3, 0.5)])
    written = make_plots(tmp_path, ["model_table"], "Table II")
    assert {p.name for p in written} >= {"model_comparison.csv", "model_comparison.md", "model_comparison.png"}
    rows = list(csv.DictReader((tmp_path / "model_comparison.csv").open()))
    lssc = next(r for r in rows if r["codec"] == "LSSC")
    assert float(lssc["flops_change_pct"]) == pytest.approx(-50.0)
    assert float(lssc["base64_size_change_pct"]) == pytest.approx(-50.0)
    assert float(lssc["paper_flops_change_pct"]) == -13.0 and float(lssc["paper_miou_pct"]) == 93.77
    assert "| LSSC |" in (tmp_path / "model_comparison.md").read_text()


def test_depth_ablation_plot(tmp_path):
    _write(tmp_path, [_codec_row("lssc", d, s) for d, s in zip(range(2, 6), np.linspace(0.3, 1.2, 4), strict=True)])
    assert {p.name for p in make_plots(tmp_path, ["depth_ablation"], "")} == {
        "depth_ablation.png",
        "depth_ablation.pdf",
    }


@pytest.fixture
def titles(monkeypatch):
    """The title of every figure saved while the test runs, in order."""
    seen = []
    savefig = matplotlib.figure.Figure.savefig

    def spy(fig, path, **kwargs):
        if str(path).endswith(".png"):
            seen.append(fig.get_suptitle())
        return savefig(fig, path, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    return seen


def test_both_presets_write_png_and_pdf_at_their_size(tmp_path, make, titles):
    sweep = make.image_sweep(step=3)
    rows = sweep + [make.ber(s, system, "qpsk") for system in ("uncoded", "ldpc") for s in range(0, 12, 2)]
    rows += [{**r, "channel": "rayleigh", "channel.coherence": "frame"} for r in sweep]
    _write(tmp_path, rows)
    for preset, width_in in (("column", 3.5), ("page", 7.0)):
        written = make_plots(tmp_path, IMAGE_PLOTS + BER_PLOTS, "presets", PlotStyle(preset=preset))
        assert {p.name for p in written} == {f"{n}.{ext}" for n in IMAGE_PLOTS + BER_PLOTS for ext in ("png", "pdf")}
        assert all(p.stat().st_size > 10_000 for p in written)
        # the width is the preset's per panel (two channels in the image figures, one in the BER ones)
        assert plt.imread(tmp_path / "miou_vs_snr.png").shape[1] == round(2 * width_in * 150)
        assert plt.imread(tmp_path / "ber_vs_ebno.png").shape[1] == round(width_in * 150)
    assert len(titles) == 12 and all(t.startswith("presets") for t in titles)


def test_quick_marks_every_title_and_sample_sizes_are_stated(tmp_path, make, titles):
    rows = make.image_sweep(step=3) + [make.ber(s, system, "qpsk") for system in ("uncoded", "ldpc") for s in (0, 6)]
    _write(tmp_path, rows)
    make_plots(tmp_path, IMAGE_PLOTS + BER_PLOTS, "A scenario", quick=True)
    assert len(titles) == 6 and all(QUICK_MARK in " ".join(t.split()) for t in titles)
    assert "100 images per point" in titles[0] and "100 images per point" in titles[2]
    assert "100 images, 4,000 code blocks scored per point" in titles[1]
    assert "100 k bits per point" in titles[3] and "25 code blocks per point" in titles[5]
    make_plots(tmp_path, ["miou_vs_snr"], "A scenario")
    assert QUICK_MARK not in titles[-1]


def _build(build, rows, preset="column"):
    style = PlotStyle(preset=preset).resolved()
    with style_context(style):
        return build(rows, "t", style)


def test_miou_band_drawn_from_the_systems_interval_when_present(make):
    def bands(fig):
        return [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection) and c.get_paths()]

    rows = make.image_sweep()
    fig = _build(image.miou_figure, rows)
    assert bands(fig) == [] and not any("bootstrap" in t.get_text() for t in fig.legends[0].get_texts())
    plt.close(fig)
    with_ci = [{**r, "miou_ci_low": r["miou"] - 0.01, "miou_ci_high": r["miou"] + 0.01} for r in rows]
    fig = _build(image.miou_figure, with_ci)
    assert len(bands(fig)) == 3  # one per system line
    assert any("95% bootstrap interval" in t.get_text() for t in fig.legends[0].get_texts())
    plt.close(fig)


def test_bler_has_wilson_bars_and_zero_error_marks_old_and_new_columns(make):
    rows = [make.digital(s, "qpsk", lost=max(0.0, 1 - s / 4)) for s in range(0, 8)]
    old = [{**{k: v for k, v in r.items() if k != "scored_blocks"}, "blocks_decoded": r["scored_blocks"]} for r in rows]
    for variant in (rows, old):
        fig = _build(image.bler_figure, variant)
        ax = fig.axes[0]
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(bars) == 1
        marks = [line for line in ax.get_lines() if line.get_marker() == "v" and len(line.get_xdata())]
        assert [list(m.get_xdata()) for m in marks] == [[4.0]]  # the first error-free point only
        assert marks[0].get_ydata()[0] == pytest.approx(3 / 4000)
        plt.close(fig)


def test_images_lost_band_and_real_rows(make):
    fig = _build(image.images_lost_figure, make.real, preset="page")
    assert [ax.get_title() for ax in fig.axes] == ["AWGN", "Rayleigh, one gain per 4032 channel uses"]
    assert any(isinstance(c, PolyCollection) for c in fig.axes[0].collections)
    plt.close(fig)
    for build in (image.miou_figure, image.bler_figure):
        plt.close(_build(build, make.real))


@pytest.mark.parametrize("legend", ["inside", "outside", "below"])
def test_every_legend_placement(tmp_path, make, legend):
    _write(tmp_path, make.image_sweep())
    written = make_plots(tmp_path, ["miou_vs_snr"], "legend", PlotStyle(preset="column", legend=legend))
    assert len(written) == 2
