"""Ragged (segment) reductions: sum, mean and max (with argmax) over the sequences of a Ragged.

Shape:
    - data: (N, nO) float32 / float64 / bfloat16 / float16 (any strides)
    - lengths: (B,) integer, non-negative, summing to N: sequence b owns the next lengths[b] rows
    - forward out: (B, nO) in data's dtype; ``ragged_max`` also returns ``which`` (B, nO) int64,
      the absolute row of each maximum (-1 for an empty sequence), or (B, 0) with
      ``with_argmax=False`` (inference: Y is then not differentiable)
    - backward out: (N, nO) in dY's dtype

Semantics (every path, every dtype):

| op | sequence of length 0 | ties | NaN | backward dX |
|---|---|---|---|---|
| ``ragged_sum`` | zero row | - | propagates | ``dY[b]`` on every row of sequence b |
| ``ragged_mean`` | zero row | - | propagates | ``dY[b] / lengths[b]`` on every row |
| ``ragged_max`` | zero row, which -1 (the *layer* raises, as Thinc does) | first row wins (Thinc's strict ``>``) | propagates: NaN is the max, which = first NaN row | ``dY[b, c]`` on row ``which[b, c]`` only, zeros elsewhere |

Thinc's NumpyOps max kernel starts from the first row and compares with ``>``, so a NaN in any
row but the first is skipped; Thinc's generic ``Ops`` (numpy ``max``/``argmax``) propagates NaN.
We propagate (COMPATIBILITY.md).

Paths:

| path | forward | backward | accumulation |
|---|---|---|---|
| CPU (any dtype), CUDA float64 | ``embedding_bag`` (sum / mean; max with indices, falling back to a ``scatter_reduce`` path when the data holds a NaN and while tracing); max without argmax (``with_argmax=False``, inference): one ``scatter_reduce_(amax)`` | ``repeat_interleave`` (sum, mean); ``scatter_add_`` (max) | dtype (fp32 for half types) |
| CUDA fp32/bf16/fp16 | Triton: a plan kernel (one program: int64 row offsets and extra-chunk offsets by ``tl.cumsum``); one program per (chunk of <= ``CHUNK`` rows, column block) looping over its rows: programs 0..B-1 take each sequence's first chunk directly, the others binary-search the extra chunks of sequences longer than ``CHUNK`` (skewed lengths); one combine program per (sequence, column block) folds a split sequence's partials in order | one program per (chunk, column block) writes its rows once (max: ``dY`` where the row is the argmax, else 0; no memset, no atomics) | fp32 |

Every path is deterministic (fixed summation order, no atomics). Offsets are int64 (rows x width
may exceed 2**31) and are computed on the device: nothing syncs with the host, the grid size
``B + N // CHUNK`` bounds the number of chunks without reading the lengths. Three launches per
forward (plan, reduce, combine), two per backward (plan, broadcast).

``torch.ops.torchlayers.ragged_{sum,mean,max}`` and their ``*_backward`` ops are
``torch.library.triton_op``s whose bodies branch on the device (the torch reference on CPU,
``wrap_triton(kernel)`` on CUDA), with registered autograd (each backward op is differentiable:
sum and mean are self-adjoint pairs, max's backward is a gather) and fake impls, so
``torch.compile(fullgraph=True)`` and ``torch.export`` see one op each. The ``*_triton`` functions
are the plain launchers (usable under ``TRITON_INTERPRET=1``). Triton is imported on first launch.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .triton_support import is_tracing as _is_fake
from .triton_support import triton_available, use_triton

__all__ = [
    "SUM", "MEAN", "MAX", "CHUNK",
    "ragged_sum_reference", "ragged_mean_reference", "ragged_max_reference",
    "ragged_sum_backward_reference", "ragged_mean_backward_reference", "ragged_max_backward_reference",
    "ragged_reduce_forward_triton", "ragged_reduce_backward_triton",
    "ragged_sum", "ragged_mean", "ragged_max", "ragged_sum_backward", "ragged_mean_backward",
    "ragged_max_backward", "check_ragged_reduce_input", "check_nonempty", "rows2d", "triton_available",
]

SUM, MEAN, MAX = 0, 1, 2
CHUNK = 512  # rows per program on CUDA; longer sequences are split and combined in a second pass
_HALF = (torch.float16, torch.bfloat16)
_NAMES = {SUM: "sum", MEAN: "mean", MAX: "max"}


# ------------------------------------------------------------------------------ checks
def _check(where: str, data: Tensor, lengths: Tensor) -> None:
    if data.dim() != 2 or not data.is_floating_point():
        raise ValueError(f"{where}: expected float data of shape (N, nO), got {data.dtype} of shape {list(data.shape)}")
    _check_lengths(where, lengths)


def _check_lengths(where: str, lengths: Tensor) -> None:
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{where}: expected integer lengths, got dtype {lengths.dtype}; convert with .int()")
    if lengths.dim() != 1:
        raise ValueError(f"{where}: expected lengths of shape (B,), got a {lengths.dim()}-D tensor of shape {list(lengths.shape)}")


def _check_grad(where: str, dY: Tensor, B: int, N: int) -> None:
    if dY.dim() != 2 or not dY.is_floating_point():
        raise ValueError(f"{where}: expected a float dY of shape (B, nO), got {dY.dtype} of shape {list(dY.shape)}")
    if dY.shape[0] != B:
        raise ValueError(f"{where}: expected dY with B={B} rows (one per sequence), got shape {list(dY.shape)}")
    if N < 0:
        raise ValueError(f"{where}: expected N >= 0 data rows, got N={N}")


def check_ragged_reduce_input(layer: str, X: Any) -> None:
    """Eager checks for a reduction layer's input: a Ragged with float data and 1-D integer lengths."""
    from ..types import Ragged

    if not isinstance(X, Ragged):
        raise TypeError(
            f"{layer}: expected a Ragged(data (N, nO), lengths (B,)), got {type(X).__name__}; "
            f"build one with list2ragged() or Ragged(data, lengths)"
        )
    data, lengths = X.data, X.lengths
    if not isinstance(data, Tensor) or not isinstance(lengths, Tensor):
        raise TypeError(f"{layer}: expected Ragged fields to be tensors, got data {type(data).__name__}, lengths {type(lengths).__name__}")
    if not data.is_floating_point():
        raise TypeError(f"{layer}: expected floating point Ragged data, got dtype {data.dtype}; cast with .float()")
    if data.dim() == 0:
        raise ValueError(f"{layer}: expected Ragged data of shape (N, nO), got a 0-d tensor")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{layer}: expected integer Ragged lengths, got dtype {lengths.dtype}; convert with .int()")
    if lengths.dim() != 1:
        raise ValueError(f"{layer}: expected Ragged lengths of shape (B,), got shape {list(lengths.shape)}")


