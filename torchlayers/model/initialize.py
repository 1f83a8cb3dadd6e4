"""``ModelInitialize``: ``initialize(X, Y)``: infer unset dims from samples (Thinc's ``get_width``),
then draw the params; containers override ``_initialize`` to recurse, and an assigned
``model.init`` (Thinc's ``model.init = fn``) runs instead of any node's own.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import torch

from ..convert import get_width, to_torch
from ..errors import DataValidationError
from .mode import _INSIDE
from .optimizer import ModelOptimizer

if TYPE_CHECKING:
    from . import Model

_M = TypeVar("_M", bound="ModelInitialize")


class ModelInitialize(ModelOptimizer):
    """Shape inference and parameter drawing: ``initialize``."""

    def initialize(self: _M, X: Any = None, Y: Any = None) -> _M:
        """Infer unset dims from samples (Thinc's ``get_width``), then (re)draw parameters.

        Raises ValueError (DimError) when a sample conflicts with a dim that is already set;
        inside ``data_validation(True)`` a layer's error about the samples comes as Thinc's
        ``DataValidationError`` (a ValueError and TypeError, the layer's error chained).
        """
        inside = _INSIDE.set(True)
        try:
            init = self.__dict__.get("init")
            if callable(init):  # Thinc's ``model.init = fn`` (or a custom layer's init=): X, Y as given
                with torch.no_grad():
                    init(self, X=X, Y=Y)
                return self
            device = self.device
            with torch.no_grad():
                self._initialize(to_torch(X, device) if X is not None else None,
                                 to_torch(Y, device) if Y is not None else None)
            return self
        except (TypeError, ValueError) as e:
            _raise_data_validation(self.name, X, Y, e, outermost=inside.old_value is not True)
            raise
        finally:
            _INSIDE.reset(inside)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's own ``_initialize`` (a container's recursion) gives way to an assigned
        ``model.init`` too, as the base's does: Thinc's ``model.init = fn`` replaces any node's init."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("_initialize")
        if own is not None:
            cls._initialize = _assigned_init_first(own)  # type: ignore[method-assign, assignment]

    def _initialize(self, X: Any, Y: Any) -> None:
        """Per-layer initialization; containers override to recurse (Thinc's ``init``). A custom
        layer's ``init`` (or an assigned ``model.init``) runs instead, with the container's X."""
        init = self.__dict__.get("init")
        if callable(init):
            init(self, X=X, Y=Y)
            return
        if X is not None and "nI" in self._dims:
            self.set_dim("nI", get_width(X))
        if Y is not None and "nO" in self._dims:
            self.set_dim("nO", get_width(Y))
        self.reset_parameters()


def _assigned_init_first(initialize: Callable[[Any, Any, Any], None]) -> Callable[[Any, Any, Any], None]:
    @functools.wraps(initialize)
    def _initialize(self: Model, X: Any, Y: Any) -> None:
        init = self.__dict__.get("init")
        if callable(init) and not self.__dict__.get("_running_assigned_init"):
            # An assigned init replaces the node's own; called from inside it (spaCy's inits end with the
            # default, e.g. ``chain._initialize(model, X, Y)``), the node's own initialize runs.
            self.__dict__["_running_assigned_init"] = True
            try:
                init(self, X=X, Y=Y)
            finally:
                del self.__dict__["_running_assigned_init"]
            return
        initialize(self, X, Y)

    return _initialize


def _raise_data_validation(name: str, X: Any, Y: Any, error: Exception, *, outermost: bool) -> None:
    """Inside ``data_validation(True)``, the outermost ``initialize`` re-raises a layer's
    TypeError / ValueError about the samples as Thinc's ``DataValidationError`` (chained)."""
    from ..util import DATA_VALIDATION  # util imports this module

    if outermost and DATA_VALIDATION.get() and not isinstance(error, DataValidationError):
        raise DataValidationError(name, X, Y, [{"msg": f"{type(error).__name__}: {error}"}]) from error


