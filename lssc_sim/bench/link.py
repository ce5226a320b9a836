"""Link benchmarks: the numba fast path against the stock Sionna reference, side by side, in the same run.

``bench link``: end-to-end information throughput (Mbit/s) and BLER of the fast and the stock link at the cliff
and 1 dB above it (QPSK and 16-QAM, k = 4032 and 8448 at rate 1/2, AWGN). ``bench bler``: BLER against Eb/N0
of both decoders on identical LLRs, the Eb/N0 of each at BLER 1e-2 and their gap.

Eb/N0 counts ``Eb`` per LDPC information bit (CRC included): ``Es/N0 = Eb/N0 * bits_per_symbol * k / n``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

import lssc_sim  # noqa: F401  (silences TensorFlow before it is imported)
from lssc_sim import snr
from lssc_sim.channels import make_channel
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.link import Link
from lssc_sim.digital.modem import Modem
from lssc_sim.digital.qam import map_awgn_demap
from lssc_sim.digital.spec import MODULATIONS

log = logging.getLogger(__name__)
OUT_DIR = Path("results/bench")
LINK_CASES = [("qpsk", 4032), ("qpsk", 8448), ("16qam", 4032), ("16qam", 8448)]
BATCH = 64


def noise_power(ebno_db: float, code: LDPC5GCode) -> float:
    """Noise power per complex symbol (unit-energy symbols) at ``ebno_db`` for this code's rate and QAM."""
    return snr.to_no(float(snr.ebno_db_to_snr_db(ebno_db, code.bits_per_symbol, code.rate)))


