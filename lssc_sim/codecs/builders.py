"""Pure builders of the split U-Net codecs: UNet, Attention U-Net, CBAM U-Net and LSSC.

Every builder returns a :class:`SplitCodec`: an ``encoder`` on the device, whose outputs are every
tensor that crosses the channel (the skip features and the bottleneck), and a ``decoder`` on the server
that turns those tensors back into per-pixel logits. Only ``keras.layers`` / ``keras.ops`` are used
here; the channel between the two halves is somebody else's Keras layer (see :func:`end_to_end`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras

from lssc_sim.codecs.budget import cut_widths, native_widths
from lssc_sim.codecs.layers import CBAM, AttentionGate, ConvBlock
from lssc_sim.registry import Registry

CodecBuilder = Callable[..., "SplitCodec"]
CODECS: Registry[CodecBuilder] = Registry("codec")

Projections = int | Sequence[int | None] | None
ImageSize = int | Sequence[int]  # a side, or (height, width)


@dataclass(frozen=True)
class SplitCodec:
    """A segmentation network cut in two across the channel.

    Attributes
    ----------
    encoder : keras.Model
        image float32 [B, H, W, 3] in [0, 1] -> list of float32 tensors that cross the channel, the sent skips
        from the finest to the coarsest level and then the bottleneck (``depth + 1`` tensors unless a
        bandwidth budget drops skips), with the shapes ``transmitted_shapes``. Called eagerly, Keras returns a
        lone output as a tensor, not a list of one (the 1/16 budget sends the bottleneck alone).
    decoder : keras.Model
        that list (as received after the channel) -> logits float32 [B, H, W, num_classes].
    name : str
        Registry name of the architecture ("unet", "lssc", ...).
    transmitted_shapes : tuple of (height, width, channels)
        Per-image shape of each transmitted tensor, in encoder output order.
    """

    encoder: keras.Model
    decoder: keras.Model
    name: str
    transmitted_shapes: tuple[tuple[int, int, int], ...]

    @property
    def transmitted_values(self) -> int:
        """Real values sent per image (two of them fill one complex channel use)."""
        return sum(h * w * c for h, w, c in self.transmitted_shapes)


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an int {span}; found {value!r}")
    return value


def _projections(projections: Projections, count: int) -> list[int | None]:
    """One projection width (or None) per candidate tensor."""
    if projections is None or isinstance(projections, int):
        widths = [projections] * count
    else:
        widths = list(projections)
        if len(widths) != count:
            raise ValueError(f"projections needs one entry per candidate tensor ({count}); found {len(widths)}")
    for w in widths:
        if w is not None:
            _check_int("projections", w, 0)
    if widths[-1] == 0:
        raise ValueError("projections: the bottleneck (last entry) always crosses; expected a width >= 1 or None")
    return widths


def _cut(
    bandwidth: float | None, projections: Projections, height: int, width: int, widths: list[int]
) -> list[int | None]:
    """Per candidate tensor: None (sent as built), a projection width, or 0 (not sent)."""
    if bandwidth is None:
        return _projections(projections, len(widths))
    if projections is not None:
        raise ValueError("give bandwidth (channel uses per pixel) or projections (channels), not both")
    sent = cut_widths(float(bandwidth), height, width, widths)
    return [None if s == w else s for s, w in zip(sent, widths, strict=True)]


def _build(
    name: str,
    *,
    depth: int,
    base_width: int,
    num_classes: int,
    decoder_kernel: int,
    image_size: ImageSize,
    bandwidth: float | None,
    projections: Projections,
    device_stages: int | None,
    cbam: bool,
    gates: bool,
    cbam_reduction: int = 16,
) -> SplitCodec:
    """Shared body of the builders: a U-Net of ``depth`` downsamplings with optional CBAM and gates."""
    _check_int("depth", depth, 1, 5)
    stages = depth if device_stages is None else _check_int("device_stages", device_stages, 1, depth)
    _check_int("base_width", base_width, 1)
    _check_int("num_classes", num_classes, 1)
    _check_int("decoder_kernel", decoder_kernel, 1)
    height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    for side in (height, width):
        _check_int("image_size", side, 1)
        if side % 2**depth:
            raise ValueError(f"image sides must be divisible by 2**depth = {2**depth}; found {image_size}")
    widths = native_widths(base_width, depth)
    candidates = native_widths(base_width, depth, stages)  # what may cross: widths unless the device stops early
    cut = _cut(bandwidth, projections, height, width, candidates)

    def stage(x: keras.KerasTensor, level: int) -> keras.KerasTensor:
        x = ConvBlock(widths[level], 3, name=f"enc{level}")(x)
        return CBAM(cbam_reduction, 7, name=f"cbam{level}")(x) if cbam else x

    # Device side: the first `stages` conv blocks (+ CBAM), then the bottleneck when it runs them all, or else
    # the last stage's downsampled output; each candidate may cross the cut.
    image = keras.Input((height, width, 3), name="image")
    x, features = image, []
    for level in range(stages):
        x = stage(x, level)
        features.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
    features.append(ConvBlock(widths[depth], 3, name="bottleneck")(x) if stages == depth else x)
    levels = [i for i, p in enumerate(cut) if p != 0]  # the tensors that cross, finest first
    sent = [
        features[i] if cut[i] is None else keras.layers.Conv2D(cut[i], 1, name=f"project{i}")(features[i])
        for i in levels
    ]
    encoder = keras.Model(image, sent, name=f"{name}_encoder")
    shapes = tuple(tuple(int(d) for d in t.shape[1:]) for t in sent)

    # Server side: unproject to the widths built, run the encoder stages the device did not (their skips stay
    # here), then upsample, (gate,) concat, conv block.
    received = [keras.Input(s, name=f"received{i}") for i, s in zip(levels, shapes, strict=True)]
    restored = {
        i: r if cut[i] is None else keras.layers.Conv2D(candidates[i], 1, name=f"unproject{i}")(r)
        for i, r in zip(levels, received, strict=True)
    }
    x = restored.pop(stages)
    if stages < depth:
        for level in range(stages, depth):
            x = stage(x, level)
            restored[level] = x
            x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
        x = ConvBlock(widths[depth], 3, name="bottleneck")(x)
    for level in reversed(range(depth)):
        skip = restored.get(level)  # None: a skip the budget dropped
        if skip is not None and gates:
            skip = AttentionGate(max(1, widths[level] // 2), name=f"gate{level}")([skip, x])
        up = keras.layers.Conv2DTranspose(widths[level], 2, strides=2, name=f"up{level}")(x)
        if skip is not None:
            up = keras.layers.Concatenate(name=f"concat{level}")([skip, up])
        x = ConvBlock(widths[level], decoder_kernel, name=f"dec{level}")(up)
    logits = keras.layers.Conv2D(num_classes, 1, name="logits")(x)
    decoder = keras.Model(received, logits, name=f"{name}_decoder")
    return SplitCodec(encoder=encoder, decoder=decoder, name=name, transmitted_shapes=shapes)


@CODECS.register("unet")
def unet(
    *,
    depth: int = 4,
    base_width: int = 64,
    num_classes: int = 2,
    decoder_kernel: int = 3,
    image_size: ImageSize = 128,
    bandwidth: float | None = None,
    projections: Projections = None,
    device_stages: int | None = None,
) -> SplitCodec:
    """U-Net (Ronneberger et al. 2015) split after the encoder: 4 downsamplings, 3 x 3 convolutions.

    Parameters
    ----------
    depth : int
        Number of 2 x 2 max-pool downsamplings, 1 to 5; ``depth + 1`` tensors cross the channel.
    base_width : int
        Channels of the finest level; level ``l`` has ``base_width * 2**l``.
    num_classes : int
        Channels of the logits.
    decoder_kernel : int
        Kernel side of the decoder's convolutions (the encoder's are 3).
    image_size : int or (int, int)
        Side of a square input image, or ``(height, width)``, in pixels; divisible by ``2**depth``.
    bandwidth : float, optional
        Budget in complex channel uses per pixel: the skips that cross and the 1 x 1 projection widths are
        chosen by :func:`lssc_sim.codecs.budget.cut_widths` (within 5 % of the target, or refused). None
        sends every tensor (subject to ``projections``).
    projections : int, sequence of int or None, or None
        Channels of a 1 x 1 projection applied to each transmitted tensor (one value for all, or one per
        tensor from finest to bottleneck; None sends the features as they are; 0 drops that skip, so
        ``[0, ..., 0, w]`` sends only the bottleneck, a PIDNet-like split). Exclusive with ``bandwidth``.
    device_stages : int, optional
        Encoder stages run on the device, 1 to ``depth`` (None: all, then the bottleneck). With k < ``depth``
        the device sends the k-th stage's downsampled output (and any of its k skips that ``projections`` or
        ``bandwidth`` keep: ``k + 1`` candidates) and the server runs the remaining stages, the bottleneck and
        the decoder, with the deeper skips on its side: a split after stage k, as in PIDNet-style split
        computing (fewer device FLOPs, a larger tensor to send).

    Returns
    -------
    SplitCodec
    """
    return _build(
        "unet",
        depth=depth,
        base_width=base_width,
        num_classes=num_classes,
        decoder_kernel=decoder_kernel,
        image_size=image_size,
        bandwidth=bandwidth,
        projections=projections,
        device_stages=device_stages,
        cbam=False,
        gates=False,
    )


@CODECS.register("attention_unet")
def attention_unet(
    *,
    depth: int = 4,
    base_width: int = 64,
    num_classes: int = 2,
    decoder_kernel: int = 3,
    image_size: ImageSize = 128,
    bandwidth: float | None = None,
    projections: Projections = None,
    device_stages: int | None = None,
) -> SplitCodec:
    """Attention U-Net (Oktay et al. 2018): U-Net with an attention gate on every skip, on the server side.

    Parameters and return value as in :func:`unet`.
    """
    return _build(
        "attention_unet",
        depth=depth,
        base_width=base_width,
        num_classes=num_classes,
        decoder_kernel=decoder_kernel,
        image_size=image_size,
        bandwidth=bandwidth,
        projections=projections,
        device_stages=device_stages,
        cbam=False,
        gates=True,
    )


@CODECS.register("cbam_unet")
def cbam_unet(
    *,
    depth: int = 4,
    base_width: int = 64,
    num_classes: int = 2,
    decoder_kernel: int = 3,
    image_size: ImageSize = 128,
    bandwidth: float | None = None,
    projections: Projections = None,
    device_stages: int | None = None,
) -> SplitCodec:
    """U-Net with CBAM after every encoder stage that is followed by a downsampling (device side).

    Parameters and return value as in :func:`unet`.
    """
    return _build(
        "cbam_unet",
        depth=depth,
        base_width=base_width,
        num_classes=num_classes,
        decoder_kernel=decoder_kernel,
        image_size=image_size,
        bandwidth=bandwidth,
        projections=projections,
        device_stages=device_stages,
        cbam=True,
        gates=False,
    )


@CODECS.register("lssc")
def lssc(
    *,
    depth: int = 3,
    base_width: int = 64,
    num_classes: int = 2,
    decoder_kernel: int = 2,
    image_size: ImageSize = 128,
    bandwidth: float | None = None,
    projections: Projections = None,
    device_stages: int | None = None,
) -> SplitCodec:
    """LSSC (seed paper, Table I): CBAM after every downsampling stage, 3 downsamplings, 2 x 2 decoder convs.

    Parameters and return value as in :func:`unet` (only the defaults of ``depth`` and ``decoder_kernel``
    differ).
    """
    return _build(
        "lssc",
        depth=depth,
        base_width=base_width,
        num_classes=num_classes,
        decoder_kernel=decoder_kernel,
        image_size=image_size,
        bandwidth=bandwidth,
        projections=projections,
        device_stages=device_stages,
        cbam=True,
        gates=False,
    )


def end_to_end(codec: SplitCodec, channel_layer: keras.layers.Layer | None = None) -> keras.Model:
    """The composed model image -> logits, with the channel (if any) between encoder and decoder.

    Parameters
    ----------
    codec : SplitCodec
    channel_layer : keras.layers.Layer, optional
        Maps the list of transmitted tensors to a list of tensors of the same shapes (noise, fading,
        power normalisation...); None connects the encoder straight to the decoder.

    Returns
    -------
    keras.Model
        image float32 [B, H, W, 3] -> logits float32 [B, H, W, num_classes]; shares its layers (and weights)
        with ``codec.encoder`` and ``codec.decoder``.
    """
    image = keras.Input(codec.encoder.inputs[0].shape[1:], name="image")
    sent = codec.encoder(image)
    received = sent if channel_layer is None else channel_layer(sent)
    return keras.Model(image, codec.decoder(received), name=f"{codec.name}_end_to_end")
