"""The channel contract: ``y, h = channel(x, no)``, the registry, the builder and the perfect-CSI equalizer.

Conventions: ``x`` carries complex symbols with unit average energy, SNR means Es/N0 and
``no = 10**(-snr_db/10)`` is the noise power per complex symbol (:func:`lssc_sim.snr.to_no`). A flat channel
computes ``y = h * x + n``; a subclass only says how the gains ``h`` are drawn (:meth:`Channel.gains`, in
TensorFlow from Sionna's generator: the reference, and what training runs in its graphs), and may add a NumPy
sampler of the same law (:meth:`Channel.draw_gains`) that the simulators' fast paths use.

What a channel declares, so that links choose their path without looking at its class: ``has_gains`` (False:
``y = x + n``, the fused AWGN path), ``noiseless`` (True: ``y = x``, the ideal channel) and whether it
overrides :meth:`Channel.draw_gains` (NumPy gains, then the fast fading path; otherwise the link runs this
channel's TensorFlow call and the equalizer).

Channel modules import TensorFlow and Sionna inside the methods that draw, never at module level: scenario
files are validated by constructing channels, and validation must stay fast.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from lssc_sim.registry import Registry

if TYPE_CHECKING:
    import tensorflow as tf

CHANNELS: Registry[type[Channel]] = Registry("channel", entry_point_group="lssc_sim.channels")

COHERENCES = ("symbol", "block", "frame")
DEFAULT_BLOCK_LENGTH = 64

# Floor on |h|^2 when equalizing: a deep fade then gives a huge but finite noise, not inf/nan.
EPS_GAIN2 = 1e-12


class Channel:
    """Base class of all channel models.

    A subclass sets the class attribute ``name`` (its registry name), takes its parameters as keyword
    arguments stored under attributes of the same names, validates them in ``__init__`` without any
    TensorFlow work (scenario files are validated before a session starts), and overrides :meth:`gains`.
    Channels that are not ``y = h x + n`` override :meth:`__call__` instead.

    Input
    -----
    x : [batch, n], tf.complex64
        Channel input with unit average energy per symbol. The last axis is time (symbol index).
    no : float or [batch], tf.float32
        Noise power per complex symbol (``no = 10**(-snr_db/10)``).

    Output
    ------
    y : [batch, n], tf.complex64
        Channel output.
    h : [batch, n] or [batch, 1], tf.complex64
        Channel gains, broadcastable to ``y``; the receiver's perfect CSI (see :func:`equalize`).
    """

    name: ClassVar[str] = "channel"
    has_gains: ClassVar[bool] = True
    """False only for ``y = x + n`` (``h = 1``): links then take their fused noise-only path."""
    noiseless: ClassVar[bool] = False
    """True only for the ideal channel (``y = x``): its Points have no SNR and no modulation axis, and systems
    send over it without noise (a digital system without channel code or modulation)."""

    def __init__(self) -> None:
        self._awgn = None  # Sionna's AWGN block, built on first use

    # -- what a subclass overrides -------------------------------------------------------------------
    def gains(self, shape: tf.Tensor) -> tf.Tensor:
        """Channel gains for an input of dynamic shape ``shape`` (1-D int32 tensor ``[batch, n]``).

        Returns a complex64 tensor broadcastable to ``shape``; the default is no fading (``[batch, 1]`` ones).
        """
        import tensorflow as tf

        return tf.ones(tf.concat([shape[:-1], [1]], axis=0), dtype=tf.complex64)

    def draw_gains(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """Gains of the same law as :meth:`gains`, drawn with NumPy from ``rng``; complex64, broadcastable to
        ``shape`` ``[rows, n]``. A channel that overrides it gets the links' fast path (see
        :meth:`has_numpy_gains`); the contract test holds the two samplers to the same statistics."""
        raise NotImplementedError(f"{self.name}: no NumPy gain sampler")

    def has_numpy_gains(self) -> bool:
        """Whether this channel draws its gains in NumPy too (it overrides :meth:`draw_gains`)."""
        return type(self).draw_gains is not Channel.draw_gains

    # -- the contract ------------------------------------------------------------------------------
    def __call__(self, x: tf.Tensor, no: float | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        if x.dtype != tf.complex64:
            raise TypeError(f"{self.name}: x must be tf.complex64, got {x.dtype.name}")
        ensure_rng()
        h = self.gains(tf.shape(x))
        y = self.add_noise(h * x, no)
        return tf.ensure_shape(y, x.shape), h

    def receive(self, x: tf.Tensor, no: float | tf.Tensor, equalizer: str = "zf") -> tuple[tf.Tensor, tf.Tensor]:
        """Send ``x`` and equalise it as the receiver does: ``(x_hat, no_eff)``, both ``[batch, n]``.

        A flat channel's receiver knows ``h`` (perfect CSI); a channel with estimated CSI (OFDM) overrides this
        to equalise with its estimate and to count the estimation error in ``no_eff``. Links and the semantic
        codec's channel layer receive through this method only.

        Parameters
        ----------
        x : [batch, n], tf.complex64
        no : float or [batch], tf.float32
        equalizer : {"zf", "mmse"}
            See :func:`equalize`.
        """
        y, h = self(x, no)
        return equalize(y, h, no, equalizer)

    def overhead(self, frame_symbols: Sequence[int]) -> dict[str, int | bool]:
        """Resources a transmission of frames of ``frame_symbols`` symbols each spends besides its symbols (pilots,
        cyclic prefix, padding), as counters; none for a flat channel."""
        return {}

    def add_noise(self, y: tf.Tensor, no: float | tf.Tensor) -> tf.Tensor:
        """Add complex AWGN of power ``no`` (scalar or ``[batch]``) with Sionna's ``AWGN`` block."""
        import tensorflow as tf
        from sionna.phy.channel import AWGN

        ensure_rng()
        if self._awgn is None:  # built on first use: the constructor does no TensorFlow work
            self._awgn = AWGN(precision="single")
        no = tf.cast(no, tf.float32)
        return self._awgn(y, no)

    # -- description ---------------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The constructor parameters (those not ``None``), read back from the attributes."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {p: getattr(self, p) for p in names if getattr(self, p, None) is not None}

    def spec(self) -> dict[str, Any]:
        """``{"name": ..., **params}``; ``make_channel(ch.spec())`` builds an equal channel."""
        return {"name": self.name, **self.params()}

    def describe(self) -> str:
        """Name and parameters, e.g. ``rician(k_factor_db=6.0, coherence='block', block_length=64)``."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.name}({args})"

    def __repr__(self) -> str:
        return self.describe()


class FlatFadingChannel(Channel):
    """Base of flat-fading channels: gains drawn once per symbol, per block of symbols or per frame.

    Parameters
    ----------
    coherence : {"symbol", "block", "frame"}
        ``"symbol"``: a new gain every symbol; ``"block"``: constant over consecutive ``block_length``
        symbols along the last axis (a shorter last block when ``n`` is not a multiple); ``"frame"``: one gain
        per row of ``x`` (per transmitted image).
    block_length : int, optional
        Symbols per block; only for ``coherence="block"`` (default 64 there).
    """

    def __init__(self, coherence: str = "symbol", block_length: int | None = None) -> None:
        super().__init__()
        self.coherence = check_choice(self.name, "coherence", coherence, COHERENCES)
        if coherence == "block":
            self.block_length = check_int(
                self.name, "block_length", DEFAULT_BLOCK_LENGTH if block_length is None else block_length, 1
            )
        elif block_length is not None:
            raise ValueError(
                f"{self.name}: parameter 'block_length' applies only to coherence='block', "
                f"got block_length={block_length!r} with coherence={coherence!r}"
            )
        else:
            self.block_length = None

    def scattered(self, shape: tf.Tensor) -> tf.Tensor:
        """CN(0, 1) gains with this channel's coherence, broadcastable to ``shape`` ``[batch, n]``."""
        import tensorflow as tf
        from sionna.phy.utils import complex_normal

        lead, n = shape[:-1], shape[-1]
        if self.coherence == "symbol":
            return complex_normal(shape, precision="single")
        if self.coherence == "frame":
            return complex_normal(tf.concat([lead, [1]], axis=0), precision="single")
        num_blocks = (n + self.block_length - 1) // self.block_length
        g = complex_normal(tf.concat([lead, [num_blocks]], axis=0), precision="single")
        return tf.repeat(g, self.block_length, axis=-1)[..., :n]

    def scattered_numpy(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """:meth:`scattered` drawn with NumPy: CN(0, 1) complex64 gains with this coherence, broadcastable to
        ``shape`` ``[rows, n]`` (``[rows, 1]`` for ``frame``)."""
        from lssc_sim.channels.gaussian import complex_normal

        rows, n = shape
        if self.coherence == "symbol":
            return complex_normal(rng, (rows, n))
        if self.coherence == "frame":
            return complex_normal(rng, (rows, 1))
        g = complex_normal(rng, (rows, -(-n // self.block_length)))
        return np.repeat(g, self.block_length, axis=-1)[:, :n]


def equalize(
    y: tf.Tensor, h: tf.Tensor, no: float | tf.Tensor, kind: str = "zf", err_var: tf.Tensor | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-symbol equalisation with a channel estimate ``h`` (the true gains: perfect CSI).

    Parameters
    ----------
    y : [batch, n], tf.complex64
        Channel output.
    h : tf.complex64, broadcastable to ``y``
        Channel gains (or their estimate).
    no : float or [batch], tf.float32
        Noise power per complex symbol.
    kind : {"zf", "mmse"}
        ``"zf"``: ``y / h`` (``|h|^2`` floored at 1e-12), unbiased, unbounded in deep fades; ``"mmse"``: the
        linear MMSE estimate of a unit-energy symbol, ``conj(h) y / (|h|^2 + no + err_var)``, biased towards 0,
        bounded.
    err_var : tf.float32 broadcastable to ``y``, optional
        Variance of the estimation error ``h_true - h`` of unit-energy symbols: it adds to the noise.

    Returns
    -------
    x_hat : [batch, n], tf.complex64
    no_eff : [batch, n], tf.float32
        Effective noise power per symbol after zero forcing, ``(no + err_var) / |h|^2``, for the demapper (also
        returned for ``"mmse"``, whose ``x_hat`` the analog decoder uses without it).
    """
    import tensorflow as tf
    from sionna.phy.utils import expand_to_rank

    y = tf.convert_to_tensor(y)
    h = tf.cast(h, y.dtype)
    gain2 = tf.maximum(tf.math.real(h * tf.math.conj(h)), EPS_GAIN2)
    noise = expand_to_rank(tf.cast(no, tf.float32), tf.rank(y), axis=-1)
    if err_var is not None:
        noise = noise + tf.cast(err_var, tf.float32)
    if kind == "zf":
        x_hat = y * tf.math.conj(h) / tf.cast(gain2, y.dtype)
    elif kind == "mmse":
        x_hat = y * tf.math.conj(h) / tf.cast(gain2 + noise, y.dtype)
    else:
        raise ValueError(f"equalize: expected kind 'zf' or 'mmse'; found {kind!r}")
    no_eff = tf.broadcast_to(noise / gain2, tf.shape(x_hat))
    return x_hat, no_eff


def make_channel(spec: str | Mapping[str, Any] | Channel) -> Channel:
    """Build a channel from its name or from ``{"name": ..., **params}`` (as written in a scenario file).

    Raises
    ------
    KeyError
        Unknown name (the message lists the registered channels).
    ValueError, TypeError
        Missing name, unknown parameter or a bad parameter value.
    """
    if isinstance(spec, Channel):
        return spec
    if isinstance(spec, str):
        return CHANNELS.get(spec)()
    if not isinstance(spec, Mapping):
        raise TypeError(f"channel spec must be a name or a mapping with 'name', got {type(spec).__name__}")
    params = dict(spec)
    if "name" not in params:
        raise ValueError(f"channel spec {dict(spec)!r} has no 'name'")
    name = params.pop("name")
    cls = CHANNELS.get(name)
    known = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise TypeError(f"channel {name!r} has no parameter {unknown[0]!r}; known: {', '.join(known) or 'none'}")
    return cls(**params)


# -- validation helpers shared by the channel modules (plain Python, no TensorFlow) --------------------
def check_choice(owner: str, param: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{owner}: parameter {param!r} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def check_int(owner: str, param: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{owner}: parameter {param!r} must be an integer >= {minimum}; got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{owner}: parameter {param!r} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_float(owner: str, param: str, value: Any, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: parameter {param!r} must be a real number; got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"{owner}: parameter {param!r} must be a finite number{bound}; got {value!r}")
    return float(value)


@contextlib.contextmanager
def isolated_tf_rng(seed: int):
    """Sionna's TensorFlow generator seeded with ``seed`` inside the block and put back as it was afterwards: a
    draw made there (a one-off measurement, a cached statistic) neither depends on nor shifts the Point's stream."""
    import tensorflow as tf
    from sionna.phy import config

    ensure_rng()
    saved = tf.identity(config.tf_rng.state)
    config.tf_rng.reset_from_seed(seed)
    try:
        yield
    finally:
        config.tf_rng.reset(saved)


def ensure_rng() -> None:
    # Sionna creates its tf.random.Generator on first use; created inside a tf.function trace it cannot be
    # lifted out of the graph (Keras then fails with "initial_value ... could not be lifted"), so make sure it
    # exists eagerly.
    import tensorflow as tf
    from sionna.phy import config

    with tf.init_scope():
        config.tf_rng  # noqa: B018
