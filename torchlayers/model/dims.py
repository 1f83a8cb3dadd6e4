"""``ModelDims``: Thinc's dims (``nO``, ``nI``...) on a node: declared by name, unset (``?``) until
given or inferred, changed only where no allocated parameter depends on them (``set_dim``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import numpy

from ..errors import DimError
from .node import ModelNode

if TYPE_CHECKING:
    from .params import ParamSpec


class ModelDims(ModelNode):
    """Dims by Thinc's names: ``dim_names``, ``has_dim``, ``get_dim``, ``maybe_get_dim``, ``set_dim``."""

    if TYPE_CHECKING:  # for mypy only, set by Model.__init__ and defined by ModelParams (the layer above)
        _dims: Dict[str, Optional[int]]
        _param_specs: Dict[str, ParamSpec]

        def has_param(self, name: str) -> Optional[bool]: ...

    @property
    def dim_names(self) -> Tuple[str, ...]:
        """The names of this node's dims (``nO``, ``nI``...), set or not, in declaration order (Thinc's)."""
        return tuple(self._dims)

    def has_dim(self, name: str) -> Optional[bool]:
        """True if set, None if declared but unset, False if unknown (Thinc's tri-state)."""
        if name not in self._dims:
            return False
        return None if self._dims[name] is None else True

    def get_dim(self, name: str) -> int:
        """The value of dim ``name`` (Thinc's ``get_dim``).

        Raises KeyError when the layer has no such dim and DimError (a ValueError) while it is unset
        (pass it to the constructor or ``initialize`` with sample data).
        """
        if name not in self._dims:
            raise KeyError(f"{self.name}: cannot get dim {name!r}: the layer has dims {list(self._dims)}")
        value = self._dims[name]
        if value is None:
            raise DimError(
                f"{self.name}: cannot get dim {name!r}: it is unset; pass {name}= to the constructor "
                f"or call initialize(X=..., Y=...) with sample data"
            )
        return value

    def maybe_get_dim(self, name: str) -> Optional[int]:
        """Dim ``name``'s value, or None while it is unset or when the layer has no such dim (Thinc's)."""
        return self._dims.get(name)

    def set_dim(self, name: str, value: Optional[int], *, force: bool = False) -> None:
        """Set dim ``name`` to ``value`` (an int >= 0, or None to unset it); Thinc's ``set_dim``.

        Changing a dim that is already set raises DimError (a ValueError) unless ``force=True``, and
        even then while a parameter that depends on it is allocated: build the layer with the new
        size instead. A force on a partly allocated layer drops the params that depend on the dim.
        KeyError for a dim the layer does not have; a negative or non-int value raises DimError.
        """
        if name not in self._dims:
            raise KeyError(f"{self.name}: cannot set dim {name!r}: the layer has dims {list(self._dims)}")
        value = None if value is None else _as_dim(self.name, name, value)
        old = self._dims[name]
        if old is not None and value != old:
            # a custom layer's free param (any shape) may depend on any dim: Thinc's rule, any param set
            allocated = [p for p, s in self._param_specs.items() if (s.free or name in s.dims) and self.has_param(p)]
            user_set = any(self._param_specs[p].free for p in allocated)  # free params are set by hand
            if force and allocated and not user_set and not all(self.has_param(p) for p in self._param_specs):
                # Partially allocated at construction (some dims were unknown): nothing is
                # "set" in Thinc's sense yet, so drop what depends on this dim.
                for p in allocated:
                    setattr(self, self._param_specs[p].attr, None)
                allocated = []
            if not force or allocated:
                why = f"parameters {allocated} are already allocated" if allocated else "pass force=True"
                raise DimError(
                    f"{self.name}: attempt to change dimension {name!r}: expected {old} (already set), got "
                    f"{value} ({why}); build the layer with {name}={value} instead"
                )
        self._dims[name] = value

    def extra_repr(self) -> str:
        dims = ", ".join(f"{k}={'?' if v is None else v}" for k, v in self._dims.items())
        return f"name={self.name!r}" + (f", {dims}" if dims else "")


def _as_dim(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or int(value) < 0:
        raise DimError(f"{layer}: dim {name!r} must be a non-negative int, got {value!r}")
    return int(value)
