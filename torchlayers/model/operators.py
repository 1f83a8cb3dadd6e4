"""``ModelOperators``: Thinc's operator overloading: ``with Model.define_operators({">>": chain}):``
binds ``a >> b`` and the other operators inside the block (a context variable: thread and
async safe; a nested block replaces the outer mapping). ``>>`` itself is on ``Model``, typed
with its type parameters.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator

from .serialization import ModelSerialization

if TYPE_CHECKING:
    from . import Model

_OPERATORS: contextvars.ContextVar[Dict[str, Callable[..., Any]]] = contextvars.ContextVar(
    # Thinc's Model._context_operators has this dict default, and define_operators sets a fresh dict
    "torchlayers_operators", default={}  # noqa: B039
)


class ModelOperators(ModelSerialization):
    """``define_operators`` and the operators it binds (``+``, ``|``, ``@``...)."""

    #: Thinc's name for the operator bindings ``define_operators`` sets (a context variable).
    _context_operators = _OPERATORS

    @classmethod
    @contextlib.contextmanager
    def define_operators(cls, operators: Dict[str, Callable[..., Any]]) -> Iterator[None]:
        """Bind operators (``{">>": chain, "|": concatenate}``) inside a ``with`` block.

        A nested block replaces the outer mapping (Thinc's semantics); thread/async safe.
        """
        token = _OPERATORS.set(dict(operators))
        try:
            yield
        finally:
            _OPERATORS.reset(token)

    def _operator(self, op: str, other: Any) -> Model:
        fn = _OPERATORS.get().get(op)
        if fn is None:
            raise TypeError(f"Undefined operator: {op}; bind it with Model.define_operators({{'{op}': ...}})")
        return fn(self, other)

    def __add__(self, other: Any) -> Model: return self._operator("+", other)
    def __sub__(self, other: Any) -> Model: return self._operator("-", other)
    def __mul__(self, other: Any) -> Model: return self._operator("*", other)
    def __matmul__(self, other: Any) -> Model: return self._operator("@", other)
    def __truediv__(self, other: Any) -> Model: return self._operator("/", other)
    def __floordiv__(self, other: Any) -> Model: return self._operator("//", other)
    def __mod__(self, other: Any) -> Model: return self._operator("%", other)
    def __pow__(self, other: Any) -> Model: return self._operator("**", other)
    def __lshift__(self, other: Any) -> Model: return self._operator("<<", other)
    def __and__(self, other: Any) -> Model: return self._operator("&", other)
    def __xor__(self, other: Any) -> Model: return self._operator("^", other)
    def __or__(self, other: Any) -> Model: return self._operator("|", other)
