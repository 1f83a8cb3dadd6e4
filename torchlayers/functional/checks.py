"""Input checks shared by layers; scriptable, and silent for valid input.

Every message names the layer, the field, what was expected and what came, and how to fix it.
``check_call_input`` is the one check the ``Model`` base runs before every eager call (both
faces); the others run inside ``forward``.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, NoReturn, Optional, Type

import torch
from torch import Tensor


def check_param(layer: str, param: Optional[Tensor], name: str) -> Tensor:
    if param is None:
        raise ValueError(
            f"{layer}: parameter {name} has not been allocated yet (a dim is unset); "
            f"call initialize(X=..., Y=...) or pass the dims to the constructor"
        )
    return param


def describe(x: Any) -> str:
    """What came, for error messages: type, dtype and shape where there are any."""
    if isinstance(x, Tensor):
        return f"a {x.dtype} tensor of shape {list(x.shape)}"
    dtype, shape = getattr(x, "dtype", None), getattr(x, "shape", None)
    module = type(x).__module__
    kind = f"{module}.{type(x).__name__}" if module not in ("builtins", None) else type(x).__name__
    if dtype is not None and shape is not None:
        return f"a {kind} ({dtype}, shape {list(shape)})"
    if isinstance(x, (list, tuple)):
        inner = f" of {type(x[0]).__name__}" if len(x) else ""
        return f"a {kind} of {len(x)} items{inner}"
    return f"a {kind}"


def tensor_fix(x: Any) -> str:
    """How to turn ``x`` into the tensor a torch-face call needs."""
    if type(x).__module__ == "numpy" or hasattr(x, "__array_interface__"):
        return ("convert it with torch.from_numpy(X), or call the Thinc face (model.predict(X)), which converts "
                "numpy arrays")
    if isinstance(x, (list, tuple)):
        return ("stack it with torch.stack(X) / torch.tensor(X), or wrap the layer (with_array, with_list) to map it "
                "over a list of arrays")
    return "pass a torch.Tensor"


def _not_a_tensor(layer: str, field: str, want: str, x: Any) -> NoReturn:
    raise TypeError(
        f"{layer}: expected {field} to be a torch.Tensor{' ' + want if want else ''}, "
        f"got {describe(x)}; {tensor_fix(x)}"
    )


def check_tensor(layer: str, field: str, x: Any, want: str = "") -> None:
    """``x`` must be a torch.Tensor (lists and numpy arrays are named with the fix)."""
    if not isinstance(x, Tensor):
        _not_a_tensor(layer, field, want, x)


def check_dtype(layer: str, field: str, X: Tensor, dtype: torch.dtype) -> None:
    """A floating ``X`` must have the dtype of the layer's parameters (autocast regions excepted)."""
    if X.dtype != dtype and not torch.is_autocast_enabled(X.device.type):
        raise TypeError(
            f"{layer}: expected {field} of dtype {dtype} (the dtype of the layer's parameters), got {X.dtype}; "
            f"cast the input with X.to({dtype}) or convert the layer with model.to({X.dtype})"
        )


def check_floats2d(layer: str, X: Tensor, nI: int) -> None:
    """X must be a float tensor of shape (B, nI)."""
    if not torch.jit.is_scripting():
        if not isinstance(X, Tensor):
            _not_a_tensor(layer, "X", f"of shape (B, nI={nI})", X)
    if X.dim() != 2:
        raise ValueError(
            f"{layer}: expected X of shape (B, nI={nI}), got a {X.dim()}-D tensor of shape {list(X.shape)}"
        )
    if X.shape[1] != nI:
        raise ValueError(
            f"{layer}: expected input width nI={nI}, got X of shape {list(X.shape)}; "
            f"build the layer with nI={X.shape[1]} or initialize it on a sample"
        )
    if not X.is_floating_point():
        raise TypeError(
            f"{layer}: expected a floating point X, got dtype {X.dtype}; "
            "cast ids with .float() only if they are features"
        )


def check_floats(layer: str, X: Tensor) -> None:
    """X must be a floating point tensor of any shape (elementwise layers such as Logistic)."""
    if not torch.jit.is_scripting():
        if not isinstance(X, Tensor):
            _not_a_tensor(layer, "X", "of floats", X)
    if not X.is_floating_point():
        raise TypeError(f"{layer}: expected a floating point X, got dtype {X.dtype}; cast with .float()")


def check_ids(layer: str, ids: Tensor) -> None:
    """ids must be an integer tensor."""
    if not torch.jit.is_scripting():
        if not isinstance(ids, Tensor):
            _not_a_tensor(layer, "ids", "of integer ids", ids)
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"{layer}: expected integer ids, got dtype {ids.dtype}; convert with .long()")


def check_same_shape(layer: str, field: str, expected: Tensor, got: Tensor) -> None:
    if expected.shape != got.shape:
        raise ValueError(f"{layer}: expected {field} of shape {list(expected.shape)}, got {list(got.shape)}")


_FLOATS_INPUT: Dict[type, str] = {}
_SEQUENCES = ("Ragged", "Padded")


def float_input(cls: Type[torch.nn.Module]) -> str:
    """How ``cls.forward`` takes float data, from its annotation: ``"X"`` for ``X: Tensor``,
    ``"data"`` for a ``Ragged``/``Padded``, ``""`` otherwise (``ids: Tensor``, lists, unannotated)."""
    known = _FLOATS_INPUT.get(cls)
    if known is None:
        params = list(inspect.signature(cls.forward).parameters.values())[1:2]
        note = params[0].annotation if params else None
        note = getattr(note, "__name__", note)
        if params and params[0].name == "X" and note in ("Tensor", "torch.Tensor"):
            known = "X"
        elif note in _SEQUENCES:
            known = "data"
        else:
            known = ""
        _FLOATS_INPUT[cls] = known
    return known


def check_call_input(model: Any, X: Any) -> None:
    """The base's one eager input check, before ``forward`` (torch face) and after numpy->torch
    conversion (Thinc face): float data given to a layer whose ``forward`` takes ``X: Tensor``,
    a ``Ragged`` or a ``Padded`` must have the dtype of the layer's floating parameters (torch
    would raise ``mat1 and mat2 must have the same dtype`` without naming the layer). Layers
    without parameters and other inputs pass; ``forward``'s own checks name non-tensors. Not
    run while compiling, exporting or scripting (those see ``forward`` only)."""
    kind = float_input(type(model))
    if not kind:
        return
    field = "X"
    if kind == "data":
        X, field = getattr(X, "data", None), f"{type(X).__name__} data"
    if not isinstance(X, Tensor) or not X.is_floating_point():
        return
    # the first parameter, as model.parameters() orders them (its own first): the own dict is read
    # directly, since building the recursive parameters() generator is most of a small layer's call cost
    p = next((q for q in model._parameters.values() if q is not None), None)
    if p is None:
        p = next(iter(model.parameters()), None)
    if p is not None and p.is_floating_point():
        check_dtype(model.name, field, X, p.dtype)
