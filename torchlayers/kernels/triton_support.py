"""When the kernels take the Triton path: Triton installed, a CUDA tensor, not float64.

float64 always takes the torch reference (so gradcheck runs there); CPU tensors too, except in
the interpreter tests, which launch the kernels directly.
"""
from __future__ import annotations

import functools

import torch
from torch import Tensor

__all__ = ["triton_available", "use_triton"]


@functools.lru_cache(maxsize=None)
def triton_available() -> bool:
    """True when ``import triton`` works (Triton stays an optional dependency)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def use_triton(t: Tensor) -> bool:
    """Route ``t``'s op to the Triton kernels: a CUDA tensor, not float64, Triton installed."""
    return t.device.type == "cuda" and t.dtype != torch.float64 and triton_available()
