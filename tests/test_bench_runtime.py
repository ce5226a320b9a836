"""The run-time benchmark: every section measured, every time a positive number, the table and its machine line.

Times are measurements on a shared machine: no test asserts how long anything takes.
"""

from __future__ import annotations

import json
import math

from lssc_sim.bench.runtime import bench_runtime


def _spreads(node):
    """Every {median, min, max, ...} timing in a result, wherever it is nested."""
    if isinstance(node, dict):
        if "median" in node:
            yield node
        else:
            for value in node.values():
                yield from _spreads(value)
    elif isinstance(node, list):
        for value in node:
            yield from _spreads(value)


def test_quick_runtime_bench_writes_every_section(tmp_path):
    bench_runtime(quick=True, json_path=tmp_path / "runtime.json", md_path=tmp_path / "runtime.md")
    res = json.loads((tmp_path / "runtime.json").read_text())
    assert {"machine", "source_codecs", "ldpc", "neural"} <= res.keys()
    assert res["machine"]["cpu_count"] >= res["machine"]["affinity"] >= 1
    assert {r["codec"] for r in res["source_codecs"]} == {"png", "jpeg"}
    assert all(r["decoded"] and r["bits_per_pixel"] > 0 for r in res["source_codecs"])
    assert {(r["model"], r["part"], r["batch"]) for r in res["neural"]} == {
        (m, p, b) for m, p in (("lssc_awgn", "encoder"), ("lssc_awgn", "decoder"), ("unet_segmenter", "whole"))
        for b in (1, 16)
    }  # fmt: skip
    assert all(r["traces"] == 1 for r in res["neural"])  # one trace serves batch 1 and 16
    spreads = list(_spreads(res))
    assert len(spreads) >= 2 * 2 + 2 * 3 + 6  # codecs' encode/decode, LDPC rows' three timings, neural rows
    for s in spreads:
        assert all(math.isfinite(s[key]) and s[key] > 0 for key in ("median", "q1", "q3", "min", "max"))
        assert s["min"] <= s["median"] <= s["max"]

    ldpc = {r["es_no_db"]: r for r in res["ldpc"] if r["decoder"] == "fast"}
    assert set(ldpc) == {0.0, 10.0}
    # below the cliff every block runs all its iterations and fails; far above it stops early (iterations, not
    # seconds: the seconds are never compared)
    assert ldpc[0.0]["iterations_mean"] >= ldpc[10.0]["iterations_mean"]
    assert ldpc[0.0]["iterations_max"] == ldpc[0.0]["max_iterations"] == 20
    assert ldpc[10.0]["crc_failure_rate"] == 0 and ldpc[10.0]["early_stopped_fraction"] == 1
    assert ldpc[0.0]["strict_receiver_blocks_decoded"] < ldpc[0.0]["blocks_per_image"]  # the image dropped early

    table = (tmp_path / "runtime.md").read_text()
    assert table.startswith("Machine: ") and f"affinity {res['machine']['affinity']}" in table
    for section in ("### Source codecs", "### LDPC decoding", "### Neural halves", "paper (other machine)"):
        assert section in table
    for row in ("| png (lossless) |", "| jpeg |", "| fast | 0 |", "| fast | 10 |", "| lssc_awgn | encoder |"):
        assert row in table
    assert "| unet_segmenter | whole | device | 16 |" in table
