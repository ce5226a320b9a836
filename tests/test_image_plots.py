"""Figures and tables of the image systems and codec comparisons, drawn from a results.csv on disk."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from lssc_sim import theory
from lssc_sim.engine.results import ResultStore
from lssc_sim.plots.image import shannon_snr_db, system_label
from lssc_sim.plots.make import make_plots


def _digital_row(snr, modulation, lost):
    m = {"qpsk": 2, "16qam": 4}[modulation]
    return {"system": "png_ldpc", "kind": "digital_image", "channel": "awgn", "modulation": modulation,
            "snr_db": float(snr), "source.codec": "png", "receiver.mode": "strict", "code_rate": 0.4970,
            "channel_uses_per_pixel": 13.0 / m, "channel_uses_per_image": 13.0 / m * 16384,
            "source_bits_per_image": 12.9 * 16384, "miou": 0.97 - 0.6 * lost, "clean_miou": 0.97,
            "lost_miou": 0.37, "images": 100, "images_lost": int(100 * lost), "bler": 0.5 * lost,
            "blocks_decoded": 5000}


def _semantic_row(snr, system="lssc", **extra):
    return {"system": system, "kind": "semantic", "channel": "awgn", "modulation": "", "snr_db": float(snr),
            "weights": "lssc_awgn", "channel_uses_per_pixel": 15.0, "miou": 0.95 - 0.01 * max(0, 10 - snr),
            "clean_miou": 0.955, **extra}


def _write(tmp_path, rows):
    # through the store, as the runner writes them
    store = ResultStore(tmp_path)
    keys = []
    for i, row in enumerate(rows):
        key = f"k{i:03d}"
        store.save(key, {k: v for k, v in row.items() if k in ("system", "kind", "channel", "modulation",
                                                                 "snr_db")}, row, 0.0, "run")
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
    rows = [_digital_row(s, mod, lost=float(s < cliff)) for mod, cliff in (("qpsk", 2), ("16qam", 7))
            for s in range(-5, 26)]
    rows += [_semantic_row(s) for s in range(-5, 26)]
    _write(tmp_path, rows)
    written = make_plots(tmp_path, ["miou_vs_snr", "bler_vs_snr", "images_lost_vs_snr"], "test")
    names = {p.name for p in written}
    for stem in ("miou_vs_snr", "bler_vs_snr", "images_lost_vs_snr"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
        assert (tmp_path / f"{stem}.png").stat().st_size > 20_000


def _codec_row(codec, depth=3, scale=1.0):
    return _semantic_row(10, system=f"{codec}_{depth}", codec=codec, depth=depth, base_width=8,
                         params=int(1e5 * scale), size_mb=0.4 * scale, gflops=0.2 * scale, gflops_device=0.1 * scale,
                         base64_params=int(6.4e6 * scale), base64_size_mb=25.6 * scale, base64_gflops=12.0 * scale,
                         base64_gflops_device=6.0 * scale, q_flops_ratio=scale, q_size_ratio=scale,
                         q=0.9 - 0.3 * scale)


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
    assert {p.name for p in make_plots(tmp_path, ["depth_ablation"], "")} == {"depth_ablation.png",
                                                                               "depth_ablation.pdf"}
