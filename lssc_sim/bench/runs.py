"""Whole-run benchmarks: the main job (or any scenario) from scratch in a child process, time by stage and the
memory of all its processes (Ray's too); the executors' scaling.
"""

from __future__ import annotations

import json
import os
import time
from importlib.util import find_spec
from pathlib import Path

MAIN_JOB = Path("scenarios/awgn_sweep.yaml")


def bench_scaling(
    points: tuple[int, ...] = (4, 8, 16),
    max_bits: int = 4_000_000,
    image_counts: tuple[int, ...] = (25, 50, 100),
    scenario: Path = MAIN_JOB,
) -> dict:
    """Sweep wall time against the number of Points and of images (local executor), and the process and the
    Ray executors' scaling on ``scenario`` (the main job).

    Every Point of the Points sweep is the same amount of work: ``max_bits`` payload bits of the fast LDPC link
    (QPSK, k = 4032, rate 1/2, AWGN) above its cliff, where the error targets are never reached. The images
    sweep runs the PNG + LDPC digital image system at 3 SNRs above its cliff on ``image_counts`` images.

    The executor runs are whole runs from scratch (:func:`bench_main_job`): the process executor with 1 and with
    2 single-threaded workers (how the executor scales with the processes it is given), the local executor
    (one process, every core in its TensorFlow and numba pools) beside 2 workers (which to use on this machine),
    and, where the ``ray`` extra is installed, the Ray executor with 1 and 2 single-threaded workers on a local
    Ray runtime it starts (its start-up counted; its memory includes Ray's own processes: GCS, raylet, agents).
    """
    import tempfile

    from lssc_sim.engine.runner import run_scenario
    from lssc_sim.engine.scenario import scenario_from_dict

    def points_scenario(count: int):
        return scenario_from_dict(
            {
                "name": f"scaling_{count}",
                "seed": 0,
                "systems": {
                    "ldpc": {
                        "kind": "ber",
                        "fec": {"k": 4032, "rate": 0.5, "decoder": "fast"},
                        "max_bits": max_bits,
                        "target_bit_errors": 10**12,
                    }
                },
                "sweep": {"snr_db": [round(2.0 + 0.1 * i, 2) for i in range(count)], "modulation": ["qpsk"]},
            }
        )

    def images_scenario(count: int):
        # PNG + LDPC(1/2) + QPSK above its cliff at 3 SNRs: every image is sent, decoded and segmented
        return scenario_from_dict(
            {
                "name": f"scaling_images_{count}",
                "seed": 0,
                "dataset": {"name": "synthetic_portraits", "split": "test", "num_images": count, "image_size": 128},
                "systems": {"png": {"kind": "digital_image", "fec": {"k": 4032, "rate": 0.5, "decoder": "fast"}}},
                "sweep": {"snr_db": [10, 15, 20], "modulation": ["qpsk"]},
            }
        )

    def timed(make, count: int) -> float:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            run_scenario(make(count), out, progress=False)
            return time.perf_counter() - t0

    timed(points_scenario, 2)  # warm-up: imports, numba compilation, tracing
    local = {n: timed(points_scenario, n) for n in points}
    timed(images_scenario, 4)  # warm-up: weights, PNG coding
    images = {n: timed(images_scenario, n) for n in image_counts}
    runs = {
        "process_1_worker_1_thread": bench_main_job(scenario, "process", 1, threads=1),
        "process_2_workers_1_thread": bench_main_job(scenario, "process", 2, threads=1),
        "local": bench_main_job(scenario, "local"),
    }
    ray = find_spec("ray") is not None
    if ray:
        runs["ray_1_worker_1_thread"] = bench_main_job(scenario, "ray", 1, threads=1)
        runs["ray_2_workers_1_thread"] = bench_main_job(scenario, "ray", 2, threads=1)
    wall = {name: run["wall_seconds"] for name, run in runs.items()}
    return {
        "points": list(points),
        "max_bits_per_point": max_bits,
        "local_seconds": local,
        "local_seconds_per_point": {k: v / k for k, v in local.items()},
        "images": list(image_counts),
        "images_seconds": images,
        "images_seconds_per_image": {k: v / k for k, v in images.items()},
        "executor_scenario": str(scenario),
        "executor_runs": runs,
        "process_speedup_2_vs_1_worker": wall["process_1_worker_1_thread"] / wall["process_2_workers_1_thread"],
        "local_vs_2_workers": wall["local"] / wall["process_2_workers_1_thread"],
        "ray_speedup_2_vs_1_worker": wall["ray_1_worker_1_thread"] / wall["ray_2_workers_1_thread"] if ray else None,
    }


