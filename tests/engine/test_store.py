"""A results store that detects damage: checksummed Point files, one run per folder, stale Points, results.csv
edited after the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lssc_sim.cli import main
from lssc_sim.engine.lock import FolderBusy, folder_lock
from lssc_sim.engine.results import ResultStore, read_csv
from lssc_sim.engine.runner import run_scenario
from lssc_sim.engine.scenario import load_scenario

SMALL = """
name: store
seed: 3
systems:
  uncoded: {kind: ber, max_bits: 4800, target_bit_errors: 100000000}
sweep: {snr_db: [0, 4, 8], modulation: [qpsk]}
"""


@pytest.fixture
def scenario_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.yaml"
    path.write_text(SMALL)
    return path


def _ber_cells(out: Path) -> list[float]:
    return [row["ber"] for row in read_csv(out / "results.csv")]


def _edit(path: Path) -> None:
    """Change one counter and keep valid JSON: only the checksum can tell."""
    record = json.loads(path.read_text())
    record["counters"]["ber"] = 0.123456
    path.write_text(json.dumps(record, indent=1, sort_keys=True))


def _unchecked(path: Path) -> None:
    record = json.loads(path.read_text())
    del record["sha256"]
    path.write_text(json.dumps(record))


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda p: p.write_text(p.read_text()[:40]), "not valid JSON"),
        (_edit, "checksum mismatch"),
        (_unchecked, "no checksum"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "unreadable"),
    ],
    ids=["truncated", "edited", "checksum removed", "not text"],
)
def test_a_damaged_point_file_is_named_recomputed_and_never_read_into_results_csv(
    scenario_path, tmp_path, damage, reason, caplog
):
    scenario = load_scenario(scenario_path)
    out = tmp_path / "out"
    run_scenario(scenario, out, progress=False)
    clean = _ber_cells(out)
    store = ResultStore(out)
    victim = store.path(scenario.points()[1].key)
    damage(victim)
    record, problem = store.inspect(scenario.points()[1].key)
    assert record is None and reason in problem
    store.write_csv(p.key for p in scenario.points())  # a damaged Point is left out of results.csv ...
    assert len(read_csv(out / "results.csv")) == 2 and 0.123456 not in _ber_cells(out)
    summary = run_scenario(scenario, out, progress=False)  # ... and recomputed, by name
    assert summary.damaged == [victim.name] and summary.computed == 1
    if reason == "no checksum":  # files from before checksums come in folders full of them: one line for all
        assert "1 Point files in " in caplog.text and "carry no checksum" in caplog.text
    else:
        assert victim.name in caplog.text and reason in caplog.text
    assert _ber_cells(out) == clean  # the same seed gives the same Point back
    assert json.loads((out / "manifest.json").read_text())["points_damaged"] == [victim.name]


def test_a_point_file_renamed_to_another_key_is_not_trusted(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    out = tmp_path / "out"
    run_scenario(scenario, out, progress=False)
    store = ResultStore(out)
    first, second = (store.path(p.key) for p in scenario.points()[:2])
    first.write_text(second.read_text())  # a sound file, but of another Point
    assert "holds Point" in store.inspect(scenario.points()[0].key)[1]


def test_the_cli_names_a_damaged_file(scenario_path, tmp_path, capsys, caplog):
    out = tmp_path / "out"
    assert main([str(scenario_path), "--out", str(out), "--no-progress"]) == 0
    victim = sorted((out / "points").glob("*.json"))[0]
    _edit(victim)
    capsys.readouterr()
    assert main([str(scenario_path), "--out", str(out), "--no-progress"]) == 0
    assert f"{victim}: checksum mismatch (edited or damaged on disk); recomputing it" in caplog.text
    assert "1 Points computed, 2 already stored, 1 damaged files recomputed" in capsys.readouterr().out


HOLD = """
import sys, time
from lssc_sim.engine.lock import folder_lock
with folder_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_run_into_the_same_folder_is_refused_and_a_killed_holder_leaves_no_lock(scenario_path, tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        scenario = load_scenario(scenario_path)
        with pytest.raises(FolderBusy, match=rf"{out} is in use by another run \(pid {holder.pid} on "):
            run_scenario(scenario, out, progress=False)
        assert not (out / "points").exists()  # refused before writing anything
        assert main([str(scenario_path), "--out", str(out), "--no-progress"]) == 3
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # kill -9 left the lock file behind, but not the lock: the next run goes ahead
    assert (out / ".lock").exists()
    assert run_scenario(load_scenario(scenario_path), out, progress=False).computed == 3


def test_the_lock_is_released_after_a_run_and_is_not_reentrant_across_processes(tmp_path):
    with folder_lock(tmp_path):
        pass
    with folder_lock(tmp_path):  # released: taken again
        code = f"from lssc_sim.engine.lock import folder_lock\nwith folder_lock({str(tmp_path)!r}): pass"
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert child.returncode != 0 and "FolderBusy" in child.stderr and f"pid {os.getpid()}" in child.stderr


def test_the_lock_is_not_reentrant_across_threads_of_one_process(tmp_path):
    """A second run from another thread (a notebook) is refused, not nested; the holding thread still nests."""
    outcome = []

    def second_run():
        try:
            with folder_lock(tmp_path):
                outcome.append("went ahead")
        except FolderBusy as exc:
            outcome.append(str(exc))

    with folder_lock(tmp_path):
        with folder_lock(tmp_path):  # the same thread: nested use
            thread = threading.Thread(target=second_run)
            thread.start()
            thread.join()
    assert len(outcome) == 1 and outcome[0].startswith(f"{tmp_path} is in use by another run (pid {os.getpid()} ")
    thread = threading.Thread(target=second_run)  # released by the first thread: the second takes it
    thread.start()
    thread.join()
    assert outcome[1] == "went ahead"


def test_stale_points_are_listed_and_pruned(scenario_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(scenario_path), "--out", str(out), "--no-progress"]) == 0
    old = set((out / "points").glob("*.json"))
    # a new version of the scenario (another seed): its Points have other keys, the old ones become stale
    assert main([str(scenario_path), "seed=4", "--out", str(out), "--no-progress"]) == 0
    assert "3 stale files in points/" in capsys.readouterr().out
    (out / "points" / ".abc.json.x1.tmp").write_text("{")  # what a write killed before its rename leaves
    assert main([str(scenario_path), "seed=4", "--out", str(out), "--stale"]) == 0
    listed = capsys.readouterr().out
    assert all(f"stale: {p} (uncoded, scenario " in listed for p in old) and "temporary file" in listed
    assert set((out / "points").glob("*.json")) > old  # --stale removes nothing
    assert main([str(scenario_path), "seed=4", "--out", str(out), "--prune"]) == 0
    assert "4 files removed" in capsys.readouterr().out
    remaining = sorted(p.name for p in (out / "points").iterdir())
    assert len(remaining) == 3 and not old & set((out / "points").glob("*.json"))
    assert main([str(scenario_path), "seed=4", "--out", str(out), "--no-progress"]) == 0
    assert "0 Points computed, 3 already stored" in capsys.readouterr().out


