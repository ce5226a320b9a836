"""What the transmitter (the IoT device) spends per image: operations, seconds and activation memory (seed 002, Fig. 3).

Every image system reports the same three numbers for its device side, so a bar chart can set them side by side:

- ``device_gflops``: multiply-adds counted as 2 FLOPs over the device's neural layers
  (:func:`lssc_sim.codecs.complexity.model_flops`); 0 where the device runs no network (an image codec's
  operations are not counted: they are not comparable FLOPs, their seconds are).
- ``device_seconds``: median wall time of the whole device side for one image (network, quantisation, source or
  entropy coding) over repeated runs on this machine, after a warm-up run. A measurement, so it is kept out of
  ``results.csv`` (which must be the same run to run) and written to ``timings.csv``.
- ``device_peak_activation_bytes``: the largest set of tensors live at once when the device's network runs layer
  by layer at batch 1 (:func:`lssc_sim.codecs.memory.peak_activation_bytes`), or, without a network, the image and
  its coded stream held together.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from lssc_sim.systems.base import Counters

REPEATS = 7


def median_seconds(run_once: Callable[[], Any], repeats: int = REPEATS) -> float:
    """Median wall time in seconds of ``run_once()`` over ``repeats`` calls, after one warm-up call."""
    run_once()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run_once()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def network_cost(models: Sequence[Any], run_once: Callable[[], Any]) -> Counters:
    """Cost of a device that runs the Keras ``models`` one after the other on one image (``run_once`` does it,
    coding included). The device's peak is the larger of the models' peaks: what passes from one to the next
    (a split UNet's skips and bottleneck) is the first one's outputs and the next one's inputs, counted live in
    both, so the larger peak is the whole run's."""
    from lssc_sim.codecs.complexity import model_flops
    from lssc_sim.codecs.memory import peak_activation_bytes

    return {
        "device_gflops": sum(r.flops for m in models for r in model_flops(m)) / 1e9,
        "device_peak_activation_bytes": max(peak_activation_bytes(m, batch=1) for m in models),
        "device_seconds": median_seconds(run_once),
    }


def coding_cost(image_bytes: int, stream_bytes: int, run_once: Callable[[], Any]) -> Counters:
    """Cost of a device that only source-codes the image (``run_once`` codes one image of ``image_bytes`` into
    a stream of ``stream_bytes``)."""
    return {
        "device_gflops": 0.0,
        "device_peak_activation_bytes": image_bytes + stream_bytes,
        "device_seconds": median_seconds(run_once),
    }
