"""ParametricAttention: weight each row by a per-sequence softmax of ``X . Q`` (Thinc "ParametricAttention.v1")."""
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
from .logistic import clip_value_only


def softmax_sequences(scores: Tensor, lengths: Tensor) -> Tensor:
    """Thinc's ``softmax_sequences``: ``exp(clip(s, -20, 20))`` normalized within each sequence.

    No max shift, exactly like Thinc (the clip bounds exp). Vectorized: segment ids by
    ``repeat_interleave``, sums by ``index_add``; zero-length sequences are fine. The clip
    sets values only; the gradient is the softmax's, as in Thinc's backprop.

    Shape: scores (N,), lengths (B,) integer summing to N -> (N,).
    """
    e = torch.exp(clip_value_only(scores, -20.0, 20.0))
    B = lengths.shape[0]
    seg = torch.repeat_interleave(
        torch.arange(B, device=scores.device), lengths.to(device=scores.device, dtype=torch.int64),
        output_size=scores.shape[0],
    )
    sums = torch.zeros(B, dtype=e.dtype, device=e.device).index_add(0, seg, e)
    return e / sums.index_select(0, seg)


def check_attention_input(layer: str, Q: Tensor, X: Any) -> None:
    """X must be a Ragged (ParametricAttention v1 and v2); the message names the width Q expects."""
    if not isinstance(X, Ragged):
        raise TypeError(
            f"{layer}: expected a Ragged with data (N, nO={Q.shape[0]}), got {type(X).__name__}; "
            f"wrap lists with list2ragged()"
        )


@registry.layers("ParametricAttention.v1")
class ParametricAttention(Model[Ragged, Ragged]):
    """``a = softmax_sequences(X . Q)``; ``Y = X * a[:, None]``, per sequence of a Ragged.

    Shape:
        - Input: Ragged with data (N, nO) float, lengths (B,) (zero-length sequences allowed)
        - Output: Ragged with data (N, nO) and the same lengths object
    Dims: ``nO`` (from the width of X). Params: ``Q`` (nO,) = ``weight``, uniform(-0.1, 0.1).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]

    def __init__(self, nO: Optional[int] = None) -> None:
        super().__init__("para-attn", dims={"nO": nO})
        self.declare_param("Q", "weight", ("nO",), uniform_init)

    def _initialize(self, X: Any, Y: Any) -> None:
        if X is not None:
            self.set_dim("nO", get_width(X))
        self.reset_parameters()

    def forward(self, X: Ragged) -> Ragged:
        Q = check_param(self.name, self.weight, "Q")
        if not torch.jit.is_scripting():
            check_attention_input(self.name, Q, X)
        data, lengths = X.data, X.lengths
        if data.dim() != 2 or data.shape[1] != Q.shape[0]:
            raise ValueError(
                f"{self.name}: expected X.data of shape (N, nO={Q.shape[0]}), got shape {list(data.shape)}"
            )
        if not data.is_floating_point():
            raise TypeError(f"{self.name}: expected floating point X.data, got dtype {data.dtype}")
        attention = softmax_sequences(torch.mv(data, Q), lengths)
        return Ragged(data * attention.unsqueeze(1), lengths)
