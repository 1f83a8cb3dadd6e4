"""Embed: map integer ids to rows of a learned (nV, nO) table (Thinc "Embed.v1")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..convert import get_width
from ..functional.checks import check_ids as check_int_dtype
from ..functional.checks import check_param
from ..functional.dropout import dropout_mask
from ..initializers import uniform_init
from ..model import Model


def check_id_range(layer: str, ids: Tensor, nV: int) -> None:
    """Every id must lie in [0, nV). One ``aminmax`` (one host sync); names the offending value.

    Thinc wraps negative ids to the end of the table (-1 is the last row); we reject them.
    """
    if ids.numel() == 0:
        return
    lo_hi = torch.aminmax(ids)
    lo, hi = int(lo_hi[0]), int(lo_hi[1])
    if lo < 0:
        raise IndexError(
            f"{layer}: ids must be in [0, nV={nV}), got {lo}; negative ids are rejected (Thinc would wrap "
            f"them to the end of the table); map unknown ids to a reserved row instead"
        )
    if hi >= nV:
        raise IndexError(
            f"{layer}: ids must be in [0, nV={nV}), got {hi}; build the layer with nV > {hi} or map "
            f"out-of-vocabulary ids to a reserved row"
        )


def check_ids_1d(layer: str, ids: Tensor) -> None:
    """ids must be an integer tensor of shape (N,), or an empty (0, C) batch (what the
    ``column=`` tree's ints_getitem passes on for an empty input, like Thinc)."""
    check_int_dtype(layer, ids)
    if ids.dim() != 1 and not (ids.dim() == 2 and ids.shape[0] == 0):
        raise ValueError(
            f"{layer}: expected ids of shape (N,), got a {ids.dim()}-D tensor of shape {list(ids.shape)}; "
            f"for (N, C) ids build it with column=<int> through the facade (torchlayers.Embed, HashEmbed or "
            f"StaticVectors(..., column=c))"
        )


def ids_1d(layer: str, ids: Tensor) -> Tensor:
    """``check_ids_1d``, then the ids as (N,): an empty (0, C) batch becomes (0,), so the
    layer returns (0, nO)."""
    check_ids_1d(layer, ids)
    return ids if ids.dim() == 1 else ids.reshape([0])


class Embed(Model[Tensor, Tensor]):
    """``Y = E[ids]``: ``Embed(nO, nV, *, initializer=uniform_init, dropout=None, check_ids=True)``.

    nV is never inferred (give it); nO comes from the constructor or the Y sample. Thinc's
    ``column`` option builds the tree ``chain(ints_getitem((slice(0, None), column)), embed)``,
    named ``"ints-getitem>>embed"``, whose attrs hold ``column``: ``torchlayers.Embed`` (api.py).
    In training with ``dropout``, one (nO,) mask is shared by all rows (Thinc's). Out-of-range ids
    (< 0 or >= nV) raise IndexError naming nV and the value; ``check_ids=False`` skips that
    check (one host sync) for speed. The check is skipped while compiling/exporting, where
    ``F.embedding`` still raises on CPU. Float ids raise TypeError.

    Shape:
        - Input: (N,) integer ids (int32 or int64); (N, C) with ``column``
        - Output: (N, nO), dtype of the table
    Params: ``E`` (nV, nO) = ``weight``, uniform(-0.1, 0.1).
    Attrs: ``column`` (None; the facade moves it to the chain); ``dropout_rate`` when given.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]

    def __init__(self, nO: Optional[int] = None, nV: Optional[int] = None, *, initializer: Optional[Callable] = None,
                 dropout: Optional[float] = None, check_ids: bool = True) -> None:
        super().__init__("embed", dims={"nO": nO, "nV": nV})
        self.dropout_rate: float = 0.0  # read by forward; an attr only when given, like Thinc
        if dropout is not None:
            self.set_attr("dropout_rate", float(dropout))
        self.set_attr("column", None)
        self.check_ids: bool = bool(check_ids)
        self.declare_param("E", "weight", ("nV", "nO"), initializer or uniform_init)

    def _initialize(self, X: Any, Y: Any) -> None:
        if Y is not None:
            self.set_dim("nO", get_width(Y))
        self.reset_parameters()

    def forward(self, ids: Tensor) -> Tensor:
        E = check_param(self.name, self.weight, "E")
        ids = ids_1d(self.name, ids)
        if self.check_ids:
            if torch.jit.is_scripting():
                check_id_range(self.name, ids, E.shape[0])
            elif not torch.compiler.is_compiling():
                check_id_range(self.name, ids, E.shape[0])
        Y = F.embedding(ids, E)
        rate = self.dropout_rate
        if self.training and rate is not None and rate > 0.0:
            Y = Y * dropout_mask([E.shape[1]], rate, Y)
        return Y
