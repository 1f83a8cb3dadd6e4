"""with_array / with_array2d: run an array layer on the rows of lists, Ragged and Padded
(Thinc "with_array.v1" and "with_array2d.v1")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, cast

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..functional.sequences import flatten, unflatten
from ..model import Model
from ..registry import registry
from ..types import Padded, Ragged


def check_layer(wrapper: str, layer: Any) -> Model:
    """``layer`` itself when it is a torchlayers Model (what every wrapper combinator wraps).

    Raises TypeError naming ``wrapper`` and the type it got otherwise (a Thinc model or a bare
    ``nn.Module``: wrap those with ``from_thinc`` / ``PyTorchWrapper`` first).
    """
    if not isinstance(layer, Model):
        raise TypeError(f"{wrapper}: expected a torchlayers Model to wrap, got {type(layer).__name__}")
    return layer


def child_dims(layer: Model) -> dict:
    """Thinc's wrappers copy every dim of the child at construction."""
    return {name: layer.maybe_get_dim(name) for name in layer.dim_names}


def copy_child_dims(model: Model, layer: Model) -> None:
    """Copy each of ``layer``'s set dims onto ``model`` where ``model`` has a dim of that name (the
    wrapper combinators' ``initialize`` step: Thinc's wrappers mirror their child's dims).
    Unset child dims are skipped; a conflicting set dim raises DimError as ``set_dim``.
    """
    for name in layer.dim_names:
        value = layer.maybe_get_dim(name)
        if value is not None and name in model.dim_names:
            model.set_dim(name, value)


