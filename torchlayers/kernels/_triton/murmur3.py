"""The MurmurHash3 device functions (their torch references: ``kernels/murmur3_x64.py`` and
``kernels/murmur3_x86.py``).

- ``murmur3_x64_128_tl(ids, seed) -> (h1, h2)``: ``tl.uint64`` blocks (or scalars) in and out,
  MurmurHash3_x64_128 of each id's 8 little-endian bytes (Thinc's ``ops.hash``).
- ``murmur3_x86_32_u64_tl(lo, hi, seed) -> h``: ``tl.uint32`` low/high words of a 64-bit key and
  the seed in, the ``tl.uint32`` MurmurHash3_x86_32 of its 8 bytes out (Thinc's SparseLinear).
"""
import triton
import triton.language as tl


@triton.jit
def _fmix64(h):
    """MurmurHash3's 64-bit finalizer."""
    h = h ^ (h >> 33)
    h = h * 0xFF51AFD7ED558CCD
    h = h ^ (h >> 33)
    h = h * 0xC4CEB9FE1A85EC53
    return h ^ (h >> 33)


@triton.jit
def murmur3_x64_128_tl(ids, seed):
    k1 = ids * 0x87C37B91114253D5
    k1 = (k1 << 31) | (k1 >> 33)
    k1 = k1 * 0x4CF5AD432745937F
    s8 = seed ^ 8
    h1 = k1 ^ s8
    h2 = tl.zeros_like(h1) + s8
    h1 = h1 + h2
    h2 = h2 + h1
    h1 = _fmix64(h1)
    h2 = _fmix64(h2)
    h1 = h1 + h2
    h2 = h2 + h1
    return h1, h2


@triton.jit
def _x86_32_block(h, k):
    """One 4-byte block of MurmurHash3_x86_32: mix ``k`` into ``h``."""
    k = k * 0xCC9E2D51
    k = (k << 15) | (k >> 17)
    k = k * 0x1B873593
    h = h ^ k
    h = (h << 13) | (h >> 19)
    return h * 5 + 0xE6546B64


@triton.jit
def murmur3_x86_32_u64_tl(lo, hi, seed):
    h = _x86_32_block(seed, lo)
    h = _x86_32_block(h, hi)
    h = h ^ 8
    h = h ^ (h >> 16)
    h = h * 0x85EBCA6B
    h = h ^ (h >> 13)
    h = h * 0xC2B2AE35
    h = h ^ (h >> 16)
    return h
