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

Bad lengths (negative, or not summing to N: a ``Ragged`` bypassed, or plain tensors passed to an
op) are caught without a host sync where that is possible (``check_lengths_cover``): eager with
lengths on the CPU, a ``ValueError``; traced with CPU lengths, a ``torch._assert_async`` in the
graph. Lengths on a GPU are unchecked (the fast path): the Triton plan clamps every sequence to
the N rows and every later kernel reads the clamped lengths, the references make them cover the
N rows, so the rows come out unspecified but nothing reads or writes out of bounds.

``torch.ops.torchlayers.ragged_{sum,mean,max}`` and their ``*_backward`` ops are
``torch.library.triton_op``s (defined by ``kernel_op``) whose bodies branch on the device (the
torch reference on CPU, ``wrap_triton(kernel)`` on CUDA), with registered autograd (each
backward op is differentiable: sum and mean are self-adjoint pairs, max's backward is a gather)
and fake impls, so ``torch.compile(fullgraph=True)`` and ``torch.export`` see one op each. The ``*_triton`` functions
are the plain launchers (usable under ``TRITON_INTERPRET=1``); the kernels live in
``kernels/_triton/ragged_reduce.py`` and Triton is imported on the first launch.
"""  # noqa: E501 - markdown table rows in the docstring cannot wrap
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import torch
from torch import Tensor

from .._tracing import is_tracing, values_readable
from .lengths import check_lengths_cover, covering_lengths
from .triton_support import block_size, cdiv, identity, kernel_op, triton_available, triton_kernels, use_triton

__all__ = [
    "SUM", "MEAN", "MAX", "CHUNK",
    "ragged_sum_reference", "ragged_mean_reference", "ragged_max_reference",
    "ragged_sum_backward_reference", "ragged_mean_backward_reference", "ragged_max_backward_reference",
    "ragged_reduce_forward_triton", "ragged_reduce_backward_triton",
    "ragged_sum", "ragged_mean", "ragged_max", "ragged_sum_backward", "ragged_mean_backward",
    "ragged_max_backward", "check_ragged_reduce_input", "check_nonempty", "check_lengths_cover", "rows2d",
    "triton_available",
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
        raise ValueError(
            f"{where}: expected lengths of shape (B,), got a {lengths.dim()}-D tensor of shape {list(lengths.shape)}"
        )


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
        raise TypeError(
            f"{layer}: expected Ragged fields to be tensors, got data "
            f"{type(data).__name__}, lengths {type(lengths).__name__}"
        )
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
    if lengths.numel() == 0 or not values_readable(lengths):
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
    L = covering_lengths(lengths, data.device, N)
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
    L = covering_lengths(lengths, data.device, N)
    x = data.to(acc)
    if not with_argmax:
        return _max_values(x, L).to(data.dtype), which
    if data.device.type == "cpu" and not is_tracing(data, lengths) and not bool(torch.isnan(x.sum())):
        Y, idx = _bag(x, L, MAX)
        empty = (L == 0)[:, None]
        return Y.to(data.dtype), torch.where(empty, which, idx)
    Y, which = _max_static(x, L)
    return Y.to(data.dtype), which


def ragged_sum_backward_reference(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX: ``dY[b]`` on every row of sequence b."""
    if lengths.shape[0] == 0:
        return dY.new_zeros((N, dY.shape[1]))
    return torch.repeat_interleave(dY, covering_lengths(lengths, dY.device, N), dim=0, output_size=N)


def ragged_mean_backward_reference(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX: ``dY[b] / lengths[b]`` on every row of sequence b."""
    if lengths.shape[0] == 0:
        return dY.new_zeros((N, dY.shape[1]))
    L = covering_lengths(lengths, dY.device, N)
    acc = _acc(dY.dtype)
    scaled = (dY.to(acc) / L.clamp(min=1).to(acc)[:, None]).to(dY.dtype)
    return torch.repeat_interleave(scaled, L, dim=0, output_size=N)


def ragged_max_backward_reference(dY: Tensor, which: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX: ``dY[b, c]`` on row ``which[b, c]`` (none when -1), zeros elsewhere."""
    dX = dY.new_zeros((N, dY.shape[1]))
    if N == 0 or dY.shape[0] == 0 or dY.shape[1] == 0:
        return dX
    if dY.device.type == "cpu" and not is_tracing(dY, which) and int(which.min()) >= 0:
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
    where = f"torchlayers::ragged_{_NAMES[mode]}"
    _check(where, data, lengths)
    check_lengths_cover(where, lengths, data.shape[0])
    return _SumMeanEagerCPU.apply(data, lengths, mode)


# ------------------------------------------------------------------------------ launchers
def _block_r(block_d: int, chunk: int) -> int:
    return max(1, min(chunk, 4096 // block_d))


def _check_chunk(chunk: int) -> None:
    if chunk < 1 or chunk & (chunk - 1):
        raise ValueError(f"ragged_reduce: chunk must be a power of 2 >= 1, got {chunk}")


def _plan(lengths: Tensor, N: int, device: torch.device, chunk: int,
          launch: Callable[[Any], Any]) -> Tuple[Tensor, Tensor, Tensor]:
    """(B,) lengths -> (lens, starts, extra_ends), int64 on ``device``: each sequence's rows
    clamped to the N data rows (``plan_kernel``), what every later kernel reads."""
    lengths = lengths.to(device).contiguous()
    B = lengths.shape[0]
    lens, starts, extra_ends = torch.empty((3, B), dtype=torch.int64, device=device).unbind(0)
    launch(triton_kernels("ragged_reduce").plan_kernel)[(1,)](lengths, lens, starts, extra_ends, B, N,
                                                              CHUNK=chunk, BLOCK=1024)
    return lens, starts, extra_ends


def ragged_reduce_forward_triton(data: Tensor, lengths: Tensor, mode: int, *, chunk: int = CHUNK,
                                 launch: Callable[[Any], Any] = identity) -> Tuple[Tensor, Optional[Tensor]]:
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
    lens, starts, extra_ends = _plan(lengths, N, device, chunk, launch)
    bound = N // chunk + B  # chunks of sequences that fit the N rows (the plan clamps the others)
    part = torch.empty((bound, nO), dtype=torch.float32, device=device)
    part_w = torch.empty((bound, nO), dtype=torch.int64, device=device) if mode == MAX else part
    block_d = block_size(nO)
    grid = (bound, cdiv(nO, block_d))
    which_arg = which if which is not None else out
    kernels = triton_kernels("ragged_reduce")
    launch(kernels.fwd_kernel)[grid](data, lens, starts, extra_ends, out, which_arg, part, part_w, B, nO,
                                     data.stride(0), MODE=mode, CHUNK=chunk, BLOCK_R=_block_r(block_d, chunk),
                                     BLOCK_D=block_d)
    launch(kernels.combine_kernel)[(B, grid[1])](lens, extra_ends, out, which_arg, part, part_w, B, nO,
                                                 MODE=mode, CHUNK=chunk, BLOCK_D=block_d)
    return out, which


def ragged_reduce_backward_triton(dY: Tensor, lengths: Tensor, which: Optional[Tensor], N: int, mode: int, *,
                                  chunk: int = CHUNK, launch: Callable[[Any], Any] = identity) -> Tensor:
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
    lens, starts, extra_ends = _plan(lengths, N, device, chunk, launch)
    which_arg = which.contiguous() if which is not None else dY
    block_d = block_size(nO)
    grid = (N // chunk + B, cdiv(nO, block_d))
    launch(triton_kernels("ragged_reduce").bwd_kernel)[grid](dY, which_arg, lens, starts, extra_ends, dX, B, nO,
                                                             MODE=mode, CHUNK=chunk, BLOCK_R=_block_r(block_d, chunk),
                                                             BLOCK_D=block_d)
    return dX


# ------------------------------------------------------------------------------ torch.library ops
@kernel_op("torchlayers::ragged_sum", mutates_args=())
def ragged_sum(data: Tensor, lengths: Tensor) -> Tensor:
    """(N, nO) data, (B,) lengths -> (B, nO) per-sequence sums (0 for an empty sequence)."""
    _check("torchlayers::ragged_sum", data, lengths)
    check_lengths_cover("torchlayers::ragged_sum", lengths, data.shape[0])
    if use_triton(data):
        return ragged_reduce_forward_triton(data, lengths, SUM, launch=torch.library.wrap_triton)[0]
    return ragged_sum_reference(data, lengths)


@kernel_op("torchlayers::ragged_mean", mutates_args=())
def ragged_mean(data: Tensor, lengths: Tensor) -> Tensor:
    """(N, nO) data, (B,) lengths -> (B, nO) per-sequence means (0 for an empty sequence)."""
    _check("torchlayers::ragged_mean", data, lengths)
    check_lengths_cover("torchlayers::ragged_mean", lengths, data.shape[0])
    if use_triton(data):
        return ragged_reduce_forward_triton(data, lengths, MEAN, launch=torch.library.wrap_triton)[0]
    return ragged_mean_reference(data, lengths)


@kernel_op("torchlayers::ragged_max", mutates_args=())
def ragged_max(data: Tensor, lengths: Tensor, with_argmax: bool = True) -> Tuple[Tensor, Tensor]:
    """(N, nO) data, (B,) lengths -> (Y (B, nO) maxima, which (B, nO) int64 absolute argmax rows).

    ``with_argmax=False`` (inference) skips the argmax: ``which`` is (B, 0) and Y is not differentiable.
    """
    _check("torchlayers::ragged_max", data, lengths)
    check_lengths_cover("torchlayers::ragged_max", lengths, data.shape[0])
    if use_triton(data):
        Y, which = ragged_reduce_forward_triton(data, lengths, MAX, launch=torch.library.wrap_triton)
        assert which is not None  # MAX always returns its argmax rows
        return Y, (which if with_argmax else which[:, :0].clone())
    return ragged_max_reference(data, lengths, with_argmax)


@kernel_op("torchlayers::ragged_sum_backward", mutates_args=())
def ragged_sum_backward(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX, ``dY[b]`` on every row of sequence b."""
    _check_lengths("torchlayers::ragged_sum_backward", lengths)
    _check_grad("torchlayers::ragged_sum_backward", dY, lengths.shape[0], N)
    check_lengths_cover("torchlayers::ragged_sum_backward", lengths, N)
    if use_triton(dY):
        return ragged_reduce_backward_triton(dY, lengths, None, N, SUM, launch=torch.library.wrap_triton)
    return ragged_sum_backward_reference(dY, lengths, N)


@kernel_op("torchlayers::ragged_mean_backward", mutates_args=())
def ragged_mean_backward(dY: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY -> (N, nO) dX, ``dY[b] / lengths[b]`` on every row of sequence b."""
    _check_lengths("torchlayers::ragged_mean_backward", lengths)
    _check_grad("torchlayers::ragged_mean_backward", dY, lengths.shape[0], N)
    check_lengths_cover("torchlayers::ragged_mean_backward", lengths, N)
    if use_triton(dY):
        return ragged_reduce_backward_triton(dY, lengths, None, N, MEAN, launch=torch.library.wrap_triton)
    return ragged_mean_backward_reference(dY, lengths, N)


@kernel_op("torchlayers::ragged_max_backward", mutates_args=())
def ragged_max_backward(dY: Tensor, which: Tensor, lengths: Tensor, N: int) -> Tensor:
    """(B, nO) dY, (B, nO) argmax rows -> (N, nO) dX, ``dY[b, c]`` on row ``which[b, c]``, zeros elsewhere."""
    _check_lengths("torchlayers::ragged_max_backward", lengths)
    _check_grad("torchlayers::ragged_max_backward", dY, lengths.shape[0], N)
    check_lengths_cover("torchlayers::ragged_max_backward", lengths, N)
    if which.shape != dY.shape or which.dtype != torch.int64:
        raise ValueError(
            "torchlayers::ragged_max_backward: expected int64 which of "
            f"shape {list(dY.shape)}, got {which.dtype} {list(which.shape)}"
        )
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
    _dY, lengths, _N = inputs
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
    _dY, which, _lengths, _N = inputs
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
