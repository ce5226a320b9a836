"""Parameters, model size, FLOPs and the LSSC objective Q of a split codec.

FLOPs are counted per image by walking a Keras functional model's graph and applying one rule per layer
type to that layer's input and output shapes, so any builder is covered without per-architecture formulas.

Conventions (stated once, used everywhere):

- A multiply-add counts as 2 FLOPs. Bias additions count 1 FLOP per output value.
- Conv2D: ``2 * H_out * W_out * K_h * K_w * C_in * C_out / groups`` (+ ``H_out * W_out * C_out`` with bias).
- Conv2DTranspose: ``2 * H_in * W_in * K_h * K_w * C_in * C_out`` (each input value scattered over the
  kernel) (+ bias on the outputs). Dense: ``2 * inputs * units`` per position (+ bias).
- Batch norm at inference (folded into a scale and a shift): 2 FLOPs per value.
- ReLU 1 FLOP per value, sigmoid and tanh 4, softmax 3; linear 0.
- Max pooling ``K*K - 1`` comparisons per output value, average pooling ``K*K`` (adds and a divide);
  global pooling likewise over the whole map. Nearest upsampling 0, bilinear 8 per output value.
- Add / Multiply: ``n_inputs - 1`` per output value; concatenation, reshapes and inputs 0.
- Custom layers say their own count through ``flops(input_shape)`` (see :mod:`lssc_sim.codecs.layers`)
  or list their parts through ``sublayer_calls(input_shape)``.

Model size is the number of parameters (trainable and not, e.g. batch-norm statistics) times 4 bytes
(float32), in MB of 10**6 bytes.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras

Shape = tuple[int | None, ...]

ACTIVATION_FLOPS = {"linear": 0, "relu": 1, "sigmoid": 4, "tanh": 4, "softmax": 3, "gelu": 8, "swish": 5}

# Objective weights of the LSSC paper, eq. 7.
LAMBDA, MU, NU = 1.0, 0.1, 0.2


@dataclass(frozen=True)
class LayerFlops:
    """FLOPs of one layer call for one image."""

    name: str
    kind: str
    flops: int
    output_shape: Shape


@dataclass(frozen=True)
class ComplexityReport:
    """Complexity of a split codec, per image.

    Attributes
    ----------
    name : str
    params : int
        All parameters of encoder and decoder (trainable and not).
    flops_device, flops_server : int
        FLOPs of the encoder (device side) and of the decoder (server side).
    layers : tuple of LayerFlops
        Per-layer breakdown, names prefixed "encoder/" or "decoder/".
    """

    name: str
    params: int
    flops_device: int
    flops_server: int
    layers: tuple[LayerFlops, ...] = field(repr=False)

    @property
    def flops_total(self) -> int:
        return self.flops_device + self.flops_server

    @property
    def size_mb(self) -> float:
        return model_size_mb(self.params)


def model_size_mb(params: int, bytes_per_param: int = 4) -> float:
    """Model size in MB (10**6 bytes) at ``bytes_per_param`` (4 for float32)."""
    return params * bytes_per_param / 1e6


def _dims(shape: Shape) -> list[int]:
    return [1 if d is None else int(d) for d in shape]


def _activation_flops(activation: object, values: int) -> int:
    name = getattr(activation, "__name__", str(activation))
    if name not in ACTIVATION_FLOPS:
        raise NotImplementedError(f"no FLOP rule for activation {name!r}; known: {sorted(ACTIVATION_FLOPS)}")
    return ACTIVATION_FLOPS[name] * values


def layer_flops(layer: keras.layers.Layer, input_shapes: Sequence[Shape], output_shape: Shape) -> int:
    """FLOPs of one call of ``layer`` on one image.

    Parameters
    ----------
    layer : keras.layers.Layer
    input_shapes : list of shapes
        Shape of each input, with the batch axis first (None or any size: it is ignored).
    output_shape : shape
        Shape of the (first) output, batch axis first.

    Returns
    -------
    int
        FLOPs for one image, with the conventions of this module's docstring.
    """
    out = _dims(output_shape)[1:]
    n_out = math.prod(out)
    ins = [_dims(s)[1:] for s in input_shapes]
    layers = keras.layers
    if hasattr(layer, "sublayer_calls"):
        single = input_shapes[0] if len(input_shapes) == 1 else list(input_shapes)
        return sum(layer_flops(sub, [i], o) for sub, i, o in layer.sublayer_calls(single))
    if hasattr(layer, "flops"):
        return int(layer.flops(input_shapes[0] if len(input_shapes) == 1 else list(input_shapes)))
    if isinstance(layer, layers.Conv2DTranspose):
        kh, kw = layer.kernel_size
        flops = 2 * math.prod(ins[0]) * kh * kw * layer.filters
    elif isinstance(layer, layers.Conv2D | layers.Conv1D | layers.Conv3D):
        c_in = ins[0][-1]
        flops = 2 * n_out * math.prod(layer.kernel_size) * c_in // layer.groups
    elif isinstance(layer, layers.Dense):
        flops = 2 * n_out * ins[0][-1]
    elif isinstance(layer, layers.BatchNormalization):
        return 2 * n_out
    elif isinstance(layer, layers.ReLU):
        return ACTIVATION_FLOPS["relu"] * n_out
    elif isinstance(layer, layers.Activation):
        return _activation_flops(layer.activation, n_out)
    elif isinstance(layer, layers.MaxPooling2D | layers.AveragePooling2D):
        window = math.prod(layer.pool_size)
        return (window - 1 if isinstance(layer, layers.MaxPooling2D) else window) * n_out
    elif isinstance(layer, layers.GlobalAveragePooling2D | layers.GlobalMaxPooling2D):
        spatial = math.prod(ins[0][:-1])
        per_channel = spatial if isinstance(layer, layers.GlobalAveragePooling2D) else spatial - 1
        return per_channel * ins[0][-1]
    elif isinstance(layer, layers.UpSampling2D):
        return 0 if layer.interpolation == "nearest" else 8 * n_out
    elif isinstance(layer, layers.Add | layers.Multiply | layers.Subtract):
        return (len(ins) - 1) * n_out
    elif isinstance(layer, layers.InputLayer | layers.Concatenate | layers.Reshape | layers.Flatten | layers.Dropout):
        return 0
    elif not layer.weights:
        # A weightless layer we know nothing of (e.g. a channel model between encoder and decoder) is
        # not computation of the codec; count it as 0 rather than guessing.
        return 0
    else:
        raise NotImplementedError(f"no FLOP rule for layer {layer.name!r} of type {type(layer).__name__}")
    if getattr(layer, "use_bias", False):
        flops += n_out
    if getattr(layer, "activation", None) is not None:
        flops += _activation_flops(layer.activation, n_out)
    return flops


def model_flops(model: keras.Model, prefix: str = "") -> list[LayerFlops]:
    """Per-layer FLOPs for one image through a functional ``model`` (nested models are walked into).

    Parameters
    ----------
    model : keras.Model
        A functional model, built at the input size of interest.
    prefix : str
        Prepended to the layer names in the result.

    Returns
    -------
    list of LayerFlops
        In graph order; a layer called twice appears twice.
    """
    rows = []
    # Keras keeps the graph as nodes grouped by depth (deepest = nearest the inputs); each node holds the
    # symbolic tensors of one layer call, whose shapes are what the FLOP rules need.
    nodes_by_depth = model._nodes_by_depth
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            op = node.operation
            if node.is_input or op is None:
                continue
            if isinstance(op, keras.Model) and hasattr(op, "_nodes_by_depth"):
                rows += model_flops(op, prefix=f"{prefix}{op.name}/")
                continue
            in_shapes = [tuple(t.shape) for t in node.input_tensors]
            out_shape = tuple(node.outputs[0].shape)
            rows.append(
                LayerFlops(
                    f"{prefix}{op.name}", type(op).__name__, layer_flops(op, in_shapes, out_shape), out_shape[1:]
                )
            )
    return rows


def codec_complexity(codec) -> ComplexityReport:
    """Parameters and FLOPs (device / server) of a :class:`~lssc_sim.codecs.builders.SplitCodec`."""
    device = model_flops(codec.encoder, prefix="encoder/")
    server = model_flops(codec.decoder, prefix="decoder/")
    return ComplexityReport(
        name=codec.name,
        params=codec.encoder.count_params() + codec.decoder.count_params(),
        flops_device=sum(r.flops for r in device),
        flops_server=sum(r.flops for r in server),
        layers=tuple(device + server),
    )


def objective_q(
    miou: float,
    report: ComplexityReport,
    reference: ComplexityReport,
    lam: float = LAMBDA,
    mu: float = MU,
    nu: float = NU,
) -> float:
    """The LSSC objective (paper eq. 7): ``Q = lam * mIoU - mu * G - nu * M``.

    Parameters
    ----------
    miou : float
        Mean IoU in [0, 1].
    report, reference : ComplexityReport
        The codec judged and the 4-level UNet at the same base width and input size; ``G`` and ``M`` are
        the codec's total FLOPs and model size relative to the reference's (so the reference scores
        ``mIoU - mu - nu``).
    lam, mu, nu : float
        Weights, (1, 0.1, 0.2) in the paper.
    """
    g = report.flops_total / reference.flops_total
    m = report.params / reference.params  # size is proportional to the parameter count
    return lam * miou - mu * g - nu * m


def reference_unet(base_width: int, image_size: int, num_classes: int = 2) -> ComplexityReport:
    """Complexity of the 4-level UNet that ``objective_q`` normalises by."""
    from lssc_sim.codecs.builders import unet

    return codec_complexity(unet(depth=4, base_width=base_width, image_size=image_size, num_classes=num_classes))


def complexity_table(base_width: int = 64, image_size: int = 128, num_classes: int = 2) -> str:
    """A Markdown table of the four codecs (default configurations) at one base width and image size."""
    from lssc_sim.codecs.builders import CODECS

    reports = []
    for name in ("unet", "attention_unet", "cbam_unet", "lssc"):
        codec = CODECS.get(name)(base_width=base_width, image_size=image_size, num_classes=num_classes)
        reports.append(codec_complexity(codec))
        keras.backend.clear_session()  # the paper-size models hold ~100 MB of weights each
    ref = reports[0]
    lines = [
        f"base width {base_width}, {image_size}x{image_size} input, {num_classes} classes; "
        "FLOPs per image (multiply-add = 2)",
        "",
        "| codec | params (M) | size (MB) | GFLOPs total | device | server | FLOPs vs UNet | size vs UNet |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        lines.append(
            f"| {r.name} | {r.params / 1e6:.3f} | {r.size_mb:.2f} | {r.flops_total / 1e9:.3f} | "
            f"{r.flops_device / 1e9:.3f} | {r.flops_server / 1e9:.3f} | "
            f"{r.flops_total / ref.flops_total - 1:+.1%} | {r.params / ref.params - 1:+.1%} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Complexity table of the split codecs.")
    parser.add_argument("--base-width", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--num-classes", type=int, default=2)
    args = parser.parse_args(argv)
    print(complexity_table(args.base_width, args.image_size, args.num_classes))


if __name__ == "__main__":
    main()
