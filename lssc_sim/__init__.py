"""lssc_sim: a link-level simulator for image semantic communication."""

import os

# TensorFlow prints CUDA/XLA start-up noise on CPU machines; keep it quiet unless the user asked otherwise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"


def __getattr__(name: str):
    # lssc_sim.run and lssc_sim.load (lssc_sim/api.py) are imported on first use: `import lssc_sim` stays light.
    if name in ("run", "load", "RunResult"):
        from lssc_sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'lssc_sim' has no attribute {name!r}")
