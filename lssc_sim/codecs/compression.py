"""Post-training compression of a codec half: global magnitude pruning, then uniform weight quantisation.

Seed 004 (Fig. 10) shrinks the trained LSSC by quantising its weights (20 bits down to 2) and pruning them
(up to 90 % sparsity) without retraining; this module does both to any Keras model and measures what the
compressed weights would really take to store.

Keras 3.15's ``Model.quantize("int8")`` is no help here. Checked on a tiny model, it quantises (in place) only
the layers with a ``quantize`` method, ``Dense``, ``EinsumDense`` and the embeddings; ``Conv2D``,
``Conv2DTranspose``, ``BatchNormalization`` and our custom layers (``ChannelAttention``, ``SpatialAttention``,
``AttentionGate``, ``ConvBlock``, ``CBAM``) warn "does not have a `quantize` method implemented" and stay float32.
Our codecs hold no ``Dense`` layer, so on an LSSC encoder or decoder it changes no weight; the quantiser below is
our own.

Choices:

- **Quantiser**: symmetric, uniform, with a zero level and a restricted range: ``bits`` give the integer codes
  ``-(2**(bits-1) - 1) .. 2**(bits-1) - 1`` and ``scale = max|w| / (2**(bits-1) - 1)``, so no weight is clipped
  and every one moves by at most half a step. Symmetric because a zero weight must stay exactly zero (a pruned
  weight is code 0, and pruning and quantisation compose: the zeros also make the code stream compressible);
  trained conv weights are roughly centred on zero, so an asymmetric range (a zero point) would gain at most one
  level's worth of resolution on a lopsided tensor. The restricted range keeps the grid symmetric and makes 2
  bits the ternary ``{-s, 0, s}``.
- **Granularity**: one scale per tensor, or per output channel (the last axis of a Keras ``Conv2D`` / ``Dense``
  kernel; the one before it for ``Conv2DTranspose``, whose kernels are ``[kh, kw, out, in]``). Vectors (biases)
  always get one scale per tensor: a scale per element would cost as much as the float.
- **What is quantised**: every float weight except those of normalisation layers, i.e. the kernels and biases
  of ``Conv2D`` / ``Conv2DTranspose`` / ``Dense`` and of the custom layers (the CBAM MLP and spatial kernel,
  the attention gate's convolutions). **What stays float32**: ``BatchNormalization`` (and other normalisation
  layers') gamma, beta, moving mean and moving variance: 4 values per channel (well under 1 % of a codec's
  weights), and the moving variance spans decades under a square root, which a uniform grid would wreck. (Folding
  batch norm into the preceding convolution first would change the model's structure; not done here.)
- **What is pruned**: the kernels, i.e. the quantisable weights of rank >= 2, with one magnitude threshold over
  all of them (global, so layers with many small weights lose more); never biases or normalisation parameters.
- **Stored size** (``size_bytes``), as a file would hold it; names, shapes and the architecture are not counted
  (the receiver knows the model's definition):

  - quantised weights: every code in one stream (int8 up to 8 bits, int16 up to 16, int32 beyond), stored by
    the smallest, measured, of zlib, bz2, lzma, zstandard and plain bit packing (``bits`` per code); plus 4
    bytes per scale (float32, the value dequantisation uses);
  - unquantised weights (``bits=None``): dense float32, 4 bytes each; when pruning was asked for
    (``sparsity > 0``) and it is smaller, the kernels are stored sparse: their non-zeros at 4 bytes plus a
    compressed bit mask of where they are (float mantissas barely compress, so values are not entropy coded).
    ``bits=None, sparsity=0`` is thus exactly ``float_bytes``, the uncompressed reference;
  - normalisation parameters and any non-float weight at their itemsize (4 bytes for float32).
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import keras
import numpy as np
import zstandard

NORMALISATION_LAYERS = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
    keras.layers.Normalization,
)
GRANULARITIES = ("tensor", "channel")
MAX_BITS = 24  # float32 has a 24-bit significand: finer codes cannot change a float32 weight

_COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "zlib": lambda data: zlib.compress(data, 9),
    "bz2": lambda data: bz2.compress(data, 9),
    "lzma": lambda data: lzma.compress(data, preset=9 | lzma.PRESET_EXTREME),
    "zstd": lambda data: zstandard.ZstdCompressor(level=22).compress(data),
}


def _check_bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 2 <= bits <= MAX_BITS:
        raise ValueError(f"bits must be an int in [2, {MAX_BITS}]; found {bits!r}")
    return int(bits)


def _code_dtype(bits: int) -> type:
    return np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32


def quantise_weights(
    array: np.ndarray, bits: int, granularity: str = "tensor", channel_axis: int = -1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric uniform quantisation of one weight tensor (see the module docstring).

    Parameters
    ----------
    array : ndarray of float
        The weights, any shape.
    bits : int
        Code width, 2 to 24: codes in ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]``.
    granularity : {"tensor", "channel"}
        One scale for the whole tensor, or one per index of ``channel_axis``.
    channel_axis : int
        The output-channel axis (-1 for Keras conv and dense kernels, -2 for ``Conv2DTranspose``).

    Returns
    -------
    dequantised : ndarray of float32, the shape of ``array``
        ``codes * scale``; within half a step (``scale / 2``) of ``array`` (plus float32 rounding), zeros exact.
    codes : ndarray of int8 / int16 / int32, the shape of ``array``
    scales : ndarray of float32
        Shape ``()`` per tensor, ``(array.shape[channel_axis],)`` per channel; 0 for an all-zero slice.
    """
    bits = _check_bits(bits)
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}; found {granularity!r}")
    w = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("cannot quantise weights that are not finite")
    levels = 2 ** (bits - 1) - 1
    if granularity == "channel" and w.ndim:
        axis = channel_axis % w.ndim
        moved = np.moveaxis(w, axis, -1)
        max_abs = np.max(np.abs(moved), axis=tuple(range(w.ndim - 1))) if moved.size else np.zeros(moved.shape[-1])
    else:
        axis, moved, max_abs = None, w, np.max(np.abs(w), initial=0.0)
    scales = np.asarray(max_abs / levels, dtype=np.float32)  # stored as float32, so quantise with that value
    safe = np.where(scales > 0, scales, 1.0).astype(np.float64)
    codes = np.clip(np.rint(moved / safe), -levels, levels).astype(_code_dtype(bits))  # integers: no -0.0
    dequantised = codes.astype(np.float32) * scales
    if axis is not None:
        codes, dequantised = np.moveaxis(codes, -1, axis), np.moveaxis(dequantised, -1, axis)
    return np.ascontiguousarray(dequantised, dtype=np.float32), np.ascontiguousarray(codes), scales


