"""The main job through the command line: a quick run by default, the full awgn_sweep (slow) with the physics
checks of the main-job issue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lssc_sim.cli import main
from lssc_sim.engine.results import read_csv
from lssc_sim.plots.image import shannon_snr_db

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _run(tmp_path, monkeypatch, name: str, *flags: str) -> list[dict]:
    monkeypatch.chdir(tmp_path)
    assert main([str(SCENARIOS / f"{name}.yaml"), "--no-progress", *flags]) == 0
    folder = tmp_path / "results" / (name + ("_quick" if "--quick" in flags else ""))
    for plot in ("miou_vs_snr", "bler_vs_snr", "images_lost_vs_snr"):
        assert (folder / f"{plot}.png").stat().st_size > 10_000 and (folder / f"{plot}.pdf").is_file()
    return read_csv(folder / "results.csv")


def test_quick_main_job_runs_both_systems_on_the_same_points(tmp_path, monkeypatch):
    rows = _run(tmp_path, monkeypatch, "awgn_sweep", "--quick")
    semantic = {r["snr_db"] for r in rows if r["kind"] == "semantic"}
    for modulation in ("qpsk", "16qam"):
        digital = [r for r in rows if r["kind"] == "digital_image" and r["modulation"] == modulation]
        assert {r["snr_db"] for r in digital} == semantic and len(semantic) == 4
        assert all(r["images"] == 8 for r in digital)
        top = max(digital, key=lambda r: r["snr_db"])
        assert top["images_lost"] == 0 and top["miou"] == top["clean_miou"]  # lossless above the cliff


@pytest.mark.slow
def test_full_main_job_cliff_and_graceful_degradation(tmp_path, monkeypatch):
    rows = _run(tmp_path, monkeypatch, "awgn_sweep")
    qpsk = sorted(
        (r for r in rows if r["kind"] == "digital_image" and r["modulation"] == "qpsk"), key=lambda r: r["snr_db"]
    )
    assert len(qpsk) == 31 and all(r["images"] >= 100 for r in qpsk)
    # above the cliff the digital link is lossless: every image delivered bit-exactly, clean-image mIoU exactly
    for r in qpsk[-10:]:
        assert r["images_exact"] == r["images"] and r["miou"] == r["clean_miou"]
    # its cliff (first SNR losing at most half the images) lies within 2.5 dB of its Shannon marker
    cliff = next(r["snr_db"] for r in qpsk if r["images_lost"] <= r["images"] / 2)
    marker = shannon_snr_db("awgn", qpsk[0]["source_bits_per_image"], qpsk[0]["channel_uses_per_image"])
    assert 0 <= cliff - marker <= 2.5, (cliff, marker)
    # the semantic codec has no cliff: no drop over 0.05 between neighbouring 1 dB points from 25 dB to 0 dB
    lssc = sorted((r for r in rows if r["kind"] == "semantic"), key=lambda r: r["snr_db"])
    miou = np.array([r["miou"] for r in lssc if r["snr_db"] >= 0])
    assert np.max(np.abs(np.diff(miou))) <= 0.05, miou
