"""The report of a run (lssc_sim.report): its numbers against values worked out by hand for a small hand-made
results table, and both files (report.md, report.html) against the folder they describe. No simulation."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

from lssc_sim.report import write_report
from lssc_sim.report.html import pipe_table_to_html
from lssc_sim.report.numbers import (
    bler_threshold_db,
    bler_thresholds,
    cliff_snr_db,
    crossing_snrs_db,
    digital_lines,
    semantic_crossings,
)

PIXELS = 16 * 16
SNRS = [0.0, 2.0, 4.0, 6.0]
SEMANTIC_MIOU = [0.80, 0.85, 0.88, 0.90]
QPSK_MIOU = [0.30, 0.60, 0.70, 0.97]
QPSK_LOST = [10, 6, 5, 0]  # 5 of 10 is "at most half": the cliff is at 4 dB, not 6
QPSK_LABEL = "PNG + LDPC r=0.50 + QPSK · 3.9 ch. uses/px"
QAM16_LABEL = "PNG + LDPC r=0.50 + 16-QAM · 2.0 ch. uses/px"
SEMANTIC_LABEL = "lssc (lssc_awgn, analog) · 15.0 ch. uses/px"
TITLE = "<script>alert(1)</script> & friends"


def _digital(modulation, snr, miou, lost, channel_uses, channel="awgn", **extra):
    return {
        "system": "png_ldpc",
        "kind": "digital_image",
        "channel": channel,
        "modulation": modulation,
        "snr_db": snr,
        "miou": miou,
        "images": 10,
        "images_lost": lost,
        "code_rate": 0.5,
        "source.codec": "png",
        "source_bits_per_image": 1500.0,
        "channel_uses_per_image": channel_uses,
        "source_bits_per_pixel": 1500.0 / PIXELS,
        "channel_uses_per_pixel": channel_uses / PIXELS,
        "clean_miou": 0.97,
        "lost_miou": 0.3,
        **extra,
    }


def _ber(modulation, bits_per_symbol, ebno, bler, coded=True):
    row = {
        "system": "ldpc" if coded else "uncoded",
        "kind": "ber",
        "channel": "awgn",
        "modulation": modulation,
        "snr_db": ebno,
        "ebno_db": ebno,
        "bits_per_symbol": bits_per_symbol,
        "code_rate": 0.5 if coded else 1.0,
        "bler": bler,
    }
    return {**row, "fec.k": 1024} if coded else row


def rows_by_hand() -> list[dict]:
    rows = [
        {
            "system": "lssc",
            "kind": "semantic",
            "channel": "awgn",
            "snr_db": s,
            "miou": m,
            "images": 10,
            "weights": "lssc_awgn",
            "channel_uses_per_pixel": 15.0,
        }
        for s, m in zip(SNRS, SEMANTIC_MIOU, strict=True)
    ]
    rows += [_digital("qpsk", s, m, k, 1000.0) for s, m, k in zip(SNRS, QPSK_MIOU, QPSK_LOST, strict=True)]
    # 16-QAM loses every image at every SNR: cliff beyond the range, always below the semantic line
    rows += [_digital("16qam", s, 0.3, 10, 500.0) for s in SNRS]
    # another panel: never compared with the AWGN semantic line
    rows += [
        _digital("qpsk", s, 0.99, 0, 1000.0, channel="rayleigh", **{"channel.coherence": "frame"}) for s in SNRS[:2]
    ]
    rows += [_ber("qpsk", 2, x, y) for x, y in zip([0.0, 1.0, 2.0, 3.0], [1.0, 0.5, 0.02, 0.0], strict=True)]
    rows += [_ber("16qam", 4, x, 1.0) for x in [0.0, 1.0, 2.0, 3.0]]  # never reaches BLER 0.1
    rows += [_ber("64qam", 6, x, y) for x, y in zip([0.0, 1.0, 2.0], [1.0, 0.3, 0.0], strict=True)]
    rows += [_ber("qpsk", 2, x, 1.0, coded=False) for x in [0.0, 1.0]]  # uncoded: no BLER threshold
    return rows


def write_csv(path, rows):
    columns = list(dict.fromkeys(c for r in rows for c in r))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def run_dir(tmp_path):
    write_csv(tmp_path / "results.csv", rows_by_hand())
    (tmp_path / "scenario.yaml").write_text(
        f"name: handmade\ntitle: '{TITLE}'\ndescription: A table made by hand.\nquick: true\n"
        "overrides:\n- dataset.num_images=20\n"
    )
    manifest = {
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:01:40+00:00",
        "versions": {"python": "3.11.7", "tensorflow": "2.19.1", "numpy": "1.26.4"},
        "git_commit": "abc123",
        "executor": "local",
        "points_computed": 7,
        "points_skipped": 3,
        "wall_seconds": 100.25,
        "cores": 2,
    }
    manifest["runs"] = [manifest.copy(), manifest.copy()]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    matplotlib.image.imsave(tmp_path / "miou_vs_snr.png", np.arange(12.0).reshape(3, 4))
    (tmp_path / "miou_vs_snr.pdf").write_bytes(b"%PDF-1.4 stand-in")
    (tmp_path / "bd_table.md").write_text("# BD table\n\n| codec | BD-rate (%) |\n|---|---:|\n| a<b | -12.5 |\n")
    (tmp_path / "bd_table.csv").write_text("codec,bd\na<b,-12.5\n")
    return tmp_path


def figures_of(folder):
    return [folder / n for n in ("bd_table.csv", "miou_vs_snr.pdf", "bd_table.md", "miou_vs_snr.png")]


# --- the pure functions ---------------------------------------------------------------------------------------


def test_cliff_is_the_lowest_snr_from_which_on_at_most_half_are_lost():
    assert cliff_snr_db(SNRS, QPSK_LOST, [10] * 4) == cliff_snr_db([0, 2, 4, 6], [10, 6, 5, 0], [10] * 4)
    assert cliff_snr_db(SNRS, QPSK_LOST, [10] * 4).snr_db == 4.0
    assert cliff_snr_db(SNRS, [10, 0, 6, 0], [10] * 4).snr_db == 6.0  # a relapse moves the cliff up
    assert cliff_snr_db(SNRS, [0, 0, 0, 6], [10] * 4).where == "beyond"
    below = cliff_snr_db(SNRS, [5, 0, 0, 0], [10] * 4)
    assert (below.snr_db, below.where) == (0.0, "below")


def test_crossings_by_linear_interpolation():
    assert crossing_snrs_db([0, 2], [1.0, 0.0], [0.0, 1.0]) == pytest.approx((1.0,))
    assert crossing_snrs_db([0, 2, 4], [0.5, 0.5, 0.5], [0.1, 0.5, 0.9]) == pytest.approx((2.0,))  # equal at 2
    assert crossing_snrs_db([0, 2, 4], [0.5, 0.5, 0.6], [0.1, 0.5, 0.2]) == ()  # touches, does not cross
    assert crossing_snrs_db([0, 2], [0.9, 0.9], [0.1, 0.2]) == ()


def test_bler_threshold_is_log_linear():
    # between (1 dB, 0.5) and (2 dB, 0.02): log10 0.1 is halfway between log10 0.5 and log10 0.02
    assert bler_threshold_db([0, 1, 2, 3], [1.0, 0.5, 0.02, 0.0])[0] == pytest.approx(1.5)
    assert bler_threshold_db([0, 1, 2], [1.0, 0.3, 0.0]) == (None, (1.0, 2.0))  # no errors: no logarithm
    assert bler_threshold_db([0, 1], [1.0, 1.0]) is None
    assert bler_threshold_db([0, 1], [0.01, 0.0]) is None


def test_digital_lines_of_the_hand_made_table():
    lines = {(line.panel, line.label): line for line in digital_lines(rows_by_hand())}
    assert set(lines) == {("AWGN", QPSK_LABEL), ("AWGN", QAM16_LABEL), ("Rayleigh, one gain per image", QPSK_LABEL)}
    qpsk = lines["AWGN", QPSK_LABEL]
    marker = 10 * math.log10(2**1.5 - 1)  # 1500 source bits over 1000 channel uses: 1.5 bit per use
    assert qpsk.cliff.snr_db == 4.0 and qpsk.cliff.where == "at"
    assert qpsk.shannon_snr_db == pytest.approx(marker)
    assert qpsk.gap_db == pytest.approx(4.0 - marker)
    assert (qpsk.images_lost, qpsk.images_sent, qpsk.lost_snr_db) == (21, 40, (0.0, 4.0))
    assert qpsk.channel_uses_per_pixel == (1000 / PIXELS, 1000 / PIXELS)
    qam = lines["AWGN", QAM16_LABEL]
    assert qam.cliff.where == "beyond" and qam.gap_db is None
    assert qam.shannon_snr_db == pytest.approx(10 * math.log10(2**3 - 1))
    assert lines["Rayleigh, one gain per image", QPSK_LABEL].lost_snr_db is None


def test_semantic_crossings_stay_within_a_panel():
    crossings = semantic_crossings(rows_by_hand())
    assert [(c.panel, c.semantic, c.digital) for c in crossings] == [
        ("AWGN", SEMANTIC_LABEL, QPSK_LABEL),
        ("AWGN", SEMANTIC_LABEL, QAM16_LABEL),
    ]
    # semantic - digital: +0.18 at 4 dB, -0.07 at 6 dB
    assert crossings[0].crossings_db == pytest.approx((4 + 2 * 0.18 / 0.25,))
    assert crossings[1].crossings_db == ()
    assert crossings[0].semantic_miou == (0.80, 0.90) and crossings[0].digital_miou == (0.30, 0.97)


def test_bler_thresholds_of_the_coded_lines():
    found, never = bler_thresholds(rows_by_hand())
    by_mod = {t.label.split(" · ")[1]: t for t in found}
    assert set(by_mod) == {"QPSK", "64-QAM"}
    assert by_mod["QPSK"].ebno_db == pytest.approx(1.5)
    assert by_mod["QPSK"].shannon_ebno_db == pytest.approx(0.0, abs=1e-12)  # 1 bit per use: Eb/N0 >= 1
    assert by_mod["QPSK"].gap_db == pytest.approx(1.5)
    assert by_mod["64-QAM"].ebno_db is None and by_mod["64-QAM"].bracket_db == (1.0, 2.0)
    assert [label.split(" · ")[1] for _, label in never] == ["16-QAM"]


# --- the two files ----------------------------------------------------------------------------------------------


def table_row(markdown: str, first_cell: str, second_cell: str | None = None) -> list[str]:
    """The cells of the Markdown table row starting with these cells."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if cells[0] == first_cell and (second_cell is None or cells[1] == second_cell):
            return cells
    raise AssertionError(f"no row {first_cell!r} in the report")


