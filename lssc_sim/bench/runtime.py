"""Run time per image on this machine, beside seed 004's Tables IV and V: ``python -m lssc_sim.bench runtime``.

Three sections, each timed per image as the project calls it, after warm-up calls that are not counted (plugin
imports, numba compilation, ``tf.function`` tracing, first allocations):

- source codecs: :func:`~lssc_sim.digital.source.pack` and the guarded
  :func:`~lssc_sim.digital.source.unpack` of every registered codec at its default quality on 256x256 test
  portraits, and the stream's bits per pixel (header included);
- LDPC decoding: the code blocks of one 256x256 portrait's PNG stream (QPSK, k = 4032, rate 1/2, AWGN) decoded
  at Es/N0 0, 5 and 10 dB by the fast (numba) and the stock Sionna decoder, with the iterations they ran, and
  what the strict receiver (early stop per image, :func:`~lssc_sim.digital.transport.send_streams`) decodes;
- neural halves: the device half (encoder) and the server half (decoder) of ``lssc_awgn``, and
  ``unet_segmenter`` whole (seed 002's E2 segments at the transmitter), at batch 1 and 16 through a
  ``tf.function`` traced once.

Every timing is a sample of one image (a batch's time divided by its size); a row reports the median of its
samples (images x repeats) with their min, max and quartiles. These are measurements: nothing asserts a time.
Seed 004's numbers come from another machine and implementation; they sit beside ours for scale only.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import lssc_sim  # noqa: F401  (silences TensorFlow before it is imported)
from lssc_sim import snr
from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.digital.source import SOURCE_CODECS, bits_per_pixel, pack, unpack

CODEC_SIZE = 256  # seed 004's images
SNRS_DB = (0.0, 5.0, 10.0)  # Es/N0 of seed 004's Table V
BATCHES = (1, 16)
SEMANTIC, SEGMENTER = "lssc_awgn", "unet_segmenter"
LDPC = {"k": 4032, "rate": 0.5, "modulation": "qpsk", "stream": "png"}
QUICK_CODECS = ("png", "jpeg")
PAPER_CODEC_S = {"jpeg": 0.011, "jpeg2000": 0.090}  # seed 004 Table IV, s per 256x256 image (other machine)
PAPER_LDPC_S = {0.0: 22.3, 5.0: 0.119, 10.0: 0.0776}  # seed 004 Table V, s per image at Es/N0 (other machine)


def bench_runtime(
    repeats: int = 7,
    images: int = 8,
    quick: bool = False,
    sionna_repeats: int = 3,
    json_path: Path | None = None,
    md_path: Path | None = None,
) -> dict:
    """Seconds per image of the source codecs, the LDPC decoders and the neural halves on this machine.

    Parameters
    ----------
    repeats : int, default 7
        Timed runs per image and row (warm-up runs come on top).
    images : int, default 8
        Test images per row (synthetic portraits, test split, seed 0): 256x256 for the codecs and the fast
        decoder, 128x128 (as trained) at batch 1 for the neural halves. Batch 16 uses the first 16 images.
    quick : bool, default False
        A smoke run: 1 image, 2 repeats, png and jpeg only, the fast decoder only at 0 and 10 dB.
    sionna_repeats : int, default 3
        Timed runs per Es/N0 of the Sionna decoder, on the first image only: it runs all its iterations
        whatever the SNR and the content (about 2 s an image on 2 cores).
    json_path, md_path : Path, optional
        Where to write every number (JSON) and the table (Markdown); folders are made.

    Returns
    -------
    dict
        ``machine`` (:func:`machine_info`), ``settings``, ``source_codecs``, ``ldpc`` and ``neural`` (lists of
        rows, each timing a :func:`spread` of seconds per image), ``bench_seconds``.
    """
    if quick:
        repeats, images = 2, 1
    t0 = time.perf_counter()
    codecs = QUICK_CODECS if quick else tuple(SOURCE_CODECS.names())
    decoders = ("fast",) if quick else ("fast", "sionna")
    snrs = (SNRS_DB[0], SNRS_DB[-1]) if quick else SNRS_DB
    big = _portraits(images, CODEC_SIZE)
    res = {
        "machine": machine_info(),
        "settings": {"repeats": repeats, "images": images, "quick": quick, "sionna_repeats": sionna_repeats},
        "source_codecs": [bench_codec(name, big, repeats) for name in codecs],
        "ldpc": bench_ldpc(big, decoders, snrs, repeats, sionna_repeats),
        "neural": bench_neural(_portraits(max(images, *BATCHES), 128), images, repeats),
    }
    res["machine"]["load_average_end"] = list(os.getloadavg())
    res["bench_seconds"] = time.perf_counter() - t0
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(res, indent=1))
    if md_path is not None:
        Path(md_path).parent.mkdir(parents=True, exist_ok=True)
        Path(md_path).write_text(format_runtime_table(res) + "\n")
    return res


def spread(samples: list[float]) -> dict:
    """Median, quartiles, min, max and count of a list of seconds."""
    q1, median, q3 = (float(q) for q in np.percentile(samples, [25, 50, 75]))
    return {"median": median, "q1": q1, "q3": q3, "min": min(samples), "max": max(samples), "n": len(samples)}


def timed(call: Callable[[], object]) -> float:
    """Seconds one call of ``call`` takes."""
    t = time.perf_counter()
    call()
    return time.perf_counter() - t


def machine_info() -> dict:
    """The CPU, the cores this process may use, the library versions and the date."""
    import numba
    import PIL
    import sionna
    import tensorflow as tf

    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:  # not Linux
        cpu = None
    return {
        "cpu": cpu or platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "sionna": sionna.__version__,
        "pillow": PIL.__version__,
        # another job on the machine shows here: the timings are only as quiet as the machine was
        "load_average_start": list(os.getloadavg()),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _portraits(count: int, size: int) -> np.ndarray:
    spec = DatasetSpec(name="synthetic_portraits", split="test", num_images=count, image_size=size, seed=0)
    return load_dataset(spec).arrays()[0]


def bench_codec(codec: str, images: np.ndarray, repeats: int) -> dict:
    """Encoding (:func:`pack`) and guarded decoding (:func:`unpack`) seconds per image of one codec at its
    default quality, and the stream's bits per pixel (header included, as sent)."""
    shape = images.shape[1:]
    unpack(pack(images[0], codec), shape)  # warm-up: the codec's plugin is imported on first use
    encode, decode, bpp, ok = [], [], [], True
    for image in images:
        for _ in range(repeats):
            t = time.perf_counter()
            stream = pack(image, codec)
            encode.append(time.perf_counter() - t)
            t = time.perf_counter()
            out = unpack(stream, shape)
            decode.append(time.perf_counter() - t)
            ok = ok and out.image is not None
        bpp.append(bits_per_pixel(len(stream), shape))
    return {
        "codec": codec,
        "lossless": SOURCE_CODECS.get(codec).lossless,
        "image_size": list(shape[:2]),
        "bits_per_pixel": float(np.mean(bpp)),
        "bpp_min": min(bpp),
        "bpp_max": max(bpp),
        "decoded": ok,
        "encode_s": spread(encode),
        "decode_s": spread(decode),
        "paper_other_machine_s": PAPER_CODEC_S.get(codec),
    }


