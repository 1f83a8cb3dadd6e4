"""The shared machinery of TensorFlowWrapper and MXNetWrapper: a foreign model as a torch module.

- **Data**: inputs, outputs and gradients cross through DLPack without copies (``dlpack.py``).
- **Autograd**: ``_ForeignCall`` is a ``torch.autograd.Function``; its forward runs the foreign
  model under the foreign recorder (``tf.GradientTape`` / ``mx.autograd.record``) and its
  backward asks the foreign framework for the gradients of the inputs *and* of the variables.
- **Weights**: every foreign variable is mirrored by a torch tensor (trainable ones as
  ``nn.Parameter`` in ``model.params``, the others as buffers in ``model.states``), so
  ``state_dict``, ``to_bytes`` and torch optimizers see them. The torch mirrors are the source
  of truth: before each foreign call, every mirror whose data changed (tracked by torch's
  version counter: optimizer steps, ``load_state_dict``, in-place edits) is copied into its
  foreign variable (one copy per changed variable; sharing the storage is not safe: TF copies
  on write, MXNet's engine writes asynchronously). ``finish_update`` and the
  ``<framework>_model`` property sync eagerly; ``sync_from_foreign()`` pulls the other way.
- **Deferred shapes**: a framework model whose weights get their shapes at the first call
  (Gluon's ``Dense(n)`` without ``in_units``) is mirrored after that call: the first call runs
  the model once in inference mode to finish its initialization, then as usual. Build torch
  optimizers after it, as for torch's lazy modules.
- **Thinc's surface**: ``model.shims[0]`` is a ``ForeignShim`` (``foreign_shim.py``);
  ``copy()`` copies the framework model; ``wrapper_class`` builds Thinc's ``model_class``.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

import numpy
import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_unflatten

from ..arrays import array_kind, to_kind
from ..convert import to_torch
from ..model import Model
from ..types import ArgsKwargs
from .foreign_shim import ForeignShim
from .pytorch_wrapper import _is_args_kwargs, as_args_kwargs, map_tensors, same_kind

__all__ = ["ForeignWrapper", "ForeignModelTypeError", "convert_foreign_default_inputs",
           "convert_foreign_default_outputs", "convert_foreign_default_outputs_xy", "wrapper_class"]


class ForeignModelTypeError(TypeError, ValueError):
    """The object to wrap is not a model of the framework (a TypeError; also a ValueError,
    which Thinc's wrappers raise, so Thinc code catching that keeps working)."""


_MODEL_CLASSES: Dict[Tuple[type, type], type] = {}


def wrapper_class(cls: type, model_class: Any) -> type:
    """Thinc's ``model_class`` argument of a framework wrapper: the class to build.

    ``Model`` or ``cls``: ``cls``; a subclass of ``cls``: itself; a user's subclass of
    ``Model`` (Thinc's ``class CustomModel(Model)`` adding methods): one subclass of both, made
    once per pair, named like ``model_class`` and constructed by ``cls.__init__``. Anything else
    (a torchlayers layer class, a non-Model) raises TypeError.
    """
    if model_class is Model or model_class is cls:
        return cls
    if isinstance(model_class, type) and issubclass(model_class, cls):
        return model_class
    layers = [k for k in model_class.__mro__[:-1] if k not in Model.__mro__ and k.__module__.startswith("torchlayers.")
              ] if isinstance(model_class, type) and issubclass(model_class, Model) else []
    if not isinstance(model_class, type) or not issubclass(model_class, Model) or layers:
        raise TypeError(
            f"{cls.__name__}: model_class must be Model, a subclass of {cls.__module__}.{cls.__name__}, or your own "
            f"subclass of Model (not a torchlayers layer), got {model_class!r}"
        )
    key = (cls, model_class)
    if key not in _MODEL_CLASSES:
        init = next(vars(k)["__init__"] for k in cls.__mro__ if "__init__" in vars(k))  # cls's, not the user's
        namespace = {"__init__": init, "__module__": model_class.__module__,
                     "__qualname__": model_class.__qualname__, "__doc__": model_class.__doc__}
        _MODEL_CLASSES[key] = type(model_class.__name__, (model_class, cls), namespace)
    return _MODEL_CLASSES[key]


def _is_array(x: Any) -> bool:
    return isinstance(x, Tensor) or (hasattr(x, "__array__") and hasattr(x, "dtype") and hasattr(x, "shape"))


def convert_foreign_default_inputs(
    model: ForeignWrapper, X: Any, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[Any], Any]]:
    """Thinc's default input converter for TF/MXNet: arrays/tensors -> foreign tensors (zero-copy),
    packed as ArgsKwargs; ``get_dX`` turns foreign gradients back into arrays of X's kind (numpy
    for numpy, torch for torch)."""
    kind = array_kind(X)
    to_foreign = lambda x: model._to_foreign(to_torch(x))
    converted = map_tensors(to_foreign, X, _is_array)
    back = lambda dXf: to_kind(
        map_tensors(lambda d: None if d is None else model._from_foreign(d).clone(), dXf, model._is_foreign), kind)
    if _is_args_kwargs(X):
        return as_args_kwargs(converted), back
    if isinstance(converted, dict):
        return ArgsKwargs((), converted), lambda dXf: back(dXf).kwargs
    if isinstance(converted, (list, tuple)) and not hasattr(converted, "_fields"):
        return ArgsKwargs(tuple(converted), {}), lambda dXf: back(dXf).args
    return ArgsKwargs((converted,), {}), lambda dXf: back(dXf).args[0]