def test_reports_hold_every_figure_and_table(run_dir):
    paths = write_report(run_dir, figures_of(run_dir))
    assert paths == [run_dir / "report.md", run_dir / "report.html"]
    md, page = (p.read_text() for p in paths)
    png = base64.b64encode((run_dir / "miou_vs_snr.png").read_bytes()).decode()
    assert f'src="data:image/png;base64,{png}"' in page
    assert 'href="miou_vs_snr.pdf"' in page and 'href="bd_table.csv"' in page
    assert "![miou_vs_snr](<miou_vs_snr.png>)" in md and "(<miou_vs_snr.pdf>)" in md and "(<bd_table.csv>)" in md
    # the plots' Markdown table: included as text in the Markdown, as an escaped HTML table in the page
    assert "| a<b | -12.5 |" in md
    assert '<td>a&lt;b</td><td class="num">-12.5</td>' in page
    assert "<h3>BD table</h3>" in page and "### BD table" in md
    assert "src=" not in page.replace(f'src="data:image/png;base64,{png}"', "")  # nothing fetched from outside
    assert "<script" not in page.lower()


def test_report_numbers_equal_the_csv(run_dir):
    md = write_report(run_dir, figures_of(run_dir))[0].read_text()
    rows = [r for r in rows_by_hand() if r["kind"] == "digital_image" and r["modulation"] == "qpsk"][:4]
    cells = table_row(md, QPSK_LABEL)
    marker = 10 * math.log10(2 ** (rows[0]["source_bits_per_image"] / rows[0]["channel_uses_per_image"]) - 1)
    assert cells[1:] == [
        f"{rows[0]['channel_uses_per_pixel']:.1f}",
        f"{rows[0]['source_bits_per_pixel']:.1f}",
        "4.0 (> half lost at 2.0)",
        f"{marker:.1f}",
        f"{2.0 - marker:+.1f}..{4.0 - marker:+.1f}",
        f"{sum(r['images_lost'] for r in rows)} of {sum(r['images'] for r in rows)}",
        "0.0..4.0",
    ]
    assert table_row(md, QAM16_LABEL)[3] == "beyond the swept range (> 6.0)"
    crossing = table_row(md, SEMANTIC_LABEL, QPSK_LABEL)
    assert crossing[3] == "5.4 (below 5.4: semantic higher)"
    assert crossing[4:] == ["0.800, 0.900", "0.300, 0.970"]
    assert table_row(md, SEMANTIC_LABEL, QAM16_LABEL)[3] == "no crossing in 0.0..6.0 dB: semantic above"
    assert table_row(md, "ldpc · QPSK · LDPC r=0.50 · 1.00 ch. uses/bit")[2:] == ["1.50", "0.00", "+1.50"]


