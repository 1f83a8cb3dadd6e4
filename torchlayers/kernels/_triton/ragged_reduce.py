"""The ragged reductions' kernels (launchers and references: ``kernels/ragged_reduce.py``).

- ``plan_kernel``: one program; each sequence's rows clamped to the data, its start and its
  extra chunks (int64, by ``tl.cumsum``).
- ``fwd_kernel``: one program per (chunk of <= CHUNK rows, column block); programs 0..B-1 take
  each sequence's first chunk, the others binary-search the extra chunks of long sequences.
- ``combine_kernel``: folds a split sequence's partials in chunk order.
- ``bwd_kernel``: each chunk writes its rows of dX once.

Every kernel after the plan reads the clamped lengths (``lens``), never the caller's: valid
lengths pass unchanged, and bad ones (negative, or summing past N) cannot send a load or a store
out of bounds (the rows past the data are dropped; results are then unspecified, see the ops).
"""
import triton
import triton.language as tl


@triton.jit
def plan_kernel(lengths_ptr, lens_ptr, starts_ptr, extra_ends_ptr, B, N, CHUNK: tl.constexpr, BLOCK: tl.constexpr):
    """One program, over the sequences in order: sequence b's rows are [starts[b], starts[b] +
    lens[b]), its span clamped to the N data rows (a negative length counts as 0); extra_ends[b]
    = sum over sequences <= b of their chunks beyond the first, max(cdiv(lens, CHUNK), 1) - 1.
    All int64. With valid lengths lens == lengths; in any case sum(lens) <= N."""
    rows = tl.program_id(0).to(tl.int64) * 0
    extras = rows
    for i in range(0, B, BLOCK):
        offs = i + tl.arange(0, BLOCK)
        mask = offs < B
        L = tl.maximum(tl.load(lengths_ptr + offs, mask=mask, other=0).to(tl.int64), 0)
        ends = tl.cumsum(L, 0) + rows
        start = tl.minimum(ends - L, N)
        lens = tl.minimum(ends, N) - start
        extra = tl.maximum((lens + CHUNK - 1) // CHUNK, 1) - 1
        tl.store(lens_ptr + offs, lens, mask=mask)
        tl.store(starts_ptr + offs, start, mask=mask)
        tl.store(extra_ends_ptr + offs, tl.cumsum(extra, 0) + extras, mask=mask)
        rows += tl.sum(L, 0)
        extras += tl.sum(extra, 0)


@triton.jit
def _locate(p, lens_ptr, starts_ptr, extra_ends_ptr, B, CHUNK: tl.constexpr):
    """Program p -> (sequence b, its length, rows [r0, r1), single-chunk flag, multi-chunk flag).

    Programs 0..B-1 take the first chunk of sequence p (no search); program B + q takes the
    q-th extra chunk (sequences longer than CHUNK), found by a binary search over extra_ends;
    the programs past the last extra chunk do nothing."""
    first = p < B
    q = p - B
    total_extra = tl.load(extra_ends_ptr + B - 1)
    lo = p * 0
    hi = tl.where(first | (q >= total_extra), lo, lo + B)
    while lo < hi:  # first b with extra_ends[b] > q
        mid = (lo + hi) // 2
        right = tl.load(extra_ends_ptr + mid) <= q
        lo = tl.where(right, mid + 1, lo)
        hi = tl.where(right, hi, mid)
    valid = first | (q < total_extra)
    b = tl.minimum(tl.where(first, p, lo), B - 1)
    L = tl.load(lens_ptr + b)
    start = tl.load(starts_ptr + b)
    nch = tl.maximum((L + CHUNK - 1) // CHUNK, 1)
    k = tl.where(first, 0, 1 + q - (tl.load(extra_ends_ptr + b) - (nch - 1)))
    r0 = start + k * CHUNK
    r1 = tl.where(valid, tl.minimum(r0 + CHUNK, start + L), r0)
    single = (valid & (nch == 1)).to(tl.int32)
    multi = (valid & (nch > 1)).to(tl.int32)
    return b, L, r0, r1, single, multi


@triton.jit
def _take(m, w, v, i):
    """Running max update in row order: first value, a strictly larger one, or a first NaN."""
    return (w < 0) | (v > m) | ((v != v) & (m == m))


@triton.jit
def fwd_kernel(x_ptr, lens_ptr, starts_ptr, extra_ends_ptr, out_ptr, which_ptr, part_ptr, part_w_ptr,
               B, nO, stride_x, MODE: tl.constexpr, CHUNK: tl.constexpr, BLOCK_R: tl.constexpr,
               BLOCK_D: tl.constexpr):
    p = tl.program_id(0).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    mask_d = offs_d < nO
    b, L, r0, r1, single_i, multi_i = _locate(p, lens_ptr, starts_ptr, extra_ends_ptr, B, CHUNK)
    single = mask_d & ((offs_d * 0 + single_i) != 0)
    multi = mask_d & ((offs_d * 0 + multi_i) != 0)
    if MODE == 2:
        m = tl.full([BLOCK_D], float("-inf"), tl.float32)
        w = tl.full([BLOCK_D], -1, tl.int64)
        for r in range(r0, r1, BLOCK_R):
            rows = r + tl.arange(0, BLOCK_R).to(tl.int64)
            mask = (rows < r1)[:, None] & mask_d[None, :]
            x = tl.load(x_ptr + rows[:, None] * stride_x + offs_d[None, :], mask=mask, other=float("-inf"))
            x = x.to(tl.float32)
            isnan = (x != x) & mask
            nan_row = tl.min(tl.where(isnan, rows[:, None], r1), axis=0)
            xc = tl.where(isnan, float("-inf"), x)
            tmax = tl.max(xc, axis=0)
            t_row = tl.min(tl.where(mask & (xc == tmax[None, :]), rows[:, None], r1), axis=0)
            has_nan = nan_row < r1
            tv = tl.where(has_nan, float("nan"), tmax)
            ti = tl.where(has_nan, nan_row, t_row)
            take = _take(m, w, tv, ti)
            m = tl.where(take, tv, m)
            w = tl.where(take, ti, w)
        res = tl.where(w < 0, 0.0, m)
        tl.store(out_ptr + b * nO + offs_d, res.to(out_ptr.dtype.element_ty), mask=single)
        tl.store(which_ptr + b * nO + offs_d, w, mask=single)
        tl.store(part_ptr + p * nO + offs_d, m, mask=multi)
        tl.store(part_w_ptr + p * nO + offs_d, w, mask=multi)
    else:
        acc = tl.zeros([BLOCK_D], dtype=tl.float32)
        for r in range(r0, r1, BLOCK_R):
            rows = r + tl.arange(0, BLOCK_R).to(tl.int64)
            mask = (rows < r1)[:, None] & mask_d[None, :]
            x = tl.load(x_ptr + rows[:, None] * stride_x + offs_d[None, :], mask=mask, other=0.0)
            acc += tl.sum(x.to(tl.float32), axis=0)
        res = acc
        if MODE == 1:
            res = acc / tl.maximum(L, 1).to(tl.float32)
        tl.store(out_ptr + b * nO + offs_d, res.to(out_ptr.dtype.element_ty), mask=single)
        tl.store(part_ptr + p * nO + offs_d, acc, mask=multi)


@triton.jit
def combine_kernel(lens_ptr, extra_ends_ptr, out_ptr, which_ptr, part_ptr, part_w_ptr, B, nO,
                   MODE: tl.constexpr, CHUNK: tl.constexpr, BLOCK_D: tl.constexpr):
    """Sequences split into several chunks: fold their partials in chunk order."""
    b = tl.program_id(0).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    mask_d = offs_d < nO
    L = tl.load(lens_ptr + b)
    nch = tl.maximum((L + CHUNK - 1) // CHUNK, 1)
    c1 = B + tl.load(extra_ends_ptr + b)  # partial rows: b (first chunk), then [c0, c1) (the others)
    c0 = c1 - (nch - 1)
    multi = mask_d & ((offs_d * 0 + (nch > 1).to(tl.int32)) != 0)
    if MODE == 2:
        m = tl.load(part_ptr + b * nO + offs_d, mask=multi, other=0.0)
        w = tl.load(part_w_ptr + b * nO + offs_d, mask=multi, other=0)
        for j in range(c0, c1):
            v = tl.load(part_ptr + j * nO + offs_d, mask=mask_d, other=float("-inf"))
            i = tl.load(part_w_ptr + j * nO + offs_d, mask=mask_d, other=0)
            take = _take(m, w, v, i)
            m = tl.where(take, v, m)
            w = tl.where(take, i, w)
        tl.store(out_ptr + b * nO + offs_d, m.to(out_ptr.dtype.element_ty), mask=multi)
        tl.store(which_ptr + b * nO + offs_d, w, mask=multi)
    else:
        acc = tl.load(part_ptr + b * nO + offs_d, mask=multi, other=0.0)
        for j in range(c0, c1):
            acc += tl.load(part_ptr + j * nO + offs_d, mask=mask_d, other=0.0)
        if MODE == 1:
            acc = acc / tl.maximum(L, 1).to(tl.float32)
        tl.store(out_ptr + b * nO + offs_d, acc.to(out_ptr.dtype.element_ty), mask=multi)


@triton.jit
def bwd_kernel(dy_ptr, which_ptr, lens_ptr, starts_ptr, extra_ends_ptr, dx_ptr, B, nO,
               MODE: tl.constexpr, CHUNK: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr):
    """Each chunk writes its rows once: dY[b] (sum), dY[b] / L (mean), dY[b] on the argmax row (max)."""
    p = tl.program_id(0).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    mask_d = offs_d < nO
    b, L, r0, r1, _single, _multi = _locate(p, lens_ptr, starts_ptr, extra_ends_ptr, B, CHUNK)
    g = tl.load(dy_ptr + b * nO + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if MODE == 1:
        g = g / tl.maximum(L, 1).to(tl.float32)
    if MODE == 2:
        w = tl.load(which_ptr + b * nO + offs_d, mask=mask_d, other=-1)
    for r in range(r0, r1, BLOCK_R):
        rows = r + tl.arange(0, BLOCK_R).to(tl.int64)
        mask = (rows < r1)[:, None] & mask_d[None, :]
        if MODE == 2:
            val = tl.where(rows[:, None] == w[None, :], g[None, :], 0.0)
        else:
            val = tl.zeros([BLOCK_R, BLOCK_D], dtype=tl.float32) + g[None, :]
        tl.store(dx_ptr + rows[:, None] * nO + offs_d[None, :], val.to(dx_ptr.dtype.element_ty), mask=mask)
