"""expand_window: concatenate each row with its ``window_size`` neighbours (Thinc "expand_window.v1")."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..functional.checks import describe, tensor_fix
from ..model import Model
from ..registry import registry
from ..types import Ragged


@registry.layers("expand_window.v1")
class expand_window(Model):
    """Row t becomes ``[x[t-w], ..., x[t-1], x[t], x[t+1], ..., x[t+w]]`` (Thinc's ``seq2col``).

    Positions outside the sequence are zeros. A plain (N, F) tensor is one sequence; on a
    Ragged the windows stop at each sequence's boundary. Backprop (autograd) sums the
    overlapping window copies. Vectorized: 2w+1 shifted slices of one padded copy, and on a
    Ragged one boundary mask; no loop over rows or sequences.

    Shape:
        - Input: (N, F) float, or Ragged with data (N, F)
        - Output: (N, F * (2 * window_size + 1)), or Ragged with the same lengths
    Attrs: ``window_size`` (live).
    """

    def __init__(self, window_size: int = 1) -> None:
        if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 0:
            raise ValueError(f"expand_window: window_size must be a non-negative int, got {window_size!r}")
        super().__init__("expand_window", attrs={"window_size": window_size})
        self.window_size: int = window_size

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        if isinstance(X, Ragged):
            Y = self._ragged(X)
        elif isinstance(X, Tensor):
            _check_floats2d(self.name, "X", X)
            Y = _windows(X, self.window_size)
        else:
            Y = self._refuse(X)
        return Y

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    @torch_unused
    def _refuse(self, X: Any) -> Any:
        raise TypeError(f"{self.name}: expected a (N, F) float torch.Tensor or a Ragged, got {describe(X)}; "
                        f"{tensor_fix(X)}")

    def _ragged(self, X: Ragged) -> Ragged:
        _check_floats2d(self.name, "X.data", X.data)
        w = self.window_size
        if X.data.shape[0] == 0 or w == 0:
            return Ragged(_windows(X.data, w), X.lengths)
        N = X.data.shape[0]
        lengths = X.lengths.to(device=X.data.device, dtype=torch.int64)
        ends = torch.cumsum(lengths, 0)
        row = torch.arange(N, device=X.data.device)
        # the sequence of each row (zero-length sequences own none): static size N, no searchsorted
        # (ONNX has none) and no host read, so compile/export keep N and B symbolic
        seq = torch.repeat_interleave(torch.arange(lengths.shape[0], device=row.device), lengths, output_size=N)
        end = ends.gather(0, seq).unsqueeze(1)
        start = end - lengths.gather(0, seq).unsqueeze(1)
        src = row.unsqueeze(1) + torch.arange(-w, w + 1, device=row.device).unsqueeze(0)
        outside = (src < start) | (src >= end)  # (N, 2w+1): window slots across a boundary
        if torch.jit.is_scripting():  # no autograd.Function in TorchScript: the fill, differentiated by autograd
            return Ragged(_masked_windows(X.data, w, outside), X.lengths)
        return Ragged(_RaggedWindows.apply(X.data, w, outside), X.lengths)


def _windows(X: Tensor, w: int) -> Tensor:
    """(N, F) -> (N, F*(2w+1)) over one sequence: zero-pad w rows each side, concatenate shifts."""
    N = X.shape[0]
    if N == 0:
        return X.new_zeros((0, X.shape[1] * (2 * w + 1)))
    padded = torch.nn.functional.pad(X, (0, 0, w, w))
    return torch.cat([padded[k : k + N] for k in range(2 * w + 1)], 1)


def _masked_windows(X: Tensor, w: int, outside: Tensor) -> Tensor:
    """``_windows`` with the (N, 2w+1) slots in ``outside`` zeroed (one static-shape fill)."""
    Y = _windows(X, w)
    return Y.view(X.shape[0], 2 * w + 1, -1).masked_fill(outside.unsqueeze(2), 0.0).view(Y.shape)


class _RaggedWindows(torch.autograd.Function):
    """Windows with slots across sequence boundaries zeroed (a fill, so NaN/inf never leak
    into a neighbouring sequence); backward sums the kept window copies back onto rows."""

    @staticmethod
    def forward(ctx: Any, X: Tensor, w: int, outside: Tensor) -> Tensor:
        if torch.compiler.is_compiling():  # traced: a static-shape fill (a boolean index_put is data-dependent)
            Y = _masked_windows(X, w, outside)
        else:
            Y = _windows(X, w)
            # boolean index_put: faster than a broadcast masked_fill on CPU
            Y.view(X.shape[0], 2 * w + 1, -1)[outside] = 0.0
        ctx.w = w
        ctx.save_for_backward(outside)
        return Y

    @staticmethod
    def backward(ctx: Any, dY: Tensor):
        (outside,) = ctx.saved_tensors
        w = ctx.w
        N = dY.shape[0]
        blocks = dY.reshape(N, 2 * w + 1, -1).masked_fill(outside.unsqueeze(2), 0.0)
        # dX[i] = sum_k blocks[i + w - k, k] (rows outside the doc are masked to 0), summed in k order. Built
        # from shifted views of one padded copy, not in-place slice adds into a buffer, which Inductor expands
        # into repeated work under torch.compile.
        padded = torch.nn.functional.pad(blocks, (0, 0, 0, 0, w, w))
        dX = padded[2 * w : 2 * w + N, 0]
        for k in range(1, 2 * w + 1):
            dX = dX + padded[2 * w - k : 2 * w - k + N, k]
        return dX, None, None


def _check_floats2d(layer: str, field: str, X: Tensor) -> None:
    if X.dim() != 2:
        raise ValueError(
            f"{layer}: expected {field} of shape (N, F), got a {X.dim()}-D tensor of shape {list(X.shape)}"
        )
    if not X.is_floating_point():
        raise TypeError(f"{layer}: expected floating point {field}, got dtype {X.dtype}")
