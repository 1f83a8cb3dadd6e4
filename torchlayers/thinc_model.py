"""Thinc's custom layer: ``Model(name, forward, *, init=, dims=, params=, layers=, refs=, attrs=, shims=, ops=)``.

``forward(model, X, is_train) -> (Y, backprop)`` is hand-written Thinc code: it reads
``model.get_param("W")`` (numpy views on the CPU), calls ``model.inc_grad`` and returns arrays of
its input's kind. ``Model.__init__`` calls ``setup_custom`` when given ``forward`` (no subclass,
no ``__new__``: ``type(Model("m", f))`` is ``Model``).

- Thinc face: ``model(X, is_train)`` runs ``forward`` as is (through ``thinc_forward``), with
  X as given; Y and dX come back in X's array kind (``arrays.py``).
- Torch face: ``model(X)`` on a tensor runs ``forward`` inside a ``torch.autograd.Function``:
  X goes in as an array of the model's ops (numpy view on the CPU), Y comes back as a tensor,
  and autograd's backward calls the Thinc ``backprop``; the gradients ``forward``'s backprop
  hands to ``inc_grad`` during that call are returned to autograd as the parameters' gradients
  (so hooks, DDP and ``torch.optim`` see them) instead of being written to ``.grad`` directly.
  TorchScript and ``torch.export`` cannot trace Python array code: this layer is eager-only.
- ``init(model, X, Y)`` runs from ``initialize`` with X, Y as given; ``model.init = fn`` too.
- ``params={"W": None}``: declared, allocated by ``init`` (``set_param``), any shape.
"""
from __future__ import annotations

import contextvars
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .arrays import param_array
from .convert import to_torch
from .model import Model, ParamSpec

__all__ = ["setup_custom", "declare_free_param", "torch_forward", "sink_grad"]

#: While the torch face's backward runs a Thinc backprop: {id(param): accumulated gradient}.
_GRAD_SINK: contextvars.ContextVar[Optional[Dict[int, Optional[Tensor]]]] = contextvars.ContextVar(
    "torchlayers_thinc_grad_sink", default=None
)


def _no_init(model: Model, X: Any = None, Y: Any = None) -> None:
    """A custom layer without ``init=``: ``initialize`` does nothing (as Thinc's ``init=None``)."""


def setup_custom(model: Model, forward: Optional[Callable[..., Any]], *, init: Optional[Callable[..., Any]] = None,
                 params: Optional[Dict[str, Any]] = None, shims: Optional[List[Any]] = None,
                 refs: Optional[Dict[str, Optional[Model]]] = None, ops: Any = None) -> None:
    """Make ``model`` Thinc's custom layer (called by ``Model.__init__``)."""
    if forward is not None and not callable(forward):
        raise TypeError(
            f"Model {model.name!r}: forward must be callable (model, X, is_train) -> (Y, backprop), "
            f"got {type(forward).__name__}"
        )
    if forward is not None:
        model._func = forward
    model.init = init if init is not None else _no_init
    model.shims = list(shims or [])
    for key, value in (params or {}).items():
        declare_free_param(model, key)
        if value is not None:
            model.set_param(key, value)
    for key, node in (refs or {}).items():
        model._refs[key] = node
    if ops is not None:
        model.ops = ops


def declare_free_param(model: Model, key: str) -> None:
    """Declare custom-layer param ``key``: any shape, no initializer (``init`` sets it)."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"{model.name}: a param name must be a non-empty str, got {key!r}")
    attr = key if key.isidentifier() and not hasattr(model, key) else f"param_{len(model._param_specs)}"
    model._param_specs[key] = ParamSpec(attr, (), _no_param_init, free=True)
    model.register_parameter(attr, None)


def _no_param_init(ops: Any, shape: Sequence[int]) -> Any:
    raise ValueError("a custom layer's param has no initializer: set it in init= with model.set_param")


def sink_grad(param: Tensor, value: Tensor) -> bool:
    """Inside a custom layer's torch-face backward: add ``value`` to the gradient autograd will
    receive for ``param`` and return True; elsewhere False (``inc_grad`` writes ``.grad``)."""
    sink = _GRAD_SINK.get()
    if sink is None or id(param) not in sink:
        return False
    sink[id(param)] = value.clone() if sink[id(param)] is None else sink[id(param)] + value
    return True


def torch_forward(model: Model, X: Any) -> Tensor:
    """The torch face of a custom layer: a tensor in, a tensor out, one autograd node."""
    if not isinstance(X, Tensor):
        raise TypeError(
            f"{model.name}: the torch face of a custom Thinc layer takes a tensor, got {type(X).__name__}; "
            f"call model(X, is_train=...) (the Thinc face) for other inputs"
        )
    return _ThincFunction.apply(model, X, *model.parameters(recurse=False))


class _ThincFunction(torch.autograd.Function):
    """``forward`` / ``backprop`` of a custom Thinc layer as one autograd node."""

    @staticmethod
    def forward(ctx: Any, model: Model, X: Tensor, *params: Tensor) -> Tensor:  # type: ignore[override]
        Y, backprop = model._func(model, param_array(X), model.training)
        ctx.backprop, ctx.params = backprop, params
        out = to_torch(Y, X.device)
        if not isinstance(out, Tensor):
            raise TypeError(f"{model.name}: the torch face needs forward to return an array, got {type(Y).__name__}")
        return out.clone() if out.data_ptr() == X.data_ptr() else out

    @staticmethod
    def backward(ctx: Any, dY: Tensor) -> Any:  # type: ignore[override]
        sink: Dict[int, Optional[Tensor]] = {id(p): None for p in ctx.params}
        token = _GRAD_SINK.set(sink)
        try:
            dX = ctx.backprop(param_array(dY.contiguous()))
        finally:
            _GRAD_SINK.reset(token)
        dX_t = to_torch(dX, dY.device) if dX is not None else None
        return (None, dX_t, *(sink[id(p)] for p in ctx.params))