def bench_ldpc(images: np.ndarray, decoders, snrs_db, repeats: int, sionna_repeats: int) -> list[dict]:
    """LDPC decoding seconds per image (all the code blocks of a PNG stream, one ``Link.decode`` call) and per
    code block, one row per decoder and Es/N0; with the fast decoder's iterations and the strict receiver's."""
    from lssc_sim.channels import make_channel
    from lssc_sim.digital.spec import LdpcSpec
    from lssc_sim.digital.transport import stream_blocks
    from lssc_sim.systems.stream_link import make_link

    streams = [pack(image, LDPC["stream"]) for image in images]
    rows = []
    for decoder in decoders:
        # the link the digital image system builds: QPSK, exact APP demapping, AWGN
        spec = LdpcSpec(k=LDPC["k"], rate=LDPC["rate"], decoder=decoder)
        link = make_link(spec, LDPC["modulation"], "app", make_channel("awgn"))
        # Sionna's decoder runs all its iterations whatever the SNR or the bits: the first image says it all
        chosen = streams if decoder == "fast" else streams[:1]
        count = repeats if decoder == "fast" else sionna_repeats
        rng = np.random.default_rng(0)
        payloads = [stream_blocks(s, link.payload_bits)[0] for s in chosen]
        coded = [link.encode(p) for p in payloads]
        llrs = {e: [link.llr(c, snr.to_no(e), rng) for c in coded] for e in snrs_db}
        for llr in llrs[snrs_db[0]]:  # warm-up: numba's first call, tf.function tracing per block count
            link.decode(llr)
        for es_no in snrs_db:
            seconds, crc_ok = [], []
            for llr in llrs[es_no]:
                for _ in range(count):
                    t = time.perf_counter()
                    _, ok = link.decode(llr)
                    seconds.append(time.perf_counter() - t)
                crc_ok.append(ok)
            blocks = np.array([p.shape[0] for p in payloads])
            per_block = [s / b for s, b in zip(seconds, np.repeat(blocks, count), strict=True)]
            row = {
                "decoder": decoder,
                "es_no_db": es_no,
                "ebno_db": float(snr.snr_db_to_ebno_db(es_no, link.modem.bits_per_symbol, link.code.rate)),
                "images": len(chosen),
                "blocks_per_image": float(blocks.mean()),
                "bits_per_image": float(blocks.mean() * link.payload_bits),
                "n": link.code.n,
                "max_iterations": link.code.num_iter,
                "seconds_per_image": spread(seconds),
                "seconds_per_block": spread(per_block),
                "crc_failure_rate": float(1 - np.concatenate(crc_ok).mean()),
                "paper_other_machine_s": PAPER_LDPC_S.get(es_no),
            }
            if decoder == "fast":
                row.update(_fast_details(link, payloads, coded, llrs[es_no], es_no, count))
            else:
                # Sionna 1.2's LDPC5GDecoder has no early stop: every block runs num_iter flooding iterations
                row.update({"iterations_mean": float(link.code.num_iter), "early_stop": False})
            rows.append(row)
    return rows


