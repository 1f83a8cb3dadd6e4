"""The package's exception classes; the input checks that raise are in ``torchlayers/functional/checks.py``.

Every message names the layer, the dim or field, what was expected and what came."""
from __future__ import annotations


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

