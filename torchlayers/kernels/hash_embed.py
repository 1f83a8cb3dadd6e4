"""HashEmbed's fused op: hash each id 4 ways, gather 4 table rows, sum them.

Shape:
    - table: (nV, nO) float32 / float64 / bfloat16 / float16
    - ids: (N,) int32 or int64 (uint64 semantics, see ``murmur3_x64``)
    - seed: int in [0, 2**32)
    - out: (N, nO), dtype of the table. ``out[i] = sum_j table[keys[i, j] % nV]`` with
      ``keys = murmur3_x64_128_keys(ids, seed)``; a row that repeats is added twice; N = 0
      gives an empty (0, nO) output.
    - backward: dtable (nV, nO) = scatter-add of dY into the 4 rows of each id; ids get no grad.

Semantics table (every path):

| path | forward | backward | accumulation |
|---|---|---|---|
| CPU (any dtype), CUDA float64 | hash in torch, ``F.embedding_bag(mode="sum")`` | 4 x ``index_add_`` (opaque ``torchlayers::scatter_rows_sum``) | dtype (fp32 for half types) |
| CUDA fp32/bf16/fp16 | one fused Triton kernel (hash + 4-row gather + sum) | atomic scatter-add (fp32 buffer) | fp32 |
| CUDA, ``torch.are_deterministic_algorithms_enabled()`` | same | hash kernel, stable sort, ``searchsorted`` offsets, one segment-sum kernel (no atomics): bitwise reproducible | fp32 |

All offsets are int64 (rows x width may exceed 2**31). Nothing syncs with the host.

``torch.ops.torchlayers.hash_embed`` is a ``torch.library.triton_op`` (defined by ``kernel_op``)
whose body branches on the device (the torch reference on CPU, ``wrap_triton(kernel)`` on
CUDA), with registered autograd (through ``torch.ops.torchlayers.hash_embed_backward``, itself
differentiable) and fake impls, so ``torch.compile(fullgraph=True)`` and ``torch.export`` see
one op. ``hash_embed_forward_triton``
/ ``hash_embed_backward_triton`` are the plain launchers (usable under ``TRITON_INTERPRET=1``).
The kernels live in ``kernels/_triton/hash_embed.py``; Triton is imported on the first launch.
"""  # noqa: E501 - markdown table rows in the docstring cannot wrap
from __future__ import annotations

from typing import Any, Callable, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .murmur3_x64 import check_seed, murmur3_x64_128_keys
from .triton_support import block_size, cdiv, identity, kernel_op, triton_available, triton_kernels, use_triton

__all__ = [
    "hash_rows_reference", "hash_embed_reference", "hash_embed_backward_reference", "hash_embed_eager_cpu",
    "gather_sum_rows", "scatter_rows_backward", "scatter_rows_sum",
    "hash_embed_forward_triton", "hash_embed_backward_triton", "hash_rows_triton",
    "hash_embed", "hash_embed_backward", "triton_available",
]

_HALF = (torch.float16, torch.bfloat16)
_CPU_CHUNK_BYTES = 4 * 2**20  # dY rows per backward pass on CPU: about an L2/L3 share


# ------------------------------------------------------------------------------ checks
def _check(where: str, table_or_dy: Tensor, ids: Tensor, seed: int, nV: int) -> None:
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"{where}: expected integer ids, got dtype {ids.dtype}; convert with .long()")
    if ids.dim() != 1:
        raise ValueError(f"{where}: expected ids of shape (N,), got shape {tuple(ids.shape)}")
    if table_or_dy.dim() != 2 or not table_or_dy.is_floating_point():
        raise ValueError(
            f"{where}: expected a 2-D float table/gradient, got {table_or_dy.dtype} of shape {tuple(table_or_dy.shape)}"
        )
    check_seed(seed, where)
    if nV < 1 and ids.shape[0] != 0:
        raise ValueError(f"{where}: expected a table with nV >= 1 rows to hash {ids.shape[0]} ids into, got nV={nV}")


