"""The ``Model`` base class: an ``nn.Module`` with Thinc's API written once.

Two faces, one implementation:

- **torch face** -- ``model(X)`` goes through ``nn.Module.__call__`` untouched (hooks,
  ``torch.compile``, ``torch.export`` and ``torch.jit.script`` work). ``forward`` takes tensors,
  ``Ragged``/``Padded`` NamedTuples or lists and returns the same; no closures.
- **Thinc face** -- ``model(X, is_train=True)`` returns ``(Y, backprop)``; ``backprop(dY)``
  returns dX and accumulates parameter gradients into ``.grad`` (Thinc's ``inc_grad``). It is
  built from ``forward`` and ``torch.autograd.grad``, so every layer gets it for free.

Parameters carry torch names in ``state_dict`` (``weight``, ``bias``); ``get_param``/``set_param``
expose Thinc's names, shapes and layouts (``W``, ``b``...). Dims use Thinc's names (``nO``,
``nI``...), print as ``?`` while unset, and are inferred by ``initialize(X, Y)``.
"""
from __future__ import annotations

import contextlib
import contextvars
import itertools
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, MutableMapping, Optional, Sequence, Tuple, Union

import numpy
import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten

from .convert import get_width, is_float_tensor, to_torch
from .errors import DimError, ParamError
from .ops import TorchOps, ops_for

__all__ = ["Model", "ParamSpec"]

_OPERATORS: contextvars.ContextVar[Dict[str, Callable[..., Any]]] = contextvars.ContextVar(
    "torchlayers_operators", default={}
)
_ids = itertools.count(1)
_ids_lock = threading.Lock()


def _next_id() -> int:
    with _ids_lock:
        return next(_ids)


@dataclass
class ParamSpec:
    """A Thinc-named parameter: its torch attribute, its shape in dims, its initializer."""

    attr: str
    shape: Tuple[Union[str, int], ...]
    init: Callable[[Any, Sequence[int]], Any]


class LiveAttrs(MutableMapping):
    """``model.attrs``: a dict view whose values are the module's own attributes, so
    ``node.attrs["dropout_rate"] = 0.5`` changes what ``forward`` reads on the next call."""

    def __init__(self, model: "Model") -> None:
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


