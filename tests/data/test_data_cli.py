"""``python -m lssc_sim.data preview`` and ``realism``."""

from pathlib import Path

import numpy as np
from PIL import Image

from lssc_sim.data.__main__ import main


def test_preview_writes_a_contact_sheet(tmp_path: Path, capsys):
    out = tmp_path / "sheet.png"
    code = main(["preview", "synthetic_street", "--num-images", "5", "--image-size", "32", "--columns", "3",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (2 * (2 * 32 + 4), 3 * (32 + 4), 3)
    text = capsys.readouterr().out
    for needle in ("PNG bits/pixel", "JPEG-75 bits/pixel", "road", "(ignore)"):
        assert needle in text


def test_realism_prints_the_bars(tmp_path: Path, capsys):
    report = tmp_path / "realism.json"
    code = main(["realism", "synthetic_portraits", "--train", "3", "--test", "2", "--image-size", "32",
                 "--json", str(report)])  # fmt: skip
    assert code == 0 and report.is_file()
    text = capsys.readouterr().out
    assert "colour-classifier mIoU" in text and "bar png_bpp" in text


def test_bad_layout_is_one_clear_line(tmp_path: Path, capsys):
    code = main(["preview", "cityscapes", "--path", str(tmp_path)])
    assert code == 2
    assert "error: dataset 'cityscapes'" in capsys.readouterr().err
