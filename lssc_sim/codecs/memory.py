"""Peak activation memory of a Keras functional model run layer by layer (the device's working memory).

The model is run in the order Keras itself runs a functional graph (nodes by decreasing depth, a topological
order), one layer call per step, by an executor that frees a tensor as soon as its last consumer has run (as
TensorFlow's graph executor and TFLite's arena planner do; Keras' own eager ``__call__`` keeps every tensor
until the call returns, so its footprint is the sum of all activations, the upper bound checked in the tests).

Conventions:

- A tensor is live from the step that produces it to the step of its last consumer, both included; the model's
  inputs are live from the start and its outputs until the end. A tensor nobody consumes is live only during
  the step that produces it.
- A step's live bytes are the bytes of every tensor live during it: its inputs, its outputs and whatever
  earlier tensors a later step still needs. No layer works in place (a ReLU writes a new tensor).
- Bytes per tensor: the batch axis replaced by ``batch``, times the element count, times the itemsize of its
  dtype (4 for float32). Every other axis must be known (build the model at the input size of interest).
- Weights are not activations and are not counted (see :mod:`lssc_sim.codecs.complexity` for model size).
- A nested layer is one step. Layers that list their parts through ``sublayer_calls(input_shape)``
  (``ConvBlock``, ``CBAM`` of :mod:`lssc_sim.codecs.layers`) are taken as the chain of those calls, each
  consuming the previous one's output, with the step's inputs held throughout (the outer graph owns them):
  the step then costs its inputs plus the largest (sublayer input + sublayer output) pair inside it. A nested
  functional model is walked into and costs its own peak. Temporaries inside any other layer (e.g. the
  pooled maps of ``SpatialAttention``, a few per cent of its input) are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np


def _graph(model: keras.Model):
    """The functional graph of ``model`` (a built Sequential's inner functional model)."""
    if isinstance(model, keras.Sequential):
        model = getattr(model, "_functional", None) or model
    if not hasattr(model, "_nodes_by_depth"):
        raise TypeError(
            f"peak_activation_bytes needs a functional keras.Model (or a built Sequential); found {type(model)}"
        )
    return model


def _tensor_bytes(shape: Sequence[int | None], batch: int, itemsize: int, where: str) -> int:
    dims = list(shape)
    if not dims:
        return itemsize  # a scalar per call, not per image
    rest = dims[1:]
    if any(d is None for d in rest):
        raise ValueError(f"{where}: shape {tuple(dims)} has an unknown axis besides the batch; build at a fixed size")
    return batch * math.prod(int(d) for d in rest) * itemsize


def _bytes_of(tensor, batch: int, where: str) -> int:
    return _tensor_bytes(tuple(tensor.shape), batch, np.dtype(tensor.dtype).itemsize, where)


def _step_extra(op, node, batch: int) -> int:
    """Bytes the step needs beyond its inputs (already live): its outputs, or a nested layer's inner peak."""
    outputs = sum(_bytes_of(t, batch, op.name) for t in node.outputs)
    if hasattr(op, "_nodes_by_depth"):  # a nested functional model: its own peak, less its inputs counted outside
        inner = peak_activation_bytes(op, batch)
        return max(outputs, inner - sum(_bytes_of(t, batch, op.name) for t in node.input_tensors))
    if hasattr(op, "sublayer_calls") and len(node.input_tensors) == 1:
        itemsize = np.dtype(node.outputs[0].dtype).itemsize
        calls = op.sublayer_calls(tuple(node.input_tensors[0].shape))
        inner = 0
        for k, (_, in_shape, out_shape) in enumerate(calls):
            pair = _tensor_bytes(out_shape, batch, itemsize, op.name)
            if k:  # the first sublayer reads the step's input, counted outside
                pair += _tensor_bytes(in_shape, batch, itemsize, op.name)
            inner = max(inner, pair)
        return max(outputs, inner)
    return outputs


def peak_activation_bytes(
    model: keras.Model, batch: int = 1, detail: bool = False
) -> int | tuple[int, list[tuple[str, int]]]:
    """Peak bytes of live activation tensors when ``model`` runs layer by layer (see the module docstring).

    Parameters
    ----------
    model : keras.Model
        A functional model (or a built Sequential) with every axis but the batch known.
    batch : int
        Images per call; every tensor's first axis is taken to be this.
    detail : bool
        Also return the live bytes of each step.

    Returns
    -------
    int
        The peak over the steps (and the start, when only the inputs are live) of the live bytes.
    list of (str, int), only with ``detail``
        ``(layer name, live bytes during its call)`` per step, in execution order (a layer called twice appears
        twice).
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int; found {batch!r}")
    graph = _graph(model)
    steps = [
        node
        for depth in sorted(graph._nodes_by_depth, reverse=True)  # Keras' own execution order
        for node in graph._nodes_by_depth[depth]
        if node.operation is not None and not node.is_input
    ]
    size: dict[int, int] = {}
    last_use: dict[int, int] = {}
    end = len(steps)
    for t in graph.inputs:
        size[id(t)] = _bytes_of(t, batch, "input")
        last_use[id(t)] = -1  # live at the start even if unused
    for s, node in enumerate(steps):
        for t in node.input_tensors:
            last_use[id(t)] = s
        for t in node.outputs:
            size[id(t)] = _bytes_of(t, batch, node.operation.name)
            last_use.setdefault(id(t), s)
    for t in graph.outputs:
        last_use[id(t)] = end

    # Bytes freed after each step, and bytes each step adds to what is live before it.
    freed = [0] * (end + 1)
    for key, s in last_use.items():
        freed[max(s, 0)] += size[key]
    live = sum(size[id(t)] for t in graph.inputs)
    peak, rows = live, []
    for s, node in enumerate(steps):
        outputs = sum(size[id(t)] for t in node.outputs)
        during = live + _step_extra(node.operation, node, batch)
        rows.append((node.operation.name, during))
        peak = max(peak, during)
        live += outputs - freed[s]
    return (peak, rows) if detail else peak