def prune_global(
    weights: Mapping[str, np.ndarray], sparsity: float, kernels: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """Global magnitude pruning: zero the ``sparsity`` fraction of smallest-magnitude kernel weights.

    Parameters
    ----------
    weights : mapping of name -> ndarray
        A model's weights.
    sparsity : float
        Fraction in [0, 1) of all kernel weights (pooled over every kernel) set to zero: the ``round(sparsity *
        n)`` smallest in magnitude, i.e. one threshold for all kernels (ties at it broken by position).
    kernels : iterable of str, optional
        Names of the tensors to prune; by default every tensor of rank >= 2 (so not biases, nor the vectors of
        batch norm). ``compress_model`` passes the quantisable ones, so normalisation layers are never touched.

    Returns
    -------
    dict of name -> ndarray
        Copies of every weight (the input is not modified), the kernels pruned; with ``sparsity=0``
        bit-identical to the input.
    """
    if isinstance(sparsity, bool) or not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"sparsity must be a fraction in [0, 1); found {sparsity!r}")
    out = {name: np.array(w, copy=True) for name, w in weights.items()}
    names = [n for n in out if out[n].ndim >= 2] if kernels is None else list(kernels)
    unknown = sorted(set(names) - set(out))
    if unknown:
        raise KeyError(f"kernels not among the weights: {unknown}")
    total = sum(out[n].size for n in names)
    count = int(round(float(sparsity) * total))
    if count == 0:
        return out
    magnitudes = np.concatenate([np.abs(out[n]).ravel() for n in names])
    drop = np.zeros(total, dtype=bool)
    drop[np.argpartition(magnitudes, count - 1)[:count]] = True
    start = 0
    for n in names:
        size = out[n].size
        flat = out[n].reshape(-1)  # a view of the copy
        flat[drop[start : start + size]] = 0
        start += size
    return out


def _smallest_coding(data: bytes, packed_bytes: int) -> tuple[int, str]:
    """Bytes and name of the smallest of plain bit packing and every available compressor on ``data``."""
    best = (packed_bytes, "packed")
    for name, compress in _COMPRESSORS.items():
        size = len(compress(data))
        if size < best[0]:
            best = (size, name)
    return best


@dataclass(frozen=True)
class CompressedModel:
    """A compressed copy of a model and what its weights take to store.

    Attributes
    ----------
    model : keras.Model
        A new model (same architecture) holding the pruned, then dequantised, float32 weights.
    size_bytes : int
        Stored size of the compressed weights (module docstring), bytes.
    float_bytes : int
        Size of the original weights as stored by Keras (4 bytes per float32 value), bytes.
    bits : int or None
    granularity : str
    sparsity : float
        Target fraction of pruned kernel weights.
    realised_sparsity : float
        Fraction of zeros over all kernel weights after pruning (quantisation then rounds some more small weights
        to zero).
    coding : str
        How the largest stream is stored: "float32", "sparse+<coder>", "<coder>" or "packed".
    parts : dict of str -> int
        ``size_bytes`` split into "codes", "scales", "float" (dense or sparse float32) and "kept" (normalisation
        and non-float weights).
    quantised, kept_float : tuple of str
        Paths of the weights quantised (or, with ``bits=None``, eligible) and of those kept as they are.
    """

    model: keras.Model
    size_bytes: int
    float_bytes: int
    bits: int | None
    granularity: str
    sparsity: float
    realised_sparsity: float
    coding: str
    parts: dict[str, int]
    quantised: tuple[str, ...]
    kept_float: tuple[str, ...]

    @property
    def ratio(self) -> float:
        """Compression ratio ``float_bytes / size_bytes``."""
        return self.float_bytes / self.size_bytes


