"""The benchmark harness: a run from scratch reports its Points, stages and the memory of all its processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lssc_sim.bench.runs import bench_main_job, describe_run, tree_rss_bytes

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


def test_main_job_bench_reports_points_and_memory_of_all_workers(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    # an earlier, larger child of this process must not count as the run's largest process (RUSAGE_CHILDREN did)
    big = "import numpy as np; a = np.ones(500_000_000); a.sum()"  # 4 GB resident
    subprocess.run([sys.executable, "-c", big], check=True)
    res = bench_main_job(path, "process", 2, threads=1, out=tmp_path / "out")
    assert res["points"] == 4 and res["wall_seconds"] > 0
    assert describe_run(res) == "process, 2 workers x 1 thread(s)"
    # two workers and their parent, each with TensorFlow loaded: in the samples, more than the largest alone
    assert res["peak_rss_gib"] > res["largest_sampled_rss_gib"] > 0.1
    # the run's own largest process (brief peaks between samples included; 2.5 GiB seen in a fresh clone, numba
    # compiling), not that earlier 4 GB child
    assert 0.95 * res["largest_sampled_rss_gib"] <= res["largest_process_rss_gib"] < 3.5
    assert (tmp_path / "out" / "results.csv").is_file()
    with pytest.raises(ValueError, match="already holds Points"):
        bench_main_job(path, out=tmp_path / "out")
