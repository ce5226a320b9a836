"""Random streams derived from (scenario seed, Point key), never from execution order."""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(seed: int, key: str) -> int:
    """A 63-bit seed that depends only on ``seed`` and ``key``.

    Parameters
    ----------
    seed : int
        Scenario seed.
    key : str
        Stable identifier, e.g. a Point key.
    """
    digest = hashlib.sha256(f"{int(seed)}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def seed_everything(seed: int) -> np.random.Generator:
    """Reset Sionna's TensorFlow, NumPy and Python generators to ``seed`` and return a NumPy generator.

    Sionna's generator is reset in place (``tf.random.Generator.reset_from_seed``), so ``tf.function``
    graphs that captured it keep drawing from the reset stream instead of a stale one.
    """
    from sionna.phy import config

    config.seed = int(seed)
    return np.random.default_rng(int(seed))
