"""Split semantic codecs: U-Net variants cut across the channel, their layers and their complexity.

The builders register in :data:`CODECS` ("unet", "attention_unet", "cbam_unet", "lssc") when
``lssc_sim.codecs.builders`` is imported; the names below load their module (and Keras) on first use, so that
``lssc_sim.codecs.catalog`` (the light name list the validators read) imports no Keras.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    **dict.fromkeys(("CODECS", "SplitCodec", "attention_unet", "cbam_unet", "end_to_end", "lssc", "unet"), "builders"),
    **dict.fromkeys(("ComplexityReport", "codec_complexity", "model_flops", "objective_q"), "complexity"),
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"lssc_sim.codecs.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
