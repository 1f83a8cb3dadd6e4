"""``ModelThincFace``: ``model(X, is_train) -> (Y, backprop)`` built from the torch face.

The call's mode lives in context variables (``mode.py``) while it runs, and layers read it
through ``training`` and ``thinc_face``; ``_thinc_call`` converts X's array kind in and out,
runs an ``is_train=False`` call without autograd (its backprop reruns the forward when asked),
and a training call through ``_autograd_call`` (``backprop.py``). The hooks for layers whose
Thinc face is not "forward + autograd": ``thinc_forward``, ``thinc_dX``,
``check_backprop_after_inference``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple, cast

import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten

from ..arrays import array_kind, to_kind
from ..convert import is_float_tensor, to_torch
from .backprop import _AutogradBackprop, _OneShot
from .initialize import ModelInitialize
from .mode import _INSIDE, _THINC_MODE

if TYPE_CHECKING:
    from . import Model


class ModelThincFace(ModelInitialize):
    """The Thinc face's machinery under ``Model.__call__``, ``begin_update`` and ``predict``."""

    @property
    def training(self) -> bool:  # type: ignore[override]
        """The mode ``forward`` runs in: inside a Thinc-face call, that call's ``is_train``
        (per thread/task; the module is not written); otherwise nn.Module's flag, which only
        ``train()``/``eval()`` change. TorchScript and torch.compile read the flag."""
        if not torch.compiler.is_compiling():
            mode = _THINC_MODE.get()
            if mode is not None:
                return mode
        return self.__dict__["training"]

    @training.setter
    def training(self, value: bool) -> None:
        self.__dict__["training"] = value  # the attribute TorchScript and nn.Module.train() use

    @property
    def thinc_face(self) -> bool:
        """True while this thread/task runs a Thinc-face call: layers with a Thinc backprop
        convention (``thinc_convention``) switch to it. False on the torch face."""
        return not torch.compiler.is_compiling() and _THINC_MODE.get() is not None

    def thinc_forward(self, X: Any, is_train: bool) -> Optional[Tuple[Any, Callable[[Any], Any]]]:
        """Hook: a Thinc-convention forward for this node when it is called on the Thinc face.

        Return None (the default) to build the face from ``forward`` and autograd, or
        ``(Y, backprop)`` with ``backprop(dY) -> dX`` (framework wrappers running Thinc-style
        converters do). It runs under the call's mode (``self.training``/``self.thinc_face``);
        the base makes ``backprop`` one-shot and replaces it after ``is_train=False``. A custom
        layer (``Model(name, forward)``) runs its ``forward`` here.
        """
        func = self.__dict__.get("_func")
        return None if func is None else func(self, X, is_train)

    def forward(self, X: Any) -> Any:
        """The torch face of a custom layer (``Model(name, forward)``): its Thinc forward and
        backprop as one autograd node (``thinc_model.torch_forward``). Layers override this."""
        if self.__dict__.get("_func") is None:
            raise NotImplementedError(f"{self.name}: {type(self).__name__} has no forward; pass forward= or subclass")
        from ..thinc_model import torch_forward

        return torch_forward(cast("Model", self), X)

    def thinc_dX(self, X: Any, dX: Any) -> Any:
        """Hook: what the Thinc face's backprop returns, given the call's input ``X`` (as passed)
        and autograd's ``dX``. Default ``dX``; Thinc's preprocessing layers return ``[]`` and
        SparseLinear the input tuple itself, and so do ours."""
        return dX

    def _thinc_call(self, X: Any, is_train: bool) -> Tuple[Any, Callable[[Any], Any]]:
        """The Thinc face: X's array kind in, the same kind out (``arrays.py``; numpy for inputs
        without arrays on the CPU, as Thinc's ops); dX comes back in X's kind too. An
        ``is_train=False`` call runs without autograd; its backprop (Thinc returns one) runs the
        forward again in inference mode with autograd when called (``_backprop_after_inference``)."""
        kind = array_kind(X) or self._default_kind()
        token, inside = _THINC_MODE.set(is_train), _INSIDE.set(True)
        try:
            custom = self.thinc_forward(X, is_train)
            if custom is not None:
                Y, backprop = custom
                if not is_train and self.__dict__.get("_func") is None:  # a wrapper's hook; custom layers' is Thinc's
                    return to_kind(Y, kind), _no_backprop(self.name)
                return to_kind(Y, kind), _OneShot(self.name, lambda dY: to_kind(backprop(dY), kind))
            if not is_train:
                Xt = to_torch(X, self.device)
                with torch.no_grad():
                    Y = _inputs_as_given(self(Xt), X, tree_flatten(Xt)[0])  # the torch face, under the call's mode
                return to_kind(Y, kind), _OneShot(self.name, lambda dY: self._backprop_after_inference(X, kind, dY))
            return self._autograd_call(X, kind)
        finally:
            _THINC_MODE.reset(token)
            _INSIDE.reset(inside)

    def _autograd_call(self, X: Any, kind: str) -> Tuple[Any, Callable[[Any], Any]]:
        """The forward with autograd on tracked copies of X's float leaves, under the call's mode."""
        device = self.device
        leaves, spec = tree_flatten(to_torch(X, device))
        tracked = [leaf.detach().requires_grad_(True) if is_float_tensor(leaf) else leaf for leaf in leaves]
        with torch.enable_grad():
            Y = self(tree_unflatten(tracked, spec))
        backprop = _AutogradBackprop(cast("Model", self), X, leaves, tracked, spec, Y, device, kind).guarded()
        return to_kind(tree_map(_detach, _inputs_as_given(Y, X, tracked)), kind), backprop

    def _backprop_after_inference(self, X: Any, kind: str, dY: Any) -> Any:
        """The backprop of an ``is_train=False`` call: every node may refuse
        (``check_backprop_after_inference``), then the forward runs again in inference mode (no
        dropout) with autograd and its backprop takes dY. The forward is paid for only when asked."""
        for node in self.walk():
            node.check_backprop_after_inference()
        token, inside = _THINC_MODE.set(False), _INSIDE.set(True)
        try:
            _, backprop = self._autograd_call(X, kind)
        finally:
            _THINC_MODE.reset(token)
            _INSIDE.reset(inside)
        return backprop(dY)

    def check_backprop_after_inference(self) -> None:
        """Hook: raise when this node has no Thinc backprop after an ``is_train=False`` call (Thinc's
        unnormalized Softmax raises ValueError then: its output is the logits). Default: it has one."""

    def _default_kind(self) -> str:
        """The kind for an input without arrays (strings, Docs): at the top level, the array kind
        of this model's ops (numpy on the CPU, as Thinc's NumpyOps; torch elsewhere); nested in
        another Thinc-face call or in ``initialize``, torch (the caller is torchlayers code)."""
        return "numpy" if self.device.type == "cpu" and not _INSIDE.get() else "torch"

def _no_backprop(name: str) -> Callable[[Any], Any]:
    def backprop(dY: Any) -> Any:
        raise RuntimeError(f"{name}: no backprop after is_train=False; call model(X, is_train=True) to train")

    return backprop


def _inputs_as_given(Y: Any, X: Any, inputs: List[Any]) -> Any:
    """Y with every output leaf that is one of the call's input tensors (``inputs``, X's leaves as
    converted) replaced by the caller's own object it came from: Thinc's ``noop()(X)`` is X."""
    given, _ = tree_flatten(X)
    if len(given) != len(inputs):
        return Y
    by_id = {id(t): x for t, x in zip(inputs, given) if isinstance(t, Tensor)}
    return tree_map(lambda y: by_id.get(id(y), y), Y) if by_id else Y


def _detach(x: Any) -> Any:
    return x.detach() if isinstance(x, Tensor) else x