def check_nonempty(layer: str, lengths: Tensor) -> None:
    """Thinc's rule for reduce_max/first/last: every sequence needs a row (ValueError otherwise).

    Eager only: skipped while compiling, exporting or capturing a CUDA graph (it reads the
    lengths on the host, one sync when they live on the GPU)."""
    if lengths.numel() == 0 or _is_fake(lengths):
        return
    if lengths.is_cuda and torch.cuda.is_current_stream_capturing():
        return
    empty = lengths <= 0
    if bool(empty.any()):
        i = int(empty.nonzero()[0, 0])
        raise ValueError(
            f"{layer}: all sequence lengths must be > 0 (as in Thinc), got length {int(lengths[i])} for "
            f"sequence {i} of {lengths.shape[0]}; drop empty sequences first, or use reduce_sum/reduce_mean "
            f"(they give a zero row for them)"
        )


def rows2d(data: Tensor) -> Tensor:
    """Thinc's Ragged view of the data: (N,) -> (N, 1); (N, *F) -> (N, prod(F)). Scriptable."""
    if data.dim() == 2:
        return data
    if data.dim() == 1:
        return data.unsqueeze(1)
    return data.flatten(1)


# ------------------------------------------------------------------------------ references
def _acc(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in _HALF else dtype


def _lengths64(lengths: Tensor, device: torch.device) -> Tensor:
    return lengths.to(device=device, dtype=torch.int64)


def _offsets(L: Tensor) -> Tensor:
    return torch.cumsum(L, 0) - L


def _bag(x: Tensor, L: Tensor, mode: int) -> Tuple[Tensor, Tensor]:
    """``torch.embedding_bag`` over consecutive rows: (out, max_indices) (max_indices are absolute rows)."""
    idx = torch.arange(x.shape[0], device=x.device)
    out, _, _, max_idx = torch.embedding_bag(x, idx, _offsets(L), False, mode, False, None, False)
    return out, max_idx


def _segment_reduce(data: Tensor, lengths: Tensor, mode: int) -> Tensor:
    acc = _acc(data.dtype)
    B = lengths.shape[0]
    N, nO = data.shape
    if B == 0 or nO == 0:
        return data.new_zeros((B, nO))
    L = _lengths64(lengths, data.device)
    if N == 0:
        return data.new_zeros((B, nO))
    out, _ = _bag(data.to(acc), L, mode)
    return out.to(data.dtype)


def ragged_sum_reference(data: Tensor, lengths: Tensor) -> Tensor:
    """Pure-torch segment sum (any device/dtype): (N, nO), (B,) -> (B, nO); empty sequences give 0."""
    return _segment_reduce(data, lengths, SUM)


def ragged_mean_reference(data: Tensor, lengths: Tensor) -> Tensor:
    """Pure-torch segment mean (any device/dtype): (N, nO), (B,) -> (B, nO); empty sequences give 0."""
    return _segment_reduce(data, lengths, MEAN)


def _max_static(x: Tensor, L: Tensor) -> Tuple[Tensor, Tensor]:
    """Exact max/argmax by ``scatter_reduce`` (NaN first, then the first row of the max); no host reads."""
    N, nO = x.shape
    B = L.shape[0]
    seg = torch.repeat_interleave(torch.arange(B, device=x.device), L, output_size=N)
    segx = seg[:, None].expand(N, nO)
    rows = torch.arange(N, device=x.device)[:, None].expand(N, nO)
    none = torch.full((B, nO), N, dtype=torch.int64, device=x.device)
    isnan = torch.isnan(x)
    nan_first = none.scatter_reduce(0, segx, torch.where(isnan, rows, N), "amin", include_self=True)
    xc = x.masked_fill(isnan, float("-inf"))
    Y = x.new_zeros((B, nO)).scatter_reduce(0, segx, xc, "amax", include_self=False)
    first = none.scatter_reduce(0, segx, torch.where(xc == Y.index_select(0, seg), rows, N), "amin", include_self=True)
    has_nan = nan_first < N
    Y = torch.where(has_nan, torch.full_like(Y, float("nan")), Y)
    which = torch.where(has_nan, nan_first, first)
    return Y, torch.where(which == N, torch.full_like(which, -1), which)


def _max_values(x: Tensor, L: Tensor) -> Tensor:
    """Segment max without argmax: one ``scatter_reduce_(amax)`` (NaN-propagating; 0 when empty)."""
    N, nO = x.shape
    seg = torch.repeat_interleave(torch.arange(L.shape[0], device=x.device), L, output_size=N)
    return x.new_zeros((L.shape[0], nO)).scatter_reduce_(0, seg[:, None].expand(N, nO), x, "amax", include_self=False)


def ragged_max_reference(data: Tensor, lengths: Tensor, with_argmax: bool = True) -> Tuple[Tensor, Tensor]:
    """Pure-torch segment max: -> (Y (B, nO), which (B, nO) int64 absolute rows, -1 when empty).

    Ties go to the first row (Thinc); NaN propagates and its first row is the argmax.
    ``with_argmax=False`` skips the argmax (``which`` is then (B, 0)): one ``scatter_reduce_``,
    several times faster than Thinc on CPU. With the argmax, eager CPU uses
    ``embedding_bag(mode="max")`` (Thinc's order: first row, then strict ``>``), exact when the
    data holds no NaN (checked with one ``sum``); otherwise, on CUDA and while tracing, the
    ``scatter_reduce`` path.
    """
    acc = _acc(data.dtype)
    B = lengths.shape[0]
    N, nO = data.shape
    which = torch.full((B, nO if with_argmax else 0), -1, dtype=torch.int64, device=data.device)
    if B == 0 or nO == 0 or N == 0:
        return data.new_zeros((B, nO)), which
    L = _lengths64(lengths, data.device)
    x = data.to(acc)
    if not with_argmax:
        return _max_values(x, L).to(data.dtype), which
    if data.device.type == "cpu" and not _is_fake(data, lengths) and not bool(torch.isnan(x.sum())):
        Y, idx = _bag(x, L, MAX)
        empty = (L == 0)[:, None]
        return Y.to(data.dtype), torch.where(empty, which, idx)
    Y, which = _max_static(x, L)
    return Y.to(data.dtype), which


def ragged_sum_backward_reference(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX: ``dY[b]`` on every row of sequence b."""
    return torch.repeat_interleave(dY, _lengths64(lengths, dY.device), dim=0, output_size=N)


def ragged_mean_backward_reference(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX: ``dY[b] / lengths[b]`` on every row of sequence b."""
    L = _lengths64(lengths, dY.device)
    acc = _acc(dY.dtype)
    scaled = (dY.to(acc) / L.clamp(min=1).to(acc)[:, None]).to(dY.dtype)
    return torch.repeat_interleave(scaled, L, dim=0, output_size=N)


def ragged_max_backward_reference(dY: Tensor, which: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX: ``dY[b, c]`` on row ``which[b, c]`` (none when -1), zeros elsewhere."""
    dX = dY.new_zeros((N, dY.shape[1]))
    if N == 0 or dY.shape[0] == 0 or dY.shape[1] == 0:
        return dX
    if dY.device.type == "cpu" and not _is_fake(dY, which) and int(which.min()) >= 0:
        return dX.scatter_(0, which, dY)  # the usual case (no empty sequence): rows are distinct per column
    valid = which >= 0
    return dX.scatter_add_(0, which.clamp(min=0), dY.masked_fill(~valid, 0))


class _SumMeanEagerCPU(torch.autograd.Function):
    """Eager CPU sum/mean: the references behind a plain autograd function, skipping the op's
    dispatch (about 10 us a call, most of a small reduction's time). Compile, export,
    TorchScript and CUDA use the ``torchlayers::ragged_*`` ops."""

    @staticmethod
    def forward(ctx: Any, data: Tensor, lengths: Tensor, mode: int) -> Tensor:
        ctx.save_for_backward(lengths)
        ctx.N, ctx.mode = data.shape[0], mode
        return _segment_reduce(data, lengths, mode)

    @staticmethod
    def backward(ctx: Any, dY: Tensor) -> Any:
        (lengths,) = ctx.saved_tensors
        backward = ragged_sum_backward_reference if ctx.mode == SUM else ragged_mean_backward_reference
        return backward(dY, lengths, ctx.N), None, None


def ragged_sum_mean_eager_cpu(data: Tensor, lengths: Tensor, mode: int) -> Tensor:
    """``torchlayers::ragged_sum`` (mode SUM) or ``ragged_mean`` (MEAN) for eager CPU calls."""
    _check(f"torchlayers::ragged_{_NAMES[mode]}", data, lengths)
    return _SumMeanEagerCPU.apply(data, lengths, mode)


# ------------------------------------------------------------------------------ triton kernels
@functools.lru_cache(maxsize=None)
def _kernels() -> Any:
    """Define the Triton kernels on first use (Triton stays optional; TRITON_INTERPRET is read here)."""
    import triton
    import triton.language as tl

    # Triton (its interpreter especially) resolves names in the module globals, not closures.
    globals().update(triton=triton, tl=tl)

    @triton.jit
    def plan_kernel(lengths_ptr, starts_ptr, extra_ends_ptr, B, CHUNK: tl.constexpr, BLOCK: tl.constexpr):
        """One program: starts[b] = sum(lengths[:b]) (int64); extra_ends[b] = sum over sequences
        <= b of their chunks beyond the first, max(cdiv(length, CHUNK), 1) - 1."""
        rows = tl.program_id(0).to(tl.int64) * 0
        extras = rows
        for i in range(0, B, BLOCK):
            offs = i + tl.arange(0, BLOCK)
            mask = offs < B
            L = tl.load(lengths_ptr + offs, mask=mask, other=0).to(tl.int64)
            extra = tl.maximum((L + CHUNK - 1) // CHUNK, 1) - 1
            ends = tl.cumsum(L, 0) + rows
            tl.store(starts_ptr + offs, ends - L, mask=mask)
            tl.store(extra_ends_ptr + offs, tl.cumsum(extra, 0) + extras, mask=mask)
            rows += tl.sum(L, 0)
            extras += tl.sum(extra, 0)

    @triton.jit
    def _locate(p, lengths_ptr, starts_ptr, extra_ends_ptr, B, CHUNK: tl.constexpr):
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
        L = tl.load(lengths_ptr + b).to(tl.int64)
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
    def fwd_kernel(x_ptr, lengths_ptr, starts_ptr, extra_ends_ptr, out_ptr, which_ptr, part_ptr, part_w_ptr,
                   B, nO, stride_x, MODE: tl.constexpr, CHUNK: tl.constexpr, BLOCK_R: tl.constexpr,
                   BLOCK_D: tl.constexpr):
        p = tl.program_id(0).to(tl.int64)
        offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
        mask_d = offs_d < nO
        b, L, r0, r1, single_i, multi_i = _locate(p, lengths_ptr, starts_ptr, extra_ends_ptr, B, CHUNK)
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
    def combine_kernel(lengths_ptr, extra_ends_ptr, out_ptr, which_ptr, part_ptr, part_w_ptr, B, nO,
                       MODE: tl.constexpr, CHUNK: tl.constexpr, BLOCK_D: tl.constexpr):
        """Sequences split into several chunks: fold their partials in chunk order."""
        b = tl.program_id(0).to(tl.int64)
        offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
        mask_d = offs_d < nO
        L = tl.load(lengths_ptr + b).to(tl.int64)
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
    def bwd_kernel(dy_ptr, which_ptr, lengths_ptr, starts_ptr, extra_ends_ptr, dx_ptr, B, nO,
                   MODE: tl.constexpr, CHUNK: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr):
        """Each chunk writes its rows once: dY[b] (sum), dY[b] / L (mean), dY[b] on the argmax row (max)."""
        p = tl.program_id(0).to(tl.int64)
        offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
        mask_d = offs_d < nO
        b, L, r0, r1, _single, _multi = _locate(p, lengths_ptr, starts_ptr, extra_ends_ptr, B, CHUNK)
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

    globals().update(_locate=_locate, _take=_take)

    class K:
        pass

    K.plan, K.fwd, K.combine, K.bwd = plan_kernel, fwd_kernel, combine_kernel, bwd_kernel
    return K


def _block_d(nO: int) -> int:
    return min(128, max(16, 1 << max(0, (nO - 1).bit_length())))


def _block_r(block_d: int, chunk: int) -> int:
    return max(1, min(chunk, 4096 // block_d))


def _cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


def _identity(kernel: Any) -> Any:
    return kernel


def _check_chunk(chunk: int) -> None:
    if chunk < 1 or chunk & (chunk - 1):
        raise ValueError(f"ragged_reduce: chunk must be a power of 2 >= 1, got {chunk}")


def _plan(lengths: Tensor, device: torch.device, chunk: int, launch: Callable[[Any], Any]) -> Tuple[Tensor, Tensor, Tensor]:
    lengths = lengths.to(device).contiguous()
    B = lengths.shape[0]
    starts = torch.empty(B, dtype=torch.int64, device=device)
    extra_ends = torch.empty(B, dtype=torch.int64, device=device)
    launch(_kernels().plan)[(1,)](lengths, starts, extra_ends, B, CHUNK=chunk, BLOCK=1024)
    return lengths, starts, extra_ends


def ragged_reduce_forward_triton(data: Tensor, lengths: Tensor, mode: int, *, chunk: int = CHUNK,
                                 launch: Callable[[Any], Any] = _identity) -> Tuple[Tensor, Optional[Tensor]]:
    """Forward launcher: (N, nO) data, (B,) lengths -> (Y (B, nO) in data's dtype, which (B, nO) int64 or None).

    ``mode`` is SUM, MEAN or MAX; fp32 accumulation; ``chunk`` (a power of 2) rows per program.
    """
    _check("ragged_reduce_forward_triton", data, lengths)
    _check_chunk(chunk)
    N, nO = data.shape
    B = lengths.shape[0]
    device = data.device
    out = torch.empty((B, nO), dtype=data.dtype, device=device)
    which = torch.empty((B, nO), dtype=torch.int64, device=device) if mode == MAX else None  # all written
    if B == 0 or nO == 0:
        return out, which
    if data.stride(1) != 1:
        data = data.contiguous()
    lengths, starts, extra_ends = _plan(lengths, device, chunk, launch)
    bound = N // chunk + B
    part = torch.empty((bound, nO), dtype=torch.float32, device=device)
    part_w = torch.empty((bound, nO), dtype=torch.int64, device=device) if mode == MAX else part
    block_d = _block_d(nO)
    grid = (bound, _cdiv(nO, block_d))
    which_arg = which if which is not None else out
    launch(_kernels().fwd)[grid](data, lengths, starts, extra_ends, out, which_arg, part, part_w, B, nO,
                                 data.stride(0), MODE=mode, CHUNK=chunk, BLOCK_R=_block_r(block_d, chunk),
                                 BLOCK_D=block_d)
    launch(_kernels().combine)[(B, grid[1])](lengths, extra_ends, out, which_arg, part, part_w, B, nO,
                                            MODE=mode, CHUNK=chunk, BLOCK_D=block_d)
    return out, which


def ragged_reduce_backward_triton(dY: Tensor, lengths: Tensor, which: Optional[Tensor], N: int, mode: int, *,
                                  chunk: int = CHUNK, launch: Callable[[Any], Any] = _identity) -> Tensor:
    """Backward launcher: (B, nO) dY -> (N, nO) dX in dY's dtype, every row written once (no memset)."""
    _check_lengths("ragged_reduce_backward_triton", lengths)
    _check_grad("ragged_reduce_backward_triton", dY, lengths.shape[0], N)
    _check_chunk(chunk)
    B, nO = dY.shape
    device = dY.device
    dX = torch.empty((N, nO), dtype=dY.dtype, device=device)
    if N == 0 or nO == 0 or B == 0:
        return dX
    dY = dY.contiguous()
    lengths, starts, extra_ends = _plan(lengths, device, chunk, launch)
    which_arg = which.contiguous() if which is not None else dY
    block_d = _block_d(nO)
    grid = (N // chunk + B, _cdiv(nO, block_d))
    launch(_kernels().bwd)[grid](dY, which_arg, lengths, starts, extra_ends, dX, B, nO, MODE=mode, CHUNK=chunk,
                                 BLOCK_R=_block_r(block_d, chunk), BLOCK_D=block_d)
    return dX


# ------------------------------------------------------------------------------ torch.library ops
@torch.library.triton_op("torchlayers::ragged_sum", mutates_args=())
def ragged_sum(data: Tensor, lengths: Tensor) -> Tensor:
    """(N, nO) data, (B,) lengths -> (B, nO) per-sequence sums (0 for an empty sequence)."""
    _check("torchlayers::ragged_sum", data, lengths)
    if use_triton(data):
        return ragged_reduce_forward_triton(data, lengths, SUM, launch=torch.library.wrap_triton)[0]
    return ragged_sum_reference(data, lengths)


@torch.library.triton_op("torchlayers::ragged_mean", mutates_args=())
def ragged_mean(data: Tensor, lengths: Tensor) -> Tensor:
    """(N, nO) data, (B,) lengths -> (B, nO) per-sequence means (0 for an empty sequence)."""
    _check("torchlayers::ragged_mean", data, lengths)
    if use_triton(data):
        return ragged_reduce_forward_triton(data, lengths, MEAN, launch=torch.library.wrap_triton)[0]
    return ragged_mean_reference(data, lengths)


@torch.library.triton_op("torchlayers::ragged_max", mutates_args=())
def ragged_max(data: Tensor, lengths: Tensor, with_argmax: bool = True) -> Tuple[Tensor, Tensor]:
    """(N, nO) data, (B,) lengths -> (Y (B, nO) maxima, which (B, nO) int64 absolute argmax rows).

    ``with_argmax=False`` (inference) skips the argmax: ``which`` is (B, 0) and Y is not differentiable.
    """
    _check("torchlayers::ragged_max", data, lengths)
    if use_triton(data):
        Y, which = ragged_reduce_forward_triton(data, lengths, MAX, launch=torch.library.wrap_triton)
        return Y, (which if with_argmax else which[:, :0].clone())
    return ragged_max_reference(data, lengths, with_argmax)


@torch.library.triton_op("torchlayers::ragged_sum_backward", mutates_args=())
def ragged_sum_backward(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX, ``dY[b]`` on every row of sequence b."""
    _check_lengths("torchlayers::ragged_sum_backward", lengths)
    _check_grad("torchlayers::ragged_sum_backward", dY, lengths.shape[0], N)
    if use_triton(dY):
        return ragged_reduce_backward_triton(dY, lengths, None, N, SUM, launch=torch.library.wrap_triton)
    return ragged_sum_backward_reference(dY, lengths, N)


@torch.library.triton_op("torchlayers::ragged_mean_backward", mutates_args=())
def ragged_mean_backward(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX, ``dY[b] / lengths[b]`` on every row of sequence b."""
    _check_lengths("torchlayers::ragged_mean_backward", lengths)
    _check_grad("torchlayers::ragged_mean_backward", dY, lengths.shape[0], N)
    if use_triton(dY):
        return ragged_reduce_backward_triton(dY, lengths, None, N, MEAN, launch=torch.library.wrap_triton)
    return ragged_mean_backward_reference(dY, lengths, N)


@torch.library.triton_op("torchlayers::ragged_max_backward", mutates_args=())
def ragged_max_backward(dY: Tensor, which: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY, (B, nO) argmax rows -> (N, nO) dX, ``dY[b, c]`` on row ``which[b, c]``, zeros elsewhere."""
    _check_lengths("torchlayers::ragged_max_backward", lengths)
    _check_grad("torchlayers::ragged_max_backward", dY, lengths.shape[0], N)
    if which.shape != dY.shape or which.dtype != torch.int64:
        raise ValueError(f"torchlayers::ragged_max_backward: expected int64 which of shape {list(dY.shape)}, got {which.dtype} {list(which.shape)}")
    if use_triton(dY):
        return ragged_reduce_backward_triton(dY, lengths, which, N, MAX, launch=torch.library.wrap_triton)
    return ragged_max_backward_reference(dY, which, N)


@ragged_sum.register_fake
def _ragged_sum_fake(data: Tensor, lengths: Tensor) -> Tensor:
    _check("torchlayers::ragged_sum", data, lengths)
    return data.new_empty((lengths.shape[0], data.shape[1]))


@ragged_mean.register_fake
def _ragged_mean_fake(data: Tensor, lengths: Tensor) -> Tensor:
    _check("torchlayers::ragged_mean", data, lengths)
    return data.new_empty((lengths.shape[0], data.shape[1]))


@ragged_max.register_fake
def _ragged_max_fake(data: Tensor, lengths: Tensor, with_argmax: bool = True) -> Tuple[Tensor, Tensor]:
    _check("torchlayers::ragged_max", data, lengths)
    B, nO = lengths.shape[0], data.shape[1]
    return data.new_empty((B, nO)), data.new_empty((B, nO if with_argmax else 0), dtype=torch.int64)


@ragged_sum_backward.register_fake
def _ragged_sum_backward_fake(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    return dY.new_empty((N, dY.shape[1]))


@ragged_mean_backward.register_fake
def _ragged_mean_backward_fake(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    return dY.new_empty((N, dY.shape[1]))


@ragged_max_backward.register_fake
def _ragged_max_backward_fake(dY: Tensor, which: Tensor, lengths: Tensor, N: int) -> Tensor:
    return dY.new_empty((N, dY.shape[1]))


# autograd: sum and mean are adjoint to their backward ops; max's backward is a scatter whose
# adjoint is a gather at the argmax rows.
def _setup_reduce(ctx: Any, inputs: tuple, output: Any) -> None:
    data, lengths = inputs
    ctx.save_for_backward(lengths)
    ctx.N = data.shape[0]


def _backward_sum(ctx: Any, dY: Tensor):
    (lengths,) = ctx.saved_tensors
    return torch.ops.torchlayers.ragged_sum_backward(dY, lengths, ctx.N), None


def _backward_mean(ctx: Any, dY: Tensor):
    (lengths,) = ctx.saved_tensors
    return torch.ops.torchlayers.ragged_mean_backward(dY, lengths, ctx.N), None


def _setup_broadcast(ctx: Any, inputs: tuple, output: Tensor) -> None:
    dY, lengths, N = inputs
    ctx.save_for_backward(lengths)


def _backward_sum_backward(ctx: Any, ddX: Tensor):
    (lengths,) = ctx.saved_tensors
    return torch.ops.torchlayers.ragged_sum(ddX, lengths), None, None


def _backward_mean_backward(ctx: Any, ddX: Tensor):
    (lengths,) = ctx.saved_tensors
    return torch.ops.torchlayers.ragged_mean(ddX, lengths), None, None


def _setup_max(ctx: Any, inputs: tuple, output: Tuple[Tensor, Tensor]) -> None:
    data, lengths, with_argmax = inputs
    ctx.save_for_backward(output[1], lengths)
    ctx.mark_non_differentiable(output[1])
    ctx.N = data.shape[0]
    ctx.with_argmax = with_argmax


def _backward_max(ctx: Any, dY: Tensor, dwhich: Any):
    if not ctx.with_argmax:
        raise RuntimeError(
            "torchlayers::ragged_max: called with with_argmax=False (inference), so it has no gradient; "
            "call it with with_argmax=True to differentiate"
        )
    which, lengths = ctx.saved_tensors
    return torch.ops.torchlayers.ragged_max_backward(dY, which, lengths, ctx.N), None, None


def _setup_max_backward(ctx: Any, inputs: tuple, output: Tensor) -> None:
    dY, which, lengths, N = inputs
    ctx.save_for_backward(which)


def _backward_max_backward(ctx: Any, ddX: Tensor):
    (which,) = ctx.saved_tensors
    if ddX.shape[0] == 0:
        return ddX.new_zeros(which.shape), None, None, None
    picked = torch.gather(ddX, 0, which.clamp(min=0))
    return picked.masked_fill(which < 0, 0), None, None, None


ragged_sum.register_autograd(_backward_sum, setup_context=_setup_reduce)
ragged_mean.register_autograd(_backward_mean, setup_context=_setup_reduce)
ragged_max.register_autograd(_backward_max, setup_context=_setup_max)
ragged_sum_backward.register_autograd(_backward_sum_backward, setup_context=_setup_broadcast)
ragged_mean_backward.register_autograd(_backward_mean_backward, setup_context=_setup_broadcast)
ragged_max_backward.register_autograd(_backward_max_backward, setup_context=_setup_max_backward)
