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
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten, tree_unflatten

from .arrays import array_kind, param_array, to_kind
from .convert import is_float_tensor, to_torch
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
    # an instance attribute here; wrapper layers define shims as a read-only property instead
    model.shims = list(shims or [])  # type: ignore[assignment]
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
    held = sink[id(param)]
    sink[id(param)] = value.clone() if held is None else held + value
    return True


def torch_forward(model: Model, X: Any) -> Any:
    """The torch face of a custom layer: tensors (or Ragged / Padded / lists of them) in, the
    same out, one autograd node over the float tensors of X and the layer's own params."""
    leaves, spec = tree_flatten(X)
    if isinstance(X, (list, tuple)) and not leaves:  # an empty batch: nothing to differentiate
        # a custom layer's _func is set (setup_custom), Optional only on other layers
        Y, _ = model._func(model, X, model.training)  # type: ignore[misc]
        return to_torch(Y, model.device)
    if not any(isinstance(leaf, Tensor) for leaf in leaves):
        raise TypeError(
            f"{model.name}: the torch face of a custom Thinc layer takes tensors (or Ragged / Padded / lists "
            f"of them), got {type(X).__name__}; call model(X, is_train=...) (the Thinc face) for other inputs"
        )
    floats = [i for i, leaf in enumerate(leaves) if is_float_tensor(leaf)]
    box: Dict[str, Any] = {"leaves": leaves, "spec": spec, "floats": floats}
    params = list(model.parameters(recurse=False))
    outs = _ThincFunction.apply(model, box, len(floats), *[leaves[i] for i in floats], *params)
    y_leaves = list(box["y_leaves"])
    for i, out in zip(box["y_floats"], outs):
        y_leaves[i] = out
    return tree_unflatten(y_leaves, box["y_spec"])


class _ThincFunction(torch.autograd.Function):
    """``forward`` / ``backprop`` of a custom Thinc layer as one autograd node."""

    @staticmethod
    def forward(ctx: Any, model: Model, box: Dict[str, Any], n_floats: int, *tensors: Tensor) -> Any:  # type: ignore[override]
        inputs, params = tensors[:n_floats], tensors[n_floats:]
        leaves = list(box["leaves"])
        for i, t in zip(box["floats"], inputs):
            leaves[i] = t.detach()
        device = inputs[0].device if inputs else model.device
        X = to_kind(tree_unflatten(leaves, box["spec"]), array_kind(param_array(torch.empty(0, device=device))))
        # a custom layer's _func is set (setup_custom), Optional only on other layers
        Y, backprop = model._func(model, X, model.training)  # type: ignore[misc]
        y_leaves, y_spec = tree_flatten(to_torch(Y, device))
        y_floats = [i for i, leaf in enumerate(y_leaves) if is_float_tensor(leaf)]
        if not y_floats:
            raise TypeError(
                f"{model.name}: the torch face needs forward to return float arrays, got {type(Y).__name__}"
            )
        box.update(y_leaves=y_leaves, y_spec=y_spec, y_floats=y_floats)
        ctx.backprop, ctx.params, ctx.box, ctx.n_inputs = backprop, params, box, n_floats
        outs = []
        for i in y_floats:  # an output sharing an input's memory is copied (autograd needs its own)
            out = y_leaves[i]
            outs.append(out.clone() if any(out.data_ptr() == t.data_ptr() for t in inputs) else out)
        return tuple(outs)

    @staticmethod
    def backward(ctx: Any, *dys: Optional[Tensor]) -> Any:  # type: ignore[override]
        box = ctx.box
        dy_leaves = list(box["y_leaves"])
        for i, dy in zip(box["y_floats"], dys):
            dy_leaves[i] = (torch.zeros_like(dy_leaves[i]) if dy is None else dy).contiguous()
        kind = array_kind(param_array(torch.empty(0, device=dy_leaves[box["y_floats"][0]].device)))
        sink: Dict[int, Optional[Tensor]] = {id(p): None for p in ctx.params}
        token = _GRAD_SINK.set(sink)
        try:
            dX = ctx.backprop(to_kind(tree_unflatten(dy_leaves, box["y_spec"]), kind))
        finally:
            _GRAD_SINK.reset(token)
        dX_leaves = tree_flatten(to_torch(dX))[0] if dX is not None else []
        grads: List[Optional[Tensor]] = []
        for i in box["floats"]:
            g = dX_leaves[i] if len(dX_leaves) == len(box["leaves"]) else None
            if isinstance(g, Tensor) and g.numel() == 0 and box["leaves"][i].numel() == 0:
                g = g.reshape(box["leaves"][i].shape)  # Thinc code returns (0, 0) and (0, n) alike
            grads.append(g.to(box["leaves"][i].device) if isinstance(g, Tensor) else None)
        box.clear()
        return (None, None, None, *grads, *(sink[id(p)] for p in ctx.params))
