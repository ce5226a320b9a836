"""lssc_sim: a link-level simulator for image semantic communication."""

import os

# TensorFlow prints CUDA/XLA start-up noise on CPU machines; keep it quiet unless the user asked otherwise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
