"""The codec names and their default depths, without Keras: what validating a training config needs.

``tests/codecs/test_builders.py`` holds this table against the registered builders' signatures.
"""

from __future__ import annotations

CODEC_DEPTHS: dict[str, int] = {"unet": 4, "attention_unet": 4, "cbam_unet": 4, "lssc": 3}
"""Default number of downsamplings of each registered codec builder (``lssc_sim.codecs.CODECS``)."""
