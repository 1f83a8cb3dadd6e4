"""``ParamSpec`` and ``ModelParams``: parameters by Thinc's names, shapes and layouts.

Each Thinc-named param (``W``, ``b``...) is declared once (``declare_param``) over a torch attribute
(its ``state_dict`` name); its shape follows the dims. ``get_param``/``set_param`` speak Thinc's
layout and check shapes (inferring unset dims), ``reset_param`` draws the initializer, and
``load_state_dict`` materializes params not allocated yet (as torch's Lazy modules).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, cast

import torch
from torch import Tensor, nn

from ..arrays import param_array
from ..convert import to_torch
from ..errors import DimError, ParamError
from .dims import ModelDims

if TYPE_CHECKING:
    from . import Model


@dataclass(frozen=True)
class ParamSpec:
    """A Thinc-named parameter, declared once by ``Model.declare_param``; nothing is overridden.

    - ``attr``: the torch attribute (its ``state_dict`` name).
    - ``dims``: the dims its shape depends on, in order (ints are fixed sizes).
    - ``init``: ``(ops, shape) -> array``, the initializer.
    - ``shape``: ``{dim: int} -> shape`` in Thinc's layout; default: the dims' values in order.
    - ``infer``: ``(value shape, {dim: int or None}) -> {dim: int}``, the unset dims a value in
      Thinc's layout determines (``set_param``, ``load_state_dict``); default: positional. It
      raises a clear error when the value cannot fit.
    - ``text``: the shape as errors print it, a ``str.format`` template over the dims (unset
      ones print as ``?``); default ``"(nO={nO}, nI={nI})"``.
    - ``on_store``: ``model -> None``, run after a value is stored (rebuilds buffers derived
      from the layout, e.g. LSTM's Thinc-to-torch gate order).
    """

    attr: str
    dims: Tuple[Union[str, int], ...]
    init: Callable[[Any, Sequence[int]], Any]
    shape: Optional[Callable[[Dict[str, int]], Tuple[int, ...]]] = None
    infer: Optional[Callable[[Tuple[int, ...], Dict[str, Optional[int]]], Dict[str, int]]] = None
    text: Optional[str] = None
    on_store: Optional[Callable[[Model], None]] = None
    #: A custom layer's param (``Model(name, forward, params={"W": None})``): any shape, no
    #: initializer; its ``init`` sets it.
    free: bool = False


class ModelParams(ModelDims):
    """Thinc-named params: declare, allocate and draw, get and set in Thinc's layout, load a state dict."""

    def reset_parameters(self) -> None:
        """Draw every declared parameter with its initializer (needs all its dims)."""
        for name, spec in self._param_specs.items():
            if not spec.free:
                self.reset_param(name)

    def reset_param(self, name: str) -> None:
        """Draw param ``name`` with its initializer (needs all its dims)."""
        spec = self._spec(name, "reset")
        shape = self._param_shape(name, spec, strict=True)
        # strict=True raises instead of returning None
        value = _as_float_tensor(spec.init(self.ops, shape), self.name, name)  # type: ignore[arg-type]
        if tuple(value.shape) != shape:
            raise ValueError(
                f"{self.name}: initializer for {name} returned shape {tuple(value.shape)}, expected {shape}"
            )
        with torch.no_grad():
            self._store_param(name, value)

    def declare_param(self, name: str, attr: str, dims: Tuple[Union[str, int], ...], init: Callable, *,
                      shape: Optional[Callable[[Dict[str, int]], Tuple[int, ...]]] = None,
                      infer: Optional[Callable[[Tuple[int, ...], Dict[str, Optional[int]]], Dict[str, int]]] = None,
                      text: Optional[str] = None, on_store: Optional[Callable[[Model], None]] = None) -> None:
        """Register Thinc param ``name`` stored as torch attribute ``attr`` (see ``ParamSpec``).

        Allocated now if every dim is known, otherwise on ``initialize``. Redeclaring a param
        with the same ``attr`` and ``dims`` and no other field replaces only its initializer
        (and redraws it).
        """
        old = self._param_specs.get(name)
        if (
            old is not None and (old.attr, old.dims) == (attr, tuple(dims))
            and shape is infer is text is on_store is None
        ):
            self._param_specs[name] = dataclasses.replace(old, init=init)
        else:
            self._param_specs[name] = ParamSpec(attr, tuple(dims), init, shape, infer, text, on_store)
        if attr not in self._parameters:
            self.register_parameter(attr, None)
        if self.param_shape(name) is not None:
            self.reset_param(name)

    @property
    def param_names(self) -> Tuple[str, ...]:
        """The Thinc names of this node's declared params (``W``, ``b``...), allocated or not."""
        return tuple(self._param_specs)

    def has_param(self, name: str) -> Optional[bool]:
        """Thinc's three answers: True when param ``name`` is allocated, None while declared but unset, False when
        the layer has no such param.
        """
        if name not in self._param_specs:
            return False
        return None if getattr(self, self._param_specs[name].attr) is None else True

    def param_shape(self, name: str) -> Optional[Tuple[int, ...]]:
        """Param ``name``'s shape in Thinc's layout, or None while a dim it depends on is unset."""
        return self._param_shape(name, self._spec(name, "get the shape of"), strict=False)

    def _spec(self, name: str, action: str) -> ParamSpec:
        if name not in self._param_specs:
            raise ParamError(
                f"{self.name}: cannot {action} param {name!r}: the layer has params {list(self._param_specs)}"
            )
        return self._param_specs[name]

    def _param_tensor(self, name: str, action: str) -> nn.Parameter:
        spec = self._spec(name, action)
        value = getattr(self, spec.attr)
        if value is None:
            missing = [d for d in spec.dims if isinstance(d, str) and self._dims.get(d) is None]
            raise ParamError(
                f"Parameter '{name}' for model '{self.name}' has not been allocated yet"
                + (f" (dims {missing} are unset)" if missing else "")
                + "; call initialize() first"
            )
        return value

    def get_param(self, name: str) -> Any:
        """The live parameter in Thinc's layout, as an array of the model's ops sharing its
        memory (numpy on the CPU, cupy on CUDA; ``arrays.param_array``): in-place edits change
        the model, as in Thinc. ``get_param_tensor`` gives the tensor."""
        return param_array(self._param_tensor(name, "get"))

    def get_param_tensor(self, name: str) -> Tensor:
        """The live parameter in Thinc's layout as a (detached) tensor sharing its memory."""
        return self._param_tensor(name, "get").detach()

    def maybe_get_param(self, name: str) -> Optional[Any]:
        """``get_param(name)`` (Thinc's layout, sharing memory), or None while unset or unknown."""
        return self.get_param(name) if self.has_param(name) else None

    def set_param(self, name: str, value: Any) -> None:
        """Copy ``value`` (Thinc layout; numpy or torch) into param ``name``, checking its shape.

        Unset dims the value determines (the spec's ``infer``) are set from it first.
        """
        if name not in self._param_specs and self.__dict__.get("_func") is not None:
            from ..thinc_model import declare_free_param

            declare_free_param(cast("Model", self), name)  # Thinc's custom layers add params by setting them
        spec = self._spec(name, "set")
        if value is None:
            setattr(self, spec.attr, None)
            return
        value = _as_float_tensor(to_torch(value), self.name, name)
        if spec.free:
            with torch.no_grad():
                self._store_param(name, value)
            return
        got = tuple(value.shape)
        dims = {d: self._dims.get(d) for d in spec.dims if isinstance(d, str)}
        if any(v is None for v in dims.values()):
            inferred = (
                spec.infer(got, dims) if spec.infer is not None else self._infer_positional(name, spec, got, dims)
            )
            for dim, size in inferred.items():
                if self._dims.get(dim) is None:
                    self.set_dim(dim, int(size))
        shape = self._param_shape(name, spec, strict=True)
        # strict=True raises instead of returning None
        if len(got) != len(shape):  # type: ignore[arg-type]
            raise ValueError(
                # strict=True raises instead of returning None (the shape is the one above)
                f"{self.name}: cannot set param {name!r}: expected a {len(shape)}-D tensor of shape "  # type: ignore[arg-type]
                f"{self._shape_text(spec)}, got shape {got}"
            )
        if got != shape:
            raise ValueError(
                f"{self.name}: cannot set param {name!r}: expected shape {self._shape_text(spec)} = {shape}, got {got}"
            )
        with torch.no_grad():
            self._store_param(name, value)

    def _infer_positional(
        self, name: str, spec: ParamSpec, got: Tuple[int, ...], dims: Dict[str, Optional[int]]
    ) -> Dict[str, int]:
        if len(got) != len(spec.dims):
            raise ValueError(
                f"{self.name}: cannot set param {name!r}: expected a {len(spec.dims)}-D tensor of shape "
                f"{self._shape_text(spec)}, got shape {got}"
            )
        return {d: size for d, size in zip(spec.dims, got) if isinstance(d, str) and dims[d] is None}

    def _store_param(self, name: str, value: Tensor) -> None:
        """Store ``value`` (already checked) as param ``name`` (or, for compatibility, its torch attr)."""
        spec = self._param_specs.get(name)
        if spec is None:  # called with the torch attribute name (older callers)
            spec = next(s for s in self._param_specs.values() if s.attr == name)
        current = getattr(self, spec.attr, None)
        if isinstance(current, nn.Parameter) and current.shape == value.shape:
            current.copy_(value)
        else:
            device = current.device if isinstance(current, Tensor) else self.device
            dtype = current.dtype if isinstance(current, Tensor) else value.dtype
            setattr(self, spec.attr, nn.Parameter(value.to(device=device, dtype=dtype).clone()))
        if spec.on_store is not None:
            spec.on_store(cast("Model", self))

    def _param_shape(
        self, name: str, spec: Optional[ParamSpec] = None, strict: bool = True
    ) -> Optional[Tuple[int, ...]]:
        spec = spec if spec is not None else self._spec(name, "get the shape of")
        if spec.free:
            value = getattr(self, spec.attr)
            return None if value is None else tuple(value.shape)
        values: Dict[str, int] = {}
        for d in spec.dims:
            if isinstance(d, int):
                continue
            value = self._dims.get(d)
            if value is None:
                if not strict:
                    return None
                raise DimError(
                    f"{self.name}: cannot allocate param {name!r} of shape {self._shape_text(spec)}: dim {d!r} "
                    f"is unset (expected an int, got None); pass {d}= to the constructor or call "
                    f"initialize(X=..., Y=...) with sample data"
                )
            values[d] = value
        if spec.shape is not None:
            return tuple(int(n) for n in spec.shape(values))
        return tuple(d if isinstance(d, int) else values[d] for d in spec.dims)

    def _shape_text(self, spec: ParamSpec) -> str:
        dims = {d: ("?" if self._dims.get(d) is None else self._dims[d]) for d in self._dims}
        if spec.text is not None:
            return spec.text.format_map(dims)
        return "(" + ", ".join(f"{d}={dims.get(d, '?')}" if isinstance(d, str) else str(d) for d in spec.dims) + ")"

    def _load_from_state_dict(self, state_dict: Any, prefix: str, local_metadata: Any, strict: bool,
                              missing_keys: List[str], unexpected_keys: List[str], error_msgs: List[str]) -> None:
        # Like torch's Lazy modules: a param not allocated yet (dims from initialize()) is
        # materialized from the loaded tensor, setting the dims it determines.
        for name, spec in self._param_specs.items():
            key = prefix + spec.attr
            if getattr(self, spec.attr) is None and key in state_dict:
                try:
                    self.set_param(name, state_dict[key])
                except (ValueError, TypeError) as e:
                    error_msgs.append(f"{self.name}: cannot materialize {key!r} from the loaded tensor: {e}")
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


def _as_float_tensor(value: Any, layer: str, name: str) -> Tensor:
    t = to_torch(value)
    if not isinstance(t, Tensor):
        t = torch.as_tensor(t)
    if not t.is_floating_point():
        raise TypeError(f"{layer}: param {name!r} must be floating point, got dtype {t.dtype}")
    return t
