"""The benchmark harness: a run from scratch reports its Points, stages and the memory of all its processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lssc_sim.bench.runs import bench_main_job, tree_rss_bytes

TINY = """\
name: tiny_bench
seed: 3
systems:
  ldpc: {kind: ber, fec: {k: 1000, rate: 0.5, decoder: fast}, max_bits: 20000, target_bit_errors: 1000000}
sweep: {snr_db: [1, 2, 3, 4], modulation: [qpsk]}
plots: []
"""


def test_tree_rss_counts_this_process():
    rss = tree_rss_bytes(os.getpid())
    assert 50 * 2**20 < rss < 64 * 2**30  # this pytest process holds at least numpy and TensorFlow


BENCH = """
import json, subprocess, sys
from pathlib import Path
from lssc_sim.bench.runs import bench_main_job, describe_run
# an earlier, larger child of this process must not count as the run's largest process (RUSAGE_CHILDREN did)
subprocess.run([sys.executable, "-c", "import numpy as np; a = np.ones(500_000_000); a.sum()"], check=True)
res = bench_main_job(Path(sys.argv[1]), "process", 2, threads=1, out=Path(sys.argv[2]))
print(json.dumps({**res, "described": describe_run(res)}, default=str))
"""


def test_main_job_bench_reports_points_and_memory_of_all_workers(tmp_path):
    """From a fresh interpreter, as ``python -m lssc_sim.bench`` runs: Linux counts the memory a process had
    before it started the run (the copy a fork makes, up to its exec) in the run's peak, so a bench started
    from this pytest process, gigabytes large after other tests, would report pytest's size, not the run's."""
    import json

    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    done = subprocess.run(
        [sys.executable, "-c", BENCH, str(path), str(tmp_path / "out")], capture_output=True, text=True, check=True
    )
    res = json.loads(done.stdout.strip().splitlines()[-1])
    assert res["points"] == 4 and res["wall_seconds"] > 0
    assert res["described"] == "process, 2 workers x 1 thread(s)"
    # two workers and their parent, each with TensorFlow loaded: in the samples, more than the largest alone
    assert res["peak_rss_gib"] > res["largest_sampled_rss_gib"] > 0.1
    # the run's own largest process (brief peaks between samples included; 2.5 GiB seen in a fresh clone, numba
    # compiling), not that earlier 4 GB child
    assert 0.95 * res["largest_sampled_rss_gib"] <= res["largest_process_rss_gib"] < 3.5
    assert (tmp_path / "out" / "results.csv").is_file()
    with pytest.raises(ValueError, match="already holds Points"):
        bench_main_job(path, out=tmp_path / "out")
