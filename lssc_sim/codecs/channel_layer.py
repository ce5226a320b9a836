"""The channel layer of the semantic codec: encoder tensors -> analog complex symbols -> channel -> tensors.

Everything that crosses the cut between encoder and decoder (skips and bottleneck) is flattened per image,
paired into complex symbols, power-normalised, sent over a registered channel (``lssc_sim.channels``) at an
SNR, equalised by the channel's receiver (:meth:`~lssc_sim.channels.Channel.receive`: perfect CSI on the flat
channels, the pilot-based estimate on OFDM) and restored to the input shapes. This file and ``channels/`` are the only
places of the codec that touch TensorFlow and Sionna directly: codec builders stay plain Keras.

Power normalisation and side information
----------------------------------------
Each transmitted tensor ``i`` of an image is scaled by its own RMS so that, once all tensors are concatenated
(plus one zero real when the total count is odd), the image's ``n`` complex symbols have average energy
exactly 1. The receiver multiplies back by these scales: one real scalar per transmitted tensor per image is
*side information*, assumed known at the receiver without error (as the channel's ``h`` is, perfect CSI). It
is not counted in the channel uses; :meth:`AnalogChannel.side_info_reals` reports it separately.

Noise after restoration
-----------------------
With ``no = 10**(-snr_db/10)`` (noise power per complex symbol, unit symbol energy) the noise per real after
equalisation on AWGN has variance ``no/2``, while a normalised real carries ``n/R`` (``R`` reals, ``n =
ceil(R/2)``). The restored tensors' MSE relative to their own mean square is therefore ``no * R / (2 n)``:
exactly ``no`` when ``R`` is even, ``no * (1 - 1/R)`` when it is odd (see :func:`relative_noise_power`).

On fading channels zero forcing divides by ``h``: with Rayleigh gains ``E[1/|h|^2]`` is infinite, so deep
fades send huge values to the decoder. ``equalizer="mmse"`` (``conj(h) y / (|h|^2 + no)``, also perfect CSI)
bounds them; on AWGN it gives a relative MSE of ``no / (1 + no)`` (even ``R``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf
from sionna.phy import config

from lssc_sim.channels import Channel, make_channel
from lssc_sim.codecs.analog_numpy import EPS_POWER

DEFAULT_TRAIN_SNR_DB = (1.0, 20.0)  # the paper's training range, drawn uniformly per image
EQUALIZERS = ("zf", "mmse")


def _num_reals(shape: Sequence[int]) -> int:
    return math.prod(int(d) for d in shape)


def channel_uses_of(shapes: Sequence[Sequence[int]]) -> int:
    """Complex channel uses per image for tensors of per-image shapes ``shapes``: ``ceil(total_reals / 2)``."""
    return -(-sum(_num_reals(s) for s in shapes) // 2)


def relative_noise_power(shapes: Sequence[Sequence[int]], no: float) -> float:
    """Expected MSE of the restored tensors relative to their mean square, on AWGN with noise power ``no``.

    ``no * R / (2 n)`` with ``R`` the total reals per image and ``n`` the channel uses (module docstring).
    """
    reals = sum(_num_reals(s) for s in shapes)
    return no * reals / (2 * channel_uses_of(shapes))


def pack_symbols(tensors: Sequence[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
    """Flatten, power-normalise and pair the per-image reals of ``tensors`` into complex symbols.

    Parameters
    ----------
    tensors : list of [batch, ...] float tensors
        The tensors of one batch crossing the cut; non-batch dimensions must be static.

    Returns
    -------
    x : [batch, n], tf.complex64
        ``n = ceil(R / 2)`` symbols per image (``R`` reals; one zero real padded when ``R`` is odd), average
        energy per symbol exactly 1 per image (up to ``EPS_POWER``).
    scale : [batch, num_tensors], tf.float32
        Per-image, per-tensor factor the receiver multiplies back (side information).
    """
    # Static per-image sizes keep the symbol count known in graphs whose batch size is not (fit, predict).
    sizes = [math.prod(t.shape[1:]) for t in tensors]
    flat = [tf.reshape(tf.cast(t, tf.float32), [-1, size]) for t, size in zip(tensors, sizes, strict=True)]
    reals = sum(sizes)
    n = -(-reals // 2)
    # Each tensor gets energy n/R per real, so the image's n symbols carry energy n in total: power 1.
    target = n / reals
    scales = [tf.sqrt((tf.reduce_mean(tf.square(f), axis=-1) + EPS_POWER) / target) for f in flat]
    z = tf.concat([f / s[:, tf.newaxis] for f, s in zip(flat, scales, strict=True)], axis=-1)
    if reals % 2:
        z = tf.pad(z, [[0, 0], [0, 1]])  # the odd real shares a symbol with a zero
    z = tf.reshape(z, [-1, n, 2])
    return tf.complex(z[..., 0], z[..., 1]), tf.stack(scales, axis=-1)


def unpack_symbols(x: tf.Tensor, scale: tf.Tensor, shapes: Sequence[Sequence[int]]) -> list[tf.Tensor]:
    """Inverse of :func:`pack_symbols`: complex symbols and scales back to float32 tensors.

    Parameters
    ----------
    x : [batch, n], tf.complex64
        Received (equalised) symbols.
    scale : [batch, num_tensors], tf.float32
        The scales returned by :func:`pack_symbols`.
    shapes : list of tuple of int
        Per-image shapes of the tensors (without the batch axis).

    Returns
    -------
    list of [batch, *shape] tf.float32
    """
    sizes = [_num_reals(s) for s in shapes]
    z = tf.reshape(tf.stack([tf.math.real(x), tf.math.imag(x)], axis=-1), [tf.shape(x)[0], -1])
    parts = tf.split(z[:, : sum(sizes)], sizes, axis=-1)
    return [tf.reshape(p * scale[:, i : i + 1], [-1, *s]) for i, (p, s) in enumerate(zip(parts, shapes, strict=True))]


@keras.saving.register_keras_serializable(package="lssc_sim")
class AnalogChannel(keras.layers.Layer):
    """Sends a list of feature tensors over a channel as analog complex symbols and restores them.

    Per image: flatten and concatenate the reals of all tensors, pair them into ``n`` complex symbols
    (``n`` = channel uses per image), normalise the average symbol energy to 1 (one scale per tensor, known at
    the receiver as side information, see the module docstring), apply the channel at an SNR, equalise with
    perfect CSI (zero forcing by default), undo the normalisation and split back into tensors of the input
    shapes. Differentiable end to end: gradients reach the encoder.

    Parameters
    ----------
    channel : str or dict, default "awgn"
        A registered channel name or ``{"name": ..., **params}`` (built with
        :func:`lssc_sim.channels.make_channel`); a :class:`~lssc_sim.channels.Channel` is accepted and stored
        by its spec.
    snr_db : float, optional
        Fixed SNR (Es/N0, dB) used in training and inference when :meth:`call` gets none (evaluation).
    train_snr_db : (float, float), default (1.0, 20.0)
        Range of the SNR drawn uniformly and independently per image in training when neither the call nor
        ``snr_db`` gives one (the paper's [1, 20] dB).
    snr_to_decoder : bool, default False
        Also return the per-image SNR in dB as a ``[batch, 1]`` float32 tensor (the average channel SNR, not
        the post-equalisation SNR of each symbol), for decoders that adapt to it.
    equalizer : {"zf", "mmse"}, default "zf"
        ``"zf"``: ``y / h`` (:func:`lssc_sim.channels.equalize`), unbiased but unbounded in deep fades;
        ``"mmse"``: ``conj(h) y / (|h|^2 + no)``, biased towards 0, bounded (module docstring).
    **kwargs
        Passed to :class:`keras.layers.Layer` (``name``, ...).

    Input
    -----
    inputs : list of [batch, h_i, w_i, c_i] float tensors
        The tensors crossing the cut; any rank >= 2 with static non-batch dimensions works.
    training : bool, default False
        Draw the SNR per image from ``train_snr_db`` when no SNR is given.
    snr_db : float or [batch] float, optional
        SNR in dB; overrides the layer's ``snr_db``.

    Output
    ------
    list of [batch, h_i, w_i, c_i] tensors
        The restored tensors, in the input dtypes; followed by ``snr_db : [batch, 1], tf.float32`` when
        ``snr_to_decoder`` is set.
    """

    def __init__(
        self,
        channel: str | Mapping[str, Any] | Channel = "awgn",
        snr_db: float | None = None,
        train_snr_db: Sequence[float] = DEFAULT_TRAIN_SNR_DB,
        snr_to_decoder: bool = False,
        equalizer: str = "zf",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(channel, str | Mapping | Channel):
            raise TypeError(
                f"AnalogChannel: expected channel as a name, a {{'name': ...}} dict or a Channel; "
                f"found {type(channel).__name__}"
            )
        self._channel = make_channel(channel)  # validates the name and the parameters now
        self.channel_spec = self._channel.spec()
        self.snr_db = None if snr_db is None else _check_real("snr_db", snr_db)
        if isinstance(train_snr_db, str | bytes) or not isinstance(train_snr_db, Sequence) or len(train_snr_db) != 2:
            raise ValueError(
                f"AnalogChannel: expected train_snr_db as a pair (low, high) in dB; found {train_snr_db!r}"
            )
        low, high = (_check_real("train_snr_db", v) for v in train_snr_db)
        if low > high:
            raise ValueError(f"AnalogChannel: expected train_snr_db low <= high; found ({low}, {high})")
        self.train_snr_db = (low, high)
        if not isinstance(snr_to_decoder, bool):
            raise TypeError(f"AnalogChannel: expected snr_to_decoder as a bool; found {snr_to_decoder!r}")
        self.snr_to_decoder = snr_to_decoder
        if equalizer not in EQUALIZERS:
            raise ValueError(f"AnalogChannel: expected equalizer in {EQUALIZERS}; found {equalizer!r}")
        self.equalizer = equalizer

    @property
    def channel(self) -> Channel:
        """The channel model (built from :attr:`channel_spec`)."""
        return self._channel

    # -- counting ------------------------------------------------------------------------------------
    def channel_uses(self, shapes: Sequence[Sequence[int]]) -> int:
        """Complex channel uses per image for per-image shapes ``[(h, w, c), ...]``: ``ceil(total_reals / 2)``."""
        return channel_uses_of(shapes)

    def side_info_reals(self, shapes: Sequence[Sequence[int]]) -> int:
        """Real scalars per image sent as side information (the power scales): one per transmitted tensor."""
        return len(shapes)

    # -- Keras -----------------------------------------------------------------------------------------
    def build(self, input_shape: Sequence[Sequence[int | None]]) -> None:
        _per_image_shapes(input_shape)  # fail at build time on dynamic or missing dimensions
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Sequence[Sequence[int | None]]) -> list[tuple[int | None, ...]]:
        shapes = [tuple(s) for s in input_shape]
        if self.snr_to_decoder:
            shapes.append((shapes[0][0], 1))
        return shapes

    def call(
        self, inputs: Sequence[tf.Tensor], training: bool = False, snr_db: float | tf.Tensor | None = None
    ) -> list[tf.Tensor]:
        inputs = list(inputs)
        shapes = _per_image_shapes([t.shape for t in inputs])
        batch = tf.shape(inputs[0])[0]
        snr = self._snr_per_image(batch, training, snr_db)
        x, scale = pack_symbols(inputs)
        no = tf.pow(10.0, -snr / 10.0)
        x_hat, _ = self._channel.receive(x, no, self.equalizer)  # the decoder does not use the effective noise
        outputs = [tf.cast(t, u.dtype) for t, u in zip(unpack_symbols(x_hat, scale, shapes), inputs, strict=True)]
        if self.snr_to_decoder:
            outputs.append(snr[:, tf.newaxis])
        return outputs

    def _snr_per_image(self, batch: tf.Tensor, training: bool, snr_db: float | tf.Tensor | None) -> tf.Tensor:
        """The SNR in dB per image, ``[batch]`` float32: call argument, else fixed, else drawn in training."""
        if snr_db is None and self.snr_db is not None:
            snr_db = self.snr_db
        if snr_db is not None:
            snr_db = tf.cast(snr_db, tf.float32)
            return tf.broadcast_to(tf.reshape(snr_db, [-1]) if snr_db.shape.rank else snr_db, [batch])
        if not training:
            raise ValueError(
                "AnalogChannel: expected an SNR in inference (call(..., snr_db=...) or the layer's snr_db); "
                "found none (only training draws one from train_snr_db)"
            )
        with tf.init_scope():  # Sionna's generator must exist outside any trace, or Keras cannot lift it
            rng = config.tf_rng
        low, high = self.train_snr_db
        return rng.uniform([batch], minval=low, maxval=high, dtype=tf.float32)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "channel": dict(self.channel_spec),
            "snr_db": self.snr_db,
            "train_snr_db": list(self.train_snr_db),
            "snr_to_decoder": self.snr_to_decoder,
            "equalizer": self.equalizer,
        }


def _check_real(param: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"AnalogChannel: expected {param} as a finite number in dB; found {value!r}")
    return float(value)


def _per_image_shapes(input_shape: Sequence[Sequence[int | None]]) -> list[tuple[int, ...]]:
    """Per-image shapes (batch axis dropped), checked to be static; raises on an empty or dynamic input."""
    is_list = not isinstance(input_shape, tf.TensorShape) and isinstance(input_shape, Sequence)
    if not is_list or not input_shape or not isinstance(input_shape[0], Sequence | tf.TensorShape):
        raise ValueError(f"AnalogChannel: expected a non-empty list of tensors; found shape {input_shape!r}")
    shapes = []
    for i, shape in enumerate(input_shape):
        dims = tuple(shape)[1:]
        if not dims or any(d is None for d in dims):
            raise ValueError(
                f"AnalogChannel: expected input {i} of rank >= 2 with static non-batch dimensions; "
                f"found shape {tuple(shape)}"
            )
        shapes.append(tuple(int(d) for d in dims))
    return shapes
