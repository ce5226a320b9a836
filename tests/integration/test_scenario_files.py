"""The shipped scenario files: all valid, and the BER ones reproduce theory through the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lssc_sim import theory
from lssc_sim.cli import main
from lssc_sim.engine.results import read_csv
from lssc_sim.engine.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


def test_there_are_scenarios():
    assert {"ber_awgn.yaml", "ber_rayleigh.yaml"} <= {p.name for p in SCENARIOS}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenario_is_valid(path):
    scenario = load_scenario(path)
    assert scenario.points() and scenario.spec.plots


def check_uncoded_rows_against_theory(rows, min_errors: int = 1000, rel: float = 0.12) -> int:
    """Every uncoded row with enough errors within ``rel`` of theory; returns how many were checked.

    1000 errors give a relative standard deviation near 3% (more: the bits of one symbol share its noise and
    gain), so 12% is a 4-sigma bound.
    """
    closed_form = {"awgn": theory.ber_awgn, "rayleigh": theory.ber_rayleigh}
    checked = 0
    for row in rows:
        if "fec.k" in row or row["bit_errors"] < min_errors or row["channel"] not in closed_form:
            continue
        expected = closed_form[row["channel"]](row["ebno_db"], row["modulation"])
        # errors come in bursts when a gain lasts many bits, so fewer of them are independent
        bursty = row.get("channel.coherence", "symbol") != "symbol"
        assert row["ber"] == pytest.approx(expected, rel=2 * rel if bursty else rel), row
        checked += 1
    return checked


@pytest.mark.parametrize("name", ["ber_awgn", "ber_rayleigh"])
def test_quick_run_of_ber_scenario_lies_on_theory(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    path = next(p for p in SCENARIOS if p.stem == name)
    assert main([str(path), "--quick", "--no-progress"]) == 0
    out = tmp_path / "results" / f"{name}_quick"
    rows = read_csv(out / "results.csv")
    assert check_uncoded_rows_against_theory(rows) >= 6
    coded = [r for r in rows if "fec.k" in r]
    assert coded and all(np.isfinite(r["bler"]) for r in coded)
    for plot in load_scenario(path).spec.plots:
        assert (out / f"{plot}.png").stat().st_size > 10_000 and (out / f"{plot}.pdf").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ber_awgn", "ber_rayleigh"])
def test_full_ber_scenario(tmp_path, monkeypatch, name):
    """The full scenario as the README runs it: uncoded points on theory, LDPC cliff near Shannon."""
    monkeypatch.chdir(tmp_path)
    path = next(p for p in SCENARIOS if p.stem == name)
    assert main([str(path), "--no-progress", "--executor", "process", "--workers", "2"]) == 0
    rows = read_csv(tmp_path / "results" / name / "results.csv")
    assert check_uncoded_rows_against_theory(rows, rel=0.15) >= 20  # ~100 rows: a 4.5-sigma bound each
    if name == "ber_awgn":
        qpsk = sorted((r for r in rows if "fec.k" in r and r["modulation"] == "qpsk"), key=lambda r: r["ebno_db"])
        first_clean = next(r["ebno_db"] for r in qpsk if r["bler"] < 1e-2)
        limit = float(theory.shannon_ebno_limit_db(2 * qpsk[0]["code_rate"]))
        assert first_clean - limit < 2.0


@pytest.mark.parametrize("name", ["rate_semantic_portraits", "rate_semantic", "j2k_ldpc"])
def test_quick_run_of_rate_and_quality_scenarios(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    path = next(p for p in SCENARIOS if p.stem == name)
    assert main([str(path), "--quick", "--no-progress"]) == 0
    out = tmp_path / "results" / f"{name}_quick"
    rows = read_csv(out / "results.csv")
    for row in rows:
        if row["kind"] == "digital_image":
            assert 0 <= row["ss"] <= 1.05 and row["psnr_db"] > 5 and 0 < row["ssim"] <= 1
            assert (row["source.codec"] in ("png", "raw")) == bool(row["psnr_exact"]) or row["channel"] != "ideal"
    lossy = [r for r in rows if r["channel"] == "ideal" and r.get("source.bpp") not in (None, "")]
    if lossy:  # on the ideal channel every lossy codec's mIoU rises with its rate, up to Monte-Carlo noise
        for codec in {r["source.codec"] for r in lossy}:
            curve = sorted((r["source_bits_per_pixel"], r["miou"]) for r in lossy if r["source.codec"] == codec)
            assert curve[-1][1] >= curve[0][1] - 0.02, (codec, curve)
        exact = [r for r in rows if r["channel"] == "ideal" and r.get("source.codec") in ("png", "raw")]
        assert exact and all(r["miou"] == r["clean_miou"] and r["images_exact"] == r["images"] for r in exact)
    for plot in load_scenario(path).spec.plots:
        produced = [out / f"{plot}.png", out / f"{plot}.pdf"] if plot != "bd_table" else [out / "bd_table.md"]
        assert all(p.is_file() for p in produced), plot


def test_quick_run_of_bandwidth_matched(tmp_path, monkeypatch):
    """Budgets from the shipped codecs' cards; over AWGN the ideal separate scheme is never beaten by a digital
    configuration within its budget (one that beats it would mean channel uses or source bits miscounted)."""
    from lssc_sim import bounds

    monkeypatch.chdir(tmp_path)
    path = next(p for p in SCENARIOS if p.stem == "bandwidth_matched")
    assert main([str(path), "--quick", "--no-progress"]) == 0
    out = tmp_path / "results" / "bandwidth_matched_quick"
    rows = read_csv(out / "results.csv")
    assert bounds.budgets(rows) == [0.0625, 0.5, 4.0, 15.0]
    curve = bounds.rate_curve(rows)
    awgn = [r for r in rows if r["channel"] == "awgn"]
    pixels = 128 * 128
    checked = 0
    for budget in bounds.budgets(rows):
        winners, count = bounds.digital_envelope(awgn, budget)
        assert count > 0
        for w in winners:
            ideal = bounds.separate_scheme_miou(curve, budget, w["snr_db"], w, pixels)
            assert ideal >= w["miou"] - 0.01, (budget, w["snr_db"], w["system"], w["miou"], ideal)
            checked += 1
    assert checked >= 12
    for name in ("miou_vs_snr_matched", "miou_vs_bandwidth"):
        assert (out / f"{name}.png").stat().st_size > 10_000 and (out / f"{name}.pdf").is_file()
    assert "budget 1/16 ch. uses/px" in (out / "envelope_winners.md").read_text()
    # JPEG, JPEG 2000 and AVIF run over the ideal channel only: points of the rate curve, not digital chains
    rate_only = [r for r in rows if r["system"] in ("jpeg", "jpeg2000", "avif")]
    assert rate_only and {r["channel"] for r in rate_only} == {"ideal"}
    assert curve.points == len([r for r in rows if r["channel"] == "ideal" and r["kind"] != "semantic"])


def test_quick_run_of_the_ofdm_scenarios(tmp_path, monkeypatch):
    """The OFDM scenarios run, draw their figures, and carry the overhead columns (the physics of the OFDM
    channel is checked in tests/channels/test_ofdm.py)."""
    monkeypatch.chdir(tmp_path)
    for name in ("ber_ofdm", "tdl_sweep", "csi_ofdm"):
        path = next(p for p in SCENARIOS if p.stem == name)
        assert main([str(path), "--quick", "--no-progress"]) == 0
        out = tmp_path / "results" / f"{name}_quick"
        for plot in load_scenario(path).spec.plots:
            assert (out / f"{plot}.png").is_file() and (out / f"{plot}.pdf").is_file()
    blocks = read_csv(tmp_path / "results" / "ber_ofdm_quick" / "results.csv")
    assert all(r["pilot_uses_per_block"] > 0 for r in blocks)
    images = read_csv(tmp_path / "results" / "tdl_sweep_quick" / "results.csv")
    assert all(r["pilot_uses_per_image"] > 0 and r["cp_covers_delay"] for r in images)


def test_quick_run_of_split_computing(tmp_path, monkeypatch):
    """E1, E2, E3 on street scenes: above the cliff the label map and the features arrive bit-exact (E2 scores
    the transmitter's segmenter exactly, E3 its quantised features); rates at the scenario's fps; every chart."""
    monkeypatch.chdir(tmp_path)
    path = next(p for p in SCENARIOS if p.stem == "split_computing")
    assert main([str(path), "--quick", "--no-progress"]) == 0
    out = tmp_path / "results" / "split_computing_quick"
    rows = read_csv(out / "results.csv")
    assert {r["kind"] for r in rows} == {"digital_image", "label_map", "split_digital"}
    for r in rows:
        if r["images_lost"] == 0 and r["kind"] != "digital_image":
            assert r["miou"] == r["clean_miou"], r["system"]
        assert r["source_mbit_per_s"] == pytest.approx(r["source_bits_per_image"] * 30 / 1e6)
    assert any(r["images_lost"] == 0 and r["kind"] == "label_map" for r in rows)
    e2 = next(r for r in rows if r["kind"] == "label_map")
    e1 = next(r for r in rows if r["kind"] == "digital_image")
    assert e2["clean_miou"] == pytest.approx(e1["clean_miou"], abs=1e-12)  # one segmenter, device or receiver
    for plot in load_scenario(path).spec.plots:
        assert (out / f"{plot}.png").is_file() and (out / f"{plot}.pdf").is_file()
    assert "device_seconds" in (out / "timings.csv").read_text().splitlines()[0]


def test_quick_run_of_compression(tmp_path, monkeypatch):
    """Weight bits and sparsity swept at 10 dB: float weights unchanged, 16-bit weights within 0.002 of them
    without noise, the size shrinking with bits; the delivery table written."""
    monkeypatch.chdir(tmp_path)
    path = next(p for p in SCENARIOS if p.stem == "compression")
    assert main([str(path), "--quick", "--no-progress"]) == 0
    out = tmp_path / "results" / "compression_quick"
    rows = read_csv(out / "results.csv")
    quantised = sorted((r for r in rows if r["system"] == "lssc_per_tensor"), key=lambda r: r["weight_bits"])
    assert [r["weight_bits"] for r in quantised] == [2, 6, 32]
    sizes = [r["model_bytes_device"] for r in quantised]
    assert sizes == sorted(sizes) and quantised[-1]["model_bytes_device"] == quantised[-1]["model_float_bytes_device"]
    unpruned = next(r for r in rows if r["system"] == "lssc_pruned" and r["sparsity"] == 0)
    assert unpruned["clean_miou"] == quantised[-1]["clean_miou"]
    for plot in load_scenario(path).spec.plots:
        assert (out / f"{plot}.png").is_file() and (out / f"{plot}.pdf").is_file()
    assert "break-even images" in (out / "model_delivery.md").read_text()
