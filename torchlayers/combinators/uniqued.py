"""uniqued: run a layer on the unique rows of a batch only (Thinc "uniqued.v1")."""
from __future__ import annotations

from typing import Any, Tuple, cast

import torch
from torch import Tensor

from ..model import Model
from ..registry import registry
from .add import _check_models


def uniqued_keys_reference(keys: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """keys (N,) -> (first (U,), inverse (N,), counts (U,)) int64, unique keys in sorted order.

    ``first[u]`` is the row where key u first occurs (numpy.unique's ``return_index``): the smallest
    row of each key, by ``scatter_reduce(amin)``. The body of ``torchlayers::uniqued_keys`` and its
    ATen decomposition (``deploy/decompose.py``): traced, ``torch.unique`` gives U as an unbacked size.
    """
    uniq, inverse, counts = torch.unique(keys, sorted=True, return_inverse=True, return_counts=True)
    N = keys.shape[0]
    first = torch.full((uniq.shape[0],), N, dtype=torch.int64, device=keys.device)
    first = first.scatter_reduce(0, inverse, torch.arange(N, device=keys.device), reduce="amin")
    return first, inverse, counts.to(torch.int64)


def uniqued_gather_reference(X: Tensor, first: Tensor, inverse: Tensor, counts: Tensor) -> Tensor:
    """(N, *F) X, (U,) first -> (U, *F) ``X[first]``: the body of ``torchlayers::uniqued_gather`` and its
    ATen decomposition (``inverse`` and ``counts`` serve its gradient only)."""
    return X.index_select(0, first)


@torch.library.custom_op("torchlayers::uniqued_keys", mutates_args=())
def uniqued_keys(keys: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """keys (N,) -> (first (U,), inverse (N,), counts (U,)) int64: ``uniqued_keys_reference``.

    A custom op because U depends on the data: compile/export see one op with an unbacked size.
    """
    return uniqued_keys_reference(keys)


@uniqued_keys.register_fake
def _(keys: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    U = torch.library.get_ctx().new_dynamic_size()
    return keys.new_empty((U,), dtype=torch.int64), keys.new_empty(keys.shape, dtype=torch.int64), \
        keys.new_empty((U,), dtype=torch.int64)


@torch.library.custom_op("torchlayers::uniqued_gather", mutates_args=())
def uniqued_gather(X: Tensor, first: Tensor, inverse: Tensor, counts: Tensor) -> Tensor:
    """``X[first]`` (``uniqued_gather_reference``); its gradient gives every row the mean of its key's
    gradient (Thinc's)."""
    return uniqued_gather_reference(X, first, inverse, counts)


@uniqued_gather.register_fake
def _(X: Tensor, first: Tensor, inverse: Tensor, counts: Tensor) -> Tensor:
    return X.new_empty((first.shape[0], *tuple(X.shape[1:])))


def _gather_setup(ctx: Any, inputs: Tuple[Any, ...], output: Tensor) -> None:
    _, _, inverse, counts = inputs
    ctx.save_for_backward(inverse, counts)


def _gather_backward(ctx: Any, grad: Tensor):
    inverse, counts = ctx.saved_tensors
    scale = counts.to(grad.dtype).reshape((-1,) + (1,) * (grad.dim() - 1))
    return (grad / scale).index_select(0, inverse), None, None, None


uniqued_gather.register_autograd(_gather_backward, setup_context=_gather_setup)


@registry.layers("uniqued.v1")
class uniqued(Model):
    """Run ``layer`` on the rows with distinct ``X[:, column]`` only, then scatter back.

    Rows sharing a key are assumed identical: the first occurrence is computed and copied to
    the others. Backprop sums dY per key, runs the layer's backprop, and gives every row the
    *average* over its key (Thinc's formula). Inputs with fewer than 2 elements pass straight
    to the layer. Named ``"uniqued(<layer>)"``.

    Shape:
        - Input: (N, C) ints (or floats); ``column`` picks the key column
        - Output: the layer's output for N rows, e.g. (N, nO)
    Dims: ``nO``, ``nI`` (from the layer after initialize). Attrs: ``column``.
    """

    def __init__(self, layer: Model, *, column: int = 0) -> None:
        _check_models("uniqued", [layer])
        if isinstance(column, bool) or not isinstance(column, int):
            raise TypeError(f"uniqued: column must be an int, got {column!r}")
        super().__init__(f"uniqued({layer.name})", dims={"nO": None, "nI": None}, layers=[layer],
                         attrs={"column": column})
        self.column: int = column

    def forward(self, X: Tensor) -> Tensor:
        layer = self.layers[0]
        if X.numel() < 2:
            return layer(X)
        if X.dim() != 2:
            raise ValueError(
                f"{self.name}: expected X of shape (N, C), got a {X.dim()}-D tensor of shape {list(X.shape)}"
            )
        C = X.shape[1]
        if not -C <= self.column < C:
            raise ValueError(
                f"{self.name}: attr column={self.column} is out of range for X of shape {list(X.shape)}; "
                f"expected -{C} <= column < {C}"
            )
        first, inverse, counts = torch.ops.torchlayers.uniqued_keys(X[:, self.column])
        Y_uniq = layer(torch.ops.torchlayers.uniqued_gather(X, first, inverse, counts))
        return Y_uniq.index_select(0, inverse)

    def _initialize(self, X: Any, Y: Any) -> None:
        layer = cast(Model, self.layers[0])
        layer._initialize(X, Y)
        for dim in ("nI", "nO"):
            if layer.has_dim(dim):
                self.set_dim(dim, layer.get_dim(dim))
