"""The Ray executor on a local Ray runtime of 2 CPUs: the local executor's results on a ber and an image scenario,
a worker killed mid-run, a resumed run, Ctrl-C on the driver (slow), the manifest."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from importlib.util import find_spec
from pathlib import Path

import pytest

from lssc_sim.engine.results import TIMING_COUNTERS, ResultStore
from lssc_sim.engine.runner import run_scenario
from lssc_sim.engine.scenario import load_scenario

needs_ray = pytest.mark.skipif(find_spec("ray") is None, reason="the ray extra is not installed")
REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # seconds: generous, a loaded 2-core machine starts Ray and TensorFlow slowly
SLOW_BITS = 4_000_000  # per Point: 0.1 to 0.6 s, so that a run of 20 Points can be stopped mid-way

BER = """
name: ray_ber
seed: 5
systems:
  uncoded: {{kind: ber, max_bits: {max_bits}, target_bit_errors: 100000000}}
sweep:
  snr_db: [{snrs}]
  channel: [awgn, {{name: rayleigh, coherence: block, block_length: 16}}]
  modulation: [qpsk, 16qam]
plots: []
"""

# Both image systems of the main job at its --quick size on 3 images and 2 SNRs (one below the digital cliff)
IMAGES = """
name: ray_images
seed: 1
dataset: {name: synthetic_portraits, split: test, num_images: 3, image_size: 128, seed: 0}
systems:
  lssc: {kind: semantic, weights: lssc_awgn}
  png_ldpc:
    kind: digital_image
    source: {codec: png}
    fec: {code: ldpc5g, k: 4032, rate: 0.5, decoder: fast}
    receiver: {mode: strict, segmenter: unet_segmenter}
sweep: {snr_db: [2, 12], channel: [awgn], modulation: [qpsk]}
plots: []
"""


def write(tmp_path: Path, text: str, **fields) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text.format(**fields) if fields else text)
    return path


def point_counters(out: Path) -> dict[str, dict]:
    """Every stored Point's parameters and counters, timings left out: what must not depend on the executor."""
    stored = {}
    for path in (out / "points").glob("*.json"):
        record = json.loads(path.read_text())
        counters = {k: v for k, v in record["counters"].items() if k not in TIMING_COUNTERS}
        stored[record["key"]] = {"params": record["params"], "counters": counters}
    return stored


def assert_same_results(a: Path, b: Path) -> None:
    assert (a / "results.csv").read_text() == (b / "results.csv").read_text()
    assert point_counters(a) == point_counters(b)


