"""Gray-labelled square QAM with unit average symbol energy (Sionna's ``Mapper``/``Demapper``)."""

from __future__ import annotations

import tensorflow as tf
from sionna.phy.mapping import Demapper, Mapper
from sionna.phy.utils import expand_to_rank

from lssc_sim.digital.qam import QAMTables
from lssc_sim.digital.spec import DEMAPPING_METHODS, MODULATIONS


class Modem:
    """QAM mapper and soft demapper.

    Parameters
    ----------
    modulation : {"qpsk", "16qam", "64qam", "256qam"}
        Gray-labelled square QAM, normalised to unit average energy per symbol.
    demapping : {"app", "maxlog"}, default "app"
        Exact a-posteriori LLRs or their max-log approximation. The sign of a max-log LLR is the bit of
        the nearest constellation point, i.e. the minimum-distance symbol detector.

    Notes
    -----
    LLRs follow Sionna's convention, ``llr = log(P(b=1 | y) / P(b=0 | y))`` (a logit: positive means 1),
    which is also what Sionna's ``LDPC5GDecoder`` and so :class:`~lssc_sim.digital.fec.LDPC5GCode` expect.
    """

    def __init__(self, modulation: str, demapping: str = "app") -> None:
        if modulation not in MODULATIONS:
            raise ValueError(f"modulation must be one of {', '.join(map(repr, MODULATIONS))}; got {modulation!r}")
        if demapping not in DEMAPPING_METHODS:
            raise ValueError(f"demapping must be one of {', '.join(map(repr, DEMAPPING_METHODS))}; got {demapping!r}")
        self.modulation = modulation
        self.demapping = demapping
        self.bits_per_symbol = MODULATIONS[modulation]
        self._mapper = Mapper("qam", self.bits_per_symbol, precision="single")
        self._demapper = Demapper(demapping, "qam", self.bits_per_symbol, precision="single")
        self.tables = QAMTables(self.bits_per_symbol)  # the numba mapper and demapper's view of the same QAM

    def map(self, bits: tf.Tensor) -> tf.Tensor:
        """Map bits to symbols.

        Parameters
        ----------
        bits : [..., n_bits], tf.float32
            0/1 values; ``n_bits`` (static) must be a multiple of ``bits_per_symbol``.

        Returns
        -------
        [..., n_bits / bits_per_symbol], tf.complex64
            Unit-energy symbols; the first bit of each group is the most significant bit of the label.
        """
        bits = tf.convert_to_tensor(bits)
        n_bits = bits.shape[-1]
        if n_bits is None or n_bits % self.bits_per_symbol:
            raise ValueError(
                f"{self.modulation}: the last dimension of bits must be a known multiple of "
                f"{self.bits_per_symbol}; got {n_bits}"
            )
        return self._mapper(bits)

    def demap(self, y: tf.Tensor, no: float | tf.Tensor) -> tf.Tensor:
        """Soft-demap received (equalized) symbols.

        Parameters
        ----------
        y : [..., n], tf.complex64
            Received symbols, equalized to the unit-energy constellation.
        no : float or tf.float32 broadcastable to ``y``
            Noise power per complex symbol; after equalization the effective ``no / |h|^2``. A tensor of
            lower rank than ``y`` (e.g. ``[batch]``) is expanded with trailing axes.

        Returns
        -------
        [..., n * bits_per_symbol], tf.float32
            LLRs ``log(P(b=1)/P(b=0))``.
        """
        y = tf.convert_to_tensor(y)
        no = tf.cast(no, tf.float32)
        if no.shape.rank:  # a scalar broadcasts as is; [batch] must line up with the leading axis of y
            no = expand_to_rank(no, y.shape.rank, axis=-1)
        return self._demapper(y, no)

    @property
    def exact(self) -> bool:
        """Whether demapping is exact APP (else max-log), for the numba demapper."""
        return self.demapping == "app"

    @staticmethod
    def hard_decision(llr: tf.Tensor) -> tf.Tensor:
        """Bits from LLRs ``log(P(b=1)/P(b=0))``: 1 where ``llr > 0``. Same shape, tf.float32."""
        return tf.cast(llr > 0, tf.float32)

    def __repr__(self) -> str:
        return f"Modem({self.modulation!r}, demapping={self.demapping!r})"
