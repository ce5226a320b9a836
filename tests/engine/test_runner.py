"""The runner: identical results from both executors, resume after kill -9, --force, --plot-only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lssc_sim.cli import main
from lssc_sim.engine.results import ResultStore, read_csv
from lssc_sim.engine.runner import run_scenario
from lssc_sim.engine.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]

# Uncoded links only: cheap Points that still exercise channel, modem and counters.
SMALL = """
name: small
seed: 11
systems:
  uncoded:
    kind: ber
    max_bits: {max_bits}
    target_bit_errors: 100000000
sweep:
  snr_db: [{snrs}]
  channel: [awgn, {{name: rayleigh, coherence: block, block_length: 16}}]
  modulation: [qpsk, 16qam]
plots: [ber_vs_snr]
"""


def scenario_file(tmp_path: Path, max_bits: int = 24_000, snrs: str = "0, 6") -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.format(max_bits=max_bits, snrs=snrs))
    return path


def test_local_and_process_executors_write_identical_csv(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path))
    local = run_scenario(scenario, tmp_path / "local", executor="local", progress=False)
    pooled = run_scenario(scenario, tmp_path / "process", executor="process", workers=2, threads=1, progress=False)
    assert local.computed == pooled.computed == 8
    a = (tmp_path / "local" / "results.csv").read_text()
    b = (tmp_path / "process" / "results.csv").read_text()
    assert a == b
    assert len(a.splitlines()) == 9
    rows = read_csv(tmp_path / "local" / "results.csv")
    assert {(r["snr_db"], r["channel"], r["modulation"]) for r in rows} == {
        (s, c, m) for s in (0, 6) for c in ("awgn", "rayleigh") for m in ("qpsk", "16qam")
    }
    assert all(r["bits"] >= 24_000 and 0 < r["ber"] < 0.5 for r in rows)
    manifest = json.loads((tmp_path / "process" / "manifest.json").read_text())
    assert manifest["versions"]["tensorflow"].startswith("2.19")
    assert manifest["points_computed"] == 8 and manifest["executor"] == "process"
    assert manifest["workers"] == 2 and manifest["threads_per_worker"] == 1
    with pytest.raises(ValueError, match="threads sizes the process executor"):
        run_scenario(scenario, tmp_path / "local", threads=1, progress=False)


def test_results_do_not_depend_on_order(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path))
    points = scenario.points()
    store = ResultStore(tmp_path / "reversed")
    from lssc_sim.engine.runner import run_point

    for point in reversed(points):
        counters, _ = run_point(scenario, point)
        store.save(point.key, point.params(), counters, 0.0, "x")
    store.write_csv(p.key for p in points)
    run_scenario(scenario, tmp_path / "forward", progress=False)
    assert (tmp_path / "reversed/results.csv").read_text() == (tmp_path / "forward/results.csv").read_text()


def test_resume_skips_stored_points_and_force_recomputes(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path))
    first = run_scenario(scenario, tmp_path / "out", progress=False)
    again = run_scenario(scenario, tmp_path / "out", progress=False)
    assert (first.computed, again.computed, again.skipped) == (8, 0, 8)
    # a damaged Point file (not written by us: we write atomically) is recomputed, not trusted
    victim = ResultStore(tmp_path / "out").path(scenario.points()[0].key)
    victim.write_text('{"key": "trunc')
    assert run_scenario(scenario, tmp_path / "out", progress=False).computed == 1
    forced = run_scenario(scenario, tmp_path / "out", force=True, progress=False)
    assert forced.computed == 8


def test_kill_minus_nine_then_resume_matches_uninterrupted_run(tmp_path):
    path = scenario_file(tmp_path, max_bits=400_000, snrs="0, 2, 4, 6, 8")  # 20 Points, ~0.3 s each
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        str(REPO / "run_scenario.py"),
        str(path),
        "--out",
        str(out),
        "--executor",
        "process",
        "--workers",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    points_dir = out / "points"
    deadline = time.time() + 180
    while time.time() < deadline and len(list(points_dir.glob("*.json"))) < 4:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; make the Points slower"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.read_text() for p in points_dir.glob("*.json")}
    assert 4 <= len(before) < 20

    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
    after = {p.name: p.read_text() for p in points_dir.glob("*.json")}
    assert len(after) == 20
    for name, text in before.items():  # no stored Point was computed twice
        assert after[name] == text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["points_computed"] == 20 - len(before)

    reference = tmp_path / "reference"
    run_scenario(load_scenario(path), reference, progress=False)
    assert (out / "results.csv").read_text() == (reference / "results.csv").read_text()


def test_cli_plot_only_quick_and_list(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = scenario_file(tmp_path)
    assert main([str(path), "--quick", "--no-progress"]) == 0
    out = tmp_path / "results" / "small_quick"
    png = out / "ber_vs_snr.png"
    assert png.is_file() and (out / "ber_vs_snr.pdf").is_file()
    stored = sorted(p.read_text() for p in (out / "points").glob("*.json"))
    png.unlink()
    reports = [out / "report.md", out / "report.html"]
    for report in reports:
        report.unlink()
    assert main([str(path), "--quick", "--plot-only"]) == 0
    assert png.is_file() and all(report.is_file() for report in reports)
    assert sorted(p.read_text() for p in (out / "points").glob("*.json")) == stored
    assert main(["--list"]) == 0
    listing = capsys.readouterr().out
    assert "rayleigh" in listing and "16qam" in listing and "ber" in listing


def test_cli_rejects_bad_scenario_with_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(SMALL.format(max_bits=-1, snrs="0"))
    assert main([str(path)]) == 2
    assert "systems.uncoded.max_bits" in capsys.readouterr().err


def test_plot_only_without_results_is_an_error(tmp_path, capsys):
    assert main([str(scenario_file(tmp_path)), "--plot-only", "--out", str(tmp_path / "none")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args", [["--address", "auto"], ["--workers", "x"], ["--threads", "1"], ["--executor", "process", "--threads", "0"]]
)
def test_cli_rejects_bad_arguments(tmp_path, args):
    with pytest.raises(SystemExit) as info:
        main([str(scenario_file(tmp_path)), *args])
    assert info.value.code == 2


def test_ctrl_c_exits_cleanly_and_the_rerun_completes(tmp_path, terminal_sigint):
    path = scenario_file(tmp_path, max_bits=400_000, snrs="0, 2, 4, 6, 8")
    out = tmp_path / "interrupted"
    cmd = [
        sys.executable,
        str(REPO / "run_scenario.py"),
        str(path),
        "--out",
        str(out),
        "--executor",
        "process",
        "--workers",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=terminal_sigint,
    )
    deadline = time.time() + 180
    while time.time() < deadline and len(list((out / "points").glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the whole process group
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert "rerun the same command to resume" in output and "Traceback" not in output
    stored = list((out / "points").glob("*.json"))
    assert all(json.loads(p.read_text())["key"] == p.stem for p in stored)  # every stored Point is whole
    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
    assert len(list((out / "points").glob("*.json"))) == 20