@pytest.fixture(scope="module")
def ray_runtime():
    """One local Ray runtime of 2 CPUs for the module (it takes seconds to start), shut down at the end."""
    from lssc_sim.engine.ray_executor import require_ray

    ray = require_ray()  # also keeps Ray from warning that it enabled token authentication
    ray.init("local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def ber_runs(ray_runtime, tmp_path_factory):
    """The ber scenario (8 Points) run by the local and by the Ray executor, into two folders."""
    tmp = tmp_path_factory.mktemp("ber")
    scenario = load_scenario(write(tmp, BER, max_bits=24_000, snrs="0, 6"))
    local = run_scenario(scenario, tmp / "local", progress=False)
    on_ray = run_scenario(scenario, tmp / "ray", executor="ray", workers=2, progress=False)
    return scenario, tmp / "local", tmp / "ray", local, on_ray


@needs_ray
def test_ber_scenario_same_results_as_local(ber_runs):
    _, local_out, ray_out, local, on_ray = ber_runs
    assert local.computed == on_ray.computed == 8 and on_ray.skipped == 0
    assert_same_results(local_out, ray_out)


@needs_ray
def test_manifest_records_ray_and_the_cluster(ber_runs):
    _, _, ray_out, _, _ = ber_runs
    manifest = json.loads((ray_out / "manifest.json").read_text())
    assert manifest["executor"] == "ray" and manifest["status"] == "finished"
    assert manifest["workers"] == 2 and manifest["threads_per_worker"] == 1  # a runtime already running: 1
    assert manifest["points_computed"] == 8 and manifest["points_skipped"] == 0
    import ray

    info = manifest["ray"]
    assert info["version"] == ray.__version__ and info["nodes"] == 1 and info["cpus"] == 2
    assert info["node_list"][0]["cpus"] == 2 and info["node_list"][0]["ip"]
    assert len(manifest["runs"]) == 1


@needs_ray
def test_image_scenario_same_results_as_local(ray_runtime, tmp_path):
    path = write(tmp_path, IMAGES)
    # The local executor with one thread, as each Ray worker here: TensorFlow's float sums (the semantic decoder,
    # the segmenter) may differ in their last bits with the thread count, whichever executor runs them. In a
    # child process, since this one's TensorFlow has sized its pools already.
    # (OMP_NUM_THREADS: what Ray sets in an actor of one CPU)
    one_thread = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    one_thread["OMP_NUM_THREADS"] = "1"
    local = subprocess.run(
        [sys.executable, str(REPO / "run_scenario.py"), str(path), "--quick", "--out", str(tmp_path / "local")],
        env={**os.environ, **one_thread},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert local.returncode == 0, local.stdout + local.stderr
    scenario = load_scenario(path, quick=True)
    on_ray = run_scenario(scenario, tmp_path / "ray", executor="ray", workers=2, progress=False)
    assert on_ray.computed == 4 and json.loads((tmp_path / "ray/manifest.json").read_text())["threads_per_worker"] == 1
    assert_same_results(tmp_path / "local", tmp_path / "ray")
    rows = point_counters(tmp_path / "ray").values()
    assert {r["params"]["kind"] for r in rows} == {"semantic", "digital_image"}


@needs_ray
def test_resumed_run_computes_only_the_missing_points(ber_runs, tmp_path):
    scenario, local_out, ray_out, _, _ = ber_runs
    out = tmp_path / "partial"
    shutil.copytree(ray_out, out)
    store = ResultStore(out)
    removed = [p.key for p in scenario.points()[::3]]  # as if the run had stopped before these
    for key in removed:
        store.path(key).unlink()
    kept = {p.name: p.read_text() for p in store.points_dir.glob("*.json")}
    again = run_scenario(scenario, out, executor="ray", workers=2, progress=False)
    assert (again.computed, again.skipped) == (len(removed), 8 - len(removed))
    for name, text in kept.items():  # a stored Point is never recomputed
        assert store.points_dir.joinpath(name).read_text() == text
    assert_same_results(local_out, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["points_computed"] for r in manifest["runs"]] == [8, len(removed)]


def _busy_worker(root: int) -> int | None:
    """A descendant of process ``root`` that Ray titles ``ray::PointWorker.run``: an actor of ours mid-Point."""
    children: dict[int, list[int]] = {}
    titles: dict[int, bytes] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            titles[int(proc.name)] = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):  # the process ended while we looked
            continue
        children.setdefault(parent, []).append(int(proc.name))
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if titles.get(pid, b"").startswith(b"ray::PointWorker.run"):
            return pid
        todo += children.get(pid, [])
    return None


@needs_ray
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the worker's title from /proc")
def test_worker_killed_mid_point_is_retried_and_the_run_completes(ray_runtime, tmp_path):
    scenario = load_scenario(write(tmp_path, BER, max_bits=SLOW_BITS, snrs="0, 2, 4, 6, 8"))  # 20 Points
    out = tmp_path / "killed"
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["summary"] = run_scenario(scenario, out, executor="ray", workers=2, progress=False)
        except BaseException as exc:  # re-raised by the test below
            outcome["error"] = exc

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    deadline = time.monotonic() + TIMEOUT
    # once a Point is stored (systems built, the run under way), kill a worker that is running a Point: the
    # runtime was started by this process, so its actors are among our descendants
    pid = None
    while runner.is_alive() and time.monotonic() < deadline and pid is None:
        if any(out.glob("points/*.json")):
            pid = _busy_worker(os.getpid())
        time.sleep(0.01)
    assert pid is not None, outcome.get("error", "no worker was seen running a Point")
    os.kill(pid, signal.SIGKILL)
    stored = len(list(out.glob("points/*.json")))
    assert stored < 20, "the run finished before its worker could be killed; make the Points slower"
    runner.join(TIMEOUT)
    assert not runner.is_alive(), "the run did not finish after its worker was killed"
    if "error" in outcome:
        raise outcome["error"]
    assert outcome["summary"].computed == 20  # the killed worker's Point too: Ray restarted it and retried
    log = json.loads((out / "manifest.json").read_text())
    assert log["status"] == "finished" and log["points_computed"] == 20
    run_scenario(scenario, tmp_path / "local", progress=False)
    assert_same_results(tmp_path / "local", out)


@needs_ray
@pytest.mark.slow  # two runs in child processes, each starting its own Ray runtime: about 45 s on 2 cores
def test_ctrl_c_on_the_driver_leaves_whole_points_and_the_rerun_resumes(tmp_path, terminal_sigint):
    path = write(tmp_path, BER, max_bits=SLOW_BITS, snrs="0, 2, 4, 6, 8")  # 20 Points
    out = tmp_path / "interrupted"
    cmd = [sys.executable, str(REPO / "run_scenario.py"), str(path), "--out", str(out), "--no-progress"]
    cmd += ["--executor", "ray", "--workers", "2"]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=terminal_sigint,
    )
    deadline = time.monotonic() + TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline and len(list(out.glob("points/*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the whole process group
    output, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130, output
    assert "rerun the same command to resume" in output and "Traceback" not in output
    stored = list(out.glob("points/*.json"))
    assert 3 <= len(stored) < 20
    assert all(json.loads(p.read_text())["key"] == p.stem for p in stored)  # every stored Point is whole
    assert not list(out.glob("points/.*.tmp"))
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{20 - len(stored)} Points computed, {len(stored)} already stored" in rerun.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["status"] for r in manifest["runs"]] == ["interrupted", "finished"]


def test_missing_ray_or_misplaced_address_is_refused(monkeypatch, tmp_path, capsys):
    from lssc_sim.cli import main
    from lssc_sim.engine.ray_executor import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # what an import of an absent package does
    with pytest.raises(ImportError, match=r"pip install -e '\.\[ray\]'"):
        require_ray()
    scenario = load_scenario(write(tmp_path, BER, max_bits=1000, snrs="0"))
    with pytest.raises(ImportError, match="optional extra"):
        run_scenario(scenario, tmp_path / "out", executor="ray", progress=False)
    assert not (tmp_path / "out").exists()  # refused before anything was written
    with pytest.raises(ValueError, match="address names the Ray cluster"):
        run_scenario(scenario, tmp_path / "out", address="auto", progress=False)
    for args, message in [
        (["--executor", "ray"], "pip install -e '.[ray]'"),
        (["--address", "auto"], "--address names the Ray cluster of --executor ray"),
        (["--executor", "process", "--address", "auto"], "found --executor process"),
    ]:
        with pytest.raises(SystemExit) as info:
            main([str(tmp_path / "scenario.yaml"), "--out", str(tmp_path / "out"), *args])
        assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
