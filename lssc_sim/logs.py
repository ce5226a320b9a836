"""Quiet by default, useful when verbose: the simulator's log level, and TensorFlow's native start-up lines
(CUDA, cuDNN and XLA registrations printed on a machine without a GPU) kept off the terminal."""

from __future__ import annotations

import logging
import os
import sys


class _NoRetracingAdvice(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" advice: every model variant of a sweep (a compressed
    copy, another codec) has its own graph, traced once with a fixed signature, which that heuristic miscounts as
    retracing one function."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def configure_logging(verbose: bool) -> None:
    """The simulator's own log at DEBUG with ``-v`` (WARNING otherwise); other libraries' stay at WARNING."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("lssc_sim").setLevel(logging.DEBUG if verbose else logging.WARNING)
    tf_log = logging.getLogger("tensorflow")
    if not verbose and not any(isinstance(f, _NoRetracingAdvice) for f in tf_log.filters):
        tf_log.addFilter(_NoRetracingAdvice())


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