class Model(nn.Module):
    """Base of every torchlayers layer and combinator (Thinc's ``Model`` on ``nn.Module``)."""

    #: Thinc's registry name, e.g. ``"Linear.v1"`` (None for unregistered helpers).
    registry_name: Optional[str] = None
    #: True for layers whose Thinc-face backprop follows a Thinc convention instead of the
    #: true gradient (Softmax takes d_logits); the base sets ``thinc_face`` on them.
    thinc_convention: bool = False
    __jit_unused_properties__ = ["attrs", "ops", "device", "dim_names", "param_names", "grad_names", "ref_names", "id"]

    def __init__(
        self,
        name: str,
        *,
        dims: Optional[Dict[str, Optional[int]]] = None,
        layers: Sequence["Model"] = (),
        attrs: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__()
        self.name = name
        self._id = _next_id()
        self._dims: Dict[str, Optional[int]] = {}
        for key, value in (dims or {}).items():
            self._dims[key] = None if value is None else _as_dim(name, key, value)
        self._param_specs: Dict[str, ParamSpec] = {}
        self._attr_names: List[str] = []
        self._refs: Dict[str, Optional["Model"]] = {}
        self.thinc_face = False
        self.layers = nn.ModuleList(layers)
        for key, value in (attrs or {}).items():
            self.set_attr(key, value)

    # ------------------------------------------------------------------ Thinc face
    def __call__(self, *args: Any, is_train: Optional[bool] = None, **kwargs: Any) -> Any:
        if is_train is None and len(args) == 2 and isinstance(args[1], bool) and not kwargs:
            args, is_train = (args[0],), args[1]  # Thinc's positional model(X, is_train)
        if is_train is None:
            return super().__call__(*args, **kwargs)
        if len(args) != 1 or kwargs:
            raise TypeError(f"{self.name}: the Thinc face takes model(X, is_train=...), got {len(args)} args")
        return self._thinc_call(args[0], bool(is_train))

    def begin_update(self, X: Any) -> Tuple[Any, Callable[[Any], Any]]:
        """Thinc's ``begin_update``: ``model(X, is_train=True)``."""
        return self._thinc_call(X, True)

    def predict(self, X: Any) -> Any:
        """Thinc's ``predict``: the output of ``model(X, is_train=False)``."""
        return self._thinc_call(X, False)[0]

    def _thinc_call(self, X: Any, is_train: bool) -> Tuple[Any, Callable[[Any], Any]]:
        device = self.device
        X = to_torch(X, device)
        modules = list(self.modules())  # one traversal: modes, conventions and the train flag
        modes = [m.training for m in modules]
        conventions = [m for m in modules if isinstance(m, Model) and m.thinc_convention]
        try:
            for m in modules:  # what self.train(is_train) does (no module here overrides train())
                m.training = is_train
            for m in conventions:
                m.thinc_face = True
            if not is_train:
                with torch.no_grad():
                    Y = nn.Module.__call__(self, X)
                return Y, _no_backprop(self.name)
            leaves, spec = tree_flatten(X)
            tracked = [leaf.detach().requires_grad_(True) if is_float_tensor(leaf) else leaf for leaf in leaves]
            with torch.enable_grad():
                Y = nn.Module.__call__(self, tree_unflatten(tracked, spec))
        finally:
            for m, mode in zip(modules, modes):
                m.training = mode
            for m in conventions:
                m.thinc_face = False
        return tree_map(_detach, Y), _Backprop(self, leaves, tracked, spec, Y, device)

    # ------------------------------------------------------------------ initialize
    def initialize(self, X: Any = None, Y: Any = None) -> "Model":
        """Infer unset dims from samples (Thinc's ``get_width``), then (re)draw parameters.

        Raises ValueError when a sample conflicts with a dim that is already set.
        """
        device = self.device
        X = to_torch(X, device) if X is not None else None
        Y = to_torch(Y, device) if Y is not None else None
        with torch.no_grad():
            self._initialize(X, Y)
        return self

    def _initialize(self, X: Any, Y: Any) -> None:
        """Per-layer initialization; containers override to recurse (Thinc's ``init``)."""
        if X is not None and "nI" in self._dims:
            self.set_dim("nI", get_width(X))
        if Y is not None and "nO" in self._dims:
            self.set_dim("nO", get_width(Y))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every declared parameter with its initializer (needs all its dims)."""
        for name, spec in self._param_specs.items():
            shape = self._param_shape(name, spec, strict=True)
            value = _as_float_tensor(spec.init(self.ops, shape), self.name, name)
            if tuple(value.shape) != shape:
                raise ValueError(
                    f"{self.name}: initializer for {name} returned shape {tuple(value.shape)}, expected {shape}"
                )
            self._store_param(spec.attr, value)

    # ------------------------------------------------------------------ dims
    @property
    def dim_names(self) -> Tuple[str, ...]:
        return tuple(self._dims)

    def has_dim(self, name: str) -> Optional[bool]:
        """True if set, None if declared but unset, False if unknown (Thinc's tri-state)."""
        if name not in self._dims:
            return False
        return None if self._dims[name] is None else True

    def get_dim(self, name: str) -> int:
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
        return self._dims.get(name)

    def set_dim(self, name: str, value: Optional[int], *, force: bool = False) -> None:
        if name not in self._dims:
            raise KeyError(f"{self.name}: cannot set dim {name!r}: the layer has dims {list(self._dims)}")
        value = None if value is None else _as_dim(self.name, name, value)
        old = self._dims[name]
        if old is not None and value != old:
            allocated = [p for p, s in self._param_specs.items() if name in s.shape and self.has_param(p)]
            if force and allocated and not all(self.has_param(p) for p in self._param_specs):
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
    def declare_param(self, name: str, attr: str, shape: Tuple[Union[str, int], ...], init: Callable) -> None:
        """Register Thinc param ``name`` stored as torch attribute ``attr`` with ``shape`` in dims.

        Allocated now if every dim is known, otherwise on ``initialize``.
        """
        self._param_specs[name] = ParamSpec(attr, tuple(shape), init)
        if attr not in self._parameters:
            self.register_parameter(attr, None)
        if self._param_shape(name, self._param_specs[name], strict=False) is not None:
            with torch.no_grad():
                self._store_param(attr, _as_float_tensor(init(self.ops, self._param_shape(name, self._param_specs[name])), self.name, name))

    @property
    def param_names(self) -> Tuple[str, ...]:
        return tuple(self._param_specs)

    def has_param(self, name: str) -> Optional[bool]:
        if name not in self._param_specs:
            return False
        return None if getattr(self, self._param_specs[name].attr) is None else True

    def _spec(self, name: str, action: str) -> ParamSpec:
        if name not in self._param_specs:
            raise ParamError(f"{self.name}: cannot {action} param {name!r}: the layer has params {list(self._param_specs)}")
        return self._param_specs[name]

    def _param_tensor(self, name: str, action: str) -> nn.Parameter:
        spec = self._spec(name, action)
        value = getattr(self, spec.attr)
        if value is None:
            missing = [d for d in spec.shape if isinstance(d, str) and self._dims.get(d) is None]
            raise ParamError(
                f"Parameter '{name}' for model '{self.name}' has not been allocated yet"
                + (f" (dims {missing} are unset)" if missing else "")
                + "; call initialize() first"
            )
        return value

    def get_param(self, name: str) -> Tensor:
        """The live parameter in Thinc's layout (in-place edits change the model)."""
        return self._param_tensor(name, "get").detach()

    def maybe_get_param(self, name: str) -> Optional[Tensor]:
        return self.get_param(name) if self.has_param(name) else None

    def set_param(self, name: str, value: Any) -> None:
        """Copy ``value`` (Thinc layout; numpy or torch) into param ``name``, checking its shape.

        Unset dims named by the param's shape are set from ``value``.
        """
        spec = self._spec(name, "set")
        if value is None:
            setattr(self, spec.attr, None)
            return
        value = _as_float_tensor(to_torch(value), self.name, name)
        if value.dim() != len(spec.shape):
            raise ValueError(
                f"{self.name}: cannot set param {name!r}: expected a {len(spec.shape)}-D tensor of shape "
                f"{self._shape_text(spec)}, got shape {tuple(value.shape)}"
            )
        for dim, size in zip(spec.shape, value.shape):
            if isinstance(dim, str) and self._dims.get(dim) is None:
                self.set_dim(dim, int(size))
        shape = self._param_shape(name, spec, strict=True)
        if tuple(value.shape) != shape:
            raise ValueError(
                f"{self.name}: cannot set param {name!r}: expected shape {self._shape_text(spec)} = {shape}, "
                f"got {tuple(value.shape)}"
            )
        with torch.no_grad():
            self._store_param(spec.attr, value)

    def _store_param(self, attr: str, value: Tensor) -> None:
        current = getattr(self, attr, None)
        if isinstance(current, nn.Parameter) and current.shape == value.shape:
            current.copy_(value)
        else:
            device = current.device if isinstance(current, Tensor) else self.device
            dtype = current.dtype if isinstance(current, Tensor) else value.dtype
            setattr(self, attr, nn.Parameter(value.to(device=device, dtype=dtype).clone()))

    def _param_shape(self, name: str, spec: ParamSpec, strict: bool = True) -> Optional[Tuple[int, ...]]:
        shape = []
        for d in spec.shape:
            if isinstance(d, int):
                shape.append(d)
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
            shape.append(value)
        return tuple(shape)

    def _shape_text(self, spec: ParamSpec) -> str:
        return "(" + ", ".join(f"{d}={self._dims.get(d, '?') if isinstance(d, str) else d}" if isinstance(d, str) else str(d) for d in spec.shape) + ")"

    # ------------------------------------------------------------------ grads
    @property
    def grad_names(self) -> Tuple[str, ...]:
        return tuple(n for n in self._param_specs if self.has_grad(n))

    def has_grad(self, name: str) -> bool:
        return name in self._param_specs and self.has_param(name) and getattr(self, self._param_specs[name].attr).grad is not None

    def get_grad(self, name: str) -> Tensor:
        grad = self._param_tensor(name, "get grad of").grad
        if grad is None:
            raise ParamError(f"{self.name}: param {name!r} has no gradient yet; run a backprop first")
        return grad

    def set_grad(self, name: str, value: Any) -> None:
        param = self._param_tensor(name, "set grad of")
        param.grad = to_torch(value, param.device).to(param.dtype).reshape(param.shape).clone()

    def inc_grad(self, name: str, value: Any) -> None:
        param = self._param_tensor(name, "inc grad of")
        value = to_torch(value, param.device).to(param.dtype).reshape(param.shape)
        if param.grad is None:
            param.grad = value.clone()
        else:
            param.grad += value

    def finish_update(self, optimizer: Any) -> None:
        """Apply a torch optimizer (``step`` then ``zero_grad``), or a Thinc optimizer
        (called per param as ``optimizer((id, name), param, grad)`` in walk order)."""
        if isinstance(optimizer, torch.optim.Optimizer):
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return
        if not callable(optimizer):
            raise TypeError(f"{self.name}: finish_update expects a torch.optim.Optimizer or a Thinc optimizer, got {type(optimizer).__name__}")
        for node in self.walk():
            for name in node.param_names:
                if node.has_grad(name):
                    param, grad = node.get_param(name), node.get_grad(name)
                    new_param, _ = optimizer((node.id, name), param.cpu().numpy().copy(), grad.cpu().numpy().copy())
                    node.set_param(name, new_param)
                    node._param_tensor(name, "update").grad = None
            extra = getattr(node, "_finish_foreign_update", None)
            if extra is not None:  # framework wrappers (interop/): weights outside Thinc's params
                extra(optimizer)

    # ------------------------------------------------------------------ attrs, refs, tree
    @property
    def attrs(self) -> LiveAttrs:
        return LiveAttrs(self)

    def set_attr(self, key: str, value: Any) -> None:
        if key not in self._attr_names:
            if hasattr(self, key) and not key.startswith("_"):
                existing = getattr(type(self), key, None)
                if callable(existing) or isinstance(existing, property):
                    raise ValueError(f"{self.name}: attr name {key!r} clashes with a method of {type(self).__name__}")
            self._attr_names.append(key)
        setattr(self, key, value)

    @property
    def id(self) -> int:
        return self._id

    @property
    def ref_names(self) -> Tuple[str, ...]:
        return tuple(self._refs)

    def has_ref(self, name: str) -> Optional[bool]:
        if name not in self._refs:
            return False
        return None if self._refs[name] is None else True

    def get_ref(self, name: str) -> "Model":
        if self._refs.get(name) is None:
            raise KeyError(f"{self.name}: ref {name!r} is {'unset' if name in self._refs else 'unknown'}")
        return self._refs[name]  # type: ignore[return-value]

    def maybe_get_ref(self, name: str) -> Optional["Model"]:
        return self._refs.get(name)

    def set_ref(self, name: str, value: Optional["Model"]) -> None:
        if value is not None and all(value is not node for node in self.walk()):
            raise ValueError(f"{self.name}: cannot set ref {name!r} to {value.name!r}: it is not a node of this model")
        self._refs[name] = value

    def walk(self, *, order: str = "bfs") -> List["Model"]:
        """Every node, this one included, deduplicated by identity (Thinc's orders)."""
        if order == "bfs":
            queue, seen, out = [self], set(), []
            while queue:
                node = queue.pop(0)
                if id(node) in seen:
                    continue
                seen.add(id(node))
                out.append(node)
                queue.extend(node.layers)
            return out
        if order in ("dfs_pre", "dfs_post"):
            seen, out = set(), []

            def visit(node: "Model") -> None:
                if id(node) in seen:
                    return
                seen.add(id(node))
                if order == "dfs_pre":
                    out.append(node)
                for child in node.layers:
                    visit(child)
                if order == "dfs_post":
                    out.append(node)

            visit(self)
            return out
        raise ValueError(f"{self.name}: invalid walk order {order!r}; use 'bfs', 'dfs_pre' or 'dfs_post'")

    def get_gradients(self) -> Dict[Tuple[int, str], Tuple[Tensor, Tensor]]:
        return {(n.id, p): (n.get_param(p), n.get_grad(p)) for n in self.walk() for p in n.param_names if n.has_grad(p)}

    def copy(self) -> "Model":
        """A deep copy with new ids; shared subnodes stay shared."""
        import copy as _copy

        clone = _copy.deepcopy(self)
        for node in clone.walk():
            node._id = _next_id()
        return clone

    # ------------------------------------------------------------------ misc
    @property
    def device(self) -> torch.device:
        for t in itertools.chain(self.parameters(), self.buffers()):
            return t.device
        return torch.device("cpu")

    @property
    def ops(self) -> TorchOps:
        return ops_for(self.device)

    def extra_repr(self) -> str:
        dims = ", ".join(f"{k}={'?' if v is None else v}" for k, v in self._dims.items())
        return f"name={self.name!r}" + (f", {dims}" if dims else "")

    # ------------------------------------------------------------------ serialization
    def to_bytes(self) -> bytes:
        from .serialize import model_to_bytes

        return model_to_bytes(self)

    def from_bytes(self, data: bytes) -> "Model":
        from .serialize import model_from_bytes

        return model_from_bytes(self, data)

    def to_disk(self, path: Any) -> None:
        from pathlib import Path

        Path(path).write_bytes(self.to_bytes())

    def from_disk(self, path: Any) -> "Model":
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

    def _operator(self, op: str, other: Any) -> Any:
        fn = _OPERATORS.get().get(op)
        if fn is None:
            raise TypeError(f"Undefined operator: {op}; bind it with Model.define_operators({{'{op}': ...}})")
        return fn(self, other)

    def __add__(self, other: Any) -> Any: return self._operator("+", other)
    def __sub__(self, other: Any) -> Any: return self._operator("-", other)
    def __mul__(self, other: Any) -> Any: return self._operator("*", other)
    def __matmul__(self, other: Any) -> Any: return self._operator("@", other)
    def __truediv__(self, other: Any) -> Any: return self._operator("/", other)
    def __floordiv__(self, other: Any) -> Any: return self._operator("//", other)
    def __mod__(self, other: Any) -> Any: return self._operator("%", other)
    def __pow__(self, other: Any) -> Any: return self._operator("**", other)
    def __lshift__(self, other: Any) -> Any: return self._operator("<<", other)
    def __rshift__(self, other: Any) -> Any: return self._operator(">>", other)
    def __and__(self, other: Any) -> Any: return self._operator("&", other)
    def __xor__(self, other: Any) -> Any: return self._operator("^", other)
    def __or__(self, other: Any) -> Any: return self._operator("|", other)

    __hash__ = nn.Module.__hash__


class _Backprop:
    """The Thinc-face backprop callback: dY -> dX, parameter grads accumulated into ``.grad``."""

    def __init__(self, model: Model, leaves: List[Any], tracked: List[Any], spec: Any, Y: Any, device: torch.device) -> None:
        self.model, self.leaves, self.tracked, self.spec, self.Y, self.device = model, leaves, tracked, spec, Y, device
        self.used = False

    def __call__(self, dY: Any) -> Any:
        name = self.model.name
        if self.used:
            raise RuntimeError(f"{name}: this backprop callback was already called; run the forward pass again")
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
                raise ValueError(f"{name}: backprop expected a gradient tensor of shape {tuple(y.shape)}, got {type(dy).__name__}")
            if tuple(dy.shape) != tuple(y.shape):
                raise ValueError(f"{name}: backprop expected dY of shape {tuple(y.shape)}, got {tuple(dy.shape)}")
            outputs.append(y)
            grads.append(dy.to(y.dtype))
        inputs = [t for t in self.tracked if isinstance(t, Tensor) and t.requires_grad]
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.used = True
        if outputs:
            found = torch.autograd.grad(outputs, inputs + params, grads, allow_unused=True)
        else:
            found = (None,) * (len(inputs) + len(params))
        for p, g in zip(params, found[len(inputs):]):
            if g is not None:
                if p.grad is None:
                    p.grad = g.detach().clone()
                else:
                    p.grad += g
        input_grads = iter(found[: len(inputs)])
        top_level = len(self.leaves) == 1
        dX = []
        for leaf, t in zip(self.leaves, self.tracked):
            if isinstance(t, Tensor) and t.requires_grad:
                g = next(input_grads)
                dX.append(torch.zeros_like(leaf) if g is None else g)
            elif top_level and isinstance(leaf, Tensor):
                dX.append(torch.zeros_like(leaf))  # Thinc returns zeros for integer ids
            else:
                dX.append(leaf)
        self.Y = None
        return tree_unflatten(dX, self.spec)


def _no_backprop(name: str) -> Callable[[Any], Any]:
    def backprop(dY: Any) -> Any:
        raise RuntimeError(f"{name}: no backprop after is_train=False; call model(X, is_train=True) to train")

    return backprop


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
