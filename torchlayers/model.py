"""The ``Model`` base class: an ``nn.Module`` with Thinc's API written once.

Two faces, one implementation:

- **torch face** -- ``model(X)`` goes through ``nn.Module.__call__`` untouched (hooks,
  ``torch.compile``, ``torch.export`` and ``torch.jit.script`` work). ``forward`` takes tensors,
  ``Ragged``/``Padded`` NamedTuples or lists and returns the same; no closures.
- **Thinc face** -- ``model(X, is_train=True)`` returns ``(Y, backprop)``; ``backprop(dY)``
  returns dX and accumulates parameter gradients into ``.grad`` (Thinc's ``inc_grad``). It is
  built from ``forward`` and ``torch.autograd.backward(..., inputs=...)``, so every layer gets it
  for free, and gradients reach ``.grad`` through autograd's own accumulation: tensor hooks,
  post-accumulate-grad hooks, DDP's and FSDP's reducers all see them, and concurrent backprops
  accumulate safely (autograd locks each ``.grad``).

Per-call mode: a Thinc-face call never writes the shared module. Its ``is_train`` lives in a
context variable for the duration of the forward (per thread and per asyncio task), and layers
read it through ``self.training`` (a property: the call's mode inside a Thinc-face call, else the
flag ``train()``/``eval()`` set) and ``self.thinc_face`` (True inside a Thinc-face call: layers
with a Thinc backprop convention read it). TorchScript and torch.compile see the stored flag.

Hooks for layers whose Thinc face is not "forward + autograd" (documented on ``Model``):
``thinc_forward`` (a Thinc-convention forward, e.g. framework wrappers with Thinc converters),
``thinc_dX`` (what backprop returns instead of autograd's dX), and ``foreign_params`` (weights
outside Thinc's param table that a Thinc optimizer updates). Every backprop callback is one-shot.

Parameters carry torch names in ``state_dict`` (``weight``, ``bias``); ``get_param``/``set_param``
expose Thinc's names, shapes and layouts (``W``, ``b``...). Dims use Thinc's names (``nO``,
``nI``...), print as ``?`` while unset, and are inferred by ``initialize(X, Y)``.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import itertools
import threading
import types
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    MutableMapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)

import numpy
import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten

from .arrays import array_kind, param_array, to_kind
from .convert import get_width, is_float_tensor, to_torch
from .errors import DataValidationError, DimError, ParamError
from .functional.checks import check_call_input
from .ops import TorchOps, ops_for

__all__ = ["Model", "ParamSpec", "thinc_mode", "wrap_model_recursive"]

#: The running Thinc-face call's ``is_train`` (None outside one). A context variable, so each
#: thread and asyncio task has its own: concurrent calls on one model never see each other's mode.
_THINC_MODE: contextvars.ContextVar[Optional[bool]] = contextvars.ContextVar("torchlayers_thinc_mode", default=None)


def thinc_mode() -> Optional[bool]:
    """The ``is_train`` of the Thinc-face call running in this thread/task, or None outside one."""
    return _THINC_MODE.get()


#: True while a Thinc-face call or ``initialize`` runs: nested calls (a combinator's children,
#: ``chain``'s initialize sampling with ``predict``) keep torch's tensors for array-free inputs.
_INSIDE: contextvars.ContextVar[bool] = contextvars.ContextVar("torchlayers_inside_thinc_call", default=False)

_OPERATORS: contextvars.ContextVar[Dict[str, Callable[..., Any]]] = contextvars.ContextVar(
    # Thinc's Model._context_operators has this dict default, and define_operators sets a fresh dict
    "torchlayers_operators", default={}  # noqa: B039
)
_ids = itertools.count(1)
_ids_lock = threading.Lock()


def _next_id() -> int:
    with _ids_lock:
        return next(_ids)


_M = TypeVar("_M", bound="Model")
#: Thinc's ``Model[InT, OutT]`` type parameters: what the torch face's ``forward`` takes and returns.
InT = TypeVar("InT")
OutT = TypeVar("OutT")
_T = TypeVar("_T")


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


class LiveAttrs(MutableMapping):
    """``model.attrs``: a dict view whose values are the module's own attributes, so
    ``node.attrs["dropout_rate"] = 0.5`` changes what ``forward`` reads on the next call."""

    def __init__(self, model: Model) -> None:
        self._model = model

    def __getitem__(self, key: str) -> Any:
        if key not in self._model._attr_names:
            raise KeyError(f"{self._model.name}: no attr {key!r}; attrs are {list(self._model._attr_names)}")
        return getattr(self._model, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._model.set_attr(key, value)

    def __delitem__(self, key: str) -> None:
        self._model._attr_names.remove(key)
        delattr(self._model, key)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._model._attr_names))

    def __len__(self) -> int:
        return len(self._model._attr_names)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Model(nn.Module, Generic[InT, OutT]):
    """Base of every torchlayers layer and combinator (Thinc's ``Model`` on ``nn.Module``).

    Generic like Thinc's ``Model[InT, OutT]`` (``typing.Generic``): InT / OutT are the types the
    torch face's ``forward`` takes and returns, so for a ``Model[Tensor, Tensor]`` a type checker
    infers ``model(X)`` and ``predict(X)`` as ``Tensor``, ``model(X, is_train=True)`` and
    ``begin_update(X)`` as ``(Tensor, Callable[[Tensor], Tensor])`` (backprop: dY -> dX), numpy
    in as numpy out on the Thinc face, and ``a >> b`` (chain) as ``Model[A, C]`` for
    ``Model[A, B] >> Model[B, C]``. At runtime ``Model[InT, OutT]`` is a ``types.GenericAlias``
    of the class (for any subclass too); TorchScript, torch.compile and pickling ignore it.
    """

    #: Thinc's registry name, e.g. ``"Linear.v1"`` (None for unregistered helpers).
    registry_name: Optional[str] = None
    #: True for layers whose Thinc-face backprop follows a Thinc convention instead of the
    #: true gradient (Softmax takes d_logits); such a layer's forward reads ``self.thinc_face``.
    thinc_convention: bool = False
    #: Thinc's name for the operator bindings ``define_operators`` sets (a context variable).
    _context_operators = _OPERATORS
    if TYPE_CHECKING:  # for mypy only: class-level annotations would reach TorchScript
        #: A custom layer's (``thinc_model.setup_custom``) initializer, set on the instance.
        init: Callable[..., Any]

    # a list TorchScript reads (subclasses extend it); a ClassVar annotation would reach TorchScript
    __jit_unused_properties__ = [  # noqa: RUF012
        "attrs", "ops", "device", "dim_names", "param_names", "grad_names", "ref_names", "id", "training", "thinc_face",
        "_layers",
    ]

    def __init__(
        self,
        name: str,
        forward: Optional[Callable[..., Tuple[Any, Callable[[Any], Any]]]] = None,
        *,
        init: Optional[Callable[..., Any]] = None,
        dims: Optional[Dict[str, Optional[int]]] = None,
        params: Optional[Dict[str, Any]] = None,
        layers: Optional[Sequence[Model]] = (),
        shims: Optional[List[Any]] = None,
        attrs: Optional[Dict[str, Any]] = None,
        refs: Optional[Dict[str, Optional[Model]]] = None,
        ops: Any = None,
    ) -> None:
        """Layers call ``super().__init__(name, dims=..., layers=..., attrs=...)``. Thinc's custom
        layer ``Model(name, forward, init=, params=, refs=, shims=, ops=...)`` with a hand-written
        ``forward(model, X, is_train) -> (Y, backprop)``: see ``torchlayers/thinc_model.py``."""
        super().__init__()
        self.name = name
        self._id = _next_id()
        self._dims: Dict[str, Optional[int]] = {}
        for key, value in (dims or {}).items():
            self._dims[key] = None if value is None else _as_dim(name, key, value)
        self._param_specs: Dict[str, ParamSpec] = {}
        self._attr_names: List[str] = []
        self._refs: Dict[str, Optional[Model]] = {}
        self.layers = nn.ModuleList(layers or ())
        for key, value in (attrs or {}).items():
            self.set_attr(key, value)
        self._func: Optional[Callable[..., Any]] = None
        if forward is not None or init is not None or params or shims or refs or ops is not None:
            from .thinc_model import setup_custom

            setup_custom(self, forward, init=init, params=params, shims=shims, refs=refs, ops=ops)

    def __class_getitem__(cls, params: Any) -> Any:
        """``Model[InT, OutT]``: an annotation-only alias (``typing.get_origin`` gives the class)."""
        if not isinstance(params, tuple) or len(params) != 2:
            got = len(params) if isinstance(params, tuple) else 1
            raise TypeError(f"{cls.__name__}[...] takes two type arguments, Model[InT, OutT]; got {got}")
        return types.GenericAlias(cls, params)

    # ------------------------------------------------------------------ mode
    @property
    def training(self) -> bool:  # type: ignore[override]
        """The mode ``forward`` runs in: inside a Thinc-face call, that call's ``is_train``
        (per thread/task; the module is not written); otherwise nn.Module's flag, which only
        ``train()``/``eval()`` change. TorchScript and torch.compile read the flag."""
        if not torch.compiler.is_compiling():
            mode = _THINC_MODE.get()
            if mode is not None:
                return mode
        return self.__dict__["training"]

    @training.setter
    def training(self, value: bool) -> None:
        self.__dict__["training"] = value  # the attribute TorchScript and nn.Module.train() use

    @property
    def thinc_face(self) -> bool:
        """True while this thread/task runs a Thinc-face call: layers with a Thinc backprop
        convention (``thinc_convention``) switch to it. False on the torch face."""
        return not torch.compiler.is_compiling() and _THINC_MODE.get() is not None

    # ------------------------------------------------------------------ Thinc face
    @overload
    def __call__(self, X: InT, /) -> OutT: ...
    @overload
    def __call__(self, X: InT, /, is_train: bool) -> Tuple[OutT, Callable[[OutT], InT]]: ...
    @overload
    def __call__(self: Model[Tensor, Tensor], X: numpy.ndarray, /, is_train: bool) -> Tuple[
        numpy.ndarray, Callable[[numpy.ndarray], numpy.ndarray]]: ...
    @overload  # forwarding *args (PyTorchWrapper's __call__); two positionals, so it never hides a one-X call
    def __call__(self, X: Any, Y: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def __call__(self, *args: Any, is_train: Optional[bool] = None, **kwargs: Any) -> Any:
        if is_train is None and len(args) == 2 and isinstance(args[1], bool) and not kwargs:
            # Thinc's positional model(X, is_train); mypy misreads the length check
            args, is_train = (args[0],), args[1]  # type: ignore[misc]
        if is_train is None:
            if len(args) == 1 and not kwargs and not torch.compiler.is_compiling():
                check_call_input(self, args[0])  # the one eager input check: names the layer and the fix
            return super().__call__(*args, **kwargs)
        if len(args) != 1 or kwargs:
            raise TypeError(f"{self.name}: the Thinc face takes model(X, is_train=...), got {len(args)} args")
        return self._thinc_call(args[0], bool(is_train))

    @overload
    def begin_update(self, X: InT) -> Tuple[OutT, Callable[[OutT], InT]]: ...
    @overload
    def begin_update(self: Model[Tensor, Tensor], X: numpy.ndarray) -> Tuple[
        numpy.ndarray, Callable[[numpy.ndarray], numpy.ndarray]]: ...
    def begin_update(self, X: Any) -> Tuple[Any, Callable[[Any], Any]]:
        """Thinc's ``begin_update``: ``model(X, is_train=True)``."""
        return self._thinc_call(X, True)

    @overload
    def predict(self, X: InT) -> OutT: ...
    @overload
    def predict(self: Model[Tensor, Tensor], X: numpy.ndarray) -> numpy.ndarray: ...
    def predict(self, X: Any) -> Any:
        """Thinc's ``predict``: the output of ``model(X, is_train=False)``."""
        return self._thinc_call(X, False)[0]

    def thinc_forward(self, X: Any, is_train: bool) -> Optional[Tuple[Any, Callable[[Any], Any]]]:
        """Hook: a Thinc-convention forward for this node when it is called on the Thinc face.

        Return None (the default) to build the face from ``forward`` and autograd, or
        ``(Y, backprop)`` with ``backprop(dY) -> dX`` (framework wrappers running Thinc-style
        converters do). It runs under the call's mode (``self.training``/``self.thinc_face``);
        the base makes ``backprop`` one-shot and replaces it after ``is_train=False``. A custom
        layer (``Model(name, forward)``) runs its ``forward`` here.
        """
        func = self.__dict__.get("_func")
        return None if func is None else func(self, X, is_train)

    def forward(self, X: Any) -> Any:
        """The torch face of a custom layer (``Model(name, forward)``): its Thinc forward and
        backprop as one autograd node (``thinc_model.torch_forward``). Layers override this."""
        if self.__dict__.get("_func") is None:
            raise NotImplementedError(f"{self.name}: {type(self).__name__} has no forward; pass forward= or subclass")
        from .thinc_model import torch_forward

        return torch_forward(self, X)

    #: False for layers no gradient flows through (the preprocessing layers): their Thinc-face backprop
    #: ignores dY, as Thinc's ``lambda dY: []`` does (``backprop([])`` is how Thinc's tests call it).
    backprop_reads_dY: bool = True

    def thinc_dX(self, X: Any, dX: Any) -> Any:
        """Hook: what the Thinc face's backprop returns, given the call's input ``X`` (as passed)
        and autograd's ``dX``. Default ``dX``; Thinc's preprocessing layers return ``[]`` and
        SparseLinear the input tuple itself, and so do ours."""
        return dX

    def foreign_params(self) -> List[Tuple[str, nn.Parameter]]:
        """Hook: ``(torch_name, parameter)`` pairs outside Thinc's param table (a wrapped
        framework's weights) that ``finish_update`` with a Thinc optimizer updates, with key
        ``(model.id, torch_name)`` (Thinc's shim keys). Default none."""
        return []

    def _thinc_call(self, X: Any, is_train: bool) -> Tuple[Any, Callable[[Any], Any]]:
        """The Thinc face: X's array kind in, the same kind out (``arrays.py``; numpy for inputs
        without arrays on the CPU, as Thinc's ops); dX comes back in X's kind too. An
        ``is_train=False`` call runs without autograd; its backprop (Thinc returns one) runs the
        forward again in inference mode with autograd when called (``_backprop_after_inference``)."""
        kind = array_kind(X) or self._default_kind()
        token, inside = _THINC_MODE.set(is_train), _INSIDE.set(True)
        try:
            custom = self.thinc_forward(X, is_train)
            if custom is not None:
                Y, backprop = custom
                if not is_train and self.__dict__.get("_func") is None:  # a wrapper's hook; custom layers' is Thinc's
                    return to_kind(Y, kind), _no_backprop(self.name)
                return to_kind(Y, kind), _OneShot(self.name, lambda dY: to_kind(backprop(dY), kind))
            if not is_train:
                Xt = to_torch(X, self.device)
                with torch.no_grad():
                    Y = _inputs_as_given(self(Xt), X, tree_flatten(Xt)[0])  # the torch face, under the call's mode
                return to_kind(Y, kind), _OneShot(self.name, lambda dY: self._backprop_after_inference(X, kind, dY))
            return self._autograd_call(X, kind)
        finally:
            _THINC_MODE.reset(token)
            _INSIDE.reset(inside)

    def _autograd_call(self, X: Any, kind: str) -> Tuple[Any, Callable[[Any], Any]]:
        """The forward with autograd on tracked copies of X's float leaves, under the call's mode."""
        device = self.device
        leaves, spec = tree_flatten(to_torch(X, device))
        tracked = [leaf.detach().requires_grad_(True) if is_float_tensor(leaf) else leaf for leaf in leaves]
        with torch.enable_grad():
            Y = self(tree_unflatten(tracked, spec))
        backprop = _AutogradBackprop(self, X, leaves, tracked, spec, Y, device, kind).guarded()
        return to_kind(tree_map(_detach, _inputs_as_given(Y, X, tracked)), kind), backprop

    def _backprop_after_inference(self, X: Any, kind: str, dY: Any) -> Any:
        """The backprop of an ``is_train=False`` call: every node may refuse
        (``check_backprop_after_inference``), then the forward runs again in inference mode (no
        dropout) with autograd and its backprop takes dY. The forward is paid for only when asked."""
        for node in self.walk():
            node.check_backprop_after_inference()
        token, inside = _THINC_MODE.set(False), _INSIDE.set(True)
        try:
            _, backprop = self._autograd_call(X, kind)
        finally:
            _THINC_MODE.reset(token)
            _INSIDE.reset(inside)
        return backprop(dY)

    def check_backprop_after_inference(self) -> None:
        """Hook: raise when this node has no Thinc backprop after an ``is_train=False`` call (Thinc's
        unnormalized Softmax raises ValueError then: its output is the logits). Default: it has one."""

    def _default_kind(self) -> str:
        """The kind for an input without arrays (strings, Docs): at the top level, the array kind
        of this model's ops (numpy on the CPU, as Thinc's NumpyOps; torch elsewhere); nested in
        another Thinc-face call or in ``initialize``, torch (the caller is torchlayers code)."""
        return "numpy" if self.device.type == "cpu" and not _INSIDE.get() else "torch"

    # ------------------------------------------------------------------ initialize
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

    # ------------------------------------------------------------------ dims
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

    # ------------------------------------------------------------------ params
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
            from .thinc_model import declare_free_param

            declare_free_param(self, name)  # Thinc's custom layers add params by setting them
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
            spec.on_store(self)

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

    # ------------------------------------------------------------------ grads
    @property
    def grad_names(self) -> Tuple[str, ...]:
        """The names of the params that currently hold a gradient (``.grad`` is not None)."""
        return tuple(n for n in self._param_specs if self.has_grad(n))

    def has_grad(self, name: str) -> bool:
        """True when param ``name`` is allocated and holds a gradient; False otherwise (unknown names too)."""
        return (
            # has_param's None (declared, not set) passes through as a falsy result
            name in self._param_specs and self.has_param(name)  # type: ignore[return-value]
            and getattr(self, self._param_specs[name].attr).grad is not None
        )

    def get_grad(self, name: str) -> Any:
        """Param ``name``'s gradient as an array of the model's ops sharing its memory (as
        ``get_param``); ``get_grad_tensor`` gives the tensor."""
        return param_array(self.get_grad_tensor(name))

    def get_grad_tensor(self, name: str) -> Tensor:
        """Param ``name``'s gradient as the live tensor (``.grad``, Thinc's layout)."""
        grad = self._param_tensor(name, "get grad of").grad
        if grad is None:
            raise ParamError(f"{self.name}: param {name!r} has no gradient yet; run a backprop first")
        return grad

    def maybe_get_grad(self, name: str) -> Optional[Any]:
        """``get_grad(name)``, or None while the param has no gradient."""
        return self.get_grad(name) if self.has_grad(name) else None

    def set_grad(self, name: str, value: Any) -> None:
        """Replace param ``name``'s gradient: an array of the param's shape (Thinc layout) or a
        number, which fills it (``set_grad("W", 0.0)`` zeroes the gradient)."""
        param = self._param_tensor(name, "set grad of")
        param.grad = self._grad_value(name, param, value, "set_grad").clone()

    def inc_grad(self, name: str, value: Any) -> None:
        """Add ``value`` (an array of the param's shape, or a number) to param ``name``'s gradient
        (inside a custom layer's torch-face backward: to the gradient autograd receives)."""
        param = self._param_tensor(name, "inc grad of")
        value = self._grad_value(name, param, value, "inc_grad")
        if self.__dict__.get("_func") is not None:
            from .thinc_model import sink_grad

            if sink_grad(param, value):
                return
        if param.grad is None:
            param.grad = value.clone()
        else:
            param.grad += value

    def _grad_value(self, name: str, param: Tensor, value: Any, action: str) -> Tensor:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return torch.full_like(param, float(value))
        t = to_torch(value, param.device)
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{self.name}: {action}({name!r}) expected an array of shape {tuple(param.shape)} or a number, got "
                f"{type(value).__name__}"
            )
        if tuple(t.shape) != tuple(param.shape):
            raise ValueError(
                f"{self.name}: {action}({name!r}) expected a gradient of shape "
                f"{self._shape_text(self._param_specs[name])} "
                f"= {tuple(param.shape)}, got {tuple(t.shape)}; gradients are never reshaped"
            )
        return t.to(param.dtype)

    def finish_update(self, optimizer: Any) -> None:
        """Apply a torch optimizer (``step`` then ``zero_grad``), or a Thinc optimizer
        (called per param as ``optimizer((id, name), param, grad)`` in walk order, then on each
        node's ``foreign_params()``)."""
        if isinstance(optimizer, torch.optim.Optimizer):
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return
        if not callable(optimizer):
            raise TypeError(
                f"{self.name}: finish_update expects a torch.optim.Optimizer or a Thinc optimizer, got "
                f"{type(optimizer).__name__}"
            )
        for node in self.walk():
            for name in node.param_names:
                if node.has_grad(name):
                    param, grad = node.get_param_tensor(name), node.get_grad_tensor(name)
                    new_param, _ = optimizer((node.id, name), param.cpu().numpy().copy(), grad.cpu().numpy().copy())
                    node.set_param(name, new_param)
                    node._param_tensor(name, "update").grad = None
            apply_thinc_optimizer(node, optimizer, node.foreign_params())

    # ------------------------------------------------------------------ attrs, refs, tree
    @property
    def attrs(self) -> LiveAttrs:
        """Thinc's ``model.attrs``: a live dict view of this node's attrs (``dropout_rate``, ``nOs``...).

        Values are the module's own attributes: ``model.attrs["dropout_rate"] = 0.5`` changes what the
        next ``forward`` reads. Unknown keys raise KeyError naming the known ones.
        """
        return LiveAttrs(self)

    def set_attr(self, key: str, value: Any) -> None:
        """Set attr ``key`` (``model.attrs[key] = value``), registering it on first use.

        The value is stored as a module attribute (what ``forward`` reads) and serialized when it is
        JSON-able. Raises ValueError when ``key`` would shadow a method or property of the class.
        """
        if key not in self._attr_names:
            if hasattr(self, key) and not key.startswith("_"):
                existing = getattr(type(self), key, None)
                if callable(existing) or isinstance(existing, property):
                    raise ValueError(f"{self.name}: attr name {key!r} clashes with a method of {type(self).__name__}")
            self._attr_names.append(key)
        setattr(self, key, value)

    @property
    def id(self) -> int:
        """A process-unique int naming this node (Thinc's ``model.id``): the key of ``get_gradients``, optimizers
        and shims; ``copy()`` gives new ids.
        """
        return self._id

    @property
    def ref_names(self) -> Tuple[str, ...]:
        """The names of this node's refs (Thinc's: named pointers to nodes of the tree), set or not."""
        return tuple(self._refs)

    def has_ref(self, name: str) -> Optional[bool]:
        """Thinc's three answers: True when ref ``name`` is set, None while declared but unset, False when unknown."""
        if name not in self._refs:
            return False
        return None if self._refs[name] is None else True

    def get_ref(self, name: str) -> Model:
        """The node ref ``name`` points to: KeyError for an unknown name, ValueError while the
        ref is declared but unset (as Thinc)."""
        if name not in self._refs:
            raise KeyError(f"{self.name}: ref {name!r} is unknown; the refs are {list(self._refs)}")
        if self._refs[name] is None:
            raise ValueError(f"{self.name}: ref {name!r} is unset; set it with set_ref({name!r}, node)")
        return self._refs[name]  # type: ignore[return-value]

    def maybe_get_ref(self, name: str) -> Optional[Model]:
        """The node ref ``name`` points to, or None while it is unset or unknown."""
        return self._refs.get(name)

    def set_ref(self, name: str, value: Optional[Model]) -> None:
        """Point ref ``name`` at ``value`` (a node of this model's tree) or None; declares the ref on first use.

        Raises ValueError when ``value`` is not a node of this tree (Thinc accepts any model; a ref
        outside the tree could not be saved or copied with it).
        """
        if value is not None and all(value is not node for node in self.walk()):
            raise ValueError(f"{self.name}: cannot set ref {name!r} to {value.name!r}: it is not a node of this model")
        self._refs[name] = value

    @property
    def _layers(self) -> nn.ModuleList:
        """Thinc's private layers list, which Thinc code reads, appends to and assigns: ``layers``
        itself; assigning a list replaces it (a ``ModuleList``, so the children stay registered)."""
        return self.layers

    @_layers.setter
    def _layers(self, value: Sequence[Model]) -> None:
        self.layers = nn.ModuleList(value)

    def walk(self, *, order: str = "bfs") -> List[Model]:
        """Every node, this one included, deduplicated by identity (Thinc's orders)."""
        if order == "bfs":
            queue, seen, out = [self], set(), []
            while queue:
                node = queue.pop(0)
                if id(node) in seen:
                    continue
                seen.add(id(node))
                out.append(node)
                # a Model's layers hold Models (ModuleList iterates as Module)
                queue.extend(node.layers)  # type: ignore[arg-type]
            return out
        if order in ("dfs_pre", "dfs_post"):
            seen, out = set(), []

            def visit(node: Model) -> None:
                if id(node) in seen:
                    return
                seen.add(id(node))
                if order == "dfs_pre":
                    out.append(node)
                for child in node.layers:
                    # a Model's layers hold Models (ModuleList iterates as Module)
                    visit(child)  # type: ignore[arg-type]
                if order == "dfs_post":
                    out.append(node)

            visit(self)
            return out
        raise ValueError(f"{self.name}: Invalid order {order!r} for walk(); use 'bfs', 'dfs_pre' or 'dfs_post'")

    @contextlib.contextmanager
    def use_params(self, params: Dict[Tuple[int, str], Any]) -> Iterator[None]:
        """Thinc's ``use_params``: inside the block, every ``(node.id, name)`` in ``params``
        holds that value (spaCy evaluates with ``use_params(optimizer.averages)``); the old
        values come back afterwards, also on error. Each node's ``foreign_params()`` (a wrapped
        framework's weights, keyed ``(node.id, torch_name)`` as ``finish_update``) are swapped too."""
        backup: List[Tuple[Model, str, Tensor]] = []
        foreign: List[Tuple[nn.Parameter, Tensor]] = []
        seen: set = set()
        try:
            for node in self.walk():
                for name in node.param_names:
                    key = (node.id, name)
                    if key in params and node.has_param(name):
                        backup.append((node, name, node.get_param_tensor(name).clone()))
                        node.set_param(name, params[key])
                for name, p in node.foreign_params():
                    key = (node.id, name)
                    if key not in params or id(p) in seen:
                        continue
                    seen.add(id(p))
                    value = to_torch(params[key], p.device).to(p.dtype)
                    if value.numel() != p.numel():
                        raise ValueError(f"{node.name}: use_params got {tuple(value.shape)} for {name!r}, expected "
                                         f"{tuple(p.shape)} ({p.numel()} values)")
                    with torch.no_grad():
                        foreign.append((p, p.detach().clone()))
                        p.copy_(value.reshape(p.shape))
            yield
        finally:
            with torch.no_grad():
                for p, old in reversed(foreign):
                    p.copy_(old)
            for node, name, value in reversed(backup):
                node.set_param(name, value)

    def replace_node(self, old: Model, new: Model) -> bool:
        """Replace ``old`` by ``new`` in every layers list and ref of the tree (post-order, as
        Thinc); True when ``old`` was found."""
        seen = False
        for node in list(self.walk(order="dfs_post")):
            if node is old:
                seen = True
                continue
            for i, layer in enumerate(node.layers):
                if layer is old:
                    node.layers[i] = new
            for name, ref in node._refs.items():
                if ref is old:
                    node._refs[name] = new
        return seen

    def remove_node(self, node: Model) -> None:
        """Remove ``node`` from every layers list; refs left pointing outside the tree become None."""
        for parent in list(self.walk()):
            kept = [layer for layer in parent.layers if layer is not node]
            if len(kept) != len(parent.layers):
                parent.layers = nn.ModuleList(kept)
        tree = {id(n) for n in self.walk()}
        for n in self.walk():
            for name, ref in n._refs.items():
                if ref is not None and id(ref) not in tree:
                    n._refs[name] = None

    def to_cpu(self) -> Model:
        """Thinc's ``to_cpu``: move the model's parameters and buffers to the CPU."""
        return self.to("cpu")

    def to_gpu(self, gpu_id: int = 0) -> Model:
        """Thinc's ``to_gpu``: move the model's parameters and buffers to CUDA device ``gpu_id``."""
        return self.to(torch.device("cuda", gpu_id))

    def get_gradients(self) -> Dict[Tuple[int, str], Tuple[Any, Any]]:
        """Thinc's ``get_gradients``: ``{(node.id, name): (param, grad)}`` for every param in the tree
        that holds a gradient, both as arrays of the model's ops in Thinc's layout, sharing memory.
        """
        return {(n.id, p): (n.get_param(p), n.get_grad(p)) for n in self.walk() for p in n.param_names if n.has_grad(p)}

    def copy(self: _M) -> _M:
        """A deep copy with new ids; shared subnodes stay shared."""
        import copy as _copy

        clone = _copy.deepcopy(self)
        for node in clone.walk():
            node._id = _next_id()
        return clone

    # ------------------------------------------------------------------ misc
    @property
    def device(self) -> torch.device:
        """The torch.device of this node's first parameter or buffer; the CPU for a node that has none."""
        for t in itertools.chain(self.parameters(), self.buffers()):
            return t.device
        return torch.device("cpu")

    @property
    def ops(self) -> TorchOps:
        """The ops this node computes with: torchlayers' ``TorchOps`` for its device."""
        return ops_for(self.device)

    @ops.setter
    def ops(self, ops: Any) -> None:
        """Thinc's ``model.ops = ops``: choose the device (NumpyOps / Thinc's base Ops: the CPU,
        CupyOps: CUDA, a ``TorchOps`` or a torch.device: its device); this node and its subtree
        move there. The kernels stay torchlayers' (see COMPATIBILITY.md)."""
        self.to(_ops_device(self.name, ops))

    def _to_ops(self, ops: Any) -> None:
        """Thinc's ``_to_ops``: set ``ops`` on every node."""
        for node in self.walk():
            node.ops = ops

    def extra_repr(self) -> str:
        dims = ", ".join(f"{k}={'?' if v is None else v}" for k, v in self._dims.items())
        return f"name={self.name!r}" + (f", {dims}" if dims else "")

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> Dict[str, List[Any]]:
        """Thinc's dict form (``thinc_dict.py``): nodes, attrs, params, shims in walk order."""
        from .thinc_dict import model_to_dict

        return model_to_dict(self)

    def from_dict(self, msg: Dict[str, List[Any]]) -> Model:
        """Load ``to_dict``'s form into this tree (same structure): names, dims, refs, attrs, params."""
        from .thinc_dict import model_from_dict

        return model_from_dict(self, msg)

    def can_from_dict(self, msg: Any, *, strict: bool = True) -> bool:
        """Whether ``from_dict(msg)`` fits this tree (names when ``strict``, dims, param shapes)."""
        from .thinc_dict import model_can_from_dict

        return model_can_from_dict(self, msg, strict=strict)

    def to_bytes(self) -> bytes:
        """The whole tree as bytes: a safetensors file with a JSON header of the node tree (names, classes,
        dims, refs, attrs (non-JSON ones through ``serialize_attr``), custom shims' bytes) and a checksum; no
        pickle (``torchlayers/serialize.py``).

        Not Thinc's msgpack format: ``torchlayers.to_thinc`` / ``load_thinc_bytes`` speak that one.
        """
        from .serialize import model_to_bytes

        return model_to_bytes(self)

    def from_bytes(self: _M, data: bytes) -> _M:
        """Load ``to_bytes``'s output into this tree (same structure) and return ``self``.

        All or nothing: the file is validated first (layout, checksum, header, node names and
        classes, dims and shapes); any mismatch raises ModelFileError (a ValueError) naming the part
        of the file, and the model stays bitwise unchanged.
        """
        from .serialize import model_from_bytes

        # model_from_bytes fills and returns self
        return model_from_bytes(self, data)  # type: ignore[return-value]

    def to_disk(self, path: Any) -> None:
        """Write ``to_bytes()`` to the file ``path`` (a str or path-like)."""
        from pathlib import Path

        Path(path).write_bytes(self.to_bytes())

    def from_disk(self: _M, path: Any) -> _M:
        """``from_bytes`` of the file at ``path``; returns ``self``. Raises ModelFileError as ``from_bytes``."""
        from pathlib import Path

        return self.from_bytes(Path(path).read_bytes())

    # ------------------------------------------------------------------ operators
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
    # ``>>`` is chain (Thinc's convention): Model[InT, Mid] >> Model[Mid, T] is a Model[InT, T]
    def __rshift__(self, other: Model[OutT, _T]) -> Model[InT, _T]: return self._operator(">>", other)
    def __and__(self, other: Any) -> Model: return self._operator("&", other)
    def __xor__(self, other: Any) -> Model: return self._operator("^", other)
    def __or__(self, other: Any) -> Model: return self._operator("|", other)

    __hash__ = nn.Module.__hash__


