"""SparseLinear's op: hashed sparse features -> per-example class scores (Thinc's ``sparselinear.pyx``).

Shape:
    - W: (nO * length,) float32 / float64 / bfloat16 / float16, the flat weight vector
    - keys: (N,) int64 (uint64 bits; negative values are the two's complement) or int32
    - values: (N,) float (cast to W's dtype)
    - lengths: (B,) integer, non-negative, summing to N: example b owns the next lengths[b] keys
    - out: (B, nO) in W's dtype (no bias: the layer adds ``b``); an example of length 0 scores 0.

Per key k and seed s in {0, 1}: ``h = MurmurHash3_x86_32(key.to_bytes(8, "little"), seed=s)``
(uint32), then for every class c the key adds ``values[k] * W[pos]`` to its example's score c,
once per seed (a feature is counted twice; two seeds that collide count the same weight twice):

| indexing | slot | pos | weights ever read |
|---|---|---|---|
| v1 (``thinc.api.SparseLinear``, Thinc's bug #752 kept) | ``h & (length - 1)`` | ``slot + c`` | the first ``length + nO - 1`` |
| v2 (``SparseLinear_v2``) | ``h % length`` | ``c * length + slot`` | all (W viewed as (nO, length)) |

Backward: ``dW[pos] += values[k] * dY[b(k), c]`` (the same scatter), ``dvalues[k] = sum_c
dY[b(k), c] * (W[pos_0] + W[pos_1])`` (Thinc returns no input gradient; the torch face does).

Paths (all positions are int64: nO * length may exceed 2**31):

| path | forward | backward dW | accumulation |
|---|---|---|---|
| CPU (any dtype), CUDA float64 | hash in torch, ``index_select`` + ``index_add_`` | ``index_add_`` | dtype (fp32 for half types) |
| CUDA fp32/bf16/fp16 | Triton: one program per (example, block of classes), no atomics | atomic scatter-add (fp32 buffer) | fp32 |
| CUDA, ``torch.are_deterministic_algorithms_enabled()`` | same | slots sorted (stable), one segment-sum program per slot, then torch: bitwise reproducible | fp32 |

``torch.ops.torchlayers.sparse_linear`` is a ``torch.library.triton_op`` (defined by
``kernel_op``) whose body branches on the device, with registered autograd (through
``sparse_linear_backward_weights`` and ``sparse_linear_backward_values``, themselves differentiable,
so double backward works) and fake impls. The ``*_triton`` functions are the plain launchers
(usable under ``TRITON_INTERPRET=1``).
Lengths are checked as in ``kernels/lengths.py`` when traced (eager: on the host, on any device);
the forward kernel keeps to the N keys and the example ids stay in [0, B) whatever they are.
The kernels live in ``kernels/_triton/sparse_linear.py``; Triton is imported on the first launch.
"""  # noqa: E501 - markdown table rows in the docstring cannot wrap
from __future__ import annotations

from typing import Any, Callable, Tuple

import torch
from torch import Tensor

from .._tracing import is_tracing
from .lengths import check_lengths_cover, covering_lengths
from .murmur3_x86 import murmur3_x86_32_keys
from .triton_support import block_size, cdiv, identity, kernel_op, triton_available, triton_kernels, use_triton

__all__ = [
    "sparse_linear_slots", "sparse_linear_reference", "sparse_linear_backward_weights_reference",
    "sparse_linear_backward_values_reference", "sparse_linear_forward_triton",
    "sparse_linear_backward_weights_triton", "sparse_linear_backward_values_triton",
    "sparse_linear", "sparse_linear_backward_weights", "sparse_linear_backward_values",
    "check_sparse_linear_inputs", "triton_available",
]

_HALF = (torch.float16, torch.bfloat16)


