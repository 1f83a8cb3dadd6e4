"""with_debug: attach on_init / on_forward / on_backprop callbacks to a layer (Thinc's ``with_debug``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, List, NamedTuple, Optional, Type, cast

import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten, tree_unflatten

from ..model import Model
from .with_array import check_layer


def do_nothing(*args: Any, **kwargs: Any) -> None:
    """The default ``with_debug`` callback (Thinc's ``do_nothing``): takes any arguments, returns None."""
    return None


class _Hooks(NamedTuple):
    on_init: Callable[[Model, Any, Any], None]
    on_forward: Callable[[Model, Any, bool], None]
    on_backprop: Callable[[Any], None]


if TYPE_CHECKING:

    class _Debugged(Model):
        """A layer after ``with_debug`` (its class built by ``wrapping_subclass``), for type checkers."""

        _debug_base: ClassVar[Type[Model]]
        _debug_hooks: List[_Hooks]


_DEBUG_CLASSES: Dict[type, type] = {}


def with_debug(
    layer: Model,
    name: Optional[str] = None,
    *,
    on_init: Callable[[Model, Any, Any], None] = do_nothing,
    on_forward: Callable[[Model, Any, bool], None] = do_nothing,
    on_backprop: Callable[[Any], None] = do_nothing,
) -> Model:
    """Make ``layer`` call the callbacks, and return **the same layer** (Thinc mutates it too).

    - ``on_init(model, X, Y)`` runs before the layer's own initialization, with the samples
      given to ``initialize`` (torch tensors; ``None`` when no sample was given).
    - ``on_forward(model, X, is_train)`` runs before every forward pass, on both faces: the
      Thinc face passes its ``is_train``; the torch face ``model(X)`` passes ``model.training``.
    - ``on_backprop(dY)`` runs before the layer's backward pass, with dY in the structure of
      the layer's output (a tensor, Ragged, Padded or list). It fires from the backward of an
      identity autograd node put on the output, so on the torch face too it runs once per
      backward pass that reaches the output; outputs without grad (``torch.no_grad()``) never
      call it.

    ``name`` is ignored, as in Thinc (its docs promise a "debug:" prefix; the code keeps the
    layer's name). Wrapping twice keeps both sets of callbacks, the latest first.

    Debug layers are for eager runs: torch.compile/export/jit.script of a debug layer are not
    supported (the callbacks are arbitrary Python). Not in the registry (as in Thinc).

    Shape: the layer's own.
    """
    check_layer("with_debug", layer)
    hooks = _Hooks(on_init, on_forward, on_backprop)
    for field, fn in zip(hooks._fields, hooks):
        if not callable(fn):
            raise TypeError(f"with_debug: {field} must be callable, got {type(fn).__name__}")
    existing = list(getattr(layer, "_debug_hooks", []))
    layer.__class__ = wrapping_subclass(type(layer), "_debug_base", _debug_forward, _debug_initialize, _DEBUG_CLASSES)
    cast("_Debugged", layer)._debug_hooks = [hooks, *existing]
    return layer


def wrapping_subclass(cls: type, base_attr: str, forward: Callable, initialize: Callable,
                      cache: Dict[type, type]) -> type:
    """The subclass of ``cls`` (one per class, kept in ``cache``) whose ``forward`` and ``_initialize``
    are ``forward``/``initialize``, with ``cls`` stored as ``base_attr``: how with_debug and the phase
    wrappers (with_nvtx_range, with_signpost_interval) wrap a layer in place, keeping its name, params
    and ``type(...).__name__``. A class that already is such a subclass is returned as it is."""
    if getattr(cls, base_attr, None) is not None:
        return cls
    if cls not in cache:
        namespace = {
            base_attr: cls,
            "forward": forward,
            "_initialize": initialize,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
        }
        cache[cls] = type(cls.__name__, (cls,), namespace)
    return cache[cls]


def _debug_initialize(self: _Debugged, X: Any, Y: Any) -> None:
    for hooks in self._debug_hooks:
        hooks.on_init(self, X, Y)
    type(self)._debug_base._initialize(self, X, Y)


def _debug_forward(self: _Debugged, *args: Any, **kwargs: Any) -> Any:
    X = args[0] if args else None
    for hooks in self._debug_hooks:
        hooks.on_forward(self, X, self.training)
    Y = type(self)._debug_base.forward(self, *args, **kwargs)
    if torch.is_grad_enabled():
        Y = _hook_backprop(Y, [h.on_backprop for h in self._debug_hooks])
    return Y


class _OnBackprop(torch.autograd.Function):
    """Identity on the output's float tensors; its backward hands dY (in the output's structure)
    to the on_backprop callbacks, once per backward pass, before the layer's own backward."""

    @staticmethod
    def forward(ctx: Any, fire: Callable[[tuple], None], *tensors: Tensor) -> Any:
        ctx.fire = fire
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        ctx.fire(grads)
        return (None, *grads)


def _hook_backprop(Y: Any, callbacks: list) -> Any:
    leaves, spec = tree_flatten(Y)
    tracked = [i for i, y in enumerate(leaves) if isinstance(y, Tensor) and y.requires_grad]
    if not tracked:
        return Y

    def fire(grads: tuple) -> None:
        full = list(leaves)
        for i, g in zip(tracked, grads):
            full[i] = torch.zeros_like(leaves[i]) if g is None else g
        dY = tree_unflatten(full, spec)
        for callback in callbacks:
            callback(dY)

    outs = _OnBackprop.apply(fire, *[leaves[i] for i in tracked])
    for i, out in zip(tracked, outs):
        leaves[i] = out
    return tree_unflatten(leaves, spec)
