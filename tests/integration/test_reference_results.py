"""Results unchanged by the Ground refactor: the main job, ``ber_awgn`` and ``rayleigh_sweep`` rerun and compared,
Point by Point, with their ``results.csv`` from before it (``tests/data/reference_results/``, made at 2f2f7c3).

The fast paths changed the random streams on purpose (a numba ziggurat instead of NumPy's and Sionna's noise,
NumPy fading gains instead of TensorFlow's, one noise stream per code block), so the comparison is statistical:

* images lost: within 4 standard deviations of the difference of two binomials (+1 image);
* mIoU: within 0.01, plus what the images-lost allowance explains for a digital line (each lost image moves
  the mIoU by (clean - all lost) / images), plus 4 standard deviations of the difference of two independent
  draws as the new run's bootstrap interval over images estimates it: over frame fading, which images fade
  moves a 100-image mIoU by a few hundredths from one draw to the next, far beyond 0.01;
* error rates: BER of uncoded links (bits are independent trials) and BLER of coded links (blocks are; the bit
  errors of one block are not independent) inside the 95 % interval of their difference at 95 % of the Points,
  and inside the 99.9 % one at all of them. Digital image BLERs are not compared: before the refactor they were
  counted over the decoded blocks, which early stopping biased under fading (what the refactor fixed).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lssc_sim.cli import main
from lssc_sim.engine.results import read_csv

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "tests" / "data" / "reference_results"
PARAMS = ("system", "channel", "channel.coherence", "channel.block_length", "modulation", "snr_db")


def _by_point(rows: list[dict]) -> dict[tuple, dict]:
    return {tuple(r.get(p) for p in PARAMS): r for r in rows}


def _run(name: str, tmp_path: Path) -> dict[tuple, dict]:
    out = tmp_path / name
    assert main([str(REPO / "scenarios" / f"{name}.yaml"), "--out", str(out), "--no-progress"]) == 0
    return _by_point(read_csv(out / "results.csv"))


def _two_proportion_z(k1: float, n1: float, k2: float, n2: float) -> float:
    p = (k1 + k2) / (n1 + n2)
    if p in (0.0, 1.0):
        return 0.0
    return abs(k1 / n1 - k2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def _compare_images(new: dict[tuple, dict], ref: dict[tuple, dict]) -> None:
    assert new.keys() == ref.keys()
    for point, r in ref.items():
        n = new[point]
        assert n["channel_uses_per_pixel"] == pytest.approx(r["channel_uses_per_pixel"], rel=1e-9), point
        allowance = 0.0
        if r["kind"] == "digital_image":
            images = r["images"]
            p = (n["images_lost"] + r["images_lost"]) / (2 * images)
            allowance = 4 * math.sqrt(2 * images * p * (1 - p)) + 1
            assert abs(n["images_lost"] - r["images_lost"]) <= allowance, (point, n["images_lost"], r["images_lost"])
            allowance *= (r["clean_miou"] - r["lost_miou"]) / images
        sigma = (n["miou_ci_high"] - n["miou_ci_low"]) / (2 * 1.96)  # bootstrap standard deviation of one draw
        allowance += 4 * math.sqrt(2) * sigma
        assert abs(n["miou"] - r["miou"]) <= 0.01 + allowance, (point, n["miou"], r["miou"], allowance)


def _compare_error_rates(new: dict[tuple, dict], ref: dict[tuple, dict]) -> None:
    assert new.keys() == ref.keys()
    z = []
    for point, r in ref.items():
        n = new[point]
        if "fec.k" in r:
            z.append(_two_proportion_z(n["block_errors"], n["blocks"], r["block_errors"], r["blocks"]))
        else:
            z.append(_two_proportion_z(n["bit_errors"], n["bits"], r["bit_errors"], r["bits"]))
    assert sum(v > 1.96 for v in z) <= 0.05 * len(z) + 2, sorted(z)[-10:]
    assert max(z) < 3.29, max(z)


@pytest.mark.slow
def test_main_job_results_unchanged(tmp_path):
    _compare_images(_run("awgn_sweep", tmp_path), _by_point(read_csv(REFERENCE / "awgn_sweep.csv")))


@pytest.mark.slow
def test_rayleigh_sweep_results_unchanged(tmp_path):
    _compare_images(_run("rayleigh_sweep", tmp_path), _by_point(read_csv(REFERENCE / "rayleigh_sweep.csv")))


@pytest.mark.slow
def test_ber_awgn_results_unchanged(tmp_path):
    _compare_error_rates(_run("ber_awgn", tmp_path), _by_point(read_csv(REFERENCE / "ber_awgn.csv")))