class _OneShot:
    """The one backprop guard: ``fn`` runs once; a second call raises (atomic under threads).

    ``prepare(dY)`` (optional) checks dY first: a bad dY raises without using up the call.
    """

    __slots__ = ("_fn", "_lock", "_name", "_prepare")

    def __init__(self, name: str, fn: Callable[[Any], Any], prepare: Optional[Callable[[Any], Any]] = None) -> None:
        self._name, self._fn, self._prepare, self._lock = name, fn, prepare, threading.Lock()

    def __call__(self, dY: Any) -> Any:
        prepare = self._prepare  # None once used
        args = prepare(dY) if prepare is not None else dY
        if not self._lock.acquire(blocking=False):  # atomic: one of two racing calls wins
            raise RuntimeError(f"{self._name}: this backprop callback was already called; run the forward pass again")
        # drop the graph once used (_fn is None from then on)
        fn, self._fn, self._prepare = self._fn, None, None  # type: ignore[assignment]
        return fn(args)


class _AutogradBackprop:
    """The Thinc-face backprop built from autograd: dY -> dX (via ``model.thinc_dX``).

    ``torch.autograd.backward(..., inputs=tracked inputs + params)`` accumulates into ``.grad``
    through autograd's AccumulateGrad (hooks, DDP/FSDP reducers, thread-safe accumulation);
    dX is read from the call's own tracked input leaves.
    """

    __slots__ = ("X", "Y", "device", "kind", "leaves", "model", "spec", "tracked")

    def __init__(self, model: Model, X: Any, leaves: List[Any], tracked: List[Any], spec: Any, Y: Any,
                 device: torch.device, kind: Optional[str] = None) -> None:
        self.model, self.X, self.leaves, self.tracked = model, X, leaves, tracked
        self.spec, self.Y, self.device = spec, Y, device
        self.kind = kind

    def guarded(self) -> _OneShot:
        return _OneShot(self.model.name, self.run, self.prepare)

    def prepare(self, dY: Any) -> Tuple[List[Tensor], List[Tensor]]:
        """Check dY against Y: the (output, cotangent) pairs that carry a graph."""
        if not self.model.backprop_reads_dY:  # no gradient flows (preprocessing): dY is not read, as Thinc's
            return [], []
        name = self.model.name
        dY = to_torch(dY, self.device)
        y_leaves, y_spec = tree_flatten(self.Y)
        if isinstance(dY, Tensor) and len(y_leaves) > 1 and is_float_tensor(y_leaves[0]):
            dY_leaves = [dY] + [None] * (len(y_leaves) - 1)  # dY given for a Ragged/Padded's data only
        else:
            dY_leaves, dy_spec = tree_flatten(dY)
            if len(dY_leaves) != len(y_leaves):
                raise ValueError(f"{name}: backprop expected dY shaped like Y ({y_spec}), got {dy_spec}")
        outputs, grads = [], []
        for y, dy in zip(y_leaves, dY_leaves):
            if not (isinstance(y, Tensor) and y.requires_grad):
                continue
            if not isinstance(dy, Tensor):
                raise ValueError(
                    f"{name}: backprop expected a gradient tensor of shape {tuple(y.shape)}, got {type(dy).__name__}"
                )
            if tuple(dy.shape) != tuple(y.shape):
                raise ValueError(f"{name}: backprop expected dY of shape {tuple(y.shape)}, got {tuple(dy.shape)}")
            outputs.append(y)
            grads.append(dy.to(y.dtype))
        return outputs, grads

    def run(self, prepared: Tuple[List[Tensor], List[Tensor]]) -> Any:
        outputs, grads = prepared
        targets = [t for t in self.tracked if isinstance(t, Tensor) and t.requires_grad]
        targets += [p for p in self.model.parameters() if p.requires_grad]
        self.Y = None
        if outputs and targets:
            torch.autograd.backward(outputs, grads, inputs=targets)
        top_level = len(self.leaves) == 1
        dX = []
        for leaf, t in zip(self.leaves, self.tracked):
            if isinstance(t, Tensor) and t.requires_grad:
                dX.append(torch.zeros_like(leaf) if t.grad is None else t.grad)
            elif top_level and isinstance(leaf, Tensor):
                dX.append(torch.zeros_like(leaf))  # Thinc returns zeros for integer ids
            else:
                dX.append(leaf)
        return to_kind(self.model.thinc_dX(self.X, tree_unflatten(dX, self.spec)), self.kind)


