"""Lengths (B,) that split N rows into B consecutive runs (Ragged lengths, SparseLinear's keys per
example): the check the ops share, and the in-bounds form the unchecked GPU paths use.

- ``check_lengths_cover(where, lengths, N)``: non-negative, summing to N. Eager with CPU lengths,
  a ``ValueError``; traced with CPU lengths, a ``torch._assert_async`` in the graph; GPU lengths,
  unchecked (a check would sync with the host): the fast path, whose kernels must then stay in
  bounds whatever the lengths are.
- ``covering_lengths(lengths, device, N)``: int64 lengths on ``device`` which, off the CPU, are
  made to cover exactly the N rows, so index ops (``repeat_interleave(..., output_size=N)``,
  ``embedding_bag`` offsets) stay in bounds; valid lengths come back unchanged.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .._tracing import is_tracing

__all__ = ["check_lengths_cover", "covering_lengths"]


def check_lengths_cover(where: str, lengths: Tensor, N: int, rows: str = "data rows") -> None:
    """The lengths must be non-negative and sum to the N rows (what a Ragged guarantees, re-checked
    by the ops: they take plain tensors). ``rows`` names the rows in the messages.

    - lengths on the CPU, eager: checked here, a ``ValueError`` naming the fault;
    - lengths on the CPU, traced (torch.compile): a ``torch._assert_async`` in the graph (a
      ``RuntimeError`` with this message when it fails; no host read while tracing);
    - lengths on a GPU: unchecked (the check would sync with the host), the documented fast
      path: every kernel and reference keeps each sequence inside the N rows, so bad lengths
      give unspecified results, never an out-of-bounds access.
    """
    if lengths.device.type != "cpu":
        return
    if is_tracing(lengths):
        ok = (lengths >= 0).all() & (lengths.sum() == N)
        torch._assert_async(ok, f"{where}: expected non-negative lengths summing to the N {rows}")
        return
    if lengths.numel():
        lo = int(lengths.min())
        if lo < 0:
            i = int((lengths < 0).nonzero()[0, 0])
            raise ValueError(f"{where}: expected non-negative lengths, got {lo} for sequence {i}; "
                             f"build the input with Ragged(data, lengths), which checks them")
    total = int(lengths.sum()) if lengths.numel() else 0
    if total != N:
        raise ValueError(f"{where}: expected lengths summing to the N={N} {rows}, got sum(lengths)={total}; "
                         f"build the input with Ragged(data, lengths), which checks them")


def covering_lengths(lengths: Tensor, device: torch.device, N: int) -> Tensor:
    """int64 lengths on ``device``. Off the CPU (unchecked, see ``check_lengths_cover``) they are
    made to cover exactly the N rows (negative ones count 0, the spans are cut at N, the last
    sequence takes any rows left), so that index ops stay in bounds whatever came."""
    L = lengths.to(device=device, dtype=torch.int64)
    if L.device.type == "cpu" or L.shape[0] == 0:
        return L
    ends = torch.cumsum(L.clamp(min=0), 0).clamp(max=N)
    ends[-1:] = N
    return torch.diff(ends, prepend=ends.new_zeros(1))
