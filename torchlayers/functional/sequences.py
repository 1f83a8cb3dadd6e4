"""Sequence conversions with Thinc's exact layouts (pure functions): the one flatten/unflatten
(list <-> concatenated rows, with Thinc's ``pad``) and list <-> Padded."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor

from ..types import Padded

__all__ = ["flatten", "unflatten", "list2padded", "padded2list"]


def flatten(Xs: List[Tensor], pad: int = 0, where: str = "flatten") -> Tensor:
    """List of B tensors (n_i, *F) -> (sum n_i [+ pads], *F): Thinc's ``ops.flatten(Xs, pad=pad)``.

    Items with no elements add no rows (with ``pad`` they get no pad rows either); with ``pad``
    the layout is ``[pad zeros, x0, pad zeros, x1, ..., pad zeros]`` over the non-empty items.
    An empty list gives a (0, 0) float32 tensor; a list of only empty items gives zeros of the
    first item's shape. With ``pad=0`` and items of one rank the result never depends on data,
    so it traces under torch.compile/export. ``where`` names the caller in errors.
    """
    if not torch.jit.is_scripting():
        if not isinstance(Xs, (list, tuple)):
            raise TypeError(f"{where}: expected a list of tensors (n_i, *F), got {type(Xs).__name__}")
        for i, x in enumerate(Xs):
            if not isinstance(x, Tensor) or x.dim() == 0:
                got = "a 0-d tensor" if isinstance(x, Tensor) else type(x).__name__
                raise TypeError(f"{where}: expected item {i} to be a tensor (n_i, *F), got {got}")
    if len(Xs) == 0:
        return torch.zeros((0, 0))
    rank = Xs[0].dim()
    for x in Xs:
        rank = max(rank, x.dim())
    parts: List[Tensor] = []
    for x in Xs:
        # A legacy empty (0,) item next to higher-rank items is skipped (Thinc drops empties).
        if x.dim() == rank and (pad == 0 or x.numel() != 0):
            parts.append(x)
        elif x.numel() != 0:
            raise ValueError(
                f"{where}: every item must have {rank} dims (n_i, *F) like the others, "
                f"got an item of shape {list(x.shape)}"
            )
    if len(parts) == 0:
        return Xs[0].new_zeros(Xs[0].shape)
    first = parts[0]
    for x in parts:
        if x.shape[1:] != first.shape[1:]:
            raise ValueError(
                f"{where}: every item must have shape (n_i, {', '.join([str(d) for d in first.shape[1:]])}) like the "
                f"first item, got an item of shape {list(x.shape)}"
            )
    if pad > 0:
        zeros = first.new_zeros([pad] + list(first.shape[1:]))  # noqa: RUF005 - TorchScript has no starred lists
        padded: List[Tensor] = [zeros]
        for x in parts:
            padded.append(x)
            padded.append(zeros)
        parts = padded
    return torch.cat(parts, dim=0)


def unflatten(Y: Tensor, lengths: List[int], pad: int = 0, where: str = "unflatten") -> List[Tensor]:
    """(sum n_i [+ pads], *F) -> list of B tensors (n_i, *F): Thinc's ``ops.unflatten(Y, lengths, pad=pad)``.

    The inverse of ``flatten``: ``pad`` rows sit before every non-empty item and after the
    last one; an item of length 0 gives a (0, *F) slice. ``Y`` must have exactly the rows
    ``flatten`` would give (``sum(lengths) + pad * (non-empty items + 1)``, or ``sum(lengths)``
    when every item is empty). Scriptable (lengths a List[int]).
    """
    tracing = False
    if not torch.jit.is_scripting():
        if torch.compiler.is_compiling():  # lengths may be unbacked sizes (data): no int()
            tracing = True
            lengths = list(lengths)
            for n in lengths:
                torch._check(n >= 0)
        else:
            lengths = [int(n) for n in lengths]
    if not tracing:
        for n in lengths:
            if n < 0:
                raise ValueError(f"{where}: lengths must be >= 0, got {lengths}")
    total = 0
    filled = 0  # non-empty items, counted only with pad (a traced length is unbacked: no comparison)
    for n in lengths:
        total += n
        if pad > 0 and n > 0:
            filled += 1
    expected = total + (pad * (filled + 1) if filled > 0 else 0)
    if not torch.jit.is_scripting():
        if not isinstance(Y, Tensor):
            raise ValueError(f"{where}: expected {expected} rows (the lengths' sum {total}), got {type(Y).__name__}")
    if tracing and Y.dim() > 0:
        if not torch.jit.is_scripting():
            torch._check(Y.shape[0] == expected)  # sizes may be unbacked (data) while tracing
    elif Y.dim() == 0 or Y.shape[0] != expected:
        extra = f" plus {expected - total} pad rows" if expected != total else ""
        raise ValueError(
            f"{where}: expected {expected} rows (the lengths' sum {total}{extra}), got shape {list(Y.shape)}"
        )
    out: List[Tensor] = []
    start = pad if filled > 0 else 0
    for n in lengths:
        out.append(Y[start : start + n])
        start += n + pad if (pad == 0 or n > 0) else 0
    return out


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