def _weight_roles(model: keras.Model) -> tuple[set[int], set[int]]:
    """Ids of the variables that belong to normalisation layers and of the ``Conv2DTranspose`` kernels."""
    norm, transposed = set(), set()
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, NORMALISATION_LAYERS):
            norm.update(id(v) for v in layer.weights)
        elif isinstance(layer, keras.layers.Conv2DTranspose | keras.layers.Conv1DTranspose):
            transposed.add(id(layer.kernel))
    return norm, transposed


def _float_storage(pruned: dict[str, np.ndarray], eligible: list[str], kernels: list[str], sparse: bool):
    """Bytes and coding of the unquantised eligible weights: dense float32, or sparse kernels when smaller."""
    dense = sum(pruned[n].nbytes for n in eligible)
    if not sparse or not kernels:
        return dense, "float32"
    mask = np.concatenate([pruned[n].ravel() != 0 for n in kernels])
    mask_bytes, mask_coding = _smallest_coding(np.packbits(mask).tobytes(), -(-mask.size // 8))
    kernel_bytes = sum(pruned[n].nbytes for n in kernels)
    nonzero_bytes = sum(int(np.count_nonzero(pruned[n])) * pruned[n].itemsize for n in kernels)
    sparse_total = dense - kernel_bytes + nonzero_bytes + mask_bytes
    return (sparse_total, f"sparse+{mask_coding}") if sparse_total < dense else (dense, "float32")


def compress_model(
    model: keras.Model, bits: int | None = None, granularity: str = "tensor", sparsity: float = 0.0
) -> CompressedModel:
    """Prune (globally, by magnitude) then quantise (uniformly) a model's weights into a new model.

    Parameters
    ----------
    model : keras.Model
        A built functional model (e.g. a codec's encoder or decoder); it is not modified.
    bits : int or None
        Code width of the quantised weights, 2 to 24; None keeps them float32 (pruning only).
    granularity : {"tensor", "channel"}
        Scale per tensor or per output channel of the kernels (biases: per tensor).
    sparsity : float
        Fraction in [0, 1) of all kernel weights pruned before quantisation.

    Returns
    -------
    CompressedModel
        With ``bits=None, sparsity=0`` its model's weights are bit-identical to ``model``'s and
        ``size_bytes == float_bytes``.
    """
    if bits is not None:
        bits = _check_bits(bits)
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}; found {granularity!r}")
    variables = list(model.weights)
    names = [v.path for v in variables]
    if len(set(names)) != len(names):  # paths are unique in a built model; guard anyway
        names = [f"{i}:{n}" for i, n in enumerate(names)]
    norm, transposed = _weight_roles(model)
    values = {n: np.asarray(keras.ops.convert_to_numpy(v)) for n, v in zip(names, variables, strict=True)}
    eligible = [
        n
        for n, v in zip(names, variables, strict=True)
        if id(v) not in norm and np.issubdtype(values[n].dtype, np.floating)
    ]
    kept = [n for n in names if n not in set(eligible)]
    kernels = [n for n in eligible if values[n].ndim >= 2]
    pruned = prune_global(values, sparsity, kernels=kernels)
    total = sum(pruned[n].size for n in kernels)
    realised = sum(pruned[n].size - int(np.count_nonzero(pruned[n])) for n in kernels) / total if total else 0.0

    parts = {"codes": 0, "scales": 0, "float": 0, "kept": sum(pruned[n].nbytes for n in kept)}
    final = dict(pruned)
    if bits is None:
        parts["float"], coding = _float_storage(pruned, eligible, kernels, sparse=float(sparsity) > 0)
    else:
        streams = []
        for n, v in zip(names, variables, strict=True):
            if n in kept:
                continue
            per = granularity if pruned[n].ndim >= 2 else "tensor"
            axis = -2 if id(v) in transposed else -1
            final[n], codes, scales = quantise_weights(pruned[n], bits, per, channel_axis=axis)
            streams.append(codes.ravel())
            parts["scales"] += scales.size * 4
        codes = np.concatenate(streams) if streams else np.zeros(0, _code_dtype(bits))
        little = codes.astype(codes.dtype.newbyteorder("<"), copy=False).tobytes()
        parts["codes"], coding = _smallest_coding(little, -(-codes.size * bits // 8))

    clone = keras.models.clone_model(model)
    if [tuple(v.shape) for v in clone.weights] != [tuple(v.shape) for v in variables]:
        raise RuntimeError(f"clone_model changed the weights of {model.name!r}; cannot compress it")
    clone.set_weights([final[n].astype(values[n].dtype, copy=False) for n in names])
    return CompressedModel(
        model=clone,
        size_bytes=sum(parts.values()),
        float_bytes=sum(w.nbytes for w in values.values()),
        bits=bits,
        granularity=granularity,
        sparsity=float(sparsity),
        realised_sparsity=realised,
        coding=coding,
        parts=parts,
        quantised=tuple(eligible),
        kept_float=tuple(kept),
    )
