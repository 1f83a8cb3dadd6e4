"""SparseLinear: a linear layer over hashed sparse features (Thinc "SparseLinear.v1" and ".v2")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import torch
from torch import Tensor

from ..convert import get_width
from ..errors import DimError
from ..functional.checks import check_param
from ..initializers import zero_init
from ..kernels import sparse_linear as _sparse_linear_op  # noqa: F401  (registers torch.ops.torchlayers.sparse_linear)
from ..kernels.sparse_linear import check_sparse_linear_inputs
from ..model import Model
from ..registry import registry

__all__ = ["SparseLinear", "SparseLinear_v2"]


@registry.layers("SparseLinear.v1")
class SparseLinear(Model[Tuple[Tensor, Tensor, Tensor], Tensor]):
    """Scores from hashed sparse features (Thinc "SparseLinear.v1", what ``thinc.api.SparseLinear`` is).

    Shape:
        - Input: a tuple ``(keys, values, lengths)``: keys (N,) int64 (uint64 bits; int32 is
          sign-extended), values (N,) float, lengths (B,) int with ``sum(lengths) == N``;
          example b owns the next lengths[b] keys, and may be empty (it then scores ``b``).
        - Output: (B, nO), dtype of W.
    Params: ``W`` (nO*length,) = ``weight`` and ``b`` (nO,) = ``bias``, both zeros (Thinc's layout:
    one flat vector). Dims ``nO`` (set from Y by ``initialize``, never from X) and ``length``.
    Attrs: ``v1_indexing`` (True here; ``SparseLinear_v2`` sets False).

    Each key is hashed twice (MurmurHash3_x86_32 of its 8 little-endian bytes, seeds 0 and 1) and
    each hash adds ``value * W[pos]`` to every class score: v1 ``pos = (h & (length-1)) + c``
    (Thinc's indexing bug #752, kept: only the first length+nO-1 weights are used), v2
    ``pos = c * length + h % length``. See ``torchlayers/kernels/sparse_linear.py`` for the paths
    (Triton on CUDA, torch on CPU).

    The torch face differentiates w.r.t. W, b and values. The Thinc face's backprop returns the
    input tuple itself, like Thinc (no input gradient).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]

    thinc_convention = True
    _v1_indexing = True

    def __init__(self, nO: Optional[int] = None, length: int = 2**18) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise DimError(
                "sparse_linear: dim 'length' must be an int >= 1 (the "
                f"number of hash slots, 2**18 by default), got {length!r}"
            )
        super().__init__("sparse_linear", dims={"nO": nO, "length": length}, attrs={"v1_indexing": self._v1_indexing})
        # W is Thinc's one flat (nO*length,) vector: it depends on both dims, its shape is their product.
        self.declare_param("W", "weight", ("nO", "length"), zero_init, shape=_flat_shape, infer=_infer_nO,
                           text="(nO*length={nO}*{length},)")
        self.declare_param("b", "bias", ("nO",), zero_init)

    # ------------------------------------------------------------------ init and forward
    def _initialize(self, X: Any, Y: Any) -> None:
        # Thinc: nO from Y only (X is a tuple of keys/values/lengths), then W and b are zeroed.
        if Y is not None:
            self.set_dim("nO", get_width(Y))
        self.reset_parameters()

    def forward(self, X: Tuple[Tensor, Tensor, Tensor]) -> Tensor:
        if not torch.jit.is_scripting():
            if not isinstance(X, (tuple, list)) or len(X) != 3 or not all(isinstance(t, Tensor) for t in X):
                raise TypeError(
                    f"{self.name}: expected the input tuple (keys (N,), values (N,), lengths (B,)) of 3 tensors, got "
                    f"{type(X).__name__}" + (f" of {len(X)} items" if isinstance(X, (tuple, list)) else "")
                )
        keys, values, lengths = X[0], X[1], X[2]
        W = check_param(self.name, self.weight, "W")
        b = check_param(self.name, self.bias, "b")
        if not torch.jit.is_scripting():
            check_sparse_linear_inputs(self.name, keys, values, lengths)
            if self.thinc_face:
                values = values.detach()  # Thinc returns no input gradient: skip computing it
        nO = b.shape[0]
        length = W.shape[0] // nO if nO > 0 else 1
        scores = torch.ops.torchlayers.sparse_linear(W, keys, values.to(W.dtype), lengths, nO, length, self.v1_indexing)
        return scores + b

    def thinc_dX(self, X: Any, dX: Any) -> Any:
        """Thinc's SparseLinear backprop returns the input tuple itself (no input gradient)."""
        return X


def _flat_shape(dims: Dict[str, int]) -> Tuple[int]:
    return (dims["nO"] * dims["length"],)


def _infer_nO(shape: Tuple[int, ...], dims: Dict[str, Optional[int]]) -> Dict[str, int]:
    """An unset nO from W's size: it must be a multiple of ``length``."""
    length = dims["length"]
    assert length is not None  # set at construction
    if len(shape) != 1:
        raise ValueError(
            f"sparse_linear: cannot set param 'W': expected a 1-D tensor of shape (nO*length,), got shape {shape}"
        )
    if shape[0] % length:
        raise ValueError(
            "sparse_linear: cannot set param 'W': expected a size "
            f"divisible by length={length} (nO*length), got {shape[0]}"
        )
    return {"nO": shape[0] // length}


@registry.layers("SparseLinear.v2")
class SparseLinear_v2(SparseLinear):
    """SparseLinear with correct indexing, ``pos = c * length + h % length`` (Thinc "SparseLinear.v2").

    Shape, params and dims as ``SparseLinear``; attr ``v1_indexing`` is False, so W, viewed as
    (nO, length), is used whole.
    """

    _v1_indexing = False
