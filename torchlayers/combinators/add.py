"""add: sum the outputs of layers that all read the same input, the node of Thinc's "add.v1".

Also the steps add and concatenate share: ``check_models``, ``fan_out_dims`` and
``set_input_width`` (both hand the same X to every layer)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, cast

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..convert import get_width
from ..model import InT, Model, OutT
from ..types import Padded, Ragged


class add(Model[InT, OutT]):
    """``add(f, g, h)(X) == f(X) + g(X) + h(X)``, one new node named ``"add"``.

    Thinc's flattening (``add(a, b)`` where ``a`` is already an add node appends to ``a``, so
    ``a + b + c`` is one node with 3 layers) is the facade's: ``torchlayers.add`` (api.py).
    Unlike Thinc, the sum is never accumulated in place, so ``add(noop(), f)`` leaves the
    caller's X untouched.

    Shape: every layer maps X to outputs of one shape (tensor, Ragged, Padded or list);
    the output has that shape.
    Dims: ``nO``; ``nI`` when every layer has an ``nI`` dim.
    """

    def __init__(self, layer1: Model[InT, OutT], layer2: Model[InT, OutT], *layers: Model[InT, OutT]) -> None:
        all_layers = [layer1, layer2, *layers]
        check_models("add", all_layers)
        super().__init__("add", dims=fan_out_dims(all_layers), layers=all_layers)

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        if not torch.jit.is_scripting():
            if len(self.layers) == 0:  # layers removed after construction: the identity, as Thinc's add
                return X
        Y = self.layers[0](X)
        for i, layer in enumerate(self.layers):
            if i > 0:
                out = layer(X)
                what = f"layer {i}"
                if isinstance(Y, Tensor) and isinstance(out, Tensor):
                    if Y.shape != out.shape:
                        raise ValueError(
                            f"{self.name}: every layer must give outputs of one shape: expected layer {i} to give "
                            f"{list(Y.shape)} like layer 0, got {list(out.shape)}"
                        )
                    Y = Y + out
                elif torch.jit.is_scripting():  # the typed sums (eager: add_outputs, which dispatches to them)
                    if isinstance(Y, Ragged) and isinstance(out, Ragged):
                        Y = add_ragged(self.name, Y, out, "layer 0", what)
                    elif isinstance(Y, Padded) and isinstance(out, Padded):
                        Y = add_padded(self.name, Y, out, "layer 0", what)
                    elif isinstance(Y, list) and isinstance(out, list):
                        Y = add_lists(self.name, Y, out, "layer 0", what)
                    else:
                        raise TypeError(f"{self.name}: cannot add {what}'s output to layer 0's")
                else:
                    Y = self._plus_any(Y, out, i)
        return Y

    @torch_unused
    def _plus_any(self, Y: Any, out: Any, i: int) -> Any:
        return add_outputs(self.name, Y, out, f"layer {i}", "layer 0")

    def _initialize(self, X: Any, Y: Any) -> None:
        layers = cast(List[Model], list(self.layers))
        set_input_width(self, X)
        if Y is not None:
            width = get_width(Y)
            for node in [self, *layers]:
                if node.has_dim("nO") is not False:
                    node.set_dim("nO", width)
        for layer in layers:
            layer._initialize(X, Y)
        # Thinc takes nO from the first layer and raises if it has none (add(noop(), f)):
        # we take it from the first layer that has it.
        for layer in layers:
            if layer.has_dim("nO"):
                self.set_dim("nO", layer.get_dim("nO"))
                break


def fan_out_dims(layers: Sequence[Model]) -> Dict[str, Optional[int]]:
    """Thinc's dims for a node whose layers all read its input: ``nO``, and ``nI`` only when
    every layer has an ``nI`` dim."""
    if all(layer.has_dim("nI") is not False for layer in layers):
        return {"nO": None, "nI": None}
    return {"nO": None}


def set_input_width(node: Model, X: Any) -> None:
    """Set ``nI`` = width of X on ``node`` and each of its layers that has an ``nI`` dim (X's width is
    asked only then, as Thinc does: a list of Docs has none)."""
    if X is None:
        return
    targets = [each for each in [node, *node.layers] if each.has_dim("nI") is not False]
    if targets:
        width = get_width(X)
        for each in targets:
            each.set_dim("nI", width)


def add_outputs(name: str, A: Any, B: Any, what_b: str = "the layer's output", what_a: str = "the input") -> Any:
    """Elementwise ``A + B`` over matching structures (tensor, Ragged, Padded, list), out of place.

    Ragged/Padded keep ``A``'s lengths/metadata. Raises naming ``name`` when the kinds,
    shapes, lengths or list sizes differ.
    """
    if isinstance(A, Tensor) and isinstance(B, Tensor):
        _same_shape(name, A, B, what_a, what_b)
        return A + B
    if isinstance(A, Ragged) and isinstance(B, Ragged):
        return add_ragged(name, A, B, what_a, what_b)
    if isinstance(A, Padded) and isinstance(B, Padded):
        return add_padded(name, A, B, what_a, what_b)
    if isinstance(A, (list, tuple)) and isinstance(B, (list, tuple)) and not isinstance(A, (Ragged, Padded)) \
            and not isinstance(B, (Ragged, Padded)):
        if len(A) != len(B):
            raise ValueError(f"{name}: expected {what_b} to be a list of {len(A)} items like {what_a}, got {len(B)}")
        return [add_outputs(name, a, b, f"{what_b}[{j}]", f"{what_a}[{j}]") for j, (a, b) in enumerate(zip(A, B))]
    raise TypeError(
        f"{name}: cannot add {what_b} of type {type(B).__name__} to {what_a} of type {type(A).__name__}; "
        f"both must be tensors, Ragged, Padded or lists"
    )


def add_ragged(name: str, A: Ragged, B: Ragged, what_a: str, what_b: str) -> Ragged:
    """``A + B`` over the data, ``A``'s lengths (scriptable; ``add_outputs``' Ragged case)."""
    _same_shape(name, A.data, B.data, what_a + ".data", what_b + ".data")
    _same_lengths(name, A.lengths, B.lengths, what_a, what_b)
    return Ragged(A.data + B.data, A.lengths)


def add_padded(name: str, A: Padded, B: Padded, what_a: str, what_b: str) -> Padded:
    """``A + B`` over the data, ``A``'s metadata (scriptable; ``add_outputs``' Padded case)."""
    _same_shape(name, A.data, B.data, what_a + ".data", what_b + ".data")
    _same_lengths(name, A.lengths, B.lengths, what_a, what_b)
    return Padded(A.data + B.data, A.size_at_t, A.lengths, A.indices)


def add_lists(name: str, A: List[Tensor], B: List[Tensor], what_a: str, what_b: str) -> List[Tensor]:
    """Item-by-item ``A + B`` of two lists of tensors (scriptable; ``add_outputs`` nests any depth)."""
    if len(A) != len(B):
        raise ValueError(f"{name}: expected {what_b} to be a list of {len(A)} items like {what_a}, got {len(B)}")
    out: List[Tensor] = []
    for j in range(len(A)):
        _same_shape(name, A[j], B[j], f"{what_a}[{j}]", f"{what_b}[{j}]")
        out.append(A[j] + B[j])
    return out


def _same_shape(name: str, A: Tensor, B: Tensor, what_a: str, what_b: str) -> None:
    if A.shape != B.shape:
        raise ValueError(f"{name}: expected {what_b} of shape {list(A.shape)} like {what_a}, got {list(B.shape)}")


def _same_lengths(name: str, a: Tensor, b: Tensor, what_a: str, what_b: str) -> None:
    if not torch.jit.is_scripting():
        if torch.compiler.is_compiling():
            return  # value checks would be data-dependent guards
    if a.shape != b.shape or not torch.equal(a.to(b.device, torch.int64), b.to(torch.int64)):
        expected: List[int] = a.to(torch.int64).tolist()
        got: List[int] = b.to(torch.int64).tolist()
        raise ValueError(f"{name}: expected {what_b} with lengths {expected} like {what_a}, got {got}")


def check_models(name: str, layers: Sequence[Any]) -> None:
    """Every layer of a combinator must be a torchlayers Model (TypeError naming its position)."""
    for i, layer in enumerate(layers):
        if not isinstance(layer, Model):
            raise TypeError(f"{name}: layer {i} must be a torchlayers Model, got {type(layer).__name__}")


_check_models = check_models  # the name residual/siamese/uniqued/bidirectional import

__all__: List[str] = [
    "add", "add_outputs", "add_lists", "add_padded", "add_ragged", "check_models", "fan_out_dims", "set_input_width",
]
