"""Thinc's initializers (same distributions, randomness from torch's generator).

Each takes ``(ops, shape)`` like Thinc's and returns a float32 tensor, so Thinc configs and
user code that pass ``init_W=...`` keep working. A Thinc initializer (returning numpy) is
accepted too: the layer converts its result.

As in Thinc, the registry holds factories: ``registry.initializers.get("he_normal_init.v1")()``
(a config's ``@initializers = "he_normal_init.v1"`` block) returns ``he_normal_init``;
``uniform_init.v1`` / ``normal_init.v1`` take their keyword arguments and return a closure.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from .registry import registry

__all__ = [
    "configure_glorot_normal_init",
    "configure_glorot_uniform_init",
    "configure_he_normal_init",
    "configure_he_uniform_init",
    "configure_lecun_normal_init",
    "configure_lecun_uniform_init",
    "configure_normal_init",
    "configure_uniform_init",
    "configure_zero_init",
    "glorot_normal_init",
    "glorot_uniform_init",
    "he_normal_init",
    "he_uniform_init",
    "lecun_normal_init",
    "lecun_uniform_init",
    "normal_init",
    "uniform_init",
    "zero_init",
]


def _empty(shape: Sequence[int]) -> Tensor:
    return torch.empty(tuple(int(s) for s in shape), dtype=torch.float32)


def glorot_uniform_init(ops: Any, shape: Sequence[int]) -> Tensor:
    """U(-s, s), s = sqrt(6 / (shape[0] + shape[1])) (only the first two dims count, as in Thinc)."""
    scale = math.sqrt(6.0 / (shape[0] + shape[1])) if len(shape) > 1 else math.sqrt(6.0 / shape[0])
    return _empty(shape).uniform_(-scale, scale)


def glorot_normal_init(ops: Any, shape: Sequence[int]) -> Tensor:
    """N(0, s), s = sqrt(2 / (shape[0] + shape[1])) (Thinc's ``glorot_normal_init``). Shape: any 2-D shape ->
    float32 tensor.
    """
    scale = math.sqrt(2.0 / (shape[1] + shape[0]))
    return _empty(shape).normal_(0.0, scale)


def he_uniform_init(ops: Any, shape: Sequence[int]) -> Tensor:
    """U(-s, s), s = sqrt(6 / shape[1]) (fan-in; Thinc's ``he_uniform_init``). Shape: (nO, nI, ...) -> float32
    tensor.
    """
    scale = math.sqrt(6.0 / shape[1])
    return _empty(shape).uniform_(-scale, scale)


def he_normal_init(ops: Any, shape: Sequence[int]) -> Tensor:
    """N(0, s), s = sqrt(2 / shape[1]) (fan-in; Thinc's ``he_normal_init``). Shape: (nO, nI, ...) -> float32
    tensor.
    """
    return _empty(shape).normal_(0.0, math.sqrt(2.0 / shape[1]))


def lecun_uniform_init(ops: Any, shape: Sequence[int]) -> Tensor:
    """U(-s, s), s = sqrt(3 / shape[1]) (fan-in; Thinc's ``lecun_uniform_init``). Shape: (nO, nI, ...) -> float32
    tensor.
    """
    scale = math.sqrt(3.0 / shape[1])
    return _empty(shape).uniform_(-scale, scale)


def lecun_normal_init(ops: Any, shape: Sequence[int]) -> Tensor:
    """N(0, s), s = sqrt(1 / shape[1]) (fan-in; Thinc's ``lecun_normal_init``). Shape: (nO, nI, ...) -> float32
    tensor.
    """
    return _empty(shape).normal_(0.0, math.sqrt(1.0 / shape[1]))


def zero_init(ops: Any, shape: Sequence[int]) -> Tensor:
    """Zeros (Thinc's ``zero_init``). Shape: any ``shape`` -> a float32 tensor of zeros on the CPU. ``ops`` is
    unused.
    """
    return torch.zeros(tuple(int(s) for s in shape), dtype=torch.float32)


def uniform_init(ops: Any, shape: Sequence[int], *, lo: float = -0.1, hi: float = 0.1) -> Tensor:
    """U(lo, hi) (Thinc's ``uniform_init``, default [-0.1, 0.1)). Shape: any ``shape`` -> float32 tensor. ``ops``
    is unused.
    """
    return _empty(shape).uniform_(lo, hi)


def normal_init(ops: Any, shape: Sequence[int], *, mean: float = 0) -> Tensor:
    """Thinc quirk kept: ``mean`` is used as the standard deviation (default gives zeros)."""
    return _empty(shape).normal_(0.0, float(mean)) if mean else torch.zeros(tuple(shape))


@registry.initializers("uniform_init.v1")
def configure_uniform_init(*, lo: float = -0.1, hi: float = 0.1):
    """Thinc's ``uniform_init.v1`` factory: ``(ops, shape) -> array`` drawing uniform values in [lo, hi)."""
    return lambda ops, shape: uniform_init(ops, shape, lo=lo, hi=hi)


@registry.initializers("normal_init.v1")
def configure_normal_init(*, mean: float = 0):
    """Thinc's ``normal_init.v1`` factory: ``(ops, shape) -> array`` of normal values around ``mean``.

    The standard deviation comes from the fan-in, as in Thinc.
    """
    return lambda ops, shape: normal_init(ops, shape, mean=mean)


def _configure(init: Callable[[Any, Sequence[int]], Tensor]) -> Callable[[], Callable[[Any, Sequence[int]], Tensor]]:
    def configure() -> Callable[[Any, Sequence[int]], Tensor]:
        return init

    configure.__name__ = configure.__qualname__ = f"configure_{init.__name__}"
    configure.__doc__ = f"The registered factory of ``{init.__name__}`` (Thinc's ``{init.__name__}.v1``)."
    return configure


configure_glorot_uniform_init = registry.initializers("glorot_uniform_init.v1")(_configure(glorot_uniform_init))
configure_glorot_normal_init = registry.initializers("glorot_normal_init.v1")(_configure(glorot_normal_init))
configure_he_uniform_init = registry.initializers("he_uniform_init.v1")(_configure(he_uniform_init))
configure_he_normal_init = registry.initializers("he_normal_init.v1")(_configure(he_normal_init))
configure_lecun_uniform_init = registry.initializers("lecun_uniform_init.v1")(_configure(lecun_uniform_init))
configure_lecun_normal_init = registry.initializers("lecun_normal_init.v1")(_configure(lecun_normal_init))
configure_zero_init = registry.initializers("zero_init.v1")(_configure(zero_init))
