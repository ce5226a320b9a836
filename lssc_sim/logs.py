"""Quiet by default, useful when verbose: the simulator's log level, and TensorFlow's native start-up lines
(CUDA, cuDNN and XLA registrations printed on a machine without a GPU) kept off the terminal."""

from __future__ import annotations

import logging
import os
import sys


def configure_logging(verbose: bool) -> None:
    """The simulator's own log at DEBUG with ``-v`` (WARNING otherwise); other libraries' stay at WARNING."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("lssc_sim").setLevel(logging.DEBUG if verbose else logging.WARNING)


def quiet_tensorflow_import(verbose: bool = False) -> None:
    """Import TensorFlow with its native start-up lines (CUDA, cuDNN, XLA registrations on a machine without a
    GPU) sent to /dev/null: they are written by C++ before any logging setting applies. ``verbose`` keeps them."""
    if verbose or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