# ------------------------------------------------------------------------------ references
def hash_rows_reference(ids: Tensor, seed: int, nV: int) -> Tensor:
    """(N,) ids -> (N, 4) int64 table rows ``murmur3_x64_128_keys(ids, seed) % nV``."""
    return murmur3_x64_128_keys(ids, seed) % nV


def gather_sum_rows(table: Tensor, rows: Tensor) -> Tensor:
    """(nV, nO) table, (N, 4) int64 rows -> (N, nO) ``table[rows].sum(1)`` (fp32 accumulation for half)."""
    if table.dtype in _HALF:  # fp32 accumulation, result in the table's dtype
        return table[rows].float().sum(1).to(table.dtype)
    return F.embedding_bag(rows, table, mode="sum")


def scatter_rows_backward(dY: Tensor, rows: Tensor, nV: int) -> Tensor:
    """(N, nO) dY, (N, 4) rows -> (nV, nO) dtable by 4 ``index_add_`` (deterministic on CPU)."""
    rows = rows.t().contiguous()  # (4, N): contiguous index per pass
    acc = torch.float32 if dY.dtype in _HALF else dY.dtype
    # contiguous: dY is often a column slice of a concatenate's gradient, and index_add_ with a
    # strided source takes a per-element path on CPU (75 ms instead of 1 ms at N=16k, nO=96)
    g = dY.to(acc).contiguous()
    N, nO = g.shape
    dE = torch.zeros((nV, nO), dtype=acc, device=dY.device)
    # On CPU, 4 passes over a dY larger than the cache cost 4x the traffic: pass over cache-sized
    # row chunks instead (same additions, in another fixed order). Eager only (a static loop).
    # Traced (symbolic N, e.g. torch.compile(dynamic=True)): one pass, no loop over N, which
    # would specialize the graph to this batch's size.
    chunk = max(1, _CPU_CHUNK_BYTES // max(1, nO * g.element_size()))
    if dY.device.type != "cpu" or not isinstance(N, int) or N <= 2 * chunk or torch.compiler.is_compiling():
        for j in range(4):
            dE.index_add_(0, rows[j], g)
        return dE.to(dY.dtype)
    for start in range(0, N, chunk):
        part = g[start:start + chunk]
        for j in range(4):
            dE.index_add_(0, rows[j, start:start + chunk], part)
    return dE.to(dY.dtype)


def hash_embed_reference(table: Tensor, ids: Tensor, seed: int) -> Tensor:
    """Pure-torch forward (any device/dtype): (nV, nO) table, (N,) ids -> (N, nO)."""
    return gather_sum_rows(table, hash_rows_reference(ids, seed, table.shape[0]))


def hash_embed_backward_reference(dY: Tensor, ids: Tensor, seed: int, nV: int) -> Tensor:
    """Pure-torch backward: (N, nO) dY -> (nV, nO) dtable (rehashes the ids)."""
    return scatter_rows_backward(dY, hash_rows_reference(ids, seed, nV), nV)


@torch.library.custom_op("torchlayers::scatter_rows_sum", mutates_args=())
def scatter_rows_sum(dY: Tensor, rows: Tensor, nV: int) -> Tensor:
    """(N, nO) dY, (N, 4) int rows -> (nV, nO) dtable: ``scatter_rows_backward`` as an opaque op.

    The non-Triton branch of ``torchlayers::hash_embed_backward`` calls it so that torch.compile
    keeps ATen's ``index_add_`` (serial per index, vectorized along nO, cache-chunked) instead of
    lowering the scatter into its own code: Inductor's CPU codegen turns ``index_add_`` into a
    parallel loop of per-element atomic compare-and-swap adds, 20-50x slower here (75 ms vs 2 ms
    per tagger step at 16k words). The hashing before it stays in the graph (fused by Inductor).
    No autograd of its own: it only runs below ``hash_embed_backward``'s registered autograd.
    """
    return scatter_rows_backward(dY, rows, nV)


@scatter_rows_sum.register_fake
def _scatter_rows_sum_fake(dY: Tensor, rows: Tensor, nV: int) -> Tensor:
    return dY.new_empty((nV, dY.shape[1]))


class _HashedRowsSum(torch.autograd.Function):
    """Eager CPU: the forward's hashed rows are kept for the backward (Thinc keeps its keys too),
    instead of rehashing there; no op dispatch either. Compile, export, TorchScript and CUDA use
    the ``torchlayers::hash_embed`` op."""

    @staticmethod
    def forward(ctx: Any, table: Tensor, rows: Tensor) -> Tensor:
        ctx.save_for_backward(rows)
        ctx.nV = table.shape[0]
        return gather_sum_rows(table, rows)

    @staticmethod
    def backward(ctx: Any, dY: Tensor) -> Any:
        (rows,) = ctx.saved_tensors
        return scatter_rows_backward(dY, rows, ctx.nV), None


def hash_embed_eager_cpu(table: Tensor, ids: Tensor, seed: int) -> Tensor:
    """``torchlayers::hash_embed`` for eager CPU calls: same values, a faster backward."""
    _check("torchlayers::hash_embed", table, ids, seed, table.shape[0])
    return _HashedRowsSum.apply(table, hash_rows_reference(ids, seed, table.shape[0]))


# ------------------------------------------------------------------------------ launchers
def _blocks(nO: int) -> Tuple[int, int]:
    block_d = block_size(nO)
    return max(8, 4096 // block_d), block_d


def _ids64(ids: Tensor) -> Tensor:
    return ids.to(torch.int64).contiguous()


def hash_embed_forward_triton(table: Tensor, ids: Tensor, seed: int, *,
                              launch: Callable[[Any], Any] = identity) -> Tensor:
    """Fused forward launcher: (nV, nO) table, (N,) ids -> (N, nO) in the table's dtype (fp32 accumulation)."""
    _check("hash_embed_forward_triton", table, ids, seed, table.shape[0])
    nV, nO = table.shape
    N = ids.shape[0]
    out = torch.empty((N, nO), dtype=table.dtype, device=table.device)
    if N == 0 or nO == 0:
        return out
    table = table.contiguous()
    block_n, block_d = _blocks(nO)
    grid = (cdiv(N, block_n), cdiv(nO, block_d))
    kernel = triton_kernels("hash_embed").hash_embed_fwd_kernel
    launch(kernel)[grid](_ids64(ids), table, out, N, nO, nV, seed, table.stride(0), out.stride(0),
                         BLOCK_N=block_n, BLOCK_D=block_d)
    return out


def hash_rows_triton(ids: Tensor, seed: int, nV: int, *, launch: Callable[[Any], Any] = identity) -> Tensor:
    """(N,) ids -> (N, 4) rows (int32 when nV < 2**31, else int64), computed by one kernel."""
    N = ids.shape[0]
    rows = torch.empty((N, 4), dtype=torch.int32 if nV < 2**31 else torch.int64, device=ids.device)
    if N:
        kernel = triton_kernels("hash_embed").hash_rows_kernel
        launch(kernel)[(cdiv(N, 256),)](_ids64(ids), rows, N, nV, seed, BLOCK_N=256)
    return rows


def hash_embed_backward_triton(dY: Tensor, ids: Tensor, seed: int, nV: int, deterministic: bool = False, *,
                               launch: Callable[[Any], Any] = identity) -> Tensor:
    """Backward launcher: (N, nO) dY -> (nV, nO) dtable in dY's dtype.

    ``deterministic=False``: atomic scatter-add into an fp32 buffer. ``True``: rows sorted
    (stable) and summed per table row by one kernel, no atomics, bitwise reproducible.
    """
    _check("hash_embed_backward_triton", dY, ids, seed, nV)
    N, nO = dY.shape
    if N == 0 or nO == 0 or not deterministic:
        dE = torch.zeros((nV, nO), dtype=torch.float32, device=dY.device)
        if N and nO:
            dY = dY.contiguous()
            block_n, block_d = _blocks(nO)
            grid = (cdiv(N, block_n), cdiv(nO, block_d))
            kernel = triton_kernels("hash_embed").hash_embed_bwd_atomic_kernel
            launch(kernel)[grid](_ids64(ids), dY, dE, N, nO, nV, seed, dY.stride(0), dE.stride(0),
                                 BLOCK_N=block_n, BLOCK_D=block_d)
        return dE if dY.dtype == torch.float32 else dE.to(dY.dtype)
    dY = dY.contiguous()
    rows = hash_rows_triton(ids, seed, nV, launch=launch).reshape(-1)
    sorted_rows, perm = torch.sort(rows, stable=True)
    offsets = torch.searchsorted(sorted_rows, torch.arange(nV + 1, device=dY.device, dtype=sorted_rows.dtype))
    dE = torch.empty((nV, nO), dtype=dY.dtype, device=dY.device)
    block_d = block_size(nO)
    kernel = triton_kernels("hash_embed").segment_sum_rows_kernel
    launch(kernel)[(nV, cdiv(nO, block_d))](offsets, perm, dY, dE, nO, dY.stride(0), dE.stride(0),
                                            BLOCK_J=16, BLOCK_D=block_d)
    return dE


# ------------------------------------------------------------------------------ torch.library ops
@kernel_op("torchlayers::hash_embed", mutates_args=())
def hash_embed(table: Tensor, ids: Tensor, seed: int) -> Tensor:
    """(nV, nO) table, (N,) integer ids, uint32 seed -> (N, nO) sum of the 4 hashed rows."""
    _check("torchlayers::hash_embed", table, ids, seed, table.shape[0])
    if use_triton(table):
        return hash_embed_forward_triton(table, ids, seed, launch=torch.library.wrap_triton)
    return hash_embed_reference(table, ids, seed)


@kernel_op("torchlayers::hash_embed_backward", mutates_args=())
def hash_embed_backward(dY: Tensor, ids: Tensor, seed: int, nV: int, deterministic: bool) -> Tensor:
    """(N, nO) dY -> (nV, nO) dtable; ``deterministic`` picks the sorted path on CUDA."""
    _check("torchlayers::hash_embed_backward", dY, ids, seed, nV)
    if use_triton(dY):
        return hash_embed_backward_triton(dY, ids, seed, nV, deterministic, launch=torch.library.wrap_triton)
    return torch.ops.torchlayers.scatter_rows_sum(dY, hash_rows_reference(ids, seed, nV), nV)


@hash_embed.register_fake
def _hash_embed_fake(table: Tensor, ids: Tensor, seed: int) -> Tensor:
    _check("torchlayers::hash_embed", table, ids, seed, table.shape[0])
    return table.new_empty((ids.shape[0], table.shape[1]))


@hash_embed_backward.register_fake
def _hash_embed_backward_fake(dY: Tensor, ids: Tensor, seed: int, nV: int, deterministic: bool) -> Tensor:
    _check("torchlayers::hash_embed_backward", dY, ids, seed, nV)
    return dY.new_empty((nV, dY.shape[1]))


def _setup_forward(ctx: Any, inputs: tuple, output: Tensor) -> None:
    table, ids, seed = inputs
    ctx.save_for_backward(ids)
    ctx.seed = seed
    ctx.nV = table.shape[0]


def _backward_forward(ctx: Any, dY: Tensor):
    (ids,) = ctx.saved_tensors
    deterministic = torch.are_deterministic_algorithms_enabled()
    return torch.ops.torchlayers.hash_embed_backward(dY, ids, ctx.seed, ctx.nV, deterministic), None, None


def _setup_backward(ctx: Any, inputs: tuple, output: Tensor) -> None:
    _dY, ids, seed, _nV, _deterministic = inputs
    ctx.save_for_backward(ids)
    ctx.seed = seed


def _backward_backward(ctx: Any, ddE: Tensor):
    (ids,) = ctx.saved_tensors
    return torch.ops.torchlayers.hash_embed(ddE, ids, ctx.seed), None, None, None, None


hash_embed.register_autograd(_backward_forward, setup_context=_setup_forward)
hash_embed_backward.register_autograd(_backward_backward, setup_context=_setup_backward)