def apply_thinc_optimizer(model: Model, optimizer: Any, named_params: List[Tuple[str, nn.Parameter]]) -> None:
    """Thinc's shim ``finish_update``: ``optimizer((model.id, name), param, grad)`` for every
    parameter with a gradient, written back in place, then the gradient is dropped."""
    for name, p in named_params:
        if p.grad is None:
            continue
        new, _ = optimizer((model.id, name), p.detach().cpu().numpy().copy(), p.grad.detach().cpu().numpy().copy())
        with torch.no_grad():
            p.copy_(to_torch(new, p.device).to(p.dtype).reshape(p.shape))
        p.grad = None


def wrap_model_recursive(model: Model, wrapper: Callable[[Model], Model]) -> Model:
    """Thinc's ``wrap_model_recursive``: wrap every node of ``model`` in place (``replace_node``),
    then return ``wrapper(model)``."""
    for node in list(model.walk()):
        model.replace_node(node, wrapper(node))
    return wrapper(model)


def _ops_device(name: str, ops: Any) -> torch.device:
    """The torch device an ops object (ours, Thinc's, or a device) stands for."""
    if isinstance(ops, torch.device):
        return ops
    if isinstance(ops, TorchOps):
        return ops.device
    device_type = getattr(ops, "device_type", None)
    if device_type == "cpu":
        return torch.device("cpu")
    if device_type == "gpu":
        return torch.device("cuda", int(getattr(ops, "device_id", 0) or 0))
    if device_type == "mps":
        return torch.device("mps")
    raise TypeError(
        f"{name}: model.ops expects a Thinc Ops (NumpyOps, CupyOps, MPSOps), a torchlayers TorchOps or a "
        f"torch.device, got {type(ops).__name__}"
    )


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
    from .util import DATA_VALIDATION  # util imports this module

    if outermost and DATA_VALIDATION.get() and not isinstance(error, DataValidationError):
        raise DataValidationError(name, X, Y, [{"msg": f"{type(error).__name__}: {error}"}]) from error


