"""SparseLinear: a linear layer over hashed sparse features (Thinc "SparseLinear.v1" and ".v2")."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import torch
from torch import Tensor

from ..convert import get_width, to_torch
from ..errors import DimError
from ..functional.checks import check_param
from ..initializers import zero_init
from ..kernels import sparse_linear as _sparse_linear_op  # noqa: F401  (registers torch.ops.torchlayers.sparse_linear)
from ..kernels.sparse_linear import check_sparse_linear_inputs
from ..model import Model, ParamSpec
from ..registry import registry

__all__ = ["SparseLinear", "SparseLinear_v2"]


@registry.layers("SparseLinear.v1")
class SparseLinear(Model):
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

    thinc_convention = True
    _v1_indexing = True

    def __init__(self, nO: Optional[int] = None, length: int = 2**18) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise DimError(
                f"sparse_linear: dim 'length' must be an int >= 1 (the number of hash slots, 2**18 by default), got {length!r}"
            )
        super().__init__("sparse_linear", dims={"nO": nO, "length": length}, attrs={"v1_indexing": self._v1_indexing})
        # W is one flat (nO*length,) vector: its shape entry lists the dims it depends on and
        # _param_shape multiplies them.
        self.declare_param("W", "weight", ("nO", "length"), zero_init)
        self.declare_param("b", "bias", ("nO",), zero_init)

    # ------------------------------------------------------------------ W's flat shape
    def _param_shape(self, name: str, spec: ParamSpec, strict: bool = True) -> Optional[Tuple[int, ...]]:
        shape = super()._param_shape(name, spec, strict)
        if name == "W" and shape is not None:
            return (shape[0] * shape[1],)
        return shape

    def _shape_text(self, spec: ParamSpec) -> str:
        if spec.attr == "weight":
            return f"(nO*length={self._dims.get('nO') or '?'}*{self._dims.get('length')},)"
        return super()._shape_text(spec)

    def set_param(self, name: str, value: Any) -> None:
        """As ``Model.set_param``; W is (nO*length,) and an unset nO is inferred from its size."""
        if name != "W" or value is None:
            return super().set_param(name, value)
        value = to_torch(value)
        if not isinstance(value, Tensor) or not value.is_floating_point():
            raise TypeError(f"{self.name}: cannot set param 'W': expected a float tensor, got {getattr(value, 'dtype', type(value).__name__)}")
        length = self.get_dim("length")
        if value.dim() != 1:
            raise ValueError(f"{self.name}: cannot set param 'W': expected a 1-D tensor of shape (nO*length,), got shape {tuple(value.shape)}")
        if self._dims.get("nO") is None:
            if value.shape[0] % length:
                raise ValueError(
                    f"{self.name}: cannot set param 'W': expected a size divisible by length={length} (nO*length), got {value.shape[0]}"
                )
            self.set_dim("nO", value.shape[0] // length)
        expected = self._param_shape("W", self._param_specs["W"])
        if tuple(value.shape) != expected:
            raise ValueError(f"{self.name}: cannot set param 'W': expected shape (nO*length,) = {expected}, got {tuple(value.shape)}")
        with torch.no_grad():
            self._store_param("weight", value)

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

    def _thinc_call(self, X: Any, is_train: bool) -> Tuple[Any, Callable[[Any], Any]]:
        Y, backprop = super()._thinc_call(X, is_train)
        if not is_train:
            return Y, backprop
        return Y, _ReturnInputs(backprop, X)


class _ReturnInputs:
    """Thinc's SparseLinear backprop: accumulate dW and db, return the input tuple itself."""

    def __init__(self, backprop: Callable[[Any], Any], X: Any) -> None:
        self.backprop, self.X = backprop, X

    def __call__(self, dY: Any) -> Any:
        self.backprop(dY)
        return self.X


@registry.layers("SparseLinear.v2")
class SparseLinear_v2(SparseLinear):
    """SparseLinear with correct indexing, ``pos = c * length + h % length`` (Thinc "SparseLinear.v2").

    Shape, params and dims as ``SparseLinear``; attr ``v1_indexing`` is False, so W, viewed as
    (nO, length), is used whole.
    """

    _v1_indexing = False
