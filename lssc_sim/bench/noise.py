"""Noise benchmark: the numba ziggurat of ``lssc_sim.channels.gaussian`` against NumPy's ``standard_normal``,
in the same run (``python -m lssc_sim.bench noise``)."""

from __future__ import annotations

import math
import time

import numba
import numpy as np

from lssc_sim.channels.gaussian import standard_normal


def bench_noise(samples: int = 20_000_000) -> dict[str, float]:
    """ns per sample of NumPy's ``standard_normal(dtype=float32)`` and of ours with 1 and with all numba threads.

    Each fills the same preallocated float32 array; after a warm-up round the three are timed in turn for five
    rounds and each keeps its best, so load from other processes hurts all alike. Keys: ``numpy_ns``,
    ``ours_1_thread_ns``, ``ours_all_threads_ns``, ``threads``, ``speedup_1_thread``, ``speedup_all_threads``.
    """
    rng = np.random.default_rng(0)
    buf = np.empty(samples, np.float32)
    threads = numba.config.NUMBA_NUM_THREADS
    previous = numba.get_num_threads()
    cases = {"numpy_ns": 0, "ours_1_thread_ns": 1, "ours_all_threads_ns": threads}  # numba threads per case
    best = dict.fromkeys(cases, math.inf)
    try:
        for round_ in range(6):
            for key, n_threads in cases.items():
                numba.set_num_threads(n_threads or previous)
                t0 = time.perf_counter()
                if n_threads:
                    standard_normal(rng, samples, out=buf)
                else:
                    rng.standard_normal(dtype=np.float32, out=buf)
                if round_:  # round 0 warms up (and compiles the kernel on a cold cache)
                    best[key] = min(best[key], (time.perf_counter() - t0) / samples * 1e9)
    finally:
        numba.set_num_threads(previous)
    best["threads"] = threads
    best["speedup_1_thread"] = best["numpy_ns"] / best["ours_1_thread_ns"]
    best["speedup_all_threads"] = best["numpy_ns"] / best["ours_all_threads_ns"]
    return best
