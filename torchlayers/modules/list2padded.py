"""list2padded: a list of arrays -> Padded, Thinc's ordering (Thinc "list2padded.v1")."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor

from ..functional.checks import describe, tensor_fix
from ..functional.sequences import list2padded as _list2padded
from ..model import Model
from ..registry import registry
from ..types import Padded


@registry.layers("list2padded.v1")
class list2padded(Model[List[Tensor], Padded]):
    """Pad a list of (n_i, F) tensors into a time-major ``Padded`` (Thinc's ``ops.list2padded``).

    Columns are sorted by (length, original index) descending, so among equal lengths the
    higher original index comes first; ``size_at_t``, ``lengths`` and ``indices`` are int32.
    An empty list gives data (0, 0, 0). The Thinc face's backprop takes a Padded dY and
    returns the list of per-item gradients in the original order.

    Shape:
        - Input: list of B tensors (n_i, F)
        - Output: Padded with data (T = max n_i, B, F)
    """

    def __init__(self) -> None:
        super().__init__("list2padded")

    def forward(self, Xs: List[Tensor]) -> Padded:
        if not torch.jit.is_scripting():
            check_list2d(self.name, Xs)
        return pad_list(list(Xs))

    def _initialize(self, X, Y) -> None:
        return None


def pad_list(seqs: List[Tensor]) -> Padded:
    """``functional.sequences.list2padded``, or its tensor-arithmetic form while compiling, exporting
    or scripting (TorchScript has no ``sorted`` with a key)."""
    if torch.jit.is_scripting():
        if len(seqs) == 0:
            z = torch.zeros((0,), dtype=torch.int32)
            return Padded(torch.zeros((0, 0, 0)), z, z.clone(), z.clone())
        return list2padded_traced(seqs)
    if torch.compiler.is_compiling() and len(seqs) > 0:
        return list2padded_traced(seqs)
    return _list2padded(seqs)


def list2padded_traced(seqs: List[Tensor]) -> Padded:
    """List of B (n_i, *F) -> Padded, equal to ``functional.sequences.list2padded`` (same order,
    same int32 fields), with no Python sort over the lengths: T is ``sym_max`` of the item sizes (an
    ordinary symbol of the inputs' sizes, not a size read from data), the rest ``pad_rows``. So a traced
    graph keeps every n_i symbolic (no guard, no recompile when lengths or their order change)."""
    lens = torch.tensor([s.shape[0] for s in seqs], dtype=torch.int64, device=seqs[0].device)
    T = seqs[0].shape[0]
    for s in seqs[1:]:
        if torch.jit.is_scripting():
            T = max(T, s.shape[0])
        else:
            T = torch.sym_max(T, s.shape[0])
    return pad_rows(torch.cat(seqs, 0), lens, T)


def pad_rows(rows: Tensor, lens: Tensor, T: int) -> Padded:
    """(N, *F) rows of B >= 1 sequences one after another, their (B,) int64 lengths, T = max(lengths) ->
    the Padded ``list2padded`` gives for them: data (T, B, *F), columns by (length, index) descending (an
    ``argsort`` of ``length * B + index``), int32 fields; rows placed by one ``index_put`` at (item, row -
    item start) from ``repeat_interleave(output_size=N)``. No host read: T comes from the caller
    (``list2padded_traced``: ``sym_max`` of the sizes; ``deploy.sequences.packed_to_padded``: ``.item()``)."""
    B = lens.shape[0]
    dev = rows.device
    N = rows.shape[0]
    item = torch.repeat_interleave(torch.arange(B, device=dev), lens, output_size=N)
    starts = torch.cumsum(lens, 0) - lens
    t = torch.arange(N, device=dev) - starts.index_select(0, item)
    shape: List[int] = [B, T] + list(rows.shape[1:])  # noqa: RUF005 - TorchScript has no starred lists
    batch_major = rows.new_zeros(shape).index_put([item, t], rows)
    order = torch.argsort(lens * B + torch.arange(B, device=dev), descending=True)
    data = batch_major.index_select(0, order).transpose(0, 1).contiguous()
    sorted_lens = lens.index_select(0, order)
    size_at_t = (sorted_lens.unsqueeze(0) > torch.arange(T, device=dev).unsqueeze(1)).sum(1).to(torch.int32)
    return Padded(data, size_at_t, sorted_lens.to(torch.int32), order.to(torch.int32))


def check_list2d(layer: str, Xs) -> None:
    """A list of 2-D tensors sharing their width (what Thinc's list2padded needs)."""
    if not isinstance(Xs, (list, tuple)):
        raise TypeError(f"{layer}: expected a list of (n_i, F) tensors, got {type(Xs).__name__}")
    for i, x in enumerate(Xs):
        if not isinstance(x, Tensor):
            raise TypeError(f"{layer}: expected item {i} to be a 2-D torch.Tensor (n_i, F), got {describe(x)}; "
                            f"{tensor_fix(x)}")
        if x.dim() != 2:
            raise ValueError(f"{layer}: expected item {i} to be a 2-D tensor (n_i, F), got shape {list(x.shape)}")
        if x.shape[1] != Xs[0].shape[1]:
            raise ValueError(
                f"{layer}: every item must have width F={Xs[0].shape[1]} like item 0, "
                f"got item {i} of shape {list(x.shape)}"
            )
