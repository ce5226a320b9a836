"""Training of the split codecs: ``python -m lssc_sim.train CONFIG.yaml``.

``config`` (the validated keys, no TensorFlow), ``loop`` (:func:`~lssc_sim.train.loop.train` and
:func:`~lssc_sim.train.loop.evaluate`), ``callbacks`` (validation mIoU, resumable early stopping) and ``cli``.
"""

from lssc_sim.train.config import ConfigError, TrainConfig, load_config

__all__ = ["ConfigError", "TrainConfig", "load_config"]