def _fast_details(link, payloads, coded, llrs, es_no: float, repeats: int) -> dict:
    """The fast decoder's iterations per block (an untimed second decode of the same LLRs), and what the strict
    receiver decodes: blocks in rounds of 8, the image dropped after its first round with a CRC failure."""
    from lssc_sim.digital.transport import send_streams

    iterations = np.concatenate([link.code.fast_decoder.decode(llr)[2] for llr in llrs])
    rng = np.random.default_rng(1)
    send_streams(link, payloads[:1], coded[:1], snr.to_no(es_no), rng, early_stop=True)  # warm-up
    strict, decoded = [], []
    for p, c in zip(payloads, coded, strict=True):
        for _ in range(repeats):
            tx = send_streams(link, [p], [c], snr.to_no(es_no), rng, early_stop=True)
            strict.append(tx.seconds["fec_decoding"])
            decoded.append(tx.counters["blocks_decoded"])
    return {
        "iterations_mean": float(iterations.mean()),
        "iterations_max": int(iterations.max()),
        "early_stop": True,
        "early_stopped_fraction": float(np.mean(iterations < link.code.num_iter)),
        "strict_receiver_seconds_per_image": spread(strict),
        "strict_receiver_blocks_decoded": float(np.mean(decoded)),
    }


def bench_neural(images: np.ndarray, count: int, repeats: int) -> list[dict]:
    """Seconds per image of ``lssc_awgn``'s device half (encoder) and server half (decoder), and of
    ``unet_segmenter`` whole, at each of ``BATCHES``; each through a ``tf.function`` traced once."""
    import tensorflow as tf

    from lssc_sim import pretrained

    x = images.astype(np.float32) / 255.0  # the models' input, made before the clock starts
    semantic, segmenter = pretrained.load(SEMANTIC), pretrained.load(SEGMENTER)
    image_spec = [tf.TensorSpec([None, *x.shape[1:]], tf.float32)]
    sent_spec = [[tf.TensorSpec([None, *s], tf.float32) for s in semantic.transmitted_shapes]]

    def encode(v):
        sent = semantic.encoder(v, training=False)
        return list(sent) if isinstance(sent, list | tuple) else [sent]  # Keras unwraps a lone output

    def first(b):
        return x[:b]

    def received(b):  # what the decoder gets over a noiseless channel: its time does not depend on the noise
        return [t.numpy() for t in encode(x[:b])]

    decode = tf.function(lambda t: semantic.decoder(t, training=False), input_signature=sent_spec)
    parts = [
        (SEMANTIC, "encoder", "device", tf.function(encode, input_signature=image_spec), first),
        (SEMANTIC, "decoder", "server", decode, received),
        (SEGMENTER, "whole", "device", tf.function(segmenter.segment, input_signature=image_spec), first),
    ]
    rows = []
    for model, half, side, fn, inputs in parts:
        for batch in BATCHES:
            # batch 1: each of the first `count` images; a larger batch: the first `batch` images, once
            starts = range(0, count) if batch == 1 else [0]
            feeds = [_slice(inputs(max(batch, count)), s, batch) for s in starts]
            _run(fn, feeds[0])  # warm-up: tracing (once for every batch size), the first allocations
            samples = [timed(functools.partial(_run, fn, f)) / batch for f in feeds for _ in range(repeats)]
            rows.append(
                {
                    "model": model,
                    "part": half,
                    "side": side,
                    "batch": batch,
                    "image_size": list(x.shape[1:3]),
                    "seconds_per_image": spread(samples),
                    "traces": fn.experimental_get_tracing_count(),
                }
            )
    return rows


