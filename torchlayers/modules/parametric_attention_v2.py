"""ParametricAttention_v2: attention keys from a child layer (Thinc "ParametricAttention.v2")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import torch
from torch import Tensor

from ..convert import get_width
from ..functional.checks import check_param
from ..initializers import uniform_init
from ..model import Model
from ..registry import registry
from ..types import Ragged
from .parametric_attention import check_attention_input, softmax_sequences

KEY_TRANSFORM_REF = "key_transform"


@registry.layers("ParametricAttention.v2")
class ParametricAttention_v2(Model[Ragged, Ragged]):
    """``a = softmax_sequences(key_transform(X.data) . Q)``; ``Y = X * a[:, None]``, per sequence.

    ``ParametricAttention_v2(*, key_transform=None, nO=None)``: ``key_transform`` (default
    ``noop()``) maps the rows to keys of width nO; it is the node's only child and its
    ``"key_transform"`` ref, and it is trained through the attention weights.

    Shape:
        - Input: Ragged with data (N, nO) float, lengths (B,) (zero-length sequences allowed)
        - Output: Ragged with data (N, nO) and the same lengths object
    Dims: ``nO`` (from the width of X; set on ``key_transform`` too when it has one set).
    Params: ``Q`` (nO,) = ``weight``, uniform(-0.1, 0.1).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]

    def __init__(self, *, key_transform: Optional[Model] = None, nO: Optional[int] = None) -> None:
        if key_transform is None:
            from ..combinators.noop import noop

            key_transform = noop()
        if not isinstance(key_transform, Model):
            raise TypeError(
                f"para-attn: key_transform must be a torchlayers Model, got {type(key_transform).__name__}; "
                f"wrap torch modules with PyTorchWrapper"
            )
        super().__init__("para-attn", dims={"nO": nO}, layers=[key_transform])
        self.declare_param("Q", "weight", ("nO",), uniform_init)
        self.set_ref(KEY_TRANSFORM_REF, key_transform)

    def _initialize(self, X: Any, Y: Any) -> None:
        key_transform = self.get_ref(KEY_TRANSFORM_REF)
        width = get_width(X) if X is not None else None
        if width:
            self.set_dim("nO", width)
            if key_transform.has_dim("nO"):
                key_transform.set_dim("nO", width)
        self.reset_parameters()
        key_transform._initialize(X.data if X is not None else None, Y.data if Y is not None else None)

    def forward(self, X: Ragged) -> Ragged:
        Q = check_param(self.name, self.weight, "Q")
        if not torch.jit.is_scripting():
            check_attention_input(self.name, Q, X)
        data, lengths = X.data, X.lengths
        if data.dim() != 2 or not data.is_floating_point():
            raise ValueError(
                f"{self.name}: expected X.data as a float (N, F) tensor, "
                f"got shape {list(data.shape)} of dtype {data.dtype}"
            )
        K = data
        for key_transform in self.layers:
            K = key_transform(data)
        if K.dim() != 2 or K.shape[0] != data.shape[0] or K.shape[1] != Q.shape[0]:
            raise ValueError(
                f"{self.name}: expected keys of shape (N={data.shape[0]}, nO={Q.shape[0]}) from key_transform, "
                f"got shape {list(K.shape)}; give key_transform nO={Q.shape[0]}"
            )
        attention = softmax_sequences(torch.mv(K, Q), lengths)
        return Ragged(data * attention.unsqueeze(1), lengths)
