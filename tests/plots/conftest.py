"""Rows of results.csv for the figure tests: small synthetic sweeps and a few real rows copied as literals."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from lssc_sim.plots.base import resolve_style
from lssc_sim.plots.catalog import PlotStyle

# From the main job's results.csv (awgn_sweep) and a rayleigh_sweep Point (coherence block), cut to the columns
# the figures read: a semantic row, a QPSK row on its cliff, a 16-QAM row with one block error, a fading row.
REAL_ROWS = [
    {
        "system": "lssc",
        "kind": "semantic",
        "channel": "awgn",
        "snr_db": 1.0,
        "weights": "lssc_awgn",
        "channel_uses_per_pixel": 15.0,
        "channel_uses_per_image": 245760,
        "miou": 0.9434386022372283,
        "clean_miou": 0.950707561134214,
        "images": 100,
    },
    {
        "system": "png_ldpc",
        "kind": "digital_image",
        "channel": "awgn",
        "modulation": "qpsk",
        "snr_db": 1.0,
        "source.codec": "png",
        "receiver.mode": "strict",
        "receiver.early_stop": True,
        "code_rate": 0.5,
        "fec.k": 4032,
        "fec.rate": 0.5,
        "channel_uses_per_pixel": 13.1438671875,
        "channel_uses_per_image": 215349.12,
        "source_bits_per_image": 212007.76,
        "miou": 0.34686859130859377,
        "clean_miou": 0.9726221736882131,
        "lost_miou": 0.34686859130859377,
        "images": 100,
        "images_lost": 100,
        "bler": 0.1366906474820144,
        "block_errors": 152,
        "blocks_decoded": 1112,
    },
    {
        "system": "png_ldpc",
        "kind": "digital_image",
        "channel": "awgn",
        "modulation": "16qam",
        "snr_db": 7.0,
        "source.codec": "png",
        "receiver.mode": "strict",
        "receiver.early_stop": True,
        "code_rate": 0.5,
        "fec.k": 4032,
        "fec.rate": 0.5,
        "channel_uses_per_pixel": 6.57193359375,
        "channel_uses_per_image": 107674.56,
        "source_bits_per_image": 212007.76,
        "miou": 0.9682383970947079,
        "clean_miou": 0.9726221736882131,
        "lost_miou": 0.34686859130859377,
        "images": 100,
        "images_lost": 1,
        "bler": 0.0001872308556450103,
        "block_errors": 1,
        "blocks_decoded": 5341,
    },
    {
        "system": "png_ldpc",
        "kind": "digital_image",
        "channel": "rayleigh",
        "channel.coherence": "block",
        "channel.block_length": 4032,
        "modulation": "16qam",
        "snr_db": 14.0,
        "source.codec": "png",
        "receiver.mode": "strict",
        "receiver.early_stop": True,
        "code_rate": 0.5,
        "fec.k": 4032,
        "fec.rate": 0.5,
        "channel_uses_per_pixel": 6.57193359375,
        "channel_uses_per_image": 107674.56,
        "source_bits_per_image": 212007.76,
        "miou": 0.36302190758426167,
        "clean_miou": 0.9726221736882131,
        "lost_miou": 0.34686859130859377,
        "images": 100,
        "images_lost": 98,
        "bler": 0.16845637583892617,
        "block_errors": 251,
        "blocks_decoded": 1490,
    },
]


def digital_row(snr, modulation="qpsk", lost=0.0, **extra):
    """A PNG + LDPC row of a synthetic sweep; ``lost`` is the fraction of images lost."""
    m = {"qpsk": 2, "16qam": 4}[modulation]
    images = 100
    return {
        "system": "png_ldpc",
        "kind": "digital_image",
        "channel": "awgn",
        "modulation": modulation,
        "snr_db": float(snr),
        "source.codec": "png",
        "receiver.mode": "strict",
        "receiver.early_stop": True,
        "fec.rate": 0.5,
        "code_rate": 0.5,
        "channel_uses_per_pixel": 13.0 / m,
        "channel_uses_per_image": 13.0 / m * 16384,
        "source_bits_per_image": 12.9 * 16384,
        "miou": 0.97 - 0.6 * lost,
        "clean_miou": 0.97,
        "lost_miou": 0.37,
        "images": images,
        "images_lost": int(images * lost),
        "block_errors": int(2000 * lost),
        "scored_blocks": 4000,
        **extra,
    }


def semantic_row(snr, **extra):
    return {
        "system": "lssc",
        "kind": "semantic",
        "channel": "awgn",
        "snr_db": float(snr),
        "weights": "lssc_awgn",
        "channel_uses_per_pixel": 15.0,
        "miou": 0.95 - 0.01 * max(0, 10 - snr),
        "clean_miou": 0.955,
        "images": 100,
        **extra,
    }


def ber_row(snr, system="uncoded", modulation="qpsk", **extra):
    m = {"qpsk": 2, "16qam": 4}[modulation]
    coded = system != "uncoded"
    rate = 0.5 if coded else 1.0
    bits, bit_errors = 100_000, max(0, int(10_000 * 10 ** (-snr / (2 if coded else 6))))
    row = {
        "system": system,
        "kind": "ber",
        "channel": "awgn",
        "modulation": modulation,
        "snr_db": float(snr),
        "ebno_db": float(snr) - 10 * math.log10(m * rate),
        "bits_per_symbol": m,
        "code_rate": rate,
        "bits": bits,
        "bit_errors": bit_errors,
        "ber": bit_errors / bits,
        "blocks": 25,
        "block_errors": min(25, bit_errors),
        "bler": min(25, bit_errors) / 25,
        **extra,
    }
    if coded:
        row.update({"fec.k": 4032, "fec.rate": 0.5})
    return row


def image_sweep(step=1):
    """LSSC and PNG + LDPC at QPSK and 16-QAM from -5 to 25 dB, each digital link with its cliff."""
    rows = [semantic_row(s) for s in range(-5, 26, step)]
    rows += [
        digital_row(s, mod, lost=float(s < cliff))
        for mod, cliff in (("qpsk", 2), ("16qam", 7))
        for s in range(-5, 26, step)
    ]
    return rows


@pytest.fixture(params=["column", "page"])
def style(request):
    """The resolved style of each preset."""
    return resolve_style(PlotStyle(preset=request.param))


@pytest.fixture
def make():
    """The row factories (``digital``, ``semantic``, ``ber``, ``image_sweep``) and the real rows (``real``)."""
    return SimpleNamespace(
        digital=digital_row,
        semantic=semantic_row,
        ber=ber_row,
        image_sweep=image_sweep,
        real=[dict(r) for r in REAL_ROWS],
    )
