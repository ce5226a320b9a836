"""Split semantic codecs: U-Net variants cut across the channel, their layers and their complexity.

Importing this package registers the built-in builders in :data:`CODECS` ("unet", "attention_unet",
"cbam_unet", "lssc").
"""

from __future__ import annotations

from typing import Any

from lssc_sim.codecs.unet import CODECS, SplitCodec, attention_unet, cbam_unet, end_to_end, lssc, unet

_COMPLEXITY = ("ComplexityReport", "codec_complexity", "model_flops", "objective_q")

__all__ = ["CODECS", "SplitCodec", "attention_unet", "cbam_unet", "end_to_end", "lssc", "unet", *_COMPLEXITY]


def __getattr__(name: str) -> Any:
    # Imported on first use so `python -m lssc_sim.codecs.complexity` does not find it already loaded.
    if name in _COMPLEXITY:
        from lssc_sim.codecs import complexity

        return getattr(complexity, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
