"""SparseLinear's kernels (launchers and references: ``kernels/sparse_linear.py``).

- ``fwd_kernel``: one program per (example, class block) sums its keys' weights in order.
- ``bwd_atomic_kernel``: dW scatter-add with fp32 atomics.
- ``slots_kernel`` + ``slot_sum_kernel``: the deterministic dW (slots sorted, one program per slot).
- ``bwd_values_kernel``: dvalues, classes in a fixed order.
"""
import triton
import triton.language as tl

from .murmur3 import murmur3_x86_32_u64_tl


@triton.jit
def _slots2(keys_ptr, offs_k, mask_k, length, V1: tl.constexpr):
    """int64 slots of a block of keys for seeds 0 and 1."""
    key = tl.load(keys_ptr + offs_k, mask=mask_k, other=0)
    lo = (key & 0xFFFFFFFF).to(tl.uint32)
    hi = ((key >> 32) & 0xFFFFFFFF).to(tl.uint32)
    h0 = murmur3_x86_32_u64_tl(lo, hi, lo * 0).to(tl.int64)
    h1 = murmur3_x86_32_u64_tl(lo, hi, lo * 0 + 1).to(tl.int64)
    if V1:
        s0 = h0 & (length - 1)
        s1 = h1 & (length - 1)
    else:
        s0 = h0 % length
        s1 = h1 % length
    return s0, s1


@triton.jit
def _pos(slots, offs_c, length, V1: tl.constexpr):
    if V1:
        return slots[:, None] + offs_c[None, :]
    return offs_c[None, :].to(tl.int64) * length + slots[:, None]


