"""HashEmbed's kernels (launchers and references: ``kernels/hash_embed.py``).

- ``hash_embed_fwd_kernel``: hash each id, gather its 4 table rows, sum them (fp32 accumulation).
- ``hash_embed_bwd_atomic_kernel``: scatter-add dY into the 4 rows of each id (fp32 atomics).
- ``hash_rows_kernel``: the (N, 4) rows of the ids (the deterministic backward sorts them).
- ``segment_sum_rows_kernel``: one table row per program, its sorted contributions in order.
"""
import triton
import triton.language as tl

from .murmur3 import murmur3_x64_128_tl


@triton.jit
def _rows4(ids_ptr, offs_n, mask_n, seed, nV):
    """4 int64 row indices per id for a block of ids."""
    ids = tl.load(ids_ptr + offs_n, mask=mask_n, other=0).to(tl.uint64, bitcast=True)
    h1, h2 = murmur3_x64_128_tl(ids, seed.to(tl.uint64))
    nv = nV.to(tl.uint64)
    r0 = ((h1 & 0xFFFFFFFF) % nv).to(tl.int64)
    r1 = ((h1 >> 32) % nv).to(tl.int64)
    r2 = ((h2 & 0xFFFFFFFF) % nv).to(tl.int64)
    r3 = ((h2 >> 32) % nv).to(tl.int64)
    return r0, r1, r2, r3


@triton.jit
def _tile_rows4(ids_ptr, N, nO, nV, seed, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """This program's (BLOCK_N ids, BLOCK_D columns) tile: its row offsets, column offsets (1, BLOCK_D),
    mask and the four hashed table rows of each id."""
    offs_n = tl.program_id(0).to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    mask_n = offs_n < N
    mask = mask_n[:, None] & (offs_d < nO)[None, :]
    r0, r1, r2, r3 = _rows4(ids_ptr, offs_n, mask_n, seed, nV)
    return offs_n, offs_d[None, :], mask, r0, r1, r2, r3


@triton.jit(do_not_specialize=["seed", "nV"])
def hash_embed_fwd_kernel(ids_ptr, table_ptr, out_ptr, N, nO, nV, seed, stride_t, stride_o,
                          BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    offs_n, cols, mask, r0, r1, r2, r3 = _tile_rows4(ids_ptr, N, nO, nV, seed, BLOCK_N, BLOCK_D)
    acc = tl.load(table_ptr + r0[:, None] * stride_t + cols, mask=mask, other=0.0).to(tl.float32)
    acc += tl.load(table_ptr + r1[:, None] * stride_t + cols, mask=mask, other=0.0).to(tl.float32)
    acc += tl.load(table_ptr + r2[:, None] * stride_t + cols, mask=mask, other=0.0).to(tl.float32)
    acc += tl.load(table_ptr + r3[:, None] * stride_t + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + offs_n[:, None] * stride_o + cols, acc.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=["seed", "nV"])
def hash_embed_bwd_atomic_kernel(ids_ptr, dy_ptr, dtable_ptr, N, nO, nV, seed, stride_dy, stride_dt,
                                 BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    offs_n, cols, mask, r0, r1, r2, r3 = _tile_rows4(ids_ptr, N, nO, nV, seed, BLOCK_N, BLOCK_D)
    g = tl.load(dy_ptr + offs_n[:, None] * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
    tl.atomic_add(dtable_ptr + r0[:, None] * stride_dt + cols, g, mask=mask, sem="relaxed")
    tl.atomic_add(dtable_ptr + r1[:, None] * stride_dt + cols, g, mask=mask, sem="relaxed")
    tl.atomic_add(dtable_ptr + r2[:, None] * stride_dt + cols, g, mask=mask, sem="relaxed")
    tl.atomic_add(dtable_ptr + r3[:, None] * stride_dt + cols, g, mask=mask, sem="relaxed")


@triton.jit(do_not_specialize=["seed", "nV"])
def hash_rows_kernel(ids_ptr, rows_ptr, N, nV, seed, BLOCK_N: tl.constexpr):
    offs_n = tl.program_id(0).to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_n = offs_n < N
    r0, r1, r2, r3 = _rows4(ids_ptr, offs_n, mask_n, seed, nV)
    dst = rows_ptr + offs_n * 4
    tl.store(dst + 0, r0.to(rows_ptr.dtype.element_ty), mask=mask_n)
    tl.store(dst + 1, r1.to(rows_ptr.dtype.element_ty), mask=mask_n)
    tl.store(dst + 2, r2.to(rows_ptr.dtype.element_ty), mask=mask_n)
    tl.store(dst + 3, r3.to(rows_ptr.dtype.element_ty), mask=mask_n)


@triton.jit
def segment_sum_rows_kernel(offsets_ptr, perm_ptr, dy_ptr, dtable_ptr, nO, stride_dy, stride_dt,
                            BLOCK_J: tl.constexpr, BLOCK_D: tl.constexpr):
    """dtable[v] = sum of dY[perm[j] // 4] for j in [offsets[v], offsets[v+1]), in a fixed order."""
    v = tl.program_id(0).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    mask_d = offs_d < nO
    start = tl.load(offsets_ptr + v)
    end = tl.load(offsets_ptr + v + 1)
    acc = tl.zeros([BLOCK_D], dtype=tl.float32)
    for j in range(start, end, BLOCK_J):
        offs_j = j + tl.arange(0, BLOCK_J)
        mask_j = offs_j < end
        src = tl.load(perm_ptr + offs_j, mask=mask_j, other=0) // 4
        g = tl.load(dy_ptr + src[:, None] * stride_dy + offs_d[None, :],
                    mask=mask_j[:, None] & mask_d[None, :], other=0.0)
        acc += tl.sum(g.to(tl.float32), axis=0)
    tl.store(dtable_ptr + v * stride_dt + offs_d, acc.to(dtable_ptr.dtype.element_ty), mask=mask_d)