# ------------------------------------------------------------------------------ checks
def check_sparse_linear_inputs(where: str, keys: Tensor, values: Tensor, lengths: Tensor) -> None:
    """Dtypes and ranks of (keys, values, lengths); their sizes agree; lengths sum to N (eager only)."""
    if keys.is_floating_point() or keys.is_complex() or keys.dtype == torch.bool:
        raise TypeError(
            f"{where}: expected integer keys (int64 holding uint64 bits), got dtype {keys.dtype}; convert with .long()"
        )
    if not values.is_floating_point():
        raise TypeError(f"{where}: expected floating point values, got dtype {values.dtype}; convert with .float()")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{where}: expected integer lengths, got dtype {lengths.dtype}; convert with .int()")
    for field, t, shape in (("keys", keys, "(N,)"), ("values", values, "(N,)"), ("lengths", lengths, "(B,)")):
        if t.dim() != 1:
            raise ValueError(
                f"{where}: expected {field} of shape {shape}, got a {t.dim()}-D tensor of shape {list(t.shape)}"
            )
    if values.shape[0] != keys.shape[0]:
        raise ValueError(f"{where}: expected values of shape (N={keys.shape[0]},) like keys, got {list(values.shape)}")
    if is_tracing(keys, values, lengths):
        check_lengths_cover(where, lengths, keys.shape[0], rows="keys")  # traced: torch._assert_async
        return
    if lengths.numel():
        lo = int(lengths.min())
        if lo < 0:
            raise ValueError(f"{where}: expected non-negative lengths, got min {lo}")
    total = int(lengths.sum()) if lengths.numel() else 0
    if total != keys.shape[0]:
        raise ValueError(
            f"{where}: expected lengths to sum to the number of keys N={keys.shape[0]}, got sum(lengths)={total}; "
            "each example b owns the next lengths[b] keys (Thinc does not check this and reads garbage)"
        )


def _check_dims(where: str, W: Tensor, nO: int, length: int) -> None:
    if length < 1:
        raise ValueError(f"{where}: expected length >= 1, got length={length}")
    if nO < 0:
        raise ValueError(f"{where}: expected nO >= 0, got nO={nO}")
    if W.dim() != 1 or W.shape[0] != nO * length or not W.is_floating_point():
        raise ValueError(
            f"{where}: expected a float W of shape (nO*length,) = "
            f"({nO * length},), got {W.dtype} of shape {list(W.shape)}"
        )


# ------------------------------------------------------------------------------ references
def sparse_linear_slots(keys: Tensor, length: int, v1_indexing: bool) -> Tensor:
    """(N,) keys -> (N, 2) int64 slots in [0, length): seeds 0 and 1, ``h & (length-1)`` (v1) or ``h % length`` (v2)."""
    h = murmur3_x86_32_keys(keys, (0, 1))
    return h & (length - 1) if v1_indexing else h % length


def _segments(lengths: Tensor, n: int) -> Tensor:
    """(B,) lengths -> (n,) int64 example of each key (static size: compile/export friendly; in
    [0, B) whatever the lengths, see ``covering_lengths``)."""
    B = lengths.shape[0]
    return torch.repeat_interleave(torch.arange(B, device=lengths.device), covering_lengths(lengths, lengths.device, n),
                                   output_size=n)


