"""dropout_mask(shape, rate, like) -> a mask of ``shape`` in like's dtype and device: Thinc's ``get_dropout_mask``.

The one inverted-dropout mask of the package (Dropout draws one per element, Embed, HashEmbed and
StaticVectors one (nO,) mask shared by every row). Scriptable, compiles and exports.
"""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor


def dropout_mask(shape: List[int], rate: float, like: Tensor) -> Tensor:
    """``(U >= rate) * (1 / (1 - rate))`` with ``U = torch.rand(shape)`` (float32, whatever like's dtype).

    The values are Thinc's bit for bit given the same coin flips: Thinc computes
    ``(U >= drop) / (1 - drop)`` in float64 and casts to float32, which is the float32 rounding of
    ``1 / (1 - rate)``; multiplying by that Python float gives it exactly (dividing by
    ``1 - rate`` in float32 does not, for some rates such as 0.15). Ones for ``rate <= 0``, zeros
    for ``rate >= 1`` (no draw in either case).
    """
    if rate <= 0.0:
        return torch.ones(shape, dtype=like.dtype, device=like.device)
    if rate >= 1.0:
        return torch.zeros(shape, dtype=like.dtype, device=like.device)
    keep = torch.rand(shape, device=like.device) >= rate
    return keep.to(like.dtype) * (1.0 / (1.0 - rate))
