"""The Thinc face's backprop callbacks: ``_OneShot`` (every backprop runs once, atomically) and
``_AutogradBackprop`` (dY -> dX through ``torch.autograd.backward``, gradients accumulated into
``.grad`` by autograd itself, so hooks and DDP/FSDP reducers see them).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten, tree_unflatten

from ..arrays import to_kind
from ..convert import is_float_tensor, to_torch

if TYPE_CHECKING:
    from . import Model


class _OneShot:
    """The one backprop guard: ``fn`` runs once; a second call raises (atomic under threads).

    ``prepare(dY)`` (optional) checks dY first: a bad dY raises without using up the call.
    """

    __slots__ = ("_fn", "_lock", "_name", "_prepare")

    def __init__(self, name: str, fn: Callable[[Any], Any], prepare: Optional[Callable[[Any], Any]] = None) -> None:
        self._name, self._fn, self._prepare, self._lock = name, fn, prepare, threading.Lock()

    def __call__(self, dY: Any) -> Any:
        prepare = self._prepare  # None once used
        args = prepare(dY) if prepare is not None else dY
        if not self._lock.acquire(blocking=False):  # atomic: one of two racing calls wins
            raise RuntimeError(f"{self._name}: this backprop callback was already called; run the forward pass again")
        # drop the graph once used (_fn is None from then on)
        fn, self._fn, self._prepare = self._fn, None, None  # type: ignore[assignment]
        return fn(args)


class _AutogradBackprop:
    """The Thinc-face backprop built from autograd: dY -> dX (via ``model.thinc_dX``).

    ``torch.autograd.backward(..., inputs=tracked inputs + params)`` accumulates into ``.grad``
    through autograd's AccumulateGrad (hooks, DDP/FSDP reducers, thread-safe accumulation);
    dX is read from the call's own tracked input leaves.
    """

    __slots__ = ("X", "Y", "device", "kind", "leaves", "model", "spec", "tracked")

    def __init__(self, model: Model, X: Any, leaves: List[Any], tracked: List[Any], spec: Any, Y: Any,
                 device: torch.device, kind: Optional[str] = None) -> None:
        self.model, self.X, self.leaves, self.tracked = model, X, leaves, tracked
        self.spec, self.Y, self.device = spec, Y, device
        self.kind = kind

    def guarded(self) -> _OneShot:
        return _OneShot(self.model.name, self.run, self.prepare)

    def prepare(self, dY: Any) -> Tuple[List[Tensor], List[Tensor]]:
        """Check dY against Y: the (output, cotangent) pairs that carry a graph."""
        if not self.model.backprop_reads_dY:  # no gradient flows (preprocessing): dY is not read, as Thinc's
            return [], []
        name = self.model.name
        dY = to_torch(dY, self.device)
        y_leaves, y_spec = tree_flatten(self.Y)
        if isinstance(dY, Tensor) and len(y_leaves) > 1 and is_float_tensor(y_leaves[0]):
            dY_leaves = [dY] + [None] * (len(y_leaves) - 1)  # dY given for a Ragged/Padded's data only
        else:
            dY_leaves, dy_spec = tree_flatten(dY)
            if len(dY_leaves) != len(y_leaves):
                raise ValueError(f"{name}: backprop expected dY shaped like Y ({y_spec}), got {dy_spec}")
        outputs, grads = [], []
        for y, dy in zip(y_leaves, dY_leaves):
            if not (isinstance(y, Tensor) and y.requires_grad):
                continue
            if not isinstance(dy, Tensor):
                raise ValueError(
                    f"{name}: backprop expected a gradient tensor of shape {tuple(y.shape)}, got {type(dy).__name__}"
                )
            if tuple(dy.shape) != tuple(y.shape):
                raise ValueError(f"{name}: backprop expected dY of shape {tuple(y.shape)}, got {tuple(dy.shape)}")
            outputs.append(y)
            grads.append(dy.to(y.dtype))
        return outputs, grads

    def run(self, prepared: Tuple[List[Tensor], List[Tensor]]) -> Any:
        outputs, grads = prepared
        targets = [t for t in self.tracked if isinstance(t, Tensor) and t.requires_grad]
        targets += [p for p in self.model.parameters() if p.requires_grad]
        self.Y = None
        if outputs and targets:
            torch.autograd.backward(outputs, grads, inputs=targets)
        top_level = len(self.leaves) == 1
        dX = []
        for leaf, t in zip(self.leaves, self.tracked):
            if isinstance(t, Tensor) and t.requires_grad:
                dX.append(torch.zeros_like(leaf) if t.grad is None else t.grad)
            elif top_level and isinstance(leaf, Tensor):
                dX.append(torch.zeros_like(leaf))  # Thinc returns zeros for integer ids
            else:
                dX.append(leaf)
        return to_kind(self.model.thinc_dX(self.X, tree_unflatten(dX, self.spec)), self.kind)
