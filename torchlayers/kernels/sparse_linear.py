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

``torch.ops.torchlayers.sparse_linear`` is a ``torch.library.triton_op`` whose body branches on
the device, with registered autograd (through ``sparse_linear_backward_weights`` and
``sparse_linear_backward_values``, themselves differentiable, so double backward works) and fake
impls. The ``*_triton`` functions are the plain launchers (usable under ``TRITON_INTERPRET=1``).
Triton is imported on first launch only.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Tuple

import torch
from torch import Tensor

from .murmur3_x86 import get_murmur3_x86_32_tl, murmur3_x86_32_keys
from .triton_support import is_tracing as _is_fake
from .triton_support import triton_available, use_triton

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
        raise TypeError(f"{where}: expected integer keys (int64 holding uint64 bits), got dtype {keys.dtype}; convert with .long()")
    if not values.is_floating_point():
        raise TypeError(f"{where}: expected floating point values, got dtype {values.dtype}; convert with .float()")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{where}: expected integer lengths, got dtype {lengths.dtype}; convert with .int()")
    for field, t, shape in (("keys", keys, "(N,)"), ("values", values, "(N,)"), ("lengths", lengths, "(B,)")):
        if t.dim() != 1:
            raise ValueError(f"{where}: expected {field} of shape {shape}, got a {t.dim()}-D tensor of shape {list(t.shape)}")
    if values.shape[0] != keys.shape[0]:
        raise ValueError(f"{where}: expected values of shape (N={keys.shape[0]},) like keys, got {list(values.shape)}")
    if _is_fake(keys, values, lengths):
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
            f"{where}: expected a float W of shape (nO*length,) = ({nO * length},), got {W.dtype} of shape {list(W.shape)}"
        )


# ------------------------------------------------------------------------------ references
def sparse_linear_slots(keys: Tensor, length: int, v1_indexing: bool) -> Tensor:
    """(N,) keys -> (N, 2) int64 slots in [0, length): seeds 0 and 1, ``h & (length-1)`` (v1) or ``h % length`` (v2)."""
    h = murmur3_x86_32_keys(keys, (0, 1))
    return h & (length - 1) if v1_indexing else h % length


def _segments(lengths: Tensor, n: int) -> Tensor:
    """(B,) lengths -> (n,) int64 example of each key (static size: compile/export friendly)."""
    B = lengths.shape[0]
    return torch.repeat_interleave(torch.arange(B, device=lengths.device), lengths.to(torch.int64), output_size=n)


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


# ------------------------------------------------------------------------------ triton kernels
@functools.lru_cache(maxsize=None)
def _kernels() -> Any:
    """Define the Triton kernels on first use (Triton stays optional; TRITON_INTERPRET is read here)."""
    import triton
    import triton.language as tl

    # Triton (its interpreter especially) resolves names in the module globals, not closures.
    globals().update(triton=triton, tl=tl)
    globals()["murmur3_x86_32_u64_tl"] = get_murmur3_x86_32_tl()

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

    @triton.jit(do_not_specialize=["length", "nO"])
    def fwd_kernel(keys_ptr, values_ptr, starts_ptr, lengths_ptr, w_ptr, out_ptr, nO, length,
                   V1: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_C: tl.constexpr):
        """out[b, cblock] = sum over the keys of example b, in order: v * (W[pos_0] + W[pos_1])."""
        b = tl.program_id(0).to(tl.int64)
        offs_c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        mask_c = offs_c < nO
        start = tl.load(starts_ptr + b)
        end = start + tl.load(lengths_ptr + b).to(tl.int64)
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

    globals().update(_slots2=_slots2, _pos=_pos)

    class K:
        pass

    K.fwd, K.bwd_atomic, K.slots, K.slot_sum, K.bwd_values = (
        fwd_kernel, bwd_atomic_kernel, slots_kernel, slot_sum_kernel, bwd_values_kernel)
    return K


def _block_c(nO: int) -> int:
    return min(64, max(16, 1 << max(0, (nO - 1).bit_length())))


def _cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


def _identity(kernel: Any) -> Any:
    return kernel


def _prep(keys: Tensor, values: Tensor, lengths: Tensor, dtype: torch.dtype) -> Tuple[Tensor, Tensor, Tensor]:
    return keys.to(torch.int64).contiguous(), values.to(dtype).contiguous(), lengths.to(torch.int64).contiguous()


def sparse_linear_forward_triton(W: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, nO: int, length: int,
                                 v1_indexing: bool, *, launch: Callable[[Any], Any] = _identity) -> Tensor:
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
    launch(_kernels().fwd)[(B, _cdiv(nO, block_c))](keys, values, starts, lengths, W.contiguous(), out, nO, length,
                                                     V1=bool(v1_indexing), BLOCK_K=32, BLOCK_C=block_c)
    return out


