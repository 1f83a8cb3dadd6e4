"""MurmurHash3_x86_32: pure Python over bytes and pure torch over uint64 keys (the Triton device
function ``murmur3_x86_32_u64_tl`` is in ``kernels/_triton/murmur3.py``).

Shape:
    - ``murmurhash3_x86_32_bytes(data: bytes, seed=0) -> int``: one signed int32, equal to
      ``murmurhash.hash_bytes(data, seed)`` (and ``hash_unicode(s, seed)`` for
      ``data = s.encode("utf8")``).
    - ``murmur3_x86_32_keys(keys: (N,) int, seed) -> (N,) int64``: the uint32 hash (in [0, 2**32))
      of each key's 8 little-endian bytes, equal to the ``MurmurHash3_x86_32(&key, 8, seed)``
      that Thinc's ``SparseLinear`` (``sparse_linear.pyx``) calls. int64 keys are hashed by their
      bits (negative ids are the uint64 two's complement), int32 keys are sign-extended first.
      A sequence of S seeds gives (N, S), sharing the seed-independent key mixing.

The torch reference works in int64 with every intermediate masked to 32 bits, so products of
two 32-bit values never overflow (< 2**64 bits wrap exactly like uint64 anyway).
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import Tensor

__all__ = [
    "murmurhash3_x86_32_bytes",
    "murmur3_x86_32_keys",
    "check_seed32",
]

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_F1 = 0x85EBCA6B
_F2 = 0xC2B2AE35
_M32 = 0xFFFFFFFF


def check_seed32(seed: int, where: str = "murmur3_x86_32") -> int:
    """The seed must fit a uint32 (``murmurhash`` raises OverflowError for anything else)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{where}: seed must be an int in [0, 2**32), got {type(seed).__name__} {seed!r}")
    if seed < 0 or seed >= 1 << 32:
        raise OverflowError(f"{where}: seed must fit a uint32, i.e. be in [0, 2**32), got {seed}")
    return seed


def _rotl32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _fmix32_int(h: int) -> int:
    h ^= h >> 16
    h = (h * _F1) & _M32
    h ^= h >> 13
    h = (h * _F2) & _M32
    return h ^ (h >> 16)


def murmurhash3_x86_32_bytes(data: bytes, seed: int = 0) -> int:
    """bytes -> signed int32 MurmurHash3_x86_32, bit-identical to ``murmurhash.hash_bytes``.

    For a str ``s`` pass ``s.encode("utf8")`` to match ``murmurhash.hash_unicode(s, seed)``.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(
            f"murmurhash3_x86_32_bytes: expected bytes, got {type(data).__name__}; "
            "encode strings first with s.encode('utf8')"
        )
    h = check_seed32(seed, "murmurhash3_x86_32_bytes")
    n = len(data)
    nblocks = n // 4
    for i in range(nblocks):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * _C1) & _M32
        k = _rotl32(k, 15)
        k = (k * _C2) & _M32
        h ^= k
        h = _rotl32(h, 13)
        h = (h * 5 + 0xE6546B64) & _M32
    tail = data[4 * nblocks :]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * _C1) & _M32
        k = _rotl32(k, 15)
        k = (k * _C2) & _M32
        h ^= k
    h ^= n
    h = _fmix32_int(h)
    return h - (1 << 32) if h >= 1 << 31 else h


# ----------------------------------------------------------------------------- torch reference


def _rotl_t(x: Tensor, r: int) -> Tensor:
    return ((x << r) | (x >> (32 - r))) & _M32


def _mix_key_t(k: Tensor) -> Tensor:
    k = (k * _C1) & _M32
    k = _rotl_t(k, 15)
    return (k * _C2) & _M32


def murmur3_x86_32_keys(keys: Tensor, seed: Union[int, Sequence[int]]) -> Tensor:
    """(N,) integer keys -> (N,) int64 uint32 hashes of each key's 8 little-endian bytes.

    With a sequence of S seeds: (N, S), the seed-independent key mixing done once.
    """
    if keys.is_floating_point() or keys.is_complex() or keys.dtype == torch.bool:
        raise TypeError(f"murmur3_x86_32: expected integer keys, got dtype {keys.dtype}; convert with .long()")
    many = not isinstance(seed, int)
    seeds = [check_seed32(seed)] if isinstance(seed, int) else [check_seed32(s) for s in seed]
    k64 = keys.to(torch.int64)
    k_lo = _mix_key_t(k64 & _M32)
    k_hi = _mix_key_t((k64 >> 32) & _M32)  # arithmetic shift, masked: the high word of the uint64 bits
    if many:
        k_lo, k_hi = k_lo[:, None], k_hi[:, None]
    h = torch.tensor(seeds, dtype=torch.int64, device=keys.device) if many else torch.full_like(k64, seeds[0])
    h = h ^ k_lo
    h = (_rotl_t(h, 13) * 5 + 0xE6546B64) & _M32
    h = h ^ k_hi
    h = (_rotl_t(h, 13) * 5 + 0xE6546B64) & _M32
    h = h ^ 8
    h = h ^ (h >> 16)
    h = (h * _F1) & _M32
    h = h ^ (h >> 13)
    h = (h * _F2) & _M32
    return h ^ (h >> 16)
