"""Benchmarks, run as ``python -m lssc_sim.bench SUBCOMMAND``: ``noise`` (``bench/noise.py``: the fast Gaussian
generator against NumPy's), ``link`` and ``bler`` (``bench/link.py``: the fast link against stock Sionna),
``mainjob`` and ``scaling`` (``bench/runs.py``: whole runs from scratch)."""
