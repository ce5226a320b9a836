"""3GPP TR 38.901 tapped delay line channels (TDL-A to TDL-E) over OFDM, from Sionna's
:class:`~sionna.phy.channel.tr38901.TDL`, with pilots and perfect, LS or LMMSE CSI (:mod:`lssc_sim.channels.ofdm`).

One antenna at each end. TDL-A, B and C are non-line-of-sight (Rayleigh taps); TDL-D and E have a line-of-sight
first tap (Rician). The power delay profiles have unit total power, so ``E|H|^2 = 1`` over many slots; the delays
are the model's normalised delays times ``delay_spread_ns``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lssc_sim.channels.base import CHANNELS, check_choice, check_float
from lssc_sim.channels.ofdm import OfdmChannel

TDL_MODELS = ("A", "B", "C", "D", "E")


@CHANNELS.register("tdl")
class Tdl(OfdmChannel):
    """TDL-``model`` with RMS delay spread ``delay_spread_ns`` over OFDM (the other parameters:
    :class:`~lssc_sim.channels.ofdm.OfdmChannel`).

    Parameters
    ----------
    model : {"A", "B", "C", "D", "E"}
    delay_spread_ns : float
        RMS delay spread (ns), e.g. 30 (short), 100, 300 (long) as in TR 38.901 Table 7.7.3-1.
    """

    name = "tdl"

    def __init__(
        self,
        model: str = "A",
        delay_spread_ns: float = 30.0,
        csi: str = "perfect",
        fft_size: int = 72,
        subcarrier_spacing_khz: float = 30.0,
        num_ofdm_symbols: int = 14,
        cp_length: int = 6,
        pilot_symbols: Sequence[int] = (2, 11),
        carrier_ghz: float = 3.5,
        speed_kmh: float = 3.0,
    ) -> None:
        super().__init__(
            csi, fft_size, subcarrier_spacing_khz, num_ofdm_symbols, cp_length, pilot_symbols, carrier_ghz, speed_kmh
        )
        self.model = check_choice(self.name, "model", model, TDL_MODELS)
        self.delay_spread_ns = check_float(self.name, "delay_spread_ns", delay_spread_ns, 0.0)
        self._model: Any = None

    def channel_model(self) -> Any:
        if self._model is None:
            from sionna.phy.channel.tr38901 import TDL

            speed = self.speed_kmh / 3.6
            self._model = TDL(
                self.model, self.delay_spread_ns * 1e-9, self.carrier_ghz * 1e9, min_speed=speed, max_speed=speed
            )
        return self._model

    def max_delay_s(self) -> float:
        return float(max(self.channel_model().delays.numpy()))
