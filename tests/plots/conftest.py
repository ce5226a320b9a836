"""Rows of results.csv for the figure tests: small synthetic sweeps and a few real rows copied as literals."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from lssc_sim.engine.results import ResultStore
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
        "ss": (0.97 - 0.6 * lost) / 0.97,
        # every image exact when none is lost: psnr_db is then only the one-grey-level bound
        "psnr_db": 101.1 if lost == 0 else 20.0 - 8.0 * lost,
        "psnr_exact": lost == 0,
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


def write_results(out_dir, rows):
    """``rows`` as ``out_dir/results.csv``, through the store as the runner writes them (NaN SNR and all)."""
    store = ResultStore(out_dir)
    keys = []
    for i, row in enumerate(rows):
        key = f"k{i:03d}"
        point = {k: v for k, v in row.items() if k in ("system", "kind", "channel", "modulation", "snr_db")}
        store.save(key, point, row, 0.0, "run")
        keys.append(key)
    store.write_csv(keys)


@pytest.fixture(params=["column", "page"])
def style(request):
    """The resolved style of each preset."""
    return resolve_style(PlotStyle(preset=request.param))


@pytest.fixture
def make():
    """The row factories (``digital``, ``semantic``, ``ber``, ``image_sweep``, ``rate``, ``rate_sweep``), the real
    rows (``real``) and ``write(out_dir, rows)``, which writes a results.csv."""
    return SimpleNamespace(
        digital=digital_row,
        semantic=semantic_row,
        ber=ber_row,
        image_sweep=image_sweep,
        rate=rate_row,
        rate_sweep=rate_sweep,
        write=write_results,
        real=[dict(r) for r in REAL_ROWS],
    )


# Rate curves on the ideal channel: (codec, how the points are made, bpp points, efficiency); mIoU, PSNR and SSIM
# rise with log rate, the better codecs (larger efficiency) earlier.
RATE_CODECS = [
    ("jpeg", "bpp", (0.05, 0.2, 0.35, 0.6, 1.0, 1.8, 3.5), 0.0),
    ("jpeg2000", "quality", (0.2, 0.35, 0.6, 1.0, 1.8, 3.0, 4.0), 0.6),
    ("webp", "quality", (0.2, 0.3, 0.5, 0.9, 1.6, 3.0), 0.8),
    ("avif", "quality", (0.2, 0.3, 0.5, 0.9, 1.6, 3.0), 1.1),
    ("heif", "quality", (0.2, 0.3, 0.5, 0.9, 1.6, 3.0), 1.2),
]
CLEAN_MIOU = 0.955


def rate_row(system, codec, bpp, miou, psnr, ssim, **extra):
    """A digital row on the ideal channel: no SNR, no modulation, no channel code; bpp spread +-15 %."""
    return {
        "system": system,
        "kind": "digital_image",
        "channel": "ideal",
        "snr_db": math.nan,
        "source.codec": codec,
        "fec.rate": 0.5,
        "miou": miou,
        "miou_ci_low": miou - 0.01,
        "miou_ci_high": miou + 0.01,
        "clean_miou": CLEAN_MIOU,
        "lost_miou": 0.37,
        "ss": miou / CLEAN_MIOU,
        "psnr_db": psnr,
        "psnr_exact": False,
        "ssim": ssim,
        "ms_ssim": math.nan,
        "ms_ssim_note": "image side 64 px < 161 px of 5-scale MS-SSIM",
        "images": 50,
        "images_exact": 0,
        "images_lost": 0,
        "source_bits_per_pixel": bpp,
        "source_bpp_min": 0.85 * bpp,
        "source_bpp_max": 1.15 * bpp,
        "source_bits_per_image": bpp * 4096,
        **extra,
    }


def rate_sweep():
    """JPEG (bpp targets, the lowest under its floor), JPEG 2000, WebP, AVIF and HEIF (quality sweeps) at 0.2..4
    bpp with mIoU 0.5..0.93, PNG lossless at 12 bpp (exact), and LSSC on the ideal channel at mIoU 0.95."""
    rows = []
    for codec, mode, rates, efficiency in RATE_CODECS:
        for i, bpp in enumerate(rates):
            x = math.log2(bpp / 0.2) + efficiency  # "octaves above 0.2 bpp", shifted by the codec's efficiency
            miou = 0.93 - 0.43 * math.exp(-0.55 * max(x, -1.0) - 0.55)
            psnr = 25.0 + 2.8 * x
            ssim = 1.0 - 0.35 * math.exp(-0.6 * x - 0.3)
            if mode == "bpp":  # a target is met from below, except under the codec's floor
                reached = bpp >= 0.1
                knob = {"source.bpp": bpp, "images_over_target": 0 if reached else 12}
                bpp = 0.93 * bpp if reached else 0.12
            else:
                knob = {"source.quality": 20 + 10 * i}
            rows.append(rate_row(f"{codec}_ideal", codec, bpp, miou, psnr, ssim, **knob))
    rows.append(rate_row("png_ideal", "png", 12.1, CLEAN_MIOU, 101.4, 1.0, psnr_exact=True, images_exact=50, mse=0.0))
    rows.append(
        {
            "system": "lssc",
            "kind": "semantic",
            "channel": "ideal",
            "snr_db": math.nan,
            "weights": "lssc_awgn",
            "channel_uses_per_pixel": 15.0,
            "channel_uses_per_image": 61440,
            "miou": 0.95,
            "clean_miou": 0.95,
            "ss": 1.0,
            "images": 50,
        }
    )
    return rows