def tree_rss(pid: int) -> list[int]:
    """Resident memory in bytes of process ``pid`` and of each of its descendants, from ``/proc`` (Linux;
    empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    sizes, todo = [], [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            sizes.append(int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
        except OSError:
            pass
    return sizes


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` and all its descendants together (:func:`tree_rss`)."""
    return sum(tree_rss(pid))


def bench_main_job(
    scenario: Path, executor: str = "local", workers: int = 1, threads: int | None = None, out: Path | None = None
) -> dict:
    """Wall time, time by stage and peak memory of a scenario run from scratch, as a user runs it.

    The scenario runs in a child process (``python run_scenario.py SCENARIO --out TMP``) into an empty folder, so
    imports, weight loading and numba compilation are all counted. Peak memory is sampled every 0.2 s as the
    resident memory of the child and its workers together (``peak_rss_gib``; ``largest_sampled_rss_gib`` is the
    largest single process in those samples); the child's own ``ru_maxrss`` (from ``os.wait4``) gives the
    largest single process at any instant, brief peaks between samples included. Stage times are summed over the Points'
    ``stage_seconds``. ``out`` keeps the results there (it must not hold results of the scenario already: they
    would be skipped, not timed).
    """
    import subprocess
    import sys
    import tempfile
    from collections import Counter

    if out is not None and (Path(out) / "points").is_dir() and any((Path(out) / "points").iterdir()):
        raise ValueError(f"{out} already holds Points: they would be skipped, not timed; give an empty folder")
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(out).resolve()) if out is not None else tmp
        command = [
            sys.executable,
            "run_scenario.py",
            str(Path(scenario).resolve()),
            "--out",
            out,
            "--no-progress",
            "--executor",
            executor,
        ]
        if executor in ("process", "ray"):
            command += ["--workers", str(workers)] + (["--threads", str(threads)] if threads else [])
        t0 = time.perf_counter()
        child = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2])
        peak = largest_sampled = 0
        while True:
            # wait4: this child's own resource use (RUSAGE_CHILDREN would mix in every earlier child of ours)
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            sizes = tree_rss(child.pid)
            peak, largest_sampled = max(peak, sum(sizes)), max(largest_sampled, *sizes, 0)
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        if child.returncode:
            raise subprocess.CalledProcessError(child.returncode, command)
        stages: Counter = Counter()
        point_seconds: Counter = Counter()
        for path in Path(out, "points").glob("*.json"):
            record = json.loads(path.read_text())
            stages.update(record["counters"].get("stage_seconds", {}))
            point_seconds[record["params"]["kind"]] += record["seconds"]
        points = len(list(Path(out, "points").glob("*.json")))
    largest_kib = usage.ru_maxrss  # KiB on Linux: the largest of the child and the workers it waited for
    return {
        "scenario": str(scenario),
        "executor": executor,
        "workers": workers if executor != "local" else 1,
        "threads_per_worker": threads,
        "points": points,
        "wall_seconds": wall,
        "point_seconds_by_kind": dict(point_seconds),
        "stage_seconds": {k: round(v, 2) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
        "peak_rss_gib": peak / 2**30,
        "largest_process_rss_gib": largest_kib / 2**20,
        "largest_sampled_rss_gib": largest_sampled / 2**30,
    }


def describe_run(run: dict) -> str:
    """``local``, ``process, 2 workers x 1 thread`` or ``ray, ...`` for a :func:`bench_main_job` result."""
    if run["executor"] == "local":
        return "local"
    threads = run["threads_per_worker"] or "default"
    return f"{run['executor']}, {run['workers']} worker{'s' if run['workers'] > 1 else ''} x {threads} thread(s)"
