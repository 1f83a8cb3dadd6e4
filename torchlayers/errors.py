"""The package's exception classes; the input checks that raise are in ``torchlayers/functional/checks.py``.

Every message names the layer, the dim or field, what was expected and what came."""
from __future__ import annotations

from typing import Any, Mapping, Sequence


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



class DataValidationError(ValueError, TypeError):
    """Thinc's ``DataValidationError`` (a ValueError): raised by ``initialize`` inside
    ``data_validation(True)`` when a layer rejects the samples; the layer's own error (naming
    the layer, field, expected and got) is in the message and is the ``__cause__``. Also a
    TypeError, so ``except TypeError`` around a layer's type checks keeps working with the flag on.

    ``DataValidationError(name, X, Y, errors)``: Thinc's signature; ``errors`` are
    ``{"loc": [...], "msg": str}`` entries.
    """

    def __init__(self, name: str, X: Any, Y: Any, errors: Sequence[Mapping[str, Any]] = ()) -> None:
        lines = [f"Data validation error in '{name}'", f"X: {type(X)} Y: {type(Y)}"]
        for error in errors:
            loc = " -> ".join(str(p) for p in error.get("loc", []))
            lines.append(f"{loc}: {error.get('msg')}" if loc else str(error.get("msg")))
        super().__init__("\n\n" + "\n".join(lines))
