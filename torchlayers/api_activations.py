"""Thinc's creation functions for the Dense+activation layers and the parameterless activations.

A class call always returns that class (``modules.gelu.Gelu(nO, nI)`` is one ``gelu`` node);
these functions are what ``thinc.api`` names: they take Thinc's full signature and build
Thinc's node tree for ``normalize``/``dropout`` (``gelu>>layernorm>>dropout``, nested like
Thinc's chains). They carry Thinc's registry names.
"""
from __future__ import annotations

from typing import Callable, Optional, Type

from .model import Model
from .modules.activation_chain import with_normalize_dropout
from .modules.clipped_linear import ClippedLinear as _ClippedLinear
from .modules.clipped_linear import HardSigmoid as _HardSigmoid
from .modules.clipped_linear import HardTanh as _HardTanh
from .modules.clipped_linear import ReluK as _ReluK
from .modules.dense_activation import DenseActivation
from .modules.dish import Dish as _Dish
from .modules.gelu import Gelu as _Gelu
from .modules.hard_swish import HardSwish as _HardSwish
from .modules.hard_swish_mobilenet import HardSwishMobilenet as _HardSwishMobilenet
from .modules.sigmoid import Sigmoid as _Sigmoid
from .modules.sigmoid_activation import sigmoid_activation as _sigmoid_activation
from .modules.softmax_activation import softmax_activation as _softmax_activation
from .modules.swish import Swish as _Swish
from .registry import registry

__all__ = [
    "Gelu", "Swish", "HardSwish", "HardSwishMobilenet", "Dish", "ClippedLinear", "HardSigmoid", "HardTanh",
    "ReluK", "Sigmoid", "sigmoid_activation", "softmax_activation",
]


def _dense_activation(cls: Type[DenseActivation]) -> Callable[..., Model]:
    """Thinc's creation function for ``cls``: ``(nO, nI, *, init_W, init_b, dropout, normalize)``."""

    def create(nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
               init_b: Optional[Callable] = None, dropout: Optional[float] = None, normalize: bool = False) -> Model:
        return with_normalize_dropout(cls(nO, nI, init_W=init_W, init_b=init_b), nO, normalize=normalize,
                                      dropout=dropout)

    create.__name__ = create.__qualname__ = cls.__name__
    create.__module__ = __name__
    create.__doc__ = (
        f"Thinc's ``{cls.registry_name}``: a ``{cls.thinc_node}`` node (see ``{cls.__module__}.{cls.__name__}``), "
        f"then ``LayerNorm(nI=nO)`` if ``normalize`` and ``Dropout(dropout)`` if ``dropout`` is not None."
    )
    return registry.layers(cls.registry_name)(create)


Gelu = _dense_activation(_Gelu)
Swish = _dense_activation(_Swish)
HardSwish = _dense_activation(_HardSwish)
HardSwishMobilenet = _dense_activation(_HardSwishMobilenet)
Dish = _dense_activation(_Dish)
HardSigmoid = _dense_activation(_HardSigmoid)
HardTanh = _dense_activation(_HardTanh)


@registry.layers("ClippedLinear.v1")
def ClippedLinear(nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                  init_b: Optional[Callable] = None, dropout: Optional[float] = None, normalize: bool = False,
                  slope: float = 1.0, offset: float = 0.0, min_val: float = 0.0, max_val: float = 1.0) -> Model:
    """Thinc's ``ClippedLinear.v1``: ``clip(slope * z + offset, min_val, max_val)`` (+ LayerNorm, Dropout)."""
    layer = _ClippedLinear(nO, nI, init_W=init_W, init_b=init_b, slope=slope, offset=offset, min_val=min_val,
                           max_val=max_val)
    return with_normalize_dropout(layer, nO, normalize=normalize, dropout=dropout)


@registry.layers("ReluK.v1")
def ReluK(nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
          init_b: Optional[Callable] = None, dropout: Optional[float] = None, normalize: bool = False,
          k: float = 6.0) -> Model:
    """Thinc's ``ReluK.v1``: ``clip(z, 0, k)`` (+ LayerNorm, Dropout)."""
    return with_normalize_dropout(_ReluK(nO, nI, init_W=init_W, init_b=init_b, k=k), nO, normalize=normalize,
                                  dropout=dropout)


@registry.layers("Sigmoid.v1")
def Sigmoid(nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
            init_b: Optional[Callable] = None) -> Model:
    """Thinc's ``Sigmoid.v1``: one ``sigmoid`` node (Thinc has no normalize/dropout here)."""
    return _Sigmoid(nO, nI, init_W=init_W, init_b=init_b)


@registry.layers("sigmoid_activation.v1")
def sigmoid_activation() -> Model:
    """Thinc's ``sigmoid_activation.v1``: the clipped sigmoid, no params."""
    return _sigmoid_activation()


@registry.layers("softmax_activation.v1")
def softmax_activation() -> Model:
    """Thinc's ``softmax_activation.v1``: softmax over the last axis, true gradient, no params."""
    return _softmax_activation()