def convert_foreign_default_outputs(model: ForeignWrapper, Yf: Any, is_train: bool) -> Tuple[Any, Callable[[Any], Any]]:
    """TensorFlow's convention (called with Y): Y as torch tensors; ``get_dYf`` gives
    gradients shaped like Y, as foreign tensors."""
    Y = map_tensors(model._from_foreign, Yf, model._is_foreign)
    return Y, lambda dY: map_tensors(lambda d: model._to_foreign(to_torch(d)), dY, _is_array)


def convert_foreign_default_outputs_xy(
    model: ForeignWrapper, X_Yf: Any, is_train: bool
) -> Tuple[Any, Callable[[Any], Any]]:
    """MXNet's convention (called with (X, Y)): ``get_dYf`` gives
    ``ArgsKwargs(args=((Y,),), kwargs={"head_grads": dY})`` as foreign tensors."""
    _, Yf = X_Yf
    Y = map_tensors(model._from_foreign, Yf, model._is_foreign)

    def reverse(dY: Any) -> ArgsKwargs:
        dYf = map_tensors(lambda d: model._to_foreign(to_torch(d)), dY, _is_array)
        return ArgsKwargs(((Yf,),), {"head_grads": dYf})

    return Y, reverse


def _dtype_name(dtype: Any) -> str:
    try:
        return numpy.dtype(getattr(dtype, "as_numpy_dtype", dtype)).name
    except TypeError:
        return str(dtype)


class _ForeignCall(torch.autograd.Function):
    """tensors = (*input leaves, *trainable mirrors) -> output leaves; backward via the foreign framework."""

    @staticmethod
    def forward(
        ctx: Any, wrapper: ForeignWrapper, holder: Dict[str, Any], n_inputs: int, *tensors: Tensor
    ) -> Tuple[Tensor, ...]:
        outputs, state = wrapper._torch_call(list(tensors[:n_inputs]), holder, record=True)
        ctx.wrapper, ctx.state, ctx.n_inputs = wrapper, state, n_inputs
        ctx.n_params = len(tensors) - n_inputs
        ctx.input_meta = [(t.dtype, t.is_floating_point()) for t in tensors[:n_inputs]]
        non_float = [y for y in outputs if not y.is_floating_point()]
        if non_float:
            ctx.mark_non_differentiable(*non_float)
        return tuple(outputs)

    @staticmethod
    def backward(ctx: Any, *grads: Optional[Tensor]) -> Tuple[Optional[Tensor], ...]:
        d_inputs, d_params = ctx.wrapper._torch_backward(ctx.state, list(grads))
        d_inputs = [d if floating else None for d, (_, floating) in zip(d_inputs, ctx.input_meta)]
        return (None, None, None, *d_inputs, *d_params)