@registry.layers("with_array.v1")
class with_array(Model):
    """Run ``layer`` (array -> array) on the data of sequences, keeping their structure.

    - tensor: passed straight to the layer (the scriptable path);
    - Ragged: the layer gets ``data``; the output is ``Ragged(Y, X.lengths)``;
    - Padded: the layer gets the **3-D** data ``(T, B, F)`` (``with_array2d`` gives it 2-D);
    - list/tuple of (n_i, F): items with no rows are left out, the rest are concatenated as
      ``[pad zeros, x0, pad zeros, x1, ..., pad zeros]``; after the layer the pads are cut
      off and a list with the original lengths comes back (zero-length items give (0, nO)).
      An empty list gives ``[]`` without calling the layer (Thinc raises; COMPATIBILITY.md).

    Shape: (N, F) -> (N, nO); Ragged/Padded/list keep their lengths.
    Dims: copied from the layer at construction and after ``initialize``.
    Attrs: ``pad`` (live).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        pad: int

    def __init__(self, layer: Model, pad: int = 0) -> None:
        check_layer("with_array", layer)
        if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
            raise ValueError(f"with_array: pad must be a non-negative int, got {pad!r}")
        super().__init__(f"with_array({layer.name})", dims=child_dims(layer), layers=[layer], attrs={"pad": pad})

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        if isinstance(X, Ragged):
            Y = Ragged(self._rows(self.layers[0](self._ragged_data(X)), X.data.shape[0]), X.lengths)
        elif isinstance(X, Padded):
            Y = Padded(self._padded_forward(X.data), X.size_at_t, X.lengths, X.indices)
        elif isinstance(X, Tensor):
            Y = X
            for layer in self.layers:
                Y = layer(Y)
        elif isinstance(X, list):
            Y = self._list_forward(X)
        else:
            Y = self._sequences(X)
        return Y

    @torch_unused
    def _sequences(self, X: Any) -> Any:
        """What the typed branches leave: tuples of tensors, and the layer's own errors for the rest."""
        if isinstance(X, tuple):
            return self._list_forward(list(X))
        return self.layers[0](X)

    def _ragged_data(self, X: Ragged) -> Tensor:
        return X.data

    def _padded_forward(self, data: Tensor) -> Tensor:
        return self.layers[0](data)

    def _rows(self, Y: Tensor, n: int) -> Tensor:
        if not torch.jit.is_scripting():
            if not isinstance(Y, Tensor):
                raise ValueError(
                    f"{self.name}: the wrapped layer must return one row per input row ({n}), got {type(Y).__name__}"
                )
        if Y.dim() == 0 or Y.shape[0] != n:
            raise ValueError(
                f"{self.name}: the wrapped layer must return one row per input row ({n}), got shape {list(Y.shape)}"
            )
        return Y

    def _list_forward(self, Xs: List[Tensor]) -> List[Tensor]:
        if len(Xs) == 0:
            return []
        if not torch.jit.is_scripting():
            for i, x in enumerate(Xs):
                if not isinstance(x, Tensor) or x.dim() == 0:
                    got = "a 0-d tensor" if isinstance(x, Tensor) else type(x).__name__
                    raise TypeError(f"{self.name}: expected item {i} to be a tensor (n_i, F), got {got}")
        pad = int(self.pad)
        lengths = [x.shape[0] for x in Xs]
        if not torch.jit.is_scripting():
            if pad > 0 and torch.compiler.is_compiling():
                return self._list_forward_traced(Xs, lengths)
        Yf = self.layers[0](flatten(Xs, pad, self.name))
        return unflatten(Yf, lengths, pad, self.name + ": the wrapped layer's output")

    @torch_unused
    def _list_forward_traced(self, Xs: List[Tensor], lengths: List[Any]) -> List[Tensor]:
        """The padded list layout while tracing, where item sizes may be unbacked (they come from a
        Ragged's lengths): positions from ``cumsum`` / ``repeat_interleave(output_size=N)`` arithmetic
        (``deploy.sequences.packed_list_layout``), no per-item emptiness test. The buffer holds
        ``pad`` zero rows more per empty item at its end, which no row-local layer within ``pad`` sees."""
        from ..deploy.sequences import PackedWithArray

        data = torch.cat(Xs, 0)
        for n in lengths:
            torch._check(n >= 0)
        Yr = PackedWithArray(self)(Ragged(data, torch.tensor(lengths, dtype=torch.int64, device=data.device)))
        return list(torch.split(Yr.data, lengths, dim=0))

    def _initialize(self, X: Any, Y: Any) -> None:
        layer = cast(Model, self.layers[0])
        layer._initialize(self._sample(X), self._sample(Y))
        copy_child_dims(self, layer)

    def _sample(self, X: Any) -> Any:
        if isinstance(X, Ragged):
            return self._ragged_data(X)
        if isinstance(X, Padded):
            return X.data
        if isinstance(X, (list, tuple)):
            return flatten(list(X), 0, self.name)
        return X


@registry.layers("with_array2d.v1")
class with_array2d(with_array):
    """Like ``with_array`` but the layer always sees 2-D rows (Thinc names it ``with_array(...)`` too).

    - Ragged: the layer gets ``data`` as (N, prod(F));
    - Padded: data (T, B, F) is reshaped to (T*B, F) and the output back to (T, B, nO).

    Shape: (N, F) -> (N, nO); Ragged/Padded/list keep their lengths.
    """

    def _ragged_data(self, X: Ragged) -> Tensor:
        return X.data.flatten(1) if X.data.dim() > 2 else X.data

    def _padded_forward(self, data: Tensor) -> Tensor:
        if data.dim() != 3:
            raise ValueError(f"{self.name}: expected Padded data of shape (T, B, F), got {list(data.shape)}")
        T, B = data.shape[0], data.shape[1]
        Y = self._rows(self.layers[0](data.reshape(T * B, data.shape[2])), T * B)
        return Y.reshape(T, B, Y.shape[1])

    def _sample(self, X: Any) -> Any:
        if isinstance(X, Padded):
            return X.data.reshape(X.data.shape[0] * X.data.shape[1], X.data.shape[2])
        return super()._sample(X)
