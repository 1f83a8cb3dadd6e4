"""MurmurHash3_x64_128 of 64-bit ids: the pure-torch reference (the Triton device function
``murmur3_x64_128_tl`` is in ``kernels/_triton/murmur3.py``).

Shape:
    - ids: (N,) integer tensor (int32 or int64). Each id is hashed as the 8 little-endian bytes
      of its uint64 value: int32 values are cast (-1 -> 2**64 - 1), negative int64 values are
      reinterpreted as two's complement (the same bits).
    - seed: a Python int in [0, 2**32) (hashed as uint32).
    - returns: (N, 4) int64 holding the four uint32 keys [h1 low, h1 high, h2 low, h2 high].

Bit-identical to Thinc's ``ops.hash(ids_uint64, seed)`` (``MurmurHash3_x86_128_uint64`` in
``numpy_ops.pyx``, which despite its name is the x64_128 variant specialized to 8-byte keys).
Quirk kept: id 0 with seed 8 hashes to ``[0, 0, 0, 0]``.

The torch reference works on int64 tensors: multiplication and left shifts wrap exactly like
uint64 ones (two's complement), and logical right shifts are arithmetic shifts with the sign
bits masked off. The Triton device function does the same on ``tl.uint64``.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

__all__ = ["murmur3_x64_128_keys", "murmur3_x64_128_halves", "check_seed"]

_C1 = 0x87C37B91114253D5
_C2 = 0x4CF5AD432745937F
_F1 = 0xFF51AFD7ED558CCD
_F2 = 0xC4CEB9FE1A85EC53
_MASK32 = 0xFFFFFFFF


def _signed(u: int) -> int:
    """The int64 with the same bits as the uint64 ``u``."""
    return u - (1 << 64) if u >= (1 << 63) else u


_C1_S, _C2_S, _F1_S, _F2_S = (_signed(c) for c in (_C1, _C2, _F1, _F2))


def check_seed(seed: int, where: str = "murmur3_x64_128") -> int:
    """The seed must fit a uint32 (Thinc raises OverflowError for anything else)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{where}: seed must be an int in [0, 2**32), got {type(seed).__name__} {seed!r}")
    if seed < 0 or seed >= 1 << 32:
        raise OverflowError(f"{where}: seed must fit a uint32, i.e. be in [0, 2**32), got {seed}")
    return seed


def _shr(x: Tensor, k: int) -> Tensor:
    """Logical (unsigned) right shift of int64 bits."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def _fmix64(k: Tensor) -> Tensor:
    k = k ^ _shr(k, 33)
    k = k * _F1_S
    k = k ^ _shr(k, 33)
    k = k * _F2_S
    return k ^ _shr(k, 33)


def _check_ids(ids: Tensor) -> None:
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"murmur3_x64_128: expected integer ids, got dtype {ids.dtype}; convert with .long()")


def murmur3_x64_128_halves(ids: Tensor, seed: int) -> Tuple[Tensor, Tensor]:
    """(h1, h2) as int64 tensors holding the uint64 bits, each of the shape of ``ids``.

    The step-by-step form of the hash (the spec the fast ``murmur3_x64_128_keys`` is tested against).
    """
    _check_ids(ids)
    check_seed(seed)
    k1 = ids.to(torch.int64) * _C1_S
    k1 = (k1 << 31) | _shr(k1, 33)
    k1 = k1 * _C2_S
    h1 = k1 ^ (seed ^ 8)
    h2 = torch.full_like(h1, seed ^ 8)
    h1 = h1 + h2
    h2 = h2 + h1
    h1 = _fmix64(h1)
    h2 = _fmix64(h2)
    h1 = h1 + h2
    h2 = h2 + h1
    return h1, h2


def murmur3_x64_128_keys(ids: Tensor, seed: int) -> Tensor:
    """(N,) integer ids -> (N, 4) int64 uint32 keys [h1 low, h1 high, h2 low, h2 high].

    Fewer, in-place passes than ``murmur3_x64_128_halves`` (CPU time is dominated by passes):
    h1 and h2 are mixed together as one (N, 2) tensor, whose int32 view on a little-endian
    machine is already [h1 low, h1 high, h2 low, h2 high].
    """
    _check_ids(ids)
    check_seed(seed)
    s8 = seed ^ 8
    k = ids.to(torch.int64, copy=True).mul_(_C1_S)
    k = k.bitwise_left_shift(31).bitwise_or_(_shr(k, 33)).mul_(_C2_S).bitwise_xor_(s8).add_(s8)  # h1 += h2
    h = torch.stack((k, k + s8), dim=-1)  # h2 = s8 + h1
    h.bitwise_xor_(_shr(h, 33)).mul_(_F1_S)
    h.bitwise_xor_(_shr(h, 33)).mul_(_F2_S)
    h.bitwise_xor_(_shr(h, 33))
    h[..., 0].add_(h[..., 1])
    h[..., 1].add_(h[..., 0])
    return h.view(torch.int32).to(torch.int64).bitwise_and_(_MASK32)
