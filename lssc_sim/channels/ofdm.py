"""OFDM over a frequency-selective Sionna channel model, with pilots and perfect or estimated CSI.

The symbols of a frame (a row of ``x``: one image in the image systems, one code block in ``ber``) fill the data
resource elements (REs) of consecutive slots, each slot a Sionna :class:`~sionna.phy.ofdm.ResourceGrid` of
``num_ofdm_symbols`` x ``fft_size`` REs with Kronecker pilots (unit-energy QPSK on every subcarrier of the OFDM
symbols ``pilot_symbols``); the last slot of a frame is padded with zeros. Each slot sees its own channel
realisation of the model (drawn by :class:`~sionna.phy.channel.OFDMChannel`, which evolves it over the slot's
OFDM symbols with the Doppler of ``speed_kmh``): the slots of a frame fade independently, as if interleaved in
time or frequency beyond the coherence time.

The simulation is in the frequency domain, ``y = H x + n`` per RE: exact when the cyclic prefix is at least the
channel's longest delay and the channel does not change within an OFDM symbol. Inter-symbol and inter-carrier
interference are ignored; :meth:`OfdmChannel.cp_covers_delay` says whether the first condition holds (every row
of results.csv carries it), the second is met when the Doppler is far below the subcarrier spacing (at
120 km/h and 3.5 GHz: 389 Hz against 30 kHz).

CSI (``csi``):

* ``perfect``: the true ``H`` of every RE;
* ``ls``: Sionna's :class:`~sionna.phy.ofdm.LSChannelEstimator`, ``y / p`` at the pilots (error variance
  ``no / |p|^2 = no``) and linear interpolation in frequency and time to the data REs. Its error variance at a
  data RE is computed here (:meth:`OfdmChannel.ls_error_variance`: the pilots' noise through the interpolation
  weights, 0.5 ``no`` midway between two pilot symbols and 1.54 ``no`` two symbols beyond them, plus the error of
  interpolating the channel's own variation); Sionna's estimator reports ``no`` at every RE;
* ``lmmse``: the same least squares at the pilots, then Sionna's :class:`~sionna.phy.ofdm.LMMSEInterpolator`
  (frequency, then time) with the model's frequency and time covariance matrices, estimated once per channel
  from 4,096 noise-free slots drawn with a fixed seed (the Point's random stream is left untouched).

The receiver equalises every data RE with the estimate, ``x_hat = y / H_hat``, and hands the demapper the
effective noise ``(no + err_var) / |H_hat|^2``, where ``err_var`` is the estimator's error variance at that RE:
estimation error counts as noise (:meth:`OfdmChannel.receive`). ``__call__`` returns the true ``H`` per data RE,
so the flat-channel contract (``y = h x + n``, noise power ``no``, ``E|h|^2 = 1``) holds for OFDM too.

Channel uses are the data REs; :meth:`OfdmChannel.overhead` counts the pilot REs, the zero padding of the last
slot and the cyclic-prefix samples of every frame in their own columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from lssc_sim.channels.base import (
    Channel,
    check_choice,
    check_float,
    check_int,
    ensure_rng,
    equalize,
    isolated_tf_rng,
)

if TYPE_CHECKING:
    import tensorflow as tf

CSI_KINDS = ("perfect", "ls", "lmmse")
# Slots drawn per call of Sionna's OFDMChannel: its intermediate tensors hold every path at every resource
# element (TDL-C: 24 paths x 1008 REs x 8 bytes per slot), so memory stays near 0.2 GB whatever the batch.
CHUNK_SLOTS = 1024
COVARIANCE_SLOTS = 4096
COVARIANCE_SEED = 20261206


class OfdmChannel(Channel):
    """Base of the OFDM channels: the resource grid, the CSI and the receiver; a subclass gives the model.

    Parameters
    ----------
    csi : {"perfect", "ls", "lmmse"}
        What the receiver equalises with (module docstring).
    fft_size : int
        Subcarriers per OFDM symbol (all used: no guard band, no DC null).
    subcarrier_spacing_khz : float
        Subcarrier spacing (kHz); 30 is 5G NR numerology 1.
    num_ofdm_symbols : int
        OFDM symbols per slot (14 in 5G NR).
    cp_length : int
        Cyclic prefix in samples (at ``fft_size * subcarrier_spacing`` samples per second).
    pilot_symbols : list of int
        Indices of the OFDM symbols of a slot that carry pilots (on every subcarrier).
    carrier_ghz : float
        Carrier frequency (GHz), for the Doppler shift.
    speed_kmh : float
        Speed of the receiver (km/h); the maximum Doppler shift is ``speed / c * carrier``.
    """

    has_gains: ClassVar[bool] = True

    def __init__(
        self,
        csi: str = "perfect",
        fft_size: int = 72,
        subcarrier_spacing_khz: float = 30.0,
        num_ofdm_symbols: int = 14,
        cp_length: int = 6,
        pilot_symbols: Sequence[int] = (2, 11),
        carrier_ghz: float = 3.5,
        speed_kmh: float = 3.0,
    ) -> None:
        super().__init__()
        self.csi = check_choice(self.name, "csi", csi, CSI_KINDS)
        self.fft_size = check_int(self.name, "fft_size", fft_size, 12)
        self.subcarrier_spacing_khz = check_float(self.name, "subcarrier_spacing_khz", subcarrier_spacing_khz, 1.0)
        self.num_ofdm_symbols = check_int(self.name, "num_ofdm_symbols", num_ofdm_symbols, 2)
        self.cp_length = check_int(self.name, "cp_length", cp_length, 0)
        self.carrier_ghz = check_float(self.name, "carrier_ghz", carrier_ghz, 0.1)
        self.speed_kmh = check_float(self.name, "speed_kmh", speed_kmh, 0.0)
        if isinstance(pilot_symbols, str) or not isinstance(pilot_symbols, Sequence) or not pilot_symbols:
            raise ValueError(f"{self.name}: expected pilot_symbols as a non-empty list of OFDM symbol indices; "
                             f"found {pilot_symbols!r}")  # fmt: skip
        pilots = [check_int(self.name, "pilot_symbols", p, 0) for p in pilot_symbols]
        if len(set(pilots)) != len(pilots) or max(pilots) >= self.num_ofdm_symbols:
            raise ValueError(
                f"{self.name}: expected pilot_symbols as distinct indices 0..{self.num_ofdm_symbols - 1} "
                f"(num_ofdm_symbols {self.num_ofdm_symbols}); found {list(pilot_symbols)!r}"
            )
        if len(pilots) == self.num_ofdm_symbols:
            raise ValueError(f"{self.name}: pilot_symbols fill every OFDM symbol; no RE is left for data")
        self.pilot_symbols = sorted(pilots)
        self._built: dict[str, Any] | None = None
        self._covariances: tuple[Any, Any] | None = None

    # -- what a subclass gives -------------------------------------------------------------------------------
    def channel_model(self) -> Any:
        """The Sionna channel model (a :class:`~sionna.phy.channel.ChannelModel`), built on first use."""
        raise NotImplementedError

    def max_delay_s(self) -> float:
        """The longest path delay of the model (s), for :meth:`cp_covers_delay`."""
        raise NotImplementedError

    # -- the grid --------------------------------------------------------------------------------------------
    @property
    def data_per_slot(self) -> int:
        """Data REs per slot: every RE but the pilots."""
        return self.fft_size * (self.num_ofdm_symbols - len(self.pilot_symbols))

    def cp_covers_delay(self) -> bool:
        """Whether the cyclic prefix is at least the model's longest delay (else the frequency-domain simulation
        leaves out the inter-symbol interference the longer paths would cause)."""
        return self.cp_length / (self.fft_size * self.subcarrier_spacing_khz * 1e3) >= self.max_delay_s()

    def overhead(self, frame_symbols: Sequence[int]) -> dict[str, int | bool]:
        """Resources spent besides the data REs on frames of ``frame_symbols`` symbols each: ``pilot_uses`` (REs),
        ``padding_uses`` (empty data REs of each frame's last slot), ``cp_samples`` (cyclic-prefix samples),
        ``slots``, and ``cp_covers_delay``."""
        slots = sum(-(-int(n) // self.data_per_slot) for n in frame_symbols)
        return {
            "slots": slots,
            "pilot_uses": slots * self.fft_size * len(self.pilot_symbols),
            "padding_uses": slots * self.data_per_slot - int(sum(frame_symbols)),
            "cp_samples": slots * self.num_ofdm_symbols * self.cp_length,
            "cp_covers_delay": self.cp_covers_delay(),
        }

    def _parts(self) -> dict[str, Any]:
        """Sionna's resource grid, mapper, channel and estimator, and the data RE indices, built once (eagerly,
        also when first asked for inside a ``tf.function`` trace: Sionna builds them with NumPy)."""
        if self._built is None:
            import tensorflow as tf

            with tf.init_scope():
                self._build()
        return self._built

    def _build(self) -> None:
        from sionna.phy.channel import OFDMChannel
        from sionna.phy.ofdm import LSChannelEstimator, ResourceGridMapper

        grid = self.resource_grid()
        mask = np.asarray(grid.pilot_pattern.mask)[0, 0].reshape(-1)  # 1 at pilots, [symbols * fft]
        self._built = {
            "grid": grid,
            "mapper": ResourceGridMapper(grid),
            # no normalisation per slot: that would take the slot-to-slot fading out; the model's power delay
            # profile has unit total power, so E|H|^2 = 1 over many slots (tests/channels/test_ofdm.py)
            "channel": OFDMChannel(
                self.channel_model(), grid, add_awgn=True, normalize_channel=False, return_channel=True
            ),
            "data": np.flatnonzero(mask == 0).astype(np.int32),
        }
        if self.csi != "perfect":
            interpolator = None
            if self.csi == "lmmse":
                from sionna.phy.ofdm import LMMSEInterpolator

                time, freq = self.covariances()
                interpolator = LMMSEInterpolator(grid.pilot_pattern, time, freq, order="f-t")
            self._built["estimator"] = LSChannelEstimator(grid, interpolation_type="lin", interpolator=interpolator)
        if self.csi == "ls":
            self._built["ls_error"] = self.ls_error_variance()

    def ls_error_variance(self) -> tuple[np.ndarray, np.ndarray]:
        """Error variance of least squares with linear interpolation at every RE of a slot: ``a * no + b``.

        The estimate at RE ``r`` is a fixed linear combination of the pilots' LS estimates,
        ``h_hat_r = sum_j A_rj (h_j + n_j / p_j)``, so its error has two parts: the pilots' noise through the
        weights, ``a_r = sum_j |A_rj|^2 / |p_j|^2`` (1 at a pilot, 0.5 midway between two pilot symbols, 1.54
        two symbols beyond the last), and the error of interpolating the channel's own variation,
        ``b_r = R_rr - 2 Re sum_j conj(A_rj) R_rj + (A R_PP A^H)_rr`` (0 at a pilot), with ``R`` the model's
        covariance over the slot's REs: the Kronecker product of the time and frequency covariances of
        :meth:`covariances`, as the LMMSE interpolator assumes. ``A`` is read from Sionna's linear interpolator
        itself, one unit pilot at a time, so any pilot pattern is covered. (Sionna's estimator interpolates the
        pilots' ``no`` instead and reports ``no`` at every RE, however far from the pilots.)

        Returns
        -------
        a, b : numpy.ndarray
            ``[num_ofdm_symbols * fft_size]`` float32 each, REs in row-major order (OFDM symbol, subcarrier).
        """
        import tensorflow as tf
        from sionna.phy.ofdm import LinearInterpolator

        pattern = self.resource_grid().pilot_pattern
        pilots = np.asarray(pattern.pilots)[0, 0]  # [pilot REs], in the row-major order of the mask
        count = pilots.shape[0]
        unit = tf.reshape(tf.eye(count, dtype=tf.complex64), [count, 1, 1, 1, 1, count])
        with tf.init_scope():
            weights, _ = LinearInterpolator(pattern)(unit, tf.zeros(unit.shape, tf.float32))
        A = np.asarray(weights, np.complex128).reshape(count, -1).T  # [REs, pilot REs]
        noise = np.sum(np.abs(A) ** 2 / np.maximum(np.abs(pilots) ** 2, 1e-12), axis=1)
        time, freq = (np.asarray(c, np.complex128) for c in self.covariances())
        # kron(time, freq) counts the channel's power twice (each factor is normalised to it): divide it once
        R = np.kron(time, freq) / np.mean(np.diag(time).real)
        mask = np.asarray(pattern.mask)[0, 0].reshape(-1) == 1
        cross = np.sum(np.conj(A) * R[:, mask], axis=1)
        spread = np.sum((A @ R[np.ix_(mask, mask)]) * np.conj(A), axis=1)
        model = np.maximum(np.diag(R).real - 2 * cross.real + spread.real, 0.0)
        return noise.astype(np.float32), model.astype(np.float32)

    def covariances(self) -> tuple[tf.Tensor, tf.Tensor]:
        """The model's time ``[symbols, symbols]`` and frequency ``[fft, fft]`` covariance matrices (complex64),
        averaged over ``COVARIANCE_SLOTS`` noise-free slots drawn with a fixed seed; Sionna's generator is put
        back as it was, so that the Point's random stream does not depend on whether they were cached."""
        if self._covariances is None:
            import tensorflow as tf
            from sionna.phy.channel import GenerateOFDMChannel

            freq = tf.zeros([self.fft_size] * 2, tf.complex64)
            time = tf.zeros([self.num_ofdm_symbols] * 2, tf.complex64)
            with isolated_tf_rng(COVARIANCE_SEED), tf.init_scope():
                generate = GenerateOFDMChannel(self.channel_model(), self.resource_grid(), normalize_channel=False)
                for _ in range(COVARIANCE_SLOTS // CHUNK_SLOTS):  # in chunks: every path at every RE is large
                    h = generate(CHUNK_SLOTS)[:, 0, 0, 0, 0]  # [slots, symbols, fft]
                    freq += tf.einsum("bsk,bsl->kl", h, tf.math.conj(h))
                    time += tf.einsum("bsk,btk->st", h, tf.math.conj(h))
            n = tf.cast(COVARIANCE_SLOTS, tf.complex64)
            self._covariances = (time / (n * self.fft_size), freq / (n * self.num_ofdm_symbols))
        return self._covariances

    def resource_grid(self) -> Any:
        """Sionna's :class:`~sionna.phy.ofdm.ResourceGrid` of one slot (one transmitter, one stream)."""
        from sionna.phy.ofdm import ResourceGrid

        return ResourceGrid(
            num_ofdm_symbols=self.num_ofdm_symbols,
            fft_size=self.fft_size,
            subcarrier_spacing=self.subcarrier_spacing_khz * 1e3,
            cyclic_prefix_length=self.cp_length,
            pilot_pattern="kronecker",
            pilot_ofdm_symbol_indices=self.pilot_symbols,
        )

    # -- the contract ----------------------------------------------------------------------------------------
    def __call__(self, x: tf.Tensor, no: float | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``y = H x + n`` per data RE and the true ``H``, both ``[batch, n]`` in the order of ``x``."""
        y, h, _, _ = self._send(x, no, estimate=False)
        return y, h

    def receive(self, x: tf.Tensor, no: float | tf.Tensor, equalizer: str = "zf") -> tuple[tf.Tensor, tf.Tensor]:
        """Send ``x`` and equalise every data RE with this channel's CSI; ``(x_hat, no_eff)`` ``[batch, n]``, the
        effective noise ``(no + err_var) / |H_hat|^2`` including the estimation error."""
        y, h, h_hat, err_var = self._send(x, no, estimate=True)
        if h_hat is None:
            return equalize(y, h, no, equalizer)
        return equalize(y, h_hat, no, equalizer, err_var=err_var)

    def _send(self, x: tf.Tensor, no: float | tf.Tensor, estimate: bool):
        import tensorflow as tf

        ensure_rng()
        parts = self._parts()
        x = tf.convert_to_tensor(x)
        if x.dtype != tf.complex64:
            raise TypeError(f"{self.name}: x must be tf.complex64, got {x.dtype.name}")
        batch, n = tf.shape(x)[0], tf.shape(x)[1]
        per_slot = self.data_per_slot
        slots = (n + per_slot - 1) // per_slot  # per frame
        padded = tf.pad(x, [[0, 0], [0, slots * per_slot - n]])
        grid = parts["mapper"](tf.reshape(padded, [batch * slots, 1, 1, per_slot]))
        no_rows = tf.broadcast_to(tf.reshape(tf.cast(no, tf.float32), [-1]), [batch])
        no_slots = tf.repeat(no_rows, slots)  # [batch * slots]
        y, h = self._channel(grid, no_slots)  # y [B*S, 1, 1, sym, fft], h [B*S, 1, 1, 1, 1, sym, fft]

        def frames(re: tf.Tensor) -> tf.Tensor:  # [B*S, sym, fft] -> data REs [batch, n], in the order of x
            flat = tf.gather(tf.reshape(re, [batch * slots, -1]), parts["data"], axis=1)
            return tf.reshape(flat, [batch, slots * per_slot])[:, :n]

        y_d, h_d = frames(y[:, 0, 0]), frames(h[:, 0, 0, 0, 0])
        if not estimate or self.csi == "perfect":
            return tf.ensure_shape(y_d, x.shape), tf.ensure_shape(h_d, x.shape), None, None
        h_hat, err_var = self._estimate(y, no_slots)
        return y_d, h_d, frames(h_hat), frames(err_var)

    def _estimate(self, y: tf.Tensor, no_slots: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The estimate of ``H`` and its error variance at every RE of the slots ``y``, ``[slots, sym * fft]``."""
        import tensorflow as tf

        parts = self._parts()
        h_hat, err_var = parts["estimator"](y, no_slots)
        h_hat = tf.reshape(h_hat, [tf.shape(y)[0], -1])
        if self.csi == "ls":  # the error of the interpolation, not Sionna's interpolated no (ls_error_variance)
            noise, model = parts["ls_error"]
            return h_hat, no_slots[:, None] * noise + model
        return h_hat, tf.reshape(tf.cast(err_var, tf.float32), tf.shape(h_hat))

    def _channel(self, grid: tf.Tensor, no_slots: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Sionna's OFDMChannel over ``grid`` ``[slots, 1, 1, sym, fft]`` in chunks of ``CHUNK_SLOTS`` slots, one
        after the other (``parallel_iterations=1``: the generator's draws come in the same order every time)."""
        import tensorflow as tf

        channel = self._parts()["channel"]
        total = tf.shape(grid)[0]
        chunk = tf.minimum(total, CHUNK_SLOTS)
        count = (total + chunk - 1) // chunk
        pad = count * chunk - total
        shape = [self.num_ofdm_symbols, self.fft_size]
        grids = tf.reshape(tf.pad(grid, [[0, pad], [0, 0], [0, 0], [0, 0], [0, 0]]), [count, chunk, 1, 1, *shape])
        noise = tf.reshape(tf.pad(no_slots, [[0, pad]], constant_values=1.0), [count, chunk])
        y, h = tf.map_fn(
            lambda args: channel(args[0], args[1]),
            (grids, noise),
            fn_output_signature=(
                tf.TensorSpec([None, 1, 1, *shape], tf.complex64),
                tf.TensorSpec([None, 1, 1, 1, 1, *shape], tf.complex64),
            ),
            parallel_iterations=1,
        )
        return tf.reshape(y, [-1, 1, 1, *shape])[:total], tf.reshape(h, [-1, 1, 1, 1, 1, *shape])[:total]

    def estimates(self, batch: int, no: float) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """For checks of the estimator: ``batch`` slots (data all zero) sent at noise ``no``; at every RE the true
        ``H``, the estimate and the error variance the receiver uses, each ``[batch, num_ofdm_symbols, fft_size]``
        (:attr:`pilot_mask` tells the pilot REs)."""
        import tensorflow as tf

        if self.csi == "perfect":
            raise ValueError(f"{self.name}: csi='perfect' has no estimator")
        ensure_rng()
        grid = self._parts()["mapper"](tf.zeros([batch, 1, 1, self.data_per_slot], tf.complex64))
        no_slots = tf.fill([batch], tf.cast(no, tf.float32))
        y, h = self._channel(grid, no_slots)
        h_hat, err_var = self._estimate(y, no_slots)
        shape = [batch, self.num_ofdm_symbols, self.fft_size]
        return tf.reshape(h[:, 0, 0, 0, 0], shape), tf.reshape(h_hat, shape), tf.reshape(err_var, shape)

    @property
    def pilot_mask(self) -> np.ndarray:
        """``[num_ofdm_symbols, fft_size]`` bool, True at the pilot REs."""
        return np.isin(np.arange(self.num_ofdm_symbols), self.pilot_symbols)[:, None] & np.ones(self.fft_size, bool)
