"""Random sample builders for case rows (fresh values every call; never zeros/ones)."""
from __future__ import annotations

from typing import List, Sequence

import torch

from torchlayers import Ragged
from torchlayers.functional.sequences import list2padded


def floats(*shape: int) -> torch.Tensor:
    return torch.randn(*shape)


def ids(n: int, high: int = 1000) -> torch.Tensor:
    return torch.randint(0, high, (n,), dtype=torch.int64)


def ragged(lengths: Sequence[int], width: int) -> Ragged:
    return Ragged(torch.randn(sum(lengths), width), torch.tensor(list(lengths), dtype=torch.int32))


def seqs(lengths: Sequence[int], width: int) -> List[torch.Tensor]:
    return [torch.randn(n, width) for n in lengths]


def padded(lengths: Sequence[int], width: int):
    return list2padded(seqs(lengths, width))


def batch_dim(_: object) -> tuple:
    """dynamic_shapes for a single (B, ...) tensor input: the batch dim is dynamic."""
    return ({0: torch.export.Dim("B", min=2, max=4096)},)
