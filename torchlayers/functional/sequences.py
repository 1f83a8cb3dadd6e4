"""List <-> Padded conversions with Thinc's exact ordering (pure functions)."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor

from ..types import Padded

__all__ = ["list2padded", "padded2list"]


def list2padded(seqs: List[Tensor]) -> Padded:
    """List of (n_i, *F) -> Padded (T, B, *F), columns sorted by (length, index) descending.

    ``size_at_t[t]`` counts the sequences longer than t; lengths/indices are int32 like Thinc's.
    An empty list gives data of shape (0, 0, 0).
    """
    if not seqs:
        z = torch.zeros((0,), dtype=torch.int32)
        return Padded(torch.zeros((0, 0, 0)), z, z.clone(), z.clone())
    device = seqs[0].device
    lens = [int(s.shape[0]) for s in seqs]
    order = sorted(range(len(seqs)), key=lambda i: (lens[i], i), reverse=True)
    T = lens[order[0]]
    feat = tuple(seqs[0].shape[1:])
    data = seqs[0].new_zeros((T, len(seqs), *feat))
    for j, i in enumerate(order):
        data[: lens[i], j] = seqs[i]
    sorted_lens = torch.tensor([lens[i] for i in order], dtype=torch.int32, device=device)
    size_at_t = (sorted_lens.unsqueeze(0) > torch.arange(T, device=device).unsqueeze(1)).sum(1).to(torch.int32)
    indices = torch.tensor(order, dtype=torch.int32, device=device)
    return Padded(data, size_at_t, sorted_lens, indices)


def padded2list(Xp: Padded) -> List[Tensor]:
    """Padded -> list in the original order (inverse of ``list2padded``)."""
    B = int(Xp.lengths.shape[0])
    out: List[Tensor] = [Xp.data.new_zeros(0)] * B
    lens = Xp.lengths.tolist()
    for j, i in enumerate(Xp.indices.tolist()):
        out[i] = Xp.data[: lens[j], j]
    return out