def _no_backprop(name: str) -> Callable[[Any], Any]:
    def backprop(dY: Any) -> Any:
        raise RuntimeError(f"{name}: no backprop after is_train=False; call model(X, is_train=True) to train")

    return backprop


def _inputs_as_given(Y: Any, X: Any, inputs: List[Any]) -> Any:
    """Y with every output leaf that is one of the call's input tensors (``inputs``, X's leaves as
    converted) replaced by the caller's own object it came from: Thinc's ``noop()(X)`` is X."""
    given, _ = tree_flatten(X)
    if len(given) != len(inputs):
        return Y
    by_id = {id(t): x for t, x in zip(inputs, given) if isinstance(t, Tensor)}
    return tree_map(lambda y: by_id.get(id(y), y), Y) if by_id else Y


def _detach(x: Any) -> Any:
    return x.detach() if isinstance(x, Tensor) else x


def _as_dim(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or int(value) < 0:
        raise DimError(f"{layer}: dim {name!r} must be a non-negative int, got {value!r}")
    return int(value)


def _as_float_tensor(value: Any, layer: str, name: str) -> Tensor:
    t = to_torch(value)
    if not isinstance(t, Tensor):
        t = torch.as_tensor(t)
    if not t.is_floating_point():
        raise TypeError(f"{layer}: param {name!r} must be floating point, got dtype {t.dtype}")
    return t