@triton.jit(do_not_specialize=["length", "nO", "N"])
def fwd_kernel(keys_ptr, values_ptr, starts_ptr, lengths_ptr, w_ptr, out_ptr, N, nO, length,
               V1: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_C: tl.constexpr):
    """out[b, cblock] = sum over the keys of example b, in order: v * (W[pos_0] + W[pos_1]).
    The keys read are cut to [0, N) (the unchecked GPU path: bad lengths stay in bounds)."""
    b = tl.program_id(0).to(tl.int64)
    offs_c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    mask_c = offs_c < nO
    raw = tl.load(starts_ptr + b)
    start = tl.minimum(tl.maximum(raw, 0), N)
    end = tl.minimum(tl.maximum(raw + tl.load(lengths_ptr + b).to(tl.int64), start), N)
    acc = tl.zeros([BLOCK_C], dtype=tl.float32)
    for k0 in range(start, end, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        mask_k = offs_k < end
        s0, s1 = _slots2(keys_ptr, offs_k, mask_k, length, V1)
        mask = mask_k[:, None] & mask_c[None, :]
        w = tl.load(w_ptr + _pos(s0, offs_c, length, V1), mask=mask, other=0.0).to(tl.float32)
        w += tl.load(w_ptr + _pos(s1, offs_c, length, V1), mask=mask, other=0.0).to(tl.float32)
        v = tl.load(values_ptr + offs_k, mask=mask_k, other=0.0).to(tl.float32)
        acc += tl.sum(w * v[:, None], axis=0)
    tl.store(out_ptr + b * nO + offs_c, acc.to(out_ptr.dtype.element_ty), mask=mask_c)


@triton.jit(do_not_specialize=["length", "nO", "N"])
def bwd_atomic_kernel(keys_ptr, values_ptr, seg_ptr, dy_ptr, dw_ptr, N, nO, length,
                      V1: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_C: tl.constexpr):
    """dW[pos_s(k, c)] += v[k] * dY[b(k), c] with fp32 atomics."""
    offs_k = tl.program_id(0).to(tl.int64) * BLOCK_K + tl.arange(0, BLOCK_K)
    offs_c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    mask_k = offs_k < N
    mask = mask_k[:, None] & (offs_c < nO)[None, :]
    s0, s1 = _slots2(keys_ptr, offs_k, mask_k, length, V1)
    seg = tl.load(seg_ptr + offs_k, mask=mask_k, other=0)
    v = tl.load(values_ptr + offs_k, mask=mask_k, other=0.0).to(tl.float32)
    g = tl.load(dy_ptr + seg[:, None] * nO + offs_c[None, :], mask=mask, other=0.0).to(tl.float32) * v[:, None]
    tl.atomic_add(dw_ptr + _pos(s0, offs_c, length, V1), g, mask=mask, sem="relaxed")
    tl.atomic_add(dw_ptr + _pos(s1, offs_c, length, V1), g, mask=mask, sem="relaxed")


@triton.jit(do_not_specialize=["length", "N"])
def slots_kernel(keys_ptr, slots_ptr, N, length, V1: tl.constexpr, BLOCK_K: tl.constexpr):
    """slots[2k + s] = slot of key k under seed s (int64)."""
    offs_k = tl.program_id(0).to(tl.int64) * BLOCK_K + tl.arange(0, BLOCK_K)
    mask_k = offs_k < N
    s0, s1 = _slots2(keys_ptr, offs_k, mask_k, length, V1)
    tl.store(slots_ptr + 2 * offs_k, s0, mask=mask_k)
    tl.store(slots_ptr + 2 * offs_k + 1, s1, mask=mask_k)


@triton.jit(do_not_specialize=["length", "nO"])
def slot_sum_kernel(offsets_ptr, perm_ptr, values_ptr, seg_ptr, dy_ptr, t_ptr, nO, length,
                    ROWS: tl.constexpr, BLOCK_J: tl.constexpr, BLOCK_C: tl.constexpr):
    """T[j, c] = sum over entries e of slot j (fixed order): v[k] * dY[b(k), c], k = perm[e] // 2."""
    offs_c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    mask_c = offs_c < nO
    for r in range(ROWS):
        j = tl.program_id(0).to(tl.int64) * ROWS + r
        inside = (tl.zeros([BLOCK_C], dtype=tl.int64) + j) < length
        jj = tl.minimum(j, length)  # rows past the end read offsets[length] twice: no entries
        start = tl.load(offsets_ptr + jj)
        end = tl.load(offsets_ptr + tl.minimum(j + 1, length))
        acc = tl.zeros([BLOCK_C], dtype=tl.float32)
        for e0 in range(start, end, BLOCK_J):
            offs_e = e0 + tl.arange(0, BLOCK_J)
            mask_e = offs_e < end
            k = tl.load(perm_ptr + offs_e, mask=mask_e, other=0) // 2
            seg = tl.load(seg_ptr + k, mask=mask_e, other=0)
            v = tl.load(values_ptr + k, mask=mask_e, other=0.0).to(tl.float32)
            g = tl.load(dy_ptr + seg[:, None] * nO + offs_c[None, :], mask=mask_e[:, None] & mask_c[None, :], other=0.0)
            acc += tl.sum(g.to(tl.float32) * v[:, None], axis=0)
        tl.store(t_ptr + j * nO + offs_c, acc, mask=mask_c & inside)


@triton.jit(do_not_specialize=["length", "nO", "N"])
def bwd_values_kernel(keys_ptr, seg_ptr, dy_ptr, w_ptr, dv_ptr, N, nO, length,
                      V1: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_C: tl.constexpr):
    """dvalues[k] = sum_c dY[b(k), c] * (W[pos_0] + W[pos_1]), classes in a fixed order."""
    offs_k = tl.program_id(0).to(tl.int64) * BLOCK_K + tl.arange(0, BLOCK_K)
    mask_k = offs_k < N
    s0, s1 = _slots2(keys_ptr, offs_k, mask_k, length, V1)
    seg = tl.load(seg_ptr + offs_k, mask=mask_k, other=0)
    acc = tl.zeros([BLOCK_K], dtype=tl.float32)
    for c0 in range(0, nO, BLOCK_C):
        offs_c = c0 + tl.arange(0, BLOCK_C)
        mask = mask_k[:, None] & (offs_c < nO)[None, :]
        w = tl.load(w_ptr + _pos(s0, offs_c, length, V1), mask=mask, other=0.0).to(tl.float32)
        w += tl.load(w_ptr + _pos(s1, offs_c, length, V1), mask=mask, other=0.0).to(tl.float32)
        g = tl.load(dy_ptr + seg[:, None] * nO + offs_c[None, :], mask=mask, other=0.0).to(tl.float32)
        acc += tl.sum(w * g, axis=1)
    tl.store(dv_ptr + offs_k, acc.to(dv_ptr.dtype.element_ty), mask=mask_k)
