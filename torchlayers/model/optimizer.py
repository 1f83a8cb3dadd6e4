"""``ModelOptimizer``: what optimizers see of a tree: ``finish_update`` (a torch optimizer, or a
Thinc optimizer called per param), ``use_params`` (swap in averaged weights), ``get_gradients``,
and the ``foreign_params`` hook (a wrapped framework's weights, updated as Thinc's shims).
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Tuple

import torch
from torch import Tensor, nn

from ..convert import to_torch
from .grads import ModelGrads

if TYPE_CHECKING:
    from . import Model


class ModelOptimizer(ModelGrads):
    """Optimizer glue: ``finish_update``, ``use_params``, ``get_gradients``, ``foreign_params``."""

    def foreign_params(self) -> List[Tuple[str, nn.Parameter]]:
        """Hook: ``(torch_name, parameter)`` pairs outside Thinc's param table (a wrapped
        framework's weights) that ``finish_update`` with a Thinc optimizer updates, with key
        ``(model.id, torch_name)`` (Thinc's shim keys). Default none."""
        return []

    def finish_update(self, optimizer: Any) -> None:
        """Apply a torch optimizer (``step`` then ``zero_grad``), or a Thinc optimizer
        (called per param as ``optimizer((id, name), param, grad)`` in walk order, then on each
        node's ``foreign_params()``)."""
        if isinstance(optimizer, torch.optim.Optimizer):
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return
        if not callable(optimizer):
            raise TypeError(
                f"{self.name}: finish_update expects a torch.optim.Optimizer or a Thinc optimizer, got "
                f"{type(optimizer).__name__}"
            )
        for node in self.walk():
            for name in node.param_names:
                if node.has_grad(name):
                    param, grad = node.get_param_tensor(name), node.get_grad_tensor(name)
                    new_param, _ = optimizer((node.id, name), param.cpu().numpy().copy(), grad.cpu().numpy().copy())
                    node.set_param(name, new_param)
                    node._param_tensor(name, "update").grad = None
            apply_thinc_optimizer(node, optimizer, node.foreign_params())

    @contextlib.contextmanager
    def use_params(self, params: Dict[Tuple[int, str], Any]) -> Iterator[None]:
        """Thinc's ``use_params``: inside the block, every ``(node.id, name)`` in ``params``
        holds that value (spaCy evaluates with ``use_params(optimizer.averages)``); the old
        values come back afterwards, also on error. Each node's ``foreign_params()`` (a wrapped
        framework's weights, keyed ``(node.id, torch_name)`` as ``finish_update``) are swapped too."""
        backup: List[Tuple[Model, str, Tensor]] = []
        foreign: List[Tuple[nn.Parameter, Tensor]] = []
        seen: set = set()
        try:
            for node in self.walk():
                for name in node.param_names:
                    key = (node.id, name)
                    if key in params and node.has_param(name):
                        backup.append((node, name, node.get_param_tensor(name).clone()))
                        node.set_param(name, params[key])
                for name, p in node.foreign_params():
                    key = (node.id, name)
                    if key not in params or id(p) in seen:
                        continue
                    seen.add(id(p))
                    value = to_torch(params[key], p.device).to(p.dtype)
                    if value.numel() != p.numel():
                        raise ValueError(f"{node.name}: use_params got {tuple(value.shape)} for {name!r}, expected "
                                         f"{tuple(p.shape)} ({p.numel()} values)")
                    with torch.no_grad():
                        foreign.append((p, p.detach().clone()))
                        p.copy_(value.reshape(p.shape))
            yield
        finally:
            with torch.no_grad():
                for p, old in reversed(foreign):
                    p.copy_(old)
            for node, name, value in reversed(backup):
                node.set_param(name, value)

    def get_gradients(self) -> Dict[Tuple[int, str], Tuple[Any, Any]]:
        """Thinc's ``get_gradients``: ``{(node.id, name): (param, grad)}`` for every param in the tree
        that holds a gradient, both as arrays of the model's ops in Thinc's layout, sharing memory.
        """
        return {(n.id, p): (n.get_param(p), n.get_grad(p)) for n in self.walk() for p in n.param_names if n.has_grad(p)}


def apply_thinc_optimizer(model: Model, optimizer: Any, named_params: List[Tuple[str, nn.Parameter]]) -> None:
    """Thinc's shim ``finish_update``: ``optimizer((model.id, name), param, grad)`` for every
    parameter with a gradient, written back in place, then the gradient is dropped."""
    for name, p in named_params:
        if p.grad is None:
            continue
        new, _ = optimizer((model.id, name), p.detach().cpu().numpy().copy(), p.grad.detach().cpu().numpy().copy())
        with torch.no_grad():
            p.copy_(to_torch(new, p.device).to(p.dtype).reshape(p.shape))
        p.grad = None