def _acc(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in _HALF else dtype


def _key_weights(W: Tensor, slots: Tensor, nO: int, length: int, v1_indexing: bool) -> Tensor:
    """(N, 2) slots -> (N, nO) ``W[pos_0(k, c)] + W[pos_1(k, c)]`` (a transposed view for v2)."""
    N = slots.shape[0]
    flat = slots.reshape(-1)
    if v1_indexing:  # rows W[slot : slot + nO] of the overlapping (length, nO) view: contiguous reads
        if nO == 0:
            return W.new_zeros((N, 0))
        G = W.contiguous().as_strided((length, nO), (1, 1)).index_select(0, flat).view(N, 2, nO)
        return G[:, 0] + G[:, 1]
    G = W.view(nO, length).index_select(1, slots.t().reshape(-1)).view(nO, 2, N)  # one pass per class row
    return (G[:, 0] + G[:, 1]).t()


def sparse_linear_reference(W: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, nO: int, length: int,
                            v1_indexing: bool) -> Tensor:
    """Pure-torch forward (any device/dtype): -> (B, nO) scores without bias."""
    acc = _acc(W.dtype)
    N = keys.shape[0]
    w = _key_weights(W.to(acc), sparse_linear_slots(keys, length, v1_indexing), nO, length, v1_indexing)
    contrib = (w * values.to(acc)[:, None]).contiguous()
    out = torch.zeros((lengths.shape[0], nO), dtype=acc, device=W.device)
    out.index_add_(0, _segments(lengths, N), contrib)
    return out.to(W.dtype)


def sparse_linear_backward_weights_reference(dY: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, length: int,
                                             v1_indexing: bool) -> Tensor:
    """Pure-torch backward into W: (B, nO) dY -> (nO * length,) dW by ``index_add_`` (deterministic on CPU)."""
    acc = _acc(dY.dtype)
    N, nO = keys.shape[0], dY.shape[1]
    slots = sparse_linear_slots(keys, length, v1_indexing)
    seg = _segments(lengths, N)
    if v1_indexing:
        g = dY.to(acc).index_select(0, seg) * values.to(acc)[:, None]  # (N, nO)
        dW = torch.zeros(nO * length, dtype=acc, device=dY.device)
        cls = torch.arange(nO, device=dY.device)
        for s in range(2):
            dW.index_add_(0, (slots[:, s, None] + cls).reshape(-1), g.reshape(-1))
        return dW.to(dY.dtype)
    gT = dY.to(acc).t().index_select(1, seg) * values.to(acc)  # (nO, N), contiguous
    dW2 = torch.zeros((nO, length), dtype=acc, device=dY.device)
    for s in range(2):
        dW2.index_add_(1, slots[:, s].contiguous(), gT)
    return dW2.reshape(-1).to(dY.dtype)


def sparse_linear_backward_values_reference(dY: Tensor, W: Tensor, keys: Tensor, lengths: Tensor, length: int,
                                            v1_indexing: bool) -> Tensor:
    """Pure-torch backward into values: -> (N,) ``sum_c dY[b(k), c] * (W[pos_0] + W[pos_1])``."""
    acc = _acc(W.dtype)
    N, nO = keys.shape[0], dY.shape[1]
    w = _key_weights(W.to(acc), sparse_linear_slots(keys, length, v1_indexing), nO, length, v1_indexing)
    return (w * dY.to(acc).index_select(0, _segments(lengths, N))).sum(1).to(W.dtype)


# ------------------------------------------------------------------------------ launchers
def _block_c(nO: int) -> int:
    return block_size(nO, hi=64)


def _prep(keys: Tensor, values: Tensor, lengths: Tensor, dtype: torch.dtype) -> Tuple[Tensor, Tensor, Tensor]:
    return keys.to(torch.int64).contiguous(), values.to(dtype).contiguous(), lengths.to(torch.int64).contiguous()


def sparse_linear_forward_triton(W: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, nO: int, length: int,
                                 v1_indexing: bool, *, launch: Callable[[Any], Any] = identity) -> Tensor:
    """Forward launcher: -> (B, nO) in W's dtype, fp32 accumulation, one program per (example, class block)."""
    _check_dims("sparse_linear_forward_triton", W, nO, length)
    check_sparse_linear_inputs("sparse_linear_forward_triton", keys, values, lengths)
    B = lengths.shape[0]
    out = torch.empty((B, nO), dtype=W.dtype, device=W.device)
    if B == 0 or nO == 0:
        return out
    keys, values, lengths = _prep(keys, values, lengths, W.dtype)
    starts = torch.cumsum(lengths, 0) - lengths
    block_c = _block_c(nO)
    kernel = triton_kernels("sparse_linear").fwd_kernel
    launch(kernel)[(B, cdiv(nO, block_c))](keys, values, starts, lengths, W.contiguous(), out, keys.shape[0], nO,
                                           length, V1=bool(v1_indexing), BLOCK_K=32, BLOCK_C=block_c)
    return out


def sparse_linear_backward_weights_triton(dY: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, length: int,
                                          v1_indexing: bool, deterministic: bool = False, *,
                                          launch: Callable[[Any], Any] = identity) -> Tensor:
    """Backward launcher into W: (B, nO) dY -> (nO * length,) dW in dY's dtype.

    ``deterministic=False``: atomic scatter-add into an fp32 buffer. ``True``: the 2N slots are
    sorted (stable), one program per slot sums its entries in a fixed order into T (length, nO),
    and T is laid out into W's positions by torch ops (v1: a sheared sum over the class offsets):
    bitwise reproducible.
    """
    check_sparse_linear_inputs("sparse_linear_backward_weights_triton", keys, values, lengths)
    N, nO = keys.shape[0], dY.shape[1]
    dY = dY.contiguous()
    keys, values, lengths = _prep(keys, values, lengths, dY.dtype)
    seg = _segments(lengths, N)
    V1 = bool(v1_indexing)
    if N == 0 or nO == 0 or lengths.shape[0] == 0 or not deterministic:
        dW = torch.zeros(nO * length, dtype=torch.float32, device=dY.device)
        if N and nO and lengths.shape[0]:  # no example (bad lengths): no dY row to read
            block_c = _block_c(nO)
            grid = (cdiv(N, 64), cdiv(nO, block_c))
            kernel = triton_kernels("sparse_linear").bwd_atomic_kernel
            launch(kernel)[grid](keys, values, seg, dY, dW, N, nO, length, V1=V1, BLOCK_K=64, BLOCK_C=block_c)
        return dW if dY.dtype == torch.float32 else dW.to(dY.dtype)
    slots = torch.empty(2 * N, dtype=torch.int64, device=dY.device)
    kernels = triton_kernels("sparse_linear")
    launch(kernels.slots_kernel)[(cdiv(N, 256),)](keys, slots, N, length, V1=V1, BLOCK_K=256)
    sorted_slots, perm = torch.sort(slots, stable=True)
    offsets = torch.searchsorted(sorted_slots, torch.arange(length + 1, device=dY.device, dtype=torch.int64))
    T = torch.empty((length, nO), dtype=torch.float32, device=dY.device)
    block_c = _block_c(nO)
    rows = 4
    launch(kernels.slot_sum_kernel)[(cdiv(length, rows), cdiv(nO, block_c))](
        offsets, perm, values, seg, dY, T, nO, length, ROWS=rows, BLOCK_J=16, BLOCK_C=block_c)
    if V1:  # dW[p] = sum_c T[p - c, c]: shear T into U[j + c, c], then sum each row in a fixed order
        U = torch.zeros((length + nO - 1, nO), dtype=torch.float32, device=dY.device)
        U.view(-1).as_strided((length, nO), (nO, nO + 1)).copy_(T)
        dW = torch.zeros(nO * length, dtype=torch.float32, device=dY.device)
        dW[: length + nO - 1] = U.sum(1)
    else:
        dW = T.t().reshape(-1)
    return dW.to(dY.dtype)


def sparse_linear_backward_values_triton(dY: Tensor, W: Tensor, keys: Tensor, lengths: Tensor, length: int,
                                         v1_indexing: bool, *, launch: Callable[[Any], Any] = identity) -> Tensor:
    """Backward launcher into values: -> (N,) in W's dtype (no atomics: deterministic)."""
    N, nO = keys.shape[0], dY.shape[1]
    dv = torch.empty(N, dtype=W.dtype, device=W.device)
    if N == 0:
        return dv
    if nO == 0 or lengths.shape[0] == 0:  # no example (bad lengths): no dY row to read
        return dv.zero_()
    keys, _, lengths = _prep(keys, W[:0], lengths, W.dtype)
    seg = _segments(lengths, N)
    block_c = _block_c(nO)
    kernel = triton_kernels("sparse_linear").bwd_values_kernel
    launch(kernel)[(cdiv(N, 64),)](keys, seg, dY.contiguous(), W.contiguous(), dv, N, nO, length,
                                   V1=bool(v1_indexing), BLOCK_K=64, BLOCK_C=block_c)
    return dv


# ------------------------------------------------------------------------------ torch.library ops
@kernel_op("torchlayers::sparse_linear", mutates_args=())
def sparse_linear(W: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, nO: int, length: int,
                  v1_indexing: bool) -> Tensor:
    """(nO*length,) W, (N,) keys, (N,) values, (B,) lengths -> (B, nO) hashed sparse scores (no bias)."""
    _check_dims("torchlayers::sparse_linear", W, nO, length)
    check_sparse_linear_inputs("torchlayers::sparse_linear", keys, values, lengths)
    if use_triton(W):
        return sparse_linear_forward_triton(
            W, keys, values, lengths, nO, length, v1_indexing, launch=torch.library.wrap_triton
        )
    return sparse_linear_reference(W, keys, values, lengths, nO, length, v1_indexing)


@kernel_op("torchlayers::sparse_linear_backward_weights", mutates_args=())
def sparse_linear_backward_weights(dY: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, length: int,
                                   v1_indexing: bool, deterministic: bool) -> Tensor:
    """(B, nO) dY -> (nO*length,) dW; ``deterministic`` picks the sorted path on CUDA."""
    check_sparse_linear_inputs("torchlayers::sparse_linear_backward_weights", keys, values, lengths)
    if use_triton(dY):
        return sparse_linear_backward_weights_triton(dY, keys, values, lengths, length, v1_indexing, deterministic,
                                                     launch=torch.library.wrap_triton)
    return sparse_linear_backward_weights_reference(dY, keys, values, lengths, length, v1_indexing)


@kernel_op("torchlayers::sparse_linear_backward_values", mutates_args=())
def sparse_linear_backward_values(dY: Tensor, W: Tensor, keys: Tensor, lengths: Tensor, length: int,
                                  v1_indexing: bool) -> Tensor:
    """(B, nO) dY, (nO*length,) W -> (N,) dvalues."""
    _check_dims("torchlayers::sparse_linear_backward_values", W, dY.shape[1], length)
    if use_triton(W):
        return sparse_linear_backward_values_triton(
            dY, W, keys, lengths, length, v1_indexing, launch=torch.library.wrap_triton
        )
    return sparse_linear_backward_values_reference(dY, W, keys, lengths, length, v1_indexing)


@sparse_linear.register_fake
def _sparse_linear_fake(W, keys, values, lengths, nO, length, v1_indexing):
    _check_dims("torchlayers::sparse_linear", W, nO, length)
    check_sparse_linear_inputs("torchlayers::sparse_linear", keys, values, lengths)
    return W.new_empty((lengths.shape[0], nO))


@sparse_linear_backward_weights.register_fake
def _sparse_linear_backward_weights_fake(dY, keys, values, lengths, length, v1_indexing, deterministic):
    return dY.new_empty((dY.shape[1] * length,))


@sparse_linear_backward_values.register_fake
def _sparse_linear_backward_values_fake(dY, W, keys, lengths, length, v1_indexing):
    return W.new_empty((keys.shape[0],))


# autograd: the three ops are bilinear, so each one's derivatives are the other two.
def _setup_forward(ctx: Any, inputs: tuple, output: Tensor) -> None:
    W, keys, values, lengths, _nO, length, v1 = inputs
    ctx.save_for_backward(W, keys, values, lengths)
    ctx.length, ctx.v1 = length, v1


def _backward_forward(ctx: Any, dY: Tensor):
    W, keys, values, lengths = ctx.saved_tensors
    dW = dvalues = None
    if ctx.needs_input_grad[0]:
        det = torch.are_deterministic_algorithms_enabled()
        dW = torch.ops.torchlayers.sparse_linear_backward_weights(dY, keys, values, lengths, ctx.length, ctx.v1, det)
    if ctx.needs_input_grad[2]:
        dvalues = torch.ops.torchlayers.sparse_linear_backward_values(dY, W, keys, lengths, ctx.length, ctx.v1).to(
            values.dtype
        )
    return dW, None, dvalues, None, None, None, None


def _setup_bw(ctx: Any, inputs: tuple, output: Tensor) -> None:
    dY, keys, values, lengths, length, v1, det = inputs
    ctx.save_for_backward(dY, keys, values, lengths)
    ctx.length, ctx.v1, ctx.det = length, v1, det


def _backward_bw(ctx: Any, ddW: Tensor):
    dY, keys, values, lengths = ctx.saved_tensors
    nO = dY.shape[1]
    d_dY = d_values = None
    if ctx.needs_input_grad[0]:
        d_dY = torch.ops.torchlayers.sparse_linear(ddW, keys, values, lengths, nO, ctx.length, ctx.v1)
    if ctx.needs_input_grad[2]:
        d_values = torch.ops.torchlayers.sparse_linear_backward_values(dY, ddW, keys, lengths, ctx.length, ctx.v1).to(
            values.dtype
        )
    return d_dY, None, d_values, None, None, None, None


def _setup_bv(ctx: Any, inputs: tuple, output: Tensor) -> None:
    dY, W, keys, lengths, length, v1 = inputs
    ctx.save_for_backward(dY, W, keys, lengths)
    ctx.length, ctx.v1 = length, v1


def _backward_bv(ctx: Any, ddv: Tensor):
    dY, W, keys, lengths = ctx.saved_tensors
    d_dY = d_W = None
    if ctx.needs_input_grad[0]:
        d_dY = torch.ops.torchlayers.sparse_linear(W, keys, ddv, lengths, dY.shape[1], ctx.length, ctx.v1)
    if ctx.needs_input_grad[1]:
        det = torch.are_deterministic_algorithms_enabled()
        d_W = torch.ops.torchlayers.sparse_linear_backward_weights(dY, keys, ddv, lengths, ctx.length, ctx.v1, det)
    return d_dY, d_W, None, None, None, None


sparse_linear.register_autograd(_backward_forward, setup_context=_setup_forward)
sparse_linear_backward_weights.register_autograd(_backward_bw, setup_context=_setup_bw)
sparse_linear_backward_values.register_autograd(_backward_bv, setup_context=_setup_bv)