def sparse_linear_backward_weights_triton(dY: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, length: int,
                                          v1_indexing: bool, deterministic: bool = False, *,
                                          launch: Callable[[Any], Any] = _identity) -> Tensor:
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
    if N == 0 or nO == 0 or not deterministic:
        dW = torch.zeros(nO * length, dtype=torch.float32, device=dY.device)
        if N and nO:
            block_c = _block_c(nO)
            grid = (_cdiv(N, 64), _cdiv(nO, block_c))
            launch(_kernels().bwd_atomic)[grid](keys, values, seg, dY, dW, N, nO, length, V1=V1, BLOCK_K=64, BLOCK_C=block_c)
        return dW if dY.dtype == torch.float32 else dW.to(dY.dtype)
    slots = torch.empty(2 * N, dtype=torch.int64, device=dY.device)
    launch(_kernels().slots)[(_cdiv(N, 256),)](keys, slots, N, length, V1=V1, BLOCK_K=256)
    sorted_slots, perm = torch.sort(slots, stable=True)
    offsets = torch.searchsorted(sorted_slots, torch.arange(length + 1, device=dY.device, dtype=torch.int64))
    T = torch.empty((length, nO), dtype=torch.float32, device=dY.device)
    block_c = _block_c(nO)
    rows = 4
    launch(_kernels().slot_sum)[(_cdiv(length, rows), _cdiv(nO, block_c))](
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
                                         v1_indexing: bool, *, launch: Callable[[Any], Any] = _identity) -> Tensor:
    """Backward launcher into values: -> (N,) in W's dtype (no atomics: deterministic)."""
    N, nO = keys.shape[0], dY.shape[1]
    dv = torch.empty(N, dtype=W.dtype, device=W.device)
    if N == 0:
        return dv
    if nO == 0:
        return dv.zero_()
    keys, _, lengths = _prep(keys, W[:0], lengths, W.dtype)
    seg = _segments(lengths, N)
    block_c = _block_c(nO)
    launch(_kernels().bwd_values)[(_cdiv(N, 64),)](keys, seg, dY.contiguous(), W.contiguous(), dv, N, nO, length,
                                                   V1=bool(v1_indexing), BLOCK_K=64, BLOCK_C=block_c)
    return dv


# ------------------------------------------------------------------------------ torch.library ops
@torch.library.triton_op("torchlayers::sparse_linear", mutates_args=())
def sparse_linear(W: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, nO: int, length: int,
                  v1_indexing: bool) -> Tensor:
    """(nO*length,) W, (N,) keys, (N,) values, (B,) lengths -> (B, nO) hashed sparse scores (no bias)."""
    _check_dims("torchlayers::sparse_linear", W, nO, length)
    check_sparse_linear_inputs("torchlayers::sparse_linear", keys, values, lengths)
    if use_triton(W):
        return sparse_linear_forward_triton(W, keys, values, lengths, nO, length, v1_indexing, launch=torch.library.wrap_triton)
    return sparse_linear_reference(W, keys, values, lengths, nO, length, v1_indexing)


@torch.library.triton_op("torchlayers::sparse_linear_backward_weights", mutates_args=())
def sparse_linear_backward_weights(dY: Tensor, keys: Tensor, values: Tensor, lengths: Tensor, length: int,
                                   v1_indexing: bool, deterministic: bool) -> Tensor:
    """(B, nO) dY -> (nO*length,) dW; ``deterministic`` picks the sorted path on CUDA."""
    check_sparse_linear_inputs("torchlayers::sparse_linear_backward_weights", keys, values, lengths)
    if use_triton(dY):
        return sparse_linear_backward_weights_triton(dY, keys, values, lengths, length, v1_indexing, deterministic,
                                                     launch=torch.library.wrap_triton)
    return sparse_linear_backward_weights_reference(dY, keys, values, lengths, length, v1_indexing)


@torch.library.triton_op("torchlayers::sparse_linear_backward_values", mutates_args=())
def sparse_linear_backward_values(dY: Tensor, W: Tensor, keys: Tensor, lengths: Tensor, length: int,
                                  v1_indexing: bool) -> Tensor:
    """(B, nO) dY, (nO*length,) W -> (N,) dvalues."""
    _check_dims("torchlayers::sparse_linear_backward_values", W, dY.shape[1], length)
    if use_triton(W):
        return sparse_linear_backward_values_triton(dY, W, keys, lengths, length, v1_indexing, launch=torch.library.wrap_triton)
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
    W, keys, values, lengths, nO, length, v1 = inputs
    ctx.save_for_backward(W, keys, values, lengths)
    ctx.length, ctx.v1 = length, v1


def _backward_forward(ctx: Any, dY: Tensor):
    W, keys, values, lengths = ctx.saved_tensors
    dW = dvalues = None
    if ctx.needs_input_grad[0]:
        det = torch.are_deterministic_algorithms_enabled()
        dW = torch.ops.torchlayers.sparse_linear_backward_weights(dY, keys, values, lengths, ctx.length, ctx.v1, det)
    if ctx.needs_input_grad[2]:
        dvalues = torch.ops.torchlayers.sparse_linear_backward_values(dY, W, keys, lengths, ctx.length, ctx.v1).to(values.dtype)
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
        d_values = torch.ops.torchlayers.sparse_linear_backward_values(dY, ddW, keys, lengths, ctx.length, ctx.v1).to(values.dtype)
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
