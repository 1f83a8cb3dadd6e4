"""Error helpers: every message names the layer, the dim or field, what was expected and what came."""
from __future__ import annotations

from typing import Any


class DimError(ValueError):
    """A dim is unset, unknown or conflicts with data (ValueError, like Thinc's)."""


class ParamError(KeyError):
    """A parameter is unknown or not allocated yet (KeyError, like Thinc's)."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ModelFileError(ValueError):
    """A model file (bytes) is truncated, corrupted, foreign or does not fit the model it is
    loaded into. The message names the part of the file (``length prefix``, ``header``,
    ``header.nodes[2].attrs['dropout_rate']``, ``tensor 'weight'``, ``tensor bytes``) and the
    problem; the model is left unchanged."""

    def __init__(self, model: str, part: str, problem: str) -> None:
        self.model, self.part, self.problem = model, part, problem
        super().__init__(f"{model}: cannot load model file: {part}: {problem}")


def shape_of(x: Any) -> str:
    shape = getattr(x, "shape", None)
    if shape is not None:
        return str(tuple(shape))
    return type(x).__name__


def expect_rank(layer: str, field: str, x: Any, ranks: tuple, hint: str = "") -> None:
    """Raise ValueError unless ``x`` is a tensor whose rank is in ``ranks``."""
    dim = getattr(x, "dim", None)
    if dim is None or dim() not in ranks:
        want = " or ".join(f"{r}-D" for r in ranks)
        got = f"{x.dim()}-D {tuple(x.shape)}" if dim is not None else type(x).__name__
        raise ValueError(f"{layer}: expected {field} to be {want}, got {got}{'; ' + hint if hint else ''}")