def _slice(data, start: int, batch: int):
    """Rows ``start .. start + batch`` of an array or of each array of a list."""
    if isinstance(data, list):
        return [d[start : start + batch] for d in data]
    return data[start : start + batch]


def _run(fn, feed) -> None:
    """One call, waited for: every output brought back as NumPy."""
    out = fn(feed)
    for t in out if isinstance(out, list | tuple) else [out]:
        t.numpy()


def _s(stats: dict) -> str:
    return f"{stats['median']:.3g} ({stats['min']:.3g}-{stats['max']:.3g})"


def format_runtime_table(res: dict) -> str:
    """Markdown of :func:`bench_runtime`'s result: the machine line, then one table per section."""
    m = res["machine"]
    load = ", ".join(f"{v:.2f}" for v in m["load_average_start"])
    lines = [
        f"Machine: {m['cpu']}, {m['cpu_count']} cores visible, affinity {m['affinity']}; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, NumPy {m['numpy']}, numba {m['numba']}, Sionna {m['sionna']}, Pillow "
        f"{m['pillow']}; load average at start {load}; {m['date']}",
        "",
        f"Seconds per image: median (min-max) of images x repeats ({res['settings']['repeats']} repeats, "
        f"{res['settings']['images']} images), warm-up excluded. Paper: seed 004 Tables IV-V, another machine "
        "and implementation, for scale only.",
        "",
        "### Source codecs (256x256 synthetic portraits, default quality, 13-byte header included)",
        "",
        "| codec | bits/pixel | encode s | decode s | paper (other machine) s |",
        "|---|---|---|---|---|",
    ]
    for r in res["source_codecs"]:
        paper = r["paper_other_machine_s"]
        lines.append(
            f"| {r['codec']}{' (lossless)' if r['lossless'] else ''} | {r['bits_per_pixel']:.3f} "
            f"| {_s(r['encode_s'])} | {_s(r['decode_s'])} | {'' if paper is None else f'{paper:g}'} |"
        )
    rows = res["ldpc"]
    first = rows[0]
    lines += [
        "",
        f"### LDPC decoding (the code blocks of a 256x256 portrait's PNG stream, k = {LDPC['k']}, n = {first['n']}, "
        f"QPSK, AWGN, at most {first['max_iterations']} iterations; Sionna's on the first image only)",
        "",
        "| decoder | Es/N0 dB | Eb/N0 dB | blocks | s per image | ms per block | iterations mean (max) "
        "| early-stopped blocks | CRC failures | strict receiver s (blocks decoded) | paper (other machine) s |",
        "|---" * 11 + "|",
    ]
    for r in rows:
        if r["early_stop"]:
            iters = f"{r['iterations_mean']:.2f} ({r['iterations_max']})"
            stopped = f"{r['early_stopped_fraction']:.1%}"
            strict = f"{_s(r['strict_receiver_seconds_per_image'])} ({r['strict_receiver_blocks_decoded']:.0f})"
        else:
            iters, stopped, strict = f"{r['iterations_mean']:.0f} (always)", "none (no early stop)", "not measured"
        paper = r["paper_other_machine_s"]
        lines.append(
            f"| {r['decoder']} | {r['es_no_db']:g} | {r['ebno_db']:g} | {r['blocks_per_image']:.1f} "
            f"| {_s(r['seconds_per_image'])} | {1e3 * r['seconds_per_block']['median']:.3g} | {iters} | {stopped} "
            f"| {r['crc_failure_rate']:.1%} | {strict} | {'' if paper is None else f'{paper:g}'} |"
        )
    lines += [
        "",
        "### Neural halves (128x128 portraits as trained, tf.function traced once)",
        "",
        "| model | part | runs on | batch | s per image | images/s | traces |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in res["neural"]:
        lines.append(
            f"| {r['model']} | {r['part']} | {r['side']} | {r['batch']} | {_s(r['seconds_per_image'])} "
            f"| {1 / r['seconds_per_image']['median']:.0f} | {r['traces']} |"
        )
    return "\n".join(lines)