def test_plot_only_refuses_a_results_csv_changed_after_the_run(scenario_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(scenario_path), "--out", str(out), "--no-progress"]) == 0
    assert main([str(scenario_path), "--out", str(out), "--plot-only"]) == 0
    csv = out / "results.csv"
    csv.write_text(csv.read_text().replace("uncoded", "uncodex", 1))
    assert main([str(scenario_path), "--out", str(out), "--plot-only"]) == 2
    assert "results.csv was changed after the run wrote it" in capsys.readouterr().err
    assert main([str(scenario_path), "--out", str(out), "--no-progress"]) == 0  # a rerun rewrites it
    assert main([str(scenario_path), "--out", str(out), "--plot-only"]) == 0


def test_point_files_round_trip_their_checksum_with_numpy_values_and_nan(tmp_path):
    import numpy as np

    store = ResultStore(tmp_path)
    counters = {"ber": np.float32(0.1), "n": np.int64(7), "miou": float("nan"), "iou": np.array([0.5, np.nan])}
    store.save("k", {"system": "s"}, counters, 1.0, "run", "hash")
    record, problem = store.inspect("k")
    assert problem is None and record["counters"]["n"] == 7 and np.isnan(record["counters"]["miou"])
    assert record["scenario_hash"] == "hash" and record["counters"]["ber"] == pytest.approx(0.1)


def test_plot_only_and_prune_wait_for_no_one_while_a_run_holds_the_folder(scenario_path, tmp_path):
    out = tmp_path / "out"
    assert main([str(scenario_path), "--out", str(out), "--no-progress"]) == 0
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main([str(scenario_path), "--out", str(out), "--plot-only"]) == 3
        assert main([str(scenario_path), "--out", str(out), "--prune"]) == 3
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


def test_the_api_holds_the_folder_through_the_run_and_the_drawing(scenario_path, tmp_path, monkeypatch):
    """Another process trying the folder while the report is being written is refused."""
    import lssc_sim
    from lssc_sim import api

    out = tmp_path / "out"
    seen = []
    draw = api.draw

    def draw_and_probe(scenario, folder):
        code = f"from lssc_sim.engine.lock import folder_lock\nwith folder_lock({str(folder)!r}): pass"
        seen.append(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode)
        return draw(scenario, folder)

    monkeypatch.setattr(api, "draw", draw_and_probe)
    result = lssc_sim.run(scenario_path, out=out)
    assert seen == [1] and result.report[1].name == "report.html"
    code = f"from lssc_sim.engine.lock import folder_lock\nwith folder_lock({str(out)!r}): pass"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0  # released afterwards


def test_results_csv_derives_rates_at_fps_and_keeps_timings_apart(tmp_path):
    store = ResultStore(tmp_path)
    counters = {
        "source_bits_per_image": 2000.0,
        "channel_uses_per_image": 1000.0,
        "device_seconds": 0.004,
        "stage_seconds": {"encoding": 0.5},
    }
    store.save("a", {"system": "e2", "kind": "label_map"}, counters, 1.0, "run")
    store.save("b", {"system": "lssc", "kind": "semantic"}, {"channel_uses_per_image": 10.0}, 1.0, "run")
    store.write_csv(["a", "b"], fps=30.0)
    rows = {r["system"]: r for r in read_csv(tmp_path / "results.csv")}
    assert rows["e2"]["source_mbit_per_s"] == pytest.approx(0.06) and rows["e2"]["channel_msym_per_s"] == 0.03
    assert "source_mbit_per_s" not in rows["lssc"]  # no bits: an analog system has a symbol rate only
    assert not {"device_seconds", "stage_seconds"} & set(rows["e2"])  # measurements differ run to run
    timings = {r["key"]: r for r in read_csv(tmp_path / "timings.csv")}
    assert timings["a"]["device_seconds"] == 0.004 and timings["a"]["stage_seconds.encoding"] == 0.5