class ForeignWrapper(Model):
    """Base of the TensorFlow and MXNet wrappers (see the module docstring).

    Subclasses set ``framework`` and implement the foreign primitives: ``_import``,
    ``_variables``, ``_read_var``, ``_write_var``, ``_is_foreign``, ``_to_foreign``,
    ``_from_foreign``, ``_foreign_call``, ``_foreign_grads``, ``_check_inputs``, and Thinc's
    surface: ``_clone_foreign``, ``foreign_to_bytes``, ``foreign_from_bytes``,
    ``foreign_summary``; ``_pending_variables`` / ``_check_ready`` for deferred shapes.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        convert_inputs: Callable[..., Any]
        convert_outputs: Callable[..., Any]

    framework = "foreign"
    #: how Thinc calls convert_outputs: with ``Y`` (TensorFlow) or with ``(X, Y)`` (MXNet)
    outputs_take_X = True
    _default_converters: Tuple[Callable, Callable]
    # no ClassVar annotation: TorchScript reads class annotations (they would hide the base's)
    __jit_unused_properties__ = [*Model.__jit_unused_properties__, "shims"]  # noqa: RUF012

    def __init__(self, name: str, foreign_model: Any, convert_inputs: Optional[Callable],
                 convert_outputs: Optional[Callable]) -> None:
        super().__init__(name)
        self._fw = self._import()
        self._foreign = foreign_model
        self.set_attr("convert_inputs", convert_inputs or self._default_converters[0])
        self.set_attr("convert_outputs", convert_outputs or self._default_converters[1])
        self.params = nn.ParameterDict()
        self.states = nn.Module()
        self._mirrors: List[Tuple[str, Any, bool]] = []  # (key, foreign variable, trainable)
        self._synced: Dict[str, Tuple[int, int, torch.dtype]] = {}
        self.foreign_names: Dict[str, str] = {}  # torch key -> the framework's (counter-numbered) name
        self._shim = ForeignShim(self)
        self._pending = bool(self._pending_variables())  # shapes known at the first call only
        if not self._pending:
            self._build_mirrors()

    def _build_mirrors(self) -> None:
        for i, (var_name, var, trainable) in enumerate(self._variables()):
            value = self._read_var(var).detach().clone()
            key = f"{i}_{self._short_name(var_name)}"  # position + role: stable across builds
            if trainable:
                self.params[key] = nn.Parameter(value)
            else:
                self.states.register_buffer(key, value)
            self.foreign_names[key] = var_name
            self._mirrors.append((key, var, trainable))
        self._mark_all_synced()

    def _materialize(self, run: Callable[[], Any]) -> None:
        """Deferred shapes: run the framework model once (inference mode) so it finishes its
        initialization, then mirror its variables."""
        self._check_ready()
        run()
        still = self._pending_variables()
        if still:
            raise ValueError(
                f"{self.name}: the {self.framework} variable {still[0]!r} still has no shape after the first call; "
                f"give every input size when building the model"
            )
        self._build_mirrors()
        self._pending = False

    # -------------------------------------------------------------- subclass primitives
    def _import(self) -> Any:
        raise NotImplementedError

    def _variables(self, model: Any = None) -> List[Tuple[str, Any, bool]]:
        """(name, variable, trainable) of ``model`` (default: the wrapped model), in a fixed order."""
        raise NotImplementedError

    def _pending_variables(self) -> List[str]:
        """Names of the variables whose shapes are not known yet (deferred initialization)."""
        return []

    def _check_ready(self) -> None:
        """Raise a clear error when the model cannot run at all (e.g. never initialized)."""

    def _clone_foreign(self) -> Any:
        """A copy of the wrapped model with the same weights (for ``copy()``)."""
        raise TypeError(f"{self.name}: a {type(self).__name__} cannot copy its {self.framework} model")

    def foreign_to_bytes(self) -> bytes:
        """The framework's own weight file (``model.shims[0].to_bytes()``)."""
        raise NotImplementedError

    def foreign_from_bytes(self, data: bytes) -> None:
        """Load ``foreign_to_bytes``'s file into the wrapped model and the torch mirrors."""
        raise NotImplementedError

    def foreign_summary(self) -> str:
        """``str(model.shims[0])``: the framework's description of the model."""
        return str(self._foreign)

    def _short_name(self, var_name: str) -> str:
        """The variable's role without the counter-numbered scopes (``kernel``, ``running_mean``)."""
        return var_name

    def _read_var(self, var: Any) -> Tensor:
        raise NotImplementedError

    def _write_var(self, var: Any, value: Tensor) -> None:
        raise NotImplementedError

    def _is_foreign(self, x: Any) -> bool:
        raise NotImplementedError

    def _to_foreign(self, t: Tensor) -> Any:
        raise NotImplementedError

    def _from_foreign(self, x: Any) -> Tensor:
        raise NotImplementedError

    def _foreign_call(self, inputs: ArgsKwargs, watched: List[Any], is_train: bool, record: bool) -> Tuple[Any, Any]:
        raise NotImplementedError

    def _foreign_grads(
        self, state: Any, heads: List[Any], head_grads: List[Any], watched: List[Any]
    ) -> Tuple[List[Any], List[Any]]:
        raise NotImplementedError

    def _check_inputs(self, leaves: List[Tensor]) -> None:
        """Raise a clear error when inputs cannot go into the foreign model."""

    # -------------------------------------------------------------- mirrors
    def _mirror(self, key: str, trainable: bool) -> Tensor:
        if trainable:
            return self.params[key]
        buffer = self.states._buffers[key]
        assert buffer is not None  # mirrors are registered with their tensor
        return buffer

    def _stamp(self, t: Tensor) -> Tuple[int, int, torch.dtype]:
        return (t._version, t.data_ptr(), t.dtype)

    def _mark_all_synced(self) -> None:
        for key, _, trainable in self._mirrors:
            self._synced[key] = self._stamp(self._mirror(key, trainable))

    def _check_mirror(self, key: str, var: Any, t: Tensor) -> None:
        want = self._read_var(var)
        if t.dtype != want.dtype or tuple(t.shape) != tuple(want.shape) or t.device.type != "cpu":
            raise TypeError(
                f"{self.name}: torch mirror {key!r} is {t.dtype} {tuple(t.shape)} on {t.device}, but the "
                f"{self.framework} variable {self.foreign_names[key]!r} is {str(want.dtype).replace('torch.', '')} "
                f"{tuple(want.shape)} on cpu; foreign models keep their dtype and device: "
                f"do not call .double()/.half()/.to('cuda') on a {type(self).__name__}"
            )

    def sync_to_foreign(self, force: bool = False) -> None:
        """Copy every torch mirror that changed since the last sync into its foreign variable."""
        for key, var, trainable in self._mirrors:
            t = self._mirror(key, trainable)
            if force or self._synced.get(key) != self._stamp(t):
                self._check_mirror(key, var, t)
                self._write_var(var, t.detach())
                self._synced[key] = self._stamp(t)

    def sync_from_foreign(self) -> None:
        """Copy the foreign variables into the torch mirrors (after editing the foreign model)."""
        with torch.no_grad():
            for key, var, trainable in self._mirrors:
                self._mirror(key, trainable).copy_(self._read_var(var))
        self._mark_all_synced()

    def _pull_states(self) -> None:
        with torch.no_grad():
            for key, var, trainable in self._mirrors:
                if not trainable:
                    self._mirror(key, trainable).copy_(self._read_var(var))
                    self._synced[key] = self._stamp(self._mirror(key, trainable))

    @property
    def foreign_model(self) -> Any:
        """The wrapped foreign model, with every pending torch update written into it."""
        self.sync_to_foreign()
        return self._foreign

    @property
    def shims(self) -> List[ForeignShim]:
        """Thinc's shims list: one ``ForeignShim`` (the same object on every access)."""
        return [self._shim]

    def _trainable(self) -> List[nn.Parameter]:
        return [self.params[key] for key, _, trainable in self._mirrors if trainable]

    # -------------------------------------------------------------- torch face
    def forward(self, X: Any) -> Any:
        if self._uses_custom_io():
            if self.training and torch.is_grad_enabled():
                raise RuntimeError(
                    f"{self.name}: custom convert_inputs/convert_outputs follow Thinc's calling convention and "
                    f"train only on the Thinc face (model(X, is_train=True)); for torch autograd leave them None "
                    f"and pass torch tensors"
                )
            Y, _ = self._thinc_converters_call(X, False)
            return to_torch(Y)
        inputs = as_args_kwargs(X)
        leaves, spec = tree_flatten((list(inputs.args), dict(inputs.kwargs)))
        positions = [i for i, x in enumerate(leaves) if isinstance(x, Tensor)]
        if not positions:
            raise TypeError(
                f"{self.name}: expected torch tensor inputs (a tensor, "
                f"list, dict or ArgsKwargs), got {type(X).__name__}"
            )
        tensors = [leaves[i] for i in positions]
        self._check_inputs(tensors)
        holder: Dict[str, Any] = {"leaves": leaves, "spec": spec, "positions": positions}
        if self._pending:
            self._materialize(lambda: self._run_foreign(self._foreign_inputs(tensors, holder)[0], [], False, False))
        params = self._trainable()
        needs_graph = torch.is_grad_enabled() and any(t.requires_grad for t in tensors + params)
        if needs_graph:
            outputs = _ForeignCall.apply(self, holder, len(tensors), *tensors, *params)
        else:
            outputs, _ = self._torch_call(tensors, holder, record=False)
        return tree_unflatten(list(outputs), holder["out_spec"])

    def _foreign_inputs(self, tensors: List[Tensor], holder: Dict[str, Any]) -> Tuple[ArgsKwargs, List[Any]]:
        """The call's inputs with every tensor as a foreign tensor; and those foreign tensors."""
        leaves = list(holder["leaves"])
        foreign = [self._to_foreign(t) for t in tensors]
        for i, f in zip(holder["positions"], foreign):
            leaves[i] = f
        args, kwargs = tree_unflatten(leaves, holder["spec"])
        return ArgsKwargs(tuple(args), kwargs), foreign

    def _torch_call(self, tensors: List[Tensor], holder: Dict[str, Any], record: bool) -> Tuple[List[Tensor], Any]:
        self.sync_to_foreign()
        inputs, foreign = self._foreign_inputs(tensors, holder)
        watched = [f for f, t in zip(foreign, tensors) if t.is_floating_point()]
        Yf, state = self._run_foreign(inputs, watched, self.training, record)
        y_leaves = self._foreign_leaves(Yf)
        Y = map_tensors(self._from_foreign, Yf, self._is_foreign)
        out, out_spec = tree_flatten(Y)
        holder["out_spec"] = out_spec
        if self.training:
            self._pull_states()
        return out, (state, y_leaves, watched, [t.is_floating_point() for t in tensors])

    def _torch_backward(
        self, ctx_state: Any, grads: List[Optional[Tensor]]
    ) -> Tuple[List[Optional[Tensor]], List[Optional[Tensor]]]:
        state, y_leaves, watched, floating = ctx_state
        heads, head_grads = [], []
        for y, g in zip(y_leaves, grads):
            if g is None or not g.is_floating_point():
                continue
            heads.append(y)
            head_grads.append(self._to_foreign(g))
        d_watched, d_vars = self._foreign_grads(state, heads, head_grads, watched)
        self._pull_states()  # MXNet updates BatchNorm running stats in backward
        it = iter(d_watched)
        d_inputs: List[Optional[Tensor]] = []
        for is_float in floating:
            d = next(it) if is_float else None
            d_inputs.append(None if d is None else self._from_foreign(d).clone())
        d_params = [None if d is None else self._from_foreign(d).clone() for d in d_vars]
        return d_inputs, d_params

    def _run_foreign(self, inputs: ArgsKwargs, watched: List[Any], is_train: bool, record: bool) -> Tuple[Any, Any]:
        try:
            return self._foreign_call(inputs, watched, is_train, record)
        except Exception as e:  # the framework's own error, re-raised with context
            got = [f"{tuple(x.shape)} {_dtype_name(x.dtype)}" for x in self._foreign_leaves(inputs)]
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise ValueError(
                f"{self.name}: the {self.framework} model rejected inputs of shape/dtype {got}: "
                f"{type(e).__name__}: {first[:500]}"
            ) from e

    def _foreign_leaves(self, Yf: Any) -> List[Any]:
        found: List[Any] = []
        map_tensors(found.append, Yf, self._is_foreign)
        return found

    # -------------------------------------------------------------- Thinc face
    def _uses_custom_io(self) -> bool:
        return (
            self.convert_inputs is not self._default_converters[0]
            or self.convert_outputs is not self._default_converters[1]
        )

    def thinc_forward(self, X: Any, is_train: bool) -> Optional[Tuple[Any, Callable[[Any], Any]]]:
        """With custom converters, Thinc's wrapper forward (``_thinc_converters_call``); otherwise
        None, the face built from ``forward`` and ``_ForeignCall``."""
        if not self._uses_custom_io():
            return None
        return self._thinc_converters_call(X, is_train)

    def _thinc_converters_call(self, X: Any, is_train: bool) -> Tuple[Any, Callable[[Any], Any]]:
        """Thinc's wrapper forward with the user's converters (foreign tensors in between)."""
        Xraw, get_dX = self.convert_inputs(self, X, is_train)
        Yf, backprop_foreign = self._shim_call(as_args_kwargs(Xraw), is_train)
        Y, get_dYf = self.convert_outputs(self, (X, Yf) if self.outputs_take_X else Yf, is_train)

        def backprop(dY: Any) -> Any:  # the base (thinc_forward) makes it one-shot
            return get_dX(same_kind(Xraw, backprop_foreign(get_dYf(dY))))

        return Y, backprop

    def _shim_call(self, Xf: ArgsKwargs, is_train: bool) -> Tuple[Any, Callable[[Any], ArgsKwargs]]:
        """Thinc's shim call: foreign inputs -> (foreign outputs, ``backprop(dYf) -> dXf``), dXf an
        ArgsKwargs shaped like Xf (None for inputs without a gradient). The weight gradients are
        added to the torch mirrors' ``.grad``. ``dYf`` is MXNet's ArgsKwargs for
        ``mx.autograd.backward`` (``args=(heads,), kwargs={"head_grads": ...}``) or TensorFlow's
        gradients shaped like Yf."""
        self.sync_to_foreign()
        if self._pending:
            self._materialize(lambda: self._run_foreign(Xf, [], False, False))
        watched = [x for x in self._foreign_leaves(Xf) if self._is_float_foreign(x)]
        Yf, state = self._run_foreign(Xf, watched, is_train, is_train)
        if is_train:
            self._pull_states()

        def backprop(dYf: Any) -> ArgsKwargs:
            if not is_train:
                raise RuntimeError(f"{self.name}: backprop after an is_train=False call; call with is_train=True")
            if _is_args_kwargs(dYf):  # MXNet/PyTorch style: ArgsKwargs(args=(heads,), kwargs={"head_grads": ...})
                heads = self._foreign_leaves(dYf.args)
                grads = self._foreign_leaves(dYf.kwargs.get("head_grads", dYf.kwargs.get("grad_tensors")))
            else:  # TensorFlow style: gradients shaped like Y
                heads, grads = self._foreign_leaves(Yf), self._foreign_leaves(dYf)
            d_watched, d_vars = self._foreign_grads(state, heads, grads, watched)
            self._pull_states()
            params = [(p, self._from_foreign(d).clone()) for p, d in zip(self._trainable(), d_vars) if d is not None]
            if params:  # through autograd's accumulation, so .grad hooks and reducers see them
                torch.autograd.backward([p for p, _ in params], [g for _, g in params], inputs=[p for p, _ in params])
            by_id = {id(x): d for x, d in zip(watched, d_watched)}
            return map_tensors(lambda x: by_id.get(id(x)), Xf, self._is_foreign)

        return Yf, backprop

    def _is_float_foreign(self, x: Any) -> bool:
        return self._is_foreign(x) and self._from_foreign(x).is_floating_point()

    def finish_update(self, optimizer: Any) -> None:
        """Torch optimizer: step, zero grads, write the new weights into the foreign model.
        Thinc optimizer: per mirror, key ``(model.id, name)``, then sync."""
        super().finish_update(optimizer)  # a Thinc optimizer reaches foreign_params()
        self.sync_to_foreign()

    def foreign_params(self) -> List[Tuple[str, nn.Parameter]]:
        """The trainable mirrors: a Thinc optimizer updates them with key ``(model.id, name)``."""
        return list(self.params.items())

    def _initialize(self, X: Any, Y: Any) -> None:
        """Thinc's framework wrappers have no init: the foreign model keeps its weights."""

    def __deepcopy__(self, memo: Dict[int, Any]) -> ForeignWrapper:
        """A copy with a copy of the framework model (``_clone_foreign``) and its own mirrors."""
        self.sync_to_foreign()
        clone = self._clone_foreign()
        old, new = self._variables(), self._variables(clone)
        if len(old) != len(new):
            raise TypeError(f"{self.name}: the copy of the {self.framework} model has other variables; "
                            "build a second wrapper instead")
        memo[id(self._fw)] = self._fw
        memo[id(self._foreign)] = clone
        for (_, a, _), (_, b, _) in zip(old, new):
            memo[id(a)] = b
        result = type(self).__new__(type(self))
        memo[id(self)] = result
        for k, v in self.__dict__.items():
            result.__dict__[k] = copy.deepcopy(v, memo)
        names = {id(var): name for name, var, _ in new}
        result.foreign_names = {key: names[id(var)] for key, var, _ in result._mirrors}
        result._mark_all_synced()
        return result
