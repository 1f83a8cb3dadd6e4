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

Layout: ``Model`` (here) is built in layers, each a class over the one below and each using only
those below it: ``node.ModelNode`` (name, id, children, refs, attrs, walk, device and ops) <-
``dims.ModelDims`` <- ``params.ModelParams`` (``ParamSpec``) <- ``grads.ModelGrads`` <-
``optimizer.ModelOptimizer`` (finish_update, use_params) <- ``initialize.ModelInitialize`` <-
``thinc_face.ModelThincFace`` (``mode.py``'s context variables, ``backprop.py``'s callbacks) <-
``serialization.ModelSerialization`` <- ``operators.ModelOperators`` <- ``Model``, which adds the
constructor, the class attributes TorchScript reads and the typed faces (``__call__``,
``begin_update``, ``predict``, ``>>``). Every name is importable from ``torchlayers.model``.
"""
from __future__ import annotations

import types
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    overload,
)

import numpy
import torch
from torch import Tensor, nn

from ..functional.checks import check_call_input
from .backprop import _AutogradBackprop as _AutogradBackprop
from .backprop import _OneShot as _OneShot
from .dims import ModelDims as ModelDims
from .dims import _as_dim
from .grads import ModelGrads as ModelGrads
from .initialize import ModelInitialize as ModelInitialize
from .initialize import _assigned_init_first as _assigned_init_first
from .initialize import _raise_data_validation as _raise_data_validation
from .mode import _INSIDE as _INSIDE
from .mode import _THINC_MODE as _THINC_MODE
from .mode import thinc_mode as thinc_mode
from .node import LiveAttrs as LiveAttrs
from .node import ModelNode as ModelNode
from .node import _ids as _ids
from .node import _ids_lock as _ids_lock
from .node import _next_id
from .node import _ops_device as _ops_device
from .node import wrap_model_recursive as wrap_model_recursive
from .operators import _OPERATORS as _OPERATORS
from .operators import ModelOperators
from .optimizer import ModelOptimizer as ModelOptimizer
from .optimizer import apply_thinc_optimizer as apply_thinc_optimizer
from .params import ModelParams as ModelParams
from .params import ParamSpec
from .params import _as_float_tensor as _as_float_tensor
from .serialization import ModelSerialization as ModelSerialization
from .thinc_face import ModelThincFace as ModelThincFace
from .thinc_face import _detach as _detach
from .thinc_face import _inputs_as_given as _inputs_as_given
from .thinc_face import _no_backprop as _no_backprop

__all__ = [
    "Model", "ParamSpec", "thinc_mode", "wrap_model_recursive",
    # the layers Model is built of, bottom to top (the module docstring)
    "ModelNode", "ModelDims", "ModelParams", "ModelGrads", "ModelOptimizer", "ModelInitialize", "ModelThincFace",
    "ModelSerialization", "ModelOperators",
]

_M = TypeVar("_M", bound="Model")
#: Thinc's ``Model[InT, OutT]`` type parameters: what the torch face's ``forward`` takes and returns.
InT = TypeVar("InT")
OutT = TypeVar("OutT")
_T = TypeVar("_T")


class Model(ModelOperators, Generic[InT, OutT]):
    """Base of every torchlayers layer and combinator (Thinc's ``Model`` on ``nn.Module``).

    Generic like Thinc's ``Model[InT, OutT]`` (``typing.Generic``): InT / OutT are the types the
    torch face's ``forward`` takes and returns, so for a ``Model[Tensor, Tensor]`` a type checker
    infers ``model(X)`` and ``predict(X)`` as ``Tensor``, ``model(X, is_train=True)`` and
    ``begin_update(X)`` as ``(Tensor, Callable[[Tensor], Tensor])`` (backprop: dY -> dX), numpy
    in as numpy out on the Thinc face, and ``a >> b`` (chain) as ``Model[A, C]`` for
    ``Model[A, B] >> Model[B, C]``. At runtime ``Model[InT, OutT]`` is a ``types.GenericAlias``
    of the class (for any subclass too); TorchScript, torch.compile and pickling ignore it.
    """

    # The annotated class attributes stay here: TorchScript reads the annotations of the first annotated class
    # of a layer's MRO (torch.jit._recursive.get_annotations), which is Model for a layer without its own.
    #: Thinc's registry name, e.g. ``"Linear.v1"`` (None for unregistered helpers).
    registry_name: Optional[str] = None
    #: True for layers whose Thinc-face backprop follows a Thinc convention instead of the
    #: true gradient (Softmax takes d_logits); such a layer's forward reads ``self.thinc_face``.
    thinc_convention: bool = False
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
            from ..thinc_model import setup_custom

            setup_custom(self, forward, init=init, params=params, shims=shims, refs=refs, ops=ops)

    def __class_getitem__(cls, params: Any) -> Any:
        """``Model[InT, OutT]``: an annotation-only alias (``typing.get_origin`` gives the class)."""
        if not isinstance(params, tuple) or len(params) != 2:
            got = len(params) if isinstance(params, tuple) else 1
            raise TypeError(f"{cls.__name__}[...] takes two type arguments, Model[InT, OutT]; got {got}")
        return types.GenericAlias(cls, params)

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

    #: False for layers no gradient flows through (the preprocessing layers): their Thinc-face backprop
    #: ignores dY, as Thinc's ``lambda dY: []`` does (``backprop([])`` is how Thinc's tests call it).
    backprop_reads_dY: bool = True

    # ``>>`` is chain (Thinc's convention): Model[InT, Mid] >> Model[Mid, T] is a Model[InT, T]; here, not in
    # operators.py, because it is typed with Model's parameters
    def __rshift__(self, other: Model[OutT, _T]) -> Model[InT, _T]: return self._operator(">>", other)

    __hash__ = nn.Module.__hash__