def _time_link(link: Link, blocks: int, no: float) -> dict:
    """Warm-up call (tracing/JIT), then ``blocks`` blocks in batches of ``BATCH``; counts and seconds."""
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    link.run(BATCH, no, rng)
    warmup = time.perf_counter() - t0
    total: dict[str, int] = {}
    t0 = time.perf_counter()
    for _ in range(-(-blocks // BATCH)):
        for key, value in link.run(BATCH, no, rng).items():
            total[key] = total.get(key, 0) + value
    seconds = time.perf_counter() - t0
    return {
        "mbit_s": total["bits"] / seconds / 1e6,
        "bler": total["block_errors"] / total["blocks"],
        "blocks": total["blocks"],
        "seconds": seconds,
        "warmup_s": warmup,
    }


def find_cliff(link: Link, code: LDPC5GCode, target: float = 0.15, blocks: int = 128) -> float:
    """Lowest Eb/N0 (dB, 0.1 dB grid) where the fast decoder's BLER is at most ``target``.

    The stock decoder is ~0.1 dB worse here (see ``bench bler``), so its BLER there is inside 0.1-0.5.
    """
    m, rng = code.bits_per_symbol, np.random.default_rng(1)
    ebno = {2: 0.6, 4: 2.8}.get(m, 4.0)
    while ebno < 15:
        errors = sum(link.run(BATCH, noise_power(ebno, code), rng)["block_errors"] for _ in range(blocks // BATCH))
        if errors / blocks <= target:
            return round(ebno, 2)
        ebno += 0.1
    raise RuntimeError("no cliff found below 15 dB")


def bench_link(blocks: int) -> list[dict]:
    """Rows of the link benchmark: one per (modulation, k, operating point), both paths."""
    rows = []
    for modulation, k in LINK_CASES:
        m = MODULATIONS[modulation]
        channel = make_channel("awgn")
        fast_code = LDPC5GCode(k, rate=0.5, bits_per_symbol=m, decoder="fast")
        fast = Link(fast_code, Modem(modulation), channel)
        # the stock chain: Sionna's encoder, mapper, AWGN, APP demapper and LDPC5GDecoder (boxplus-phi, 20 it.),
        # all in one graph as Sionna runs fastest (not the Link with reference=True, which crosses to NumPy)
        ref = StockChain(LDPC5GCode(k, rate=0.5, bits_per_symbol=m), Modem(modulation), channel)
        cliff = find_cliff(fast, fast_code)
        for point, ebno in (("cliff", cliff), ("above", cliff + 1.0)):
            no = noise_power(ebno, fast_code)
            f, r = _time_link(fast, blocks, no), _time_link(ref, blocks, no)
            rows.append(
                {
                    "modulation": modulation,
                    "k": k,
                    "n": fast_code.n,
                    "point": point,
                    "ebno_db": ebno,
                    "fast": f,
                    "reference": r,
                    "speedup": f["mbit_s"] / r["mbit_s"],
                }
            )
            log.info("%s", rows[-1])
    return rows


def format_link_table(rows: list[dict]) -> str:
    """Markdown table of :func:`bench_link` rows."""
    lines = [
        "| modulation | k | point | Eb/N0 dB | fast Mbit/s | ref Mbit/s | fast/ref | fast BLER | ref BLER "
        "| warm-up fast s | warm-up ref s |",
        "|---" * 11 + "|",
    ]
    for r in rows:
        f, ref = r["fast"], r["reference"]
        lines.append(
            f"| {r['modulation']} | {r['k']} | {r['point']} | {r['ebno_db']:.1f} | {f['mbit_s']:.2f} "
            f"| {ref['mbit_s']:.3f} | {r['speedup']:.1f}x | {f['bler']:.4f} | {ref['bler']:.4f} "
            f"| {f['warmup_s']:.1f} | {ref['warmup_s']:.1f} |"
        )
    return "\n".join(lines)


def bench_bler(ebno_grid: np.ndarray, fast_blocks: int = 3000, ref_blocks: int = 512, max_errors: int = 200) -> dict:
    """BLER of both decoders on identical QPSK/AWGN LLR batches (k = 4032, rate 1/2).

    The stock decoder decodes the first ``ref_blocks`` blocks of each point (its time is the budget); the
    fast one goes on to ``fast_blocks`` or ``max_errors`` block errors. A curve stops once it saw no error.
    """
    code = LDPC5GCode(4032, rate=0.5, bits_per_symbol=2)
    fast_code = LDPC5GCode(4032, rate=0.5, bits_per_symbol=2, decoder="fast")
    tables = Modem("qpsk").tables
    rng = np.random.default_rng(1)
    out = {"ebno_db": [], "fast": [], "reference": [], "fast_blocks": [], "reference_blocks": []}
    ref_done = fast_done = False
    for ebno in ebno_grid:
        no = noise_power(float(ebno), code)
        counts = {"fast": [0, 0], "reference": [0, 0]}
        for start in range(0, fast_blocks, BATCH):
            payload = rng.integers(0, 2, (BATCH, code.payload_bits), dtype=np.uint8)
            noise = rng.standard_normal((BATCH, code.n), np.float32)
            llr = map_awgn_demap(fast_code.encode_bits(payload), no, tables, noise)
            if not fast_done:
                bits, _ = fast_code.decode_llr(llr)
                counts["fast"][0] += int(np.any(bits != payload, axis=-1).sum())
                counts["fast"][1] += BATCH
            if not ref_done and start < ref_blocks:
                bits, _ = code.decode_llr(llr)
                counts["reference"][0] += int(np.any(bits != payload, axis=-1).sum())
                counts["reference"][1] += BATCH
            if (fast_done or counts["fast"][0] >= max_errors) and (ref_done or start + BATCH >= ref_blocks):
                break
        out["ebno_db"].append(float(ebno))
        for name in ("fast", "reference"):
            errors, n = counts[name]
            out[name].append(errors / n if n else None)
            out[f"{name}_blocks"].append(n)
        fast_done = fast_done or counts["fast"][0] == 0
        ref_done = ref_done or counts["reference"][0] == 0
        log.info("Eb/N0 %.2f dB: %s", ebno, counts)
        if fast_done and ref_done:
            break
    for name in ("fast", "reference"):
        out[f"{name}_ebno_at_1e-2"] = ebno_at_bler(out["ebno_db"], out[name], 1e-2)
    out["gap_db"] = out["fast_ebno_at_1e-2"] - out["reference_ebno_at_1e-2"]
    return out


def ebno_at_bler(ebno_db: list[float], bler: list[float | None], target: float) -> float:
    """Eb/N0 (dB) where the BLER curve crosses ``target``, interpolating ``log10(BLER)`` linearly."""
    pts = [(e, b) for e, b in zip(ebno_db, bler, strict=True) if b is not None]
    for (e0, b0), (e1, b1) in zip(pts, pts[1:], strict=False):
        if b0 >= target > b1:
            lb0, lb1 = np.log10(b0), np.log10(max(b1, 1e-6))  # a zero count: the crossing is at most there
            return float(e0 + (np.log10(target) - lb0) * (e1 - e0) / (lb1 - lb0))
    return float("nan")


def plot_bler(json_path: Path, out_dir: Path) -> list[Path]:
    """BLER vs Eb/N0 figure (PNG and PDF) from the JSON written by ``bench bler``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = json.loads(Path(json_path).read_text())
    fig, ax = plt.subplots(figsize=(5.5, 4))
    labels = {
        "fast": f"numba layered offset min-sum, \u226420 it ({res['fast_ebno_at_1e-2']:.2f} dB)",
        "reference": f"Sionna boxplus-phi, 20 flooding it ({res['reference_ebno_at_1e-2']:.2f} dB)",
    }
    for name, marker in (("reference", "o"), ("fast", "s")):
        pts = [(e, b) for e, b in zip(res["ebno_db"], res[name], strict=True) if b]
        ax.semilogy(*zip(*pts, strict=True), marker=marker, label=labels[name])
    ax.axhline(1e-2, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("Eb/N0 (dB)")
    ax.set_ylabel("block error rate")
    ax.set_title(f"5G LDPC k=4032, r=1/2, QPSK, AWGN; gap at 1e-2: {res['gap_db']:+.2f} dB", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [out_dir / "bler_fast_vs_sionna.png", out_dir / "bler_fast_vs_sionna.pdf"]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths


class StockChain:
    """The stock Sionna chain the fast link is measured against, as fast as Sionna runs it: one ``tf.function``
    from Sionna's ``BinarySource`` through the CRC and LDPC encoders, the mapper, the channel, the equalizer and
    the APP demapper to ``LDPC5GDecoder`` and the CRC check, counting errors in the graph. ``run`` returns the
    counters of :meth:`lssc_sim.digital.link.Link.run`."""

    def __init__(self, code: LDPC5GCode, modem: Modem, channel) -> None:
        import tensorflow as tf
        from sionna.phy.mapping import BinarySource

        self.code, self.modem, self.channel = code, modem, channel
        self._source = BinarySource()
        self._step = tf.function(self._step_impl)

    def _step_impl(self, batch_size, no):
        import tensorflow as tf

        from lssc_sim.channels import equalize

        bits = self._source([batch_size, self.code.payload_bits])
        coded = self.code.encode(bits)
        y, h = self.channel(self.modem.map(coded), no)
        llr = self.modem.demap(*equalize(y, h, no))
        bits_hat, _ = self.code.decode(llr)
        errors = tf.not_equal(bits_hat, bits)
        return (tf.reduce_sum(tf.cast(errors, tf.int64)), tf.reduce_sum(tf.cast(tf.reduce_any(errors, -1), tf.int64)))

    def run(self, batch_size: int, no: float, rng: np.random.Generator) -> dict[str, int]:
        import tensorflow as tf

        bit_errors, block_errors = self._step(tf.constant(batch_size), tf.constant(no, tf.float32))
        return {
            "bits": batch_size * self.code.payload_bits,
            "bit_errors": int(bit_errors),
            "blocks": batch_size,
            "block_errors": int(block_errors),
        }