def test_header_escapes_the_title_and_shows_quick_overrides_and_run(run_dir):
    md, page = (p.read_text() for p in write_report(run_dir, figures_of(run_dir)))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in page
    assert "<title>&lt;script&gt;" in page
    assert md.startswith("# &lt;script>alert(1)&lt;/script> & friends\n")
    for text in (md, page):
        assert "--quick smoke run" in text and "A table made by hand." in text and "dataset.num_images=20" in text
        assert "abc123" in text and "100.2" in text and "3.11.7" in text
    assert "```yaml\nname: handmade" in md
    assert re.search(r"<details><summary>scenario\.yaml[^<]*</summary>\s*<pre><code[^>]*>name: handmade", page)
    assert table_row(md, "Points computed")[1] == "7" and table_row(md, "Points skipped (already stored)")[1] == "3"
    assert "Every run into this folder (2)" in md


def test_missing_manifest_and_scenario_are_said(run_dir):
    (run_dir / "manifest.json").unlink()
    (run_dir / "scenario.yaml").unlink()
    md, page = (p.read_text() for p in write_report(run_dir, []))
    for text in (md, page):
        assert "No manifest.json in this folder" in text and "No scenario.yaml in this folder" in text
        assert "--quick" not in text
    assert md.startswith(f"# {run_dir.name}\n")
    assert "The scenario drew no figures." in md
    assert table_row(md, QPSK_LABEL)[3] == "4.0 (> half lost at 2.0)"  # the numbers need results.csv only


def test_pipe_table_to_html_escapes_and_aligns():
    out = pipe_table_to_html(["| a | b \\| c |", "|:---|---:|", "| <i>x</i> | 1 |", "| only one |"])
    assert '<th>a</th><th class="num">b | c</th>' in out
    assert '<td>&lt;i&gt;x&lt;/i&gt;</td><td class="num">1</td>' in out
    assert '<td>only one</td><td class="num"></td>' in out  # a short row is padded, not shifted


def test_report_imports_neither_tensorflow_nor_numba():
    code = "import sys, lssc_sim.report; print(sorted({'tensorflow', 'numba', 'keras'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
