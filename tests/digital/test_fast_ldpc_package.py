"""The ``fast_ldpc`` package: its public names, one concept per module with no private name crossing modules,
and the float32 decoder path against Sionna's ``LDPC5GDecoder`` on the same seeded LLRs."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

import lssc_sim.digital.fast_ldpc as fast_ldpc
from lssc_sim import snr
from lssc_sim.digital.fast_ldpc import FastLDPC5GDecoder, FastLDPC5GEncoder
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.qam import QAMTables, map_awgn_demap

PACKAGE = Path(fast_ldpc.__file__).parent


def _noisy_llr(code: LDPC5GCode, ebno_db: float, blocks: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Payloads and their APP LLRs after QAM over AWGN at ``ebno_db`` (Eb per LDPC info bit)."""
    m = code.bits_per_symbol
    no = 10 ** (-snr.ebno_db_to_snr_db(ebno_db, m, code.rate) / 10)
    payload = rng.integers(0, 2, (blocks, code.payload_bits), dtype=np.uint8)
    noise = rng.standard_normal((blocks, 2 * code.n // m), dtype=np.float32)
    coded = FastLDPC5GEncoder(code._encoder).encode(payload)
    return payload, map_awgn_demap(coded, float(no), QAMTables(m), noise)


def test_package_reexports_the_public_names():
    expected = {"FastLDPC5GEncoder", "FastLDPC5GDecoder", "RateMatching", "crc24b_attach", "CRC24B_POLY", "CRC_BITS"}
    assert set(fast_ldpc.__all__) == expected
    for name in expected:
        assert getattr(fast_ldpc, name) is not None
    assert fast_ldpc.CRC_BITS == 24 and fast_ldpc.CRC24B_POLY == 0x800063


def test_modules_are_small_and_no_private_name_crosses_a_module():
    modules = sorted(PACKAGE.glob("*.py"))
    assert {p.stem for p in modules} >= {"__init__", "rate_matching", "crc", "encoder", "decoder"}
    for path in modules:
        source = path.read_text()
        assert len(source.splitlines()) < 300, path.name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lssc_sim.digital.fast_ldpc"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, (path.name, node.module, private)
        importlib.import_module(
            f"lssc_sim.digital.fast_ldpc.{path.stem}" if path.stem != "__init__" else fast_ldpc.__name__
        )


@pytest.mark.parametrize(
    "k, rate, bits_per_symbol, ebno_db",
    [(1000, 0.5, 2, 3.0), (4032, 0.5, 2, 2.0), (4032, 0.5, 4, 4.5), (8448, 5 / 6, 2, 4.5)],
)
def test_float32_path_decodes_as_sionna_above_the_cliff(k, rate, bits_per_symbol, ebno_db, rng):
    # above the cliff both decoders correct every block of this seeded batch: same payloads, bit for bit
    code = LDPC5GCode(k, rate=rate, bits_per_symbol=bits_per_symbol)
    payload, llr = _noisy_llr(code, ebno_db, 32, rng)
    stock = code.decode(llr)[0].numpy()
    fast, crc_ok, iterations = FastLDPC5GDecoder(code._encoder, arithmetic="float32").decode(llr)
    np.testing.assert_array_equal(stock, payload)
    np.testing.assert_array_equal(fast, stock)
    assert crc_ok.all() and (iterations >= 1).all() and (iterations < 20).all()


def test_float32_path_bler_no_worse_than_sionna_on_the_same_llrs(rng):
    # as test_fast_ldpc's test of the default arithmetic, for the float32 path explicitly
    code = LDPC5GCode(4032, rate=0.5, bits_per_symbol=2)
    payload, llr = _noisy_llr(code, 1.25, 256, rng)
    stock = int(np.any(code.decode(llr)[0].numpy() != payload, axis=-1).sum())
    fast = int(np.any(FastLDPC5GDecoder(code._encoder, arithmetic="float32").decode(llr)[0] != payload, axis=-1).sum())
    assert 0 < stock and fast <= stock + 4, (fast, stock)


def test_int16_is_the_default_and_unknown_arithmetic_is_rejected():
    code = LDPC5GCode(1000, rate=0.5)
    assert FastLDPC5GDecoder(code._encoder).arithmetic == "int16"
    with pytest.raises(ValueError, match="arithmetic"):
        FastLDPC5GDecoder(code._encoder, arithmetic="float16")
