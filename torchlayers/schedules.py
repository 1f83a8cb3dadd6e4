"""Thinc's schedules (``registry.schedules``): infinite generators of floats, Thinc's formulas.

``next(schedule)`` gives the value of the next step; a schedule passed as ``learn_rate`` to an
optimizer factory (``torchlayers.optimizers``) sets the learning rate of every torch step.
"""
from __future__ import annotations

import math
from typing import Iterable, Iterator

from .registry import registry

__all__ = [
    "compounding",
    "constant",
    "constant_then",
    "cyclic_triangular",
    "decaying",
    "slanted_triangular",
    "warmup_linear",
]


@registry.schedules("constant_then.v1")
def constant_then(rate: float, steps: int, schedule: Iterable[float]) -> Iterator[float]:
    """``rate`` for ``steps`` steps, then the values of ``schedule``."""
    for _ in range(steps):
        yield rate
    yield from schedule


@registry.schedules("constant.v1")
def constant(rate: float) -> Iterator[float]:
    """``rate`` forever."""
    while True:
        yield rate


@registry.schedules("decaying.v1")
def decaying(base_rate: float, decay: float, *, t: int = 0) -> Iterator[float]:
    """``base_rate / (1 + decay * t)``, t counting from ``t``."""
    while True:
        yield base_rate * (1.0 / (1.0 + decay * t))
        t += 1


@registry.schedules("compounding.v1")
def compounding(start: float, stop: float, compound: float, *, t: float = 0.0) -> Iterator[float]:
    """``start * compound**i``, clipped at ``stop``."""
    curr = float(start)
    while True:
        yield max(curr, stop) if start > stop else min(curr, stop)
        curr *= compound


@registry.schedules("slanted_triangular.v1")
def slanted_triangular(max_rate: float, num_steps: int, *, cut_frac: float = 0.1, ratio: int = 32,
                       decay: float = 1.0, t: float = 0.0) -> Iterator[float]:
    """Howard and Ruder's slanted triangular rate (``decay`` is unused, as in Thinc)."""
    cut = int(num_steps * cut_frac)
    while True:
        t += 1
        p = t / cut if t < cut else 1 - ((t - cut) / (cut * (1 / cut_frac - 1)))
        yield max_rate * (1 + p * (ratio - 1)) * (1 / ratio)


@registry.schedules("warmup_linear.v1")
def warmup_linear(initial_rate: float, warmup_steps: int, total_steps: int) -> Iterator[float]:
    """Linear warmup from 0 over ``warmup_steps``, then a linear decline to 0 at ``total_steps``."""
    step = 0
    while True:
        if step < warmup_steps:
            factor = step / max(1, warmup_steps)
        else:
            factor = max(0.0, (total_steps - step) / max(1.0, total_steps - warmup_steps))
        yield factor * initial_rate
        step += 1


@registry.schedules("cyclic_triangular.v1")
def cyclic_triangular(min_lr: float, max_lr: float, period: int) -> Iterator[float]:
    """A triangle wave between ``min_lr`` and ``max_lr`` with half-period ``period``."""
    it = 1
    while True:
        cycle = math.floor(1 + it / (2 * period))
        x = abs(it / period - 2 * cycle + 1)
        yield min_lr + (max_lr - min_lr) * max(0, 1 - x)
        it += 1
