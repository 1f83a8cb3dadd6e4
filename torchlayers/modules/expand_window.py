"""expand_window: concatenate each row with its ``window_size`` neighbours (Thinc "expand_window.v1")."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import Model
from ..registry import registry
from ..types import Ragged


@registry.layers("expand_window.v1")
class expand_window(Model):
    """Row t becomes ``[x[t-w], ..., x[t-1], x[t], x[t+1], ..., x[t+w]]`` (Thinc's ``seq2col``).

    Positions outside the sequence are zeros. A plain (N, F) tensor is one sequence; on a
    Ragged the windows stop at each sequence's boundary. Backprop (autograd) sums the
    overlapping window copies. Vectorized: one padded copy of a sliding view (``unfold``), and
    on a Ragged one boundary mask; no loop over rows or sequences.

    Shape:
        - Input: (N, F) float, or Ragged with data (N, F)
        - Output: (N, F * (2 * window_size + 1)), or Ragged with the same lengths
    Attrs: ``window_size`` (live).
    """

    registry_name = "expand_window.v1"

    def __init__(self, window_size: int = 1) -> None:
        if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 0:
            raise ValueError(f"expand_window: window_size must be a non-negative int, got {window_size!r}")
        super().__init__("expand_window", attrs={"window_size": window_size})
        self.window_size: int = window_size

    def forward(self, X: Tensor) -> Tensor:
        if not torch.jit.is_scripting():
            if not isinstance(X, Tensor):
                return self._ragged(X)
        _check_floats2d(self.name, "X", X)
        return _windows(X, self.window_size)

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    @torch_unused
    def _ragged(self, X: Any) -> Any:
        if not isinstance(X, Ragged):
            raise TypeError(f"{self.name}: expected a (N, F) float tensor or a Ragged, got {type(X).__name__}")
        _check_floats2d(self.name, "X.data", X.data)
        w = self.window_size
        Y = _windows(X.data, w)
        if X.data.shape[0] == 0 or w == 0:
            return Ragged(Y, X.lengths)
        lengths = X.lengths.to(device=X.data.device, dtype=torch.int64)
        ends = torch.cumsum(lengths, 0)
        row = torch.arange(X.data.shape[0], device=X.data.device)
        seq = torch.searchsorted(ends, row, right=True)  # right=True skips zero-length sequences
        end = ends.gather(0, seq).unsqueeze(1)
        start = end - lengths.gather(0, seq).unsqueeze(1)
        src = row.unsqueeze(1) + torch.arange(-w, w + 1, device=row.device).unsqueeze(0)
        inside = ((src >= start) & (src < end)).unsqueeze(2)  # (N, 2w+1, 1)
        # A fill, not a 0/1 multiply, so a NaN or inf never leaks into a neighbouring sequence
        # (out of place: an in-place fill on a view makes autograd copy the whole tensor).
        Y = Y.view(Y.shape[0], 2 * w + 1, -1).masked_fill(~inside, 0.0)
        return Ragged(Y.view(Y.shape[0], -1), X.lengths)


def _windows(X: Tensor, w: int) -> Tensor:
    """(N, F) -> (N, F*(2w+1)) over one sequence: zero-pad w rows each side, then a sliding view."""
    N, F = X.shape[0], X.shape[1]
    if N == 0:
        return X.new_zeros((0, F * (2 * w + 1)))
    padded = torch.nn.functional.pad(X, (0, 0, w, w))
    # The reshape can be a view with overlapping rows (row stride F): copy, so Y owns its memory.
    return padded.unfold(0, 2 * w + 1, 1).transpose(1, 2).contiguous().view(N, F * (2 * w + 1))


def _check_floats2d(layer: str, field: str, X: Tensor) -> None:
    if X.dim() != 2:
        raise ValueError(f"{layer}: expected {field} of shape (N, F), got a {X.dim()}-D tensor of shape {list(X.shape)}")
    if not X.is_floating_point():
        raise TypeError(f"{layer}: expected floating point {field}, got dtype {X.dtype}")
