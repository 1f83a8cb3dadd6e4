"""Thinc's initializers (same distributions, randomness from torch's generator).

Each takes ``(ops, shape)`` like Thinc's and returns a float32 tensor, so Thinc configs and
user code that pass ``init_W=...`` keep working. A Thinc initializer (returning numpy) is
accepted too: the layer converts its result.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import Tensor

from .registry import registry

__all__ = [
    "glorot_uniform_init", "glorot_normal_init", "he_uniform_init", "he_normal_init",
    "lecun_uniform_init", "lecun_normal_init", "uniform_init", "normal_init", "zero_init",
    "configure_normal_init", "configure_uniform_init",
]


def _empty(shape: Sequence[int]) -> Tensor:
    return torch.empty(tuple(int(s) for s in shape), dtype=torch.float32)


@registry.initializers("glorot_uniform_init.v1")
def glorot_uniform_init(ops: Any, shape: Sequence[int]) -> Tensor:
    """U(-s, s), s = sqrt(6 / (shape[0] + shape[1])) (only the first two dims count, as in Thinc)."""
    scale = math.sqrt(6.0 / (shape[0] + shape[1])) if len(shape) > 1 else math.sqrt(6.0 / shape[0])
    return _empty(shape).uniform_(-scale, scale)


@registry.initializers("glorot_normal_init.v1")
def glorot_normal_init(ops: Any, shape: Sequence[int]) -> Tensor:
    scale = math.sqrt(2.0 / (shape[1] + shape[0]))
    return _empty(shape).normal_(0.0, scale)


@registry.initializers("he_uniform_init.v1")
def he_uniform_init(ops: Any, shape: Sequence[int]) -> Tensor:
    scale = math.sqrt(6.0 / shape[1])
    return _empty(shape).uniform_(-scale, scale)


@registry.initializers("he_normal_init.v1")
def he_normal_init(ops: Any, shape: Sequence[int]) -> Tensor:
    return _empty(shape).normal_(0.0, math.sqrt(2.0 / shape[1]))


@registry.initializers("lecun_uniform_init.v1")
def lecun_uniform_init(ops: Any, shape: Sequence[int]) -> Tensor:
    scale = math.sqrt(3.0 / shape[1])
    return _empty(shape).uniform_(-scale, scale)


@registry.initializers("lecun_normal_init.v1")
def lecun_normal_init(ops: Any, shape: Sequence[int]) -> Tensor:
    return _empty(shape).normal_(0.0, math.sqrt(1.0 / shape[1]))


@registry.initializers("zero_init.v1")
def zero_init(ops: Any, shape: Sequence[int]) -> Tensor:
    return torch.zeros(tuple(int(s) for s in shape), dtype=torch.float32)


def uniform_init(ops: Any, shape: Sequence[int], *, lo: float = -0.1, hi: float = 0.1) -> Tensor:
    return _empty(shape).uniform_(lo, hi)


def normal_init(ops: Any, shape: Sequence[int], *, mean: float = 0) -> Tensor:
    """Thinc quirk kept: ``mean`` is used as the standard deviation (default gives zeros)."""
    return _empty(shape).normal_(0.0, float(mean)) if mean else torch.zeros(tuple(shape))


@registry.initializers("uniform_init.v1")
def configure_uniform_init(*, lo: float = -0.1, hi: float = 0.1):
    return lambda ops, shape: uniform_init(ops, shape, lo=lo, hi=hi)


@registry.initializers("normal_init.v1")
def configure_normal_init(*, mean: float = 0):
    return lambda ops, shape: normal_init(ops, shape, mean=mean)
