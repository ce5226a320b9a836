"""Which tensors of a split U-Net cross the channel, and how wide, for a budget in channel uses per pixel.

A U-Net of ``depth`` downsamplings on an H x W image has ``depth + 1`` candidate tensors: the skip of level
``l`` (``H / 2**l`` x ``W / 2**l`` positions, ``native[l]`` channels) and the bottleneck (level ``depth``).
Two reals fill one complex channel use, so a budget of ``B`` channel uses per pixel allows ``2 B H W`` reals
per image. The rule (no Keras here: validation and the cards read it without TensorFlow):

1. The bottleneck always crosses. Skips join from the deepest up while an equal share of the budget still
   gives each sent tensor at least ``min_channels`` channels: the coarse tensors carry what the classes are,
   the fine ones where their boundaries lie, and the fine ones cost the most positions.
2. Each sent tensor gets ``floor(share / positions)`` channels (at most its native width) through a 1 x 1
   projection; what rounding and the native caps leave over goes to the deepest tensors first.
3. Dropped skips are simply absent: the decoder upsamples without concatenating them.

The achieved budget is reported; a budget that the rule cannot meet within ``tolerance`` is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_CHANNELS = 2
TOLERANCE = 0.05


def native_widths(base_width: int, depth: int, device_stages: int | None = None) -> list[int]:
    """Channels of each candidate tensor as the U-Net builders make them, finest skip first: ``base_width * 2**l``.

    With ``device_stages`` k below ``depth`` the device runs only the first k encoder stages: the candidates are
    their k skips and the tensor after the k-th downsampling (``base_width * 2**(k - 1)`` channels, at level
    k's positions), which the server's remaining stages take as input.
    """
    if device_stages is None or device_stages >= depth:
        return [base_width * 2**level for level in range(depth + 1)]
    skips = [base_width * 2**level for level in range(device_stages)]
    return [*skips, skips[-1]]


def full_channel_uses_per_pixel(height: int, width: int, native: Sequence[int]) -> float:
    """Channel uses per pixel when every tensor crosses at its native width (no projection)."""
    return _reals(height, width, native) / (2 * height * width)


def cut_widths(
    bandwidth: float,
    height: int,
    width: int,
    native: Sequence[int],
    *,
    min_channels: int = MIN_CHANNELS,
    tolerance: float = TOLERANCE,
) -> list[int]:
    """Channels sent per tensor (0: not sent) for a budget of ``bandwidth`` channel uses per pixel.

    Parameters
    ----------
    bandwidth : float
        Target complex channel uses per pixel, > 0.
    height, width : int
        Image size in pixels (divisible by ``2**depth``).
    native : sequence of int
        Channels of each candidate tensor as built, from the finest skip to the bottleneck (``depth + 1``).
    min_channels : int
        Fewest channels a sent skip gets (the bottleneck may get fewer only when nothing else is sent).
    tolerance : float
        Largest relative shortfall of the achieved budget accepted.

    Returns
    -------
    list of int
        Width per tensor, finest first; 0 marks a dropped skip. The bottleneck's entry is at least 1.

    Raises
    ------
    ValueError
        A budget that is not positive, above what the full network sends, or that the rule cannot reach
        within ``tolerance`` (the message gives the nearest budget it can reach).
    """
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be > 0 channel uses per pixel; found {bandwidth!r}")
    full = full_channel_uses_per_pixel(height, width, native)
    if bandwidth > full * (1 + 1e-9):
        raise ValueError(
            f"bandwidth {bandwidth:g} channel uses per pixel is above what this network sends with every tensor "
            f"at its native width ({full:g}); use at most {full:g}"
        )
    depth = len(native) - 1
    positions = [(height >> level) * (width >> level) for level in range(depth + 1)]
    budget = 2 * math.floor(bandwidth * height * width + 1e-9)  # reals per image: whole channel uses, never above
    sent = [depth]
    for level in reversed(range(depth)):
        trial = [level, *sent]
        share = budget / len(trial)
        if all(min(native[t], int(share // positions[t])) >= min_channels for t in trial):
            sent = trial
        else:
            break
    share = budget / len(sent)
    widths = [0] * (depth + 1)
    for t in sent:
        widths[t] = min(native[t], int(share // positions[t]))
    left = budget - sum(w * p for w, p in zip(widths, positions, strict=True))
    for t in reversed(sent):  # leftover reals to the deepest tensors first
        extra = min(native[t] - widths[t], left // positions[t])
        widths[t] += extra
        left -= extra * positions[t]
    achieved = achieved_channel_uses_per_pixel(height, width, widths)
    if widths[depth] < 1 or achieved > bandwidth * (1 + 1e-12) or achieved < (1 - tolerance) * bandwidth:
        smallest = achieved_channel_uses_per_pixel(height, width, [0] * depth + [1])
        raise ValueError(
            f"bandwidth {bandwidth:g} channel uses per pixel: the nearest this network reaches is {achieved:g} "
            f"(widths {widths}, finest first), more than {tolerance:.0%} below; the smallest budget it can send is "
            f"{smallest:g} (one bottleneck channel)"
        )
    return widths


def achieved_channel_uses_per_pixel(height: int, width: int, widths: Sequence[int]) -> float:
    """Complex channel uses per pixel of tensors with ``widths`` channels (finest first, 0: not sent)."""
    return -(-_reals(height, width, widths) // 2) / (height * width)


def _reals(height: int, width: int, widths: Sequence[int]) -> int:
    return sum((height >> level) * (width >> level) * w for level, w in enumerate(widths))
