"""StaticVectors: a fixed (rows, nM) vectors table projected by a learned W (Thinc 8.0.0rc1 "StaticVectors")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..convert import get_width, to_torch
from ..functional.checks import check_param
from ..functional.dropout import dropout_mask
from ..initializers import glorot_uniform_init
from ..model import Model
from .embed import ids_1d


def check_no_negative_ids(layer: str, ids: Tensor) -> None:
    """Shape: ids (N,) integer -> None. Raises IndexError naming ``layer`` when an id is negative
    (Thinc would wrap it to the end of the vectors table; we reject it).
    """
    if ids.numel() and int(ids.min()) < 0:
        raise IndexError(
            f"{layer}: ids must be >= 0, got {int(ids.min())}; negative ids are rejected (Thinc would wrap "
            f"them to the end of the table)"
        )


class StaticVectors(Model[Tensor, Tensor]):
    """``Y = V[ids'] W^T`` with a fixed vectors table V and a learned projection W.

    Thinc 8.3.14 has no StaticVectors (it moved to spaCy before 8.0.0); this follows the last
    Thinc version (8.0.0rc1) deliberately, because its signature is Thinc's:
    ``StaticVectors(nO, vectors, *, dropout=None, init_W=glorot_uniform_init)`` (the facade,
    ``torchlayers.StaticVectors``, adds Thinc's ``column``).

    - ``vectors`` (rows, nM) is a non-trainable buffer (float32); it is saved with the model
      (Thinc's attr was unserializable). Set it at construction or with ``set_vectors``.
    - dims (Thinc's): ``nM`` = vectors width, ``nV`` = rows + 1, ``nO`` from the constructor or
      the Y sample. Ids >= rows map to row 0 (``ids * (ids < rows)``); negative ids raise
      (Thinc would wrap them); float ids raise.
    - ``column`` (facade only): ``chain(ints_getitem((slice(0, None), column)), layer)`` named
      ``"ints-getitem>>static_vectors"``, attrs ``{"column": column}`` on the chain.
    - dropout: one (nO,) mask shared by all rows, **in training only**. Thinc 8.0.0rc1 applied
      it in inference too (a bug, fixed in spaCy's version); see COMPATIBILITY.md.
    - backprop: gradient for W only (the ids get zeros).

    Shape:
        - Input: (N,) integer ids; (N, C) with ``column``
        - Output: (N, nO)
    Params: ``W`` (nO, nM) = ``weight``, glorot uniform. Buffer: ``vectors`` (rows, nM).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        vectors: Optional[Tensor]

    def __init__(self, nO: Optional[int] = None, vectors: Any = None, *, dropout: Optional[float] = None,
                 init_W: Callable = glorot_uniform_init) -> None:
        super().__init__("static_vectors", dims={"nM": None, "nV": None, "nO": nO})
        self.dropout_rate: float = 0.0
        if dropout is not None:
            self.set_attr("dropout_rate", float(dropout))
        self.set_attr("column", None)
        self.register_buffer("vectors", None)
        if vectors is not None:
            self.set_vectors(vectors)
        self.declare_param("W", "weight", ("nO", "nM"), init_W)

    def set_vectors(self, vectors: Any) -> None:
        """Install the (rows, nM) table; sets nV = rows + 1 and nM (raising on a conflict)."""
        V = to_torch(vectors)
        if not isinstance(V, Tensor) or V.dim() != 2 or not V.is_floating_point():
            got = f"{V.dim()}-D {V.dtype} tensor" if isinstance(V, Tensor) else type(V).__name__
            raise ValueError(f"{self.name}: expected vectors as a (rows, nM) float array, got {got}")
        self.set_dim("nV", int(V.shape[0]) + 1)
        self.set_dim("nM", int(V.shape[1]))
        # the getattr guard is the None check (mypy does not narrow through getattr)
        device = self.weight.device if getattr(self, "weight", None) is not None else V.device  # type: ignore[union-attr]
        self.vectors = V.detach().to(device=device, dtype=torch.float32).clone()

    def _initialize(self, X: Any, Y: Any) -> None:
        if self.vectors is None:
            raise ValueError(f"{self.name}: can't initialize: vectors are unset; pass vectors= or call set_vectors()")
        if Y is not None:
            self.set_dim("nO", get_width(Y))
        self.reset_parameters()

    def forward(self, ids: Tensor) -> Tensor:
        V = self.vectors
        if V is None:
            raise ValueError(f"{self.name}: vectors are unset; pass vectors= or call set_vectors()")
        W = check_param(self.name, self.weight, "W")
        ids = ids_1d(self.name, ids)
        if torch.jit.is_scripting():
            check_no_negative_ids(self.name, ids)
        elif not torch.compiler.is_compiling():
            check_no_negative_ids(self.name, ids)
        rows = torch.where(ids < V.shape[0], ids, torch.zeros_like(ids))
        Y = F.linear(F.embedding(rows, V), W)
        rate = self.dropout_rate
        if self.training and rate is not None and rate > 0.0:
            Y = Y * dropout_mask([W.shape[0]], rate, Y)
        return Y
