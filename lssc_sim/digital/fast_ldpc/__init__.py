"""Fast 5G LDPC encoder and layered offset-min-sum decoder in numba, bit-compatible with Sionna's 5G blocks.

Both are built from a Sionna ``LDPC5GEncoder`` (its base graph, lifting size ``Z``, filler bits and output
interleaver) and mirror Sionna's rate matching (38.212 5.4.2): the first ``2Z`` systematic bits are punctured,
the ``k_ldpc - k`` filler bits after the information bits are known zeros and are not sent, the codeword is
cut after ``n`` bits and, for ``bits_per_symbol > 1``, interleaved by 38.212 5.4.2.2. Sionna's
``LDPC5GEncoder`` and ``LDPC5GDecoder`` (boxplus-phi, flooding) stay the reference the tests compare with.

Modules: :mod:`.rate_matching` (the index maps), :mod:`.crc` (CRC24B), :mod:`.encoder`, :mod:`.decoder` (the
decoder class) on the kernels of :mod:`.twin` (belief layout, syndrome, outputs), :mod:`.layered_int16` (the
default, 16-bit fixed point) and :mod:`.layered_float32`.
"""

from lssc_sim.digital.fast_ldpc.crc import CRC24B_POLY, CRC_BITS, crc24b_attach
from lssc_sim.digital.fast_ldpc.decoder import FastLDPC5GDecoder
from lssc_sim.digital.fast_ldpc.encoder import FastLDPC5GEncoder
from lssc_sim.digital.fast_ldpc.rate_matching import RateMatching

__all__ = ["CRC24B_POLY", "CRC_BITS", "FastLDPC5GDecoder", "FastLDPC5GEncoder", "RateMatching", "crc24b_attach"]
