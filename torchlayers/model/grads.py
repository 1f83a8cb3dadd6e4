"""``ModelGrads``: a param's gradient by its Thinc name, in Thinc's layout (``.grad`` of the
parameter): ``has_grad``, ``get_grad``, ``set_grad``, ``inc_grad`` (which a custom layer's
torch-face backward hands to autograd instead).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from ..arrays import param_array
from ..convert import to_torch
from ..errors import ParamError
from .params import ModelParams


class ModelGrads(ModelParams):
    """Gradients by Thinc's param names."""

    @property
    def grad_names(self) -> Tuple[str, ...]:
        """The names of the params that currently hold a gradient (``.grad`` is not None)."""
        return tuple(n for n in self._param_specs if self.has_grad(n))

    def has_grad(self, name: str) -> bool:
        """True when param ``name`` is allocated and holds a gradient; False otherwise (unknown names too)."""
        return (
            # has_param's None (declared, not set) passes through as a falsy result
            name in self._param_specs and self.has_param(name)  # type: ignore[return-value]
            and getattr(self, self._param_specs[name].attr).grad is not None
        )

    def get_grad(self, name: str) -> Any:
        """Param ``name``'s gradient as an array of the model's ops sharing its memory (as
        ``get_param``); ``get_grad_tensor`` gives the tensor."""
        return param_array(self.get_grad_tensor(name))

    def get_grad_tensor(self, name: str) -> Tensor:
        """Param ``name``'s gradient as the live tensor (``.grad``, Thinc's layout)."""
        grad = self._param_tensor(name, "get grad of").grad
        if grad is None:
            raise ParamError(f"{self.name}: param {name!r} has no gradient yet; run a backprop first")
        return grad

    def maybe_get_grad(self, name: str) -> Optional[Any]:
        """``get_grad(name)``, or None while the param has no gradient."""
        return self.get_grad(name) if self.has_grad(name) else None

    def set_grad(self, name: str, value: Any) -> None:
        """Replace param ``name``'s gradient: an array of the param's shape (Thinc layout) or a
        number, which fills it (``set_grad("W", 0.0)`` zeroes the gradient)."""
        param = self._param_tensor(name, "set grad of")
        param.grad = self._grad_value(name, param, value, "set_grad").clone()

    def inc_grad(self, name: str, value: Any) -> None:
        """Add ``value`` (an array of the param's shape, or a number) to param ``name``'s gradient
        (inside a custom layer's torch-face backward: to the gradient autograd receives)."""
        param = self._param_tensor(name, "inc grad of")
        value = self._grad_value(name, param, value, "inc_grad")
        if self.__dict__.get("_func") is not None:
            from ..thinc_model import sink_grad

            if sink_grad(param, value):
                return
        if param.grad is None:
            param.grad = value.clone()
        else:
            param.grad += value

    def _grad_value(self, name: str, param: Tensor, value: Any, action: str) -> Tensor:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return torch.full_like(param, float(value))
        t = to_torch(value, param.device)
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{self.name}: {action}({name!r}) expected an array of shape {tuple(param.shape)} or a number, got "
                f"{type(value).__name__}"
            )
        if tuple(t.shape) != tuple(param.shape):
            raise ValueError(
                f"{self.name}: {action}({name!r}) expected a gradient of shape "
                f"{self._shape_text(self._param_specs[name])} "
                f"= {tuple(param.shape)}, got {tuple(t.shape)}; gradients are never reshaped"
            )
        return t.to(param.dtype)
