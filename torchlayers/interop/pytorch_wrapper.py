"""PyTorchWrapper (Thinc "PyTorchWrapper.v1/v2/v3"): a ``torch.nn.Module`` as a torchlayers node.

The wrapped module is a registered submodule (``model.module``): its parameters are ordinary
parameters of the torchlayers model, so ``state_dict``, ``to_bytes``, ``.to()`` and torch
optimizers see them. Unlike Thinc there is no shim and no numpy round trip.

Converters follow Thinc's calling convention when given:
``convert_inputs(model, X, is_train) -> (ArgsKwargs, get_dX)`` and
``convert_outputs(model, (X, Ytorch), is_train) -> (Y, get_dYtorch)`` where ``get_dYtorch(dY)``
returns the ``ArgsKwargs`` for ``torch.autograd.backward``. With custom converters the Thinc face
runs them exactly as Thinc does (so Thinc code, including converters written with
``thinc.util.xp2torch``, runs unchanged); the torch face calls them too and keeps autograd as far
as they return live tensors.
"""
from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten

from ..arrays import array_kind, to_kind
from ..convert import to_torch
from ..model import Model, apply_thinc_optimizer
from ..registry import registry
from ..types import ArgsKwargs

__all__ = [
    "PyTorchWrapper", "PyTorchWrapper_v2", "PyTorchWrapper_v3", "convert_pytorch_default_inputs",
    "convert_pytorch_default_outputs", "map_tensors", "apply_thinc_optimizer",
]


# ---------------------------------------------------------------------------------- helpers
def _is_args_kwargs(x: Any) -> bool:
    return isinstance(x, ArgsKwargs) or (type(x).__name__ == "ArgsKwargs" and hasattr(x, "kwargs"))


def map_tensors(
    fn: Callable[[Any], Any], obj: Any, match: Callable[[Any], bool] = lambda x: isinstance(x, Tensor)
) -> Any:
    """Thinc's ``convert_recursive``: apply ``fn`` to matching leaves of nested lists, tuples,
    dicts and ArgsKwargs (ours or Thinc's), keeping the container types."""
    if match(obj):
        return fn(obj)
    if _is_args_kwargs(obj):
        return ArgsKwargs(tuple(map_tensors(fn, a, match) for a in obj.args),
                          {k: map_tensors(fn, v, match) for k, v in obj.kwargs.items()})
    if isinstance(obj, dict):
        return {k: map_tensors(fn, v, match) for k, v in obj.items()}
    if isinstance(obj, list):
        return [map_tensors(fn, v, match) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(map_tensors(fn, v, match) for v in obj)
    return obj


def same_kind(original: Any, ak: ArgsKwargs) -> Any:
    """``ak`` as the ArgsKwargs class the converter used (Thinc's dataclass or ours)."""
    if _is_args_kwargs(original) and not isinstance(original, ArgsKwargs):
        return type(original)(args=tuple(ak.args), kwargs=dict(ak.kwargs))
    return ak


def as_args_kwargs(X: Any) -> ArgsKwargs:
    """Thinc's default packing: ArgsKwargs as is; dict -> kwargs; list/tuple -> args; else (X,)."""
    if _is_args_kwargs(X):
        return ArgsKwargs(tuple(X.args), dict(X.kwargs))
    if isinstance(X, dict):
        return ArgsKwargs((), dict(X))
    if isinstance(X, (list, tuple)) and not hasattr(X, "_fields"):
        return ArgsKwargs(tuple(X), {})
    return ArgsKwargs((X,), {})


def _grads_of(Y: Any, dY: Any, owner: str) -> Tuple[List[Tensor], List[Tensor]]:
    """Pair the outputs that carry a graph with their cotangents, checking shapes."""
    ys, _ = tree_flatten(Y)
    dys, _ = tree_flatten(dY)
    if len(dys) == 1 and len(ys) > 1:
        dys = dys + [None] * (len(ys) - 1)
    if len(ys) != len(dys):
        raise ValueError(f"{owner}: backprop expected dY shaped like Y ({len(ys)} arrays), got {len(dys)} arrays")
    outs, grads = [], []
    for y, dy in zip(ys, dys):
        if isinstance(y, Tensor) and y.requires_grad and dy is not None:
            if tuple(dy.shape) != tuple(y.shape):
                raise ValueError(f"{owner}: backprop expected dY of shape {tuple(y.shape)}, got {tuple(dy.shape)}")
            outs.append(y)
            grads.append(dy.to(device=y.device, dtype=y.dtype))
    return outs, grads


# ------------------------------------------------------------------------- default converters
def convert_pytorch_default_inputs(model: Model, X: Any, is_train: bool) -> Tuple[ArgsKwargs, Callable[[Any], Any]]:
    """Thinc's default input converter, torch-native: arrays become tensors on the model's
    device (tracked when ``is_train``), packed as ArgsKwargs; ``get_dX`` returns tensors in X's structure."""
    device = model.device

    def convert(x: Any) -> Any:
        t = to_torch(x, device)
        if is_train and isinstance(t, Tensor) and t.is_floating_point():
            t = t.detach().requires_grad_(True)
        return t

    is_array = lambda x: isinstance(x, Tensor) or (hasattr(x, "__array__") and hasattr(x, "dtype"))
    converted = map_tensors(convert, X, is_array)
    kind = array_kind(X)  # dX comes back as X's arrays (numpy in, numpy out), as Thinc's torch2xp
    if _is_args_kwargs(X):
        return as_args_kwargs(converted), lambda dX: to_kind(dX, kind)
    if isinstance(converted, dict):
        return ArgsKwargs((), converted), lambda dX: to_kind(dX.kwargs, kind)
    if isinstance(converted, (list, tuple)) and not hasattr(converted, "_fields"):
        return ArgsKwargs(tuple(converted), {}), lambda dX: to_kind(tuple(dX.args), kind)
    return ArgsKwargs((converted,), {}), lambda dX: to_kind(dX.args[0], kind)


def convert_pytorch_default_outputs(
    model: Model, X_Ytorch: Any, is_train: bool
) -> Tuple[Any, Callable[[Any], ArgsKwargs]]:
    """Thinc's default output converter, torch-native: Y is the module's output, detached;
    ``get_dYtorch(dY)`` returns ``ArgsKwargs(args=(outputs,), kwargs={"grad_tensors": dY})``."""
    _, Ytorch = X_Ytorch
    Y = map_tensors(lambda t: t.detach(), Ytorch)
    device = model.device

    def reverse(dY: Any) -> ArgsKwargs:
        outs, grads = _grads_of(Ytorch, to_torch(dY, device), model.name)
        return ArgsKwargs((tuple(outs),), {"grad_tensors": tuple(grads)})

    return Y, reverse


#: Serializes the Thinc-face calls that set a wrapped module's train/eval flags (see
#: ``_module_mode``); re-entrant for wrappers nested in one call.
_MODULE_MODE_LOCK = threading.RLock()


@contextlib.contextmanager
def _module_mode(module: nn.Module, is_train: bool) -> Iterator[None]:
    """Run a foreign ``nn.Module`` in the Thinc-face call's mode, as Thinc's shim does.

    Plain torch modules (``nn.Dropout``, ``nn.BatchNorm``...) read their own ``training`` flag,
    so the flags are set for the call and restored after it, under a process-wide lock: Thinc-face
    calls into wrapped modules run one at a time (their backprops do not), and the flags
    ``train()``/``eval()`` set are never left changed.
    """
    with _MODULE_MODE_LOCK:
        modes = [(m, m.training) for m in module.modules()]
        module.train(is_train)
        try:
            yield
        finally:
            for m, mode in modes:
                m.training = mode


class _ShimView:
    """What Thinc converters read from ``model.shims[0]``: ``device``, ``_model``, ``id``."""

    def __init__(self, model: PyTorchWrapper) -> None:
        self._owner = model

    @property
    def _model(self) -> nn.Module:
        return self._owner.module

    @property
    def device(self) -> torch.device:
        return self._owner.device

    @property
    def id(self) -> int:
        return self._owner.id


# ---------------------------------------------------------------------------------- the layer
@registry.layers("PyTorchWrapper.v1")
class PyTorchWrapper(Model):
    """Wrap any ``torch.nn.Module``: ``PyTorchWrapper(pytorch_model, convert_inputs=None, convert_outputs=None)``.

    Shape:
        - Input: a tensor (called as ``module(X)``), a list/tuple (positional args), a dict
          (keyword args) or an ``ArgsKwargs``
        - Output: whatever the module returns (a tensor or a tuple)
    Node ``"pytorch"``; dims ``nI``/``nO`` declared and never set (as in Thinc); no Thinc params:
    the module's parameters appear in ``state_dict`` as ``module.<name>``.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        convert_inputs: Callable[..., Any]
        convert_outputs: Callable[..., Any]

    _default_io: Tuple[Callable, Callable] = (convert_pytorch_default_inputs, convert_pytorch_default_outputs)
    # no ClassVar annotation: TorchScript reads class annotations (they would hide the base's)
    __jit_unused_properties__ = [*Model.__jit_unused_properties__, "shims"]  # noqa: RUF012

    def __init__(self, pytorch_model: Any, convert_inputs: Optional[Callable] = None,
                 convert_outputs: Optional[Callable] = None, *, mixed_precision: bool = False,
                 grad_scaler: Any = None, device: Any = None) -> None:
        if not isinstance(pytorch_model, nn.Module):
            raise TypeError(
                f"{type(self).__name__}: expected a torch.nn.Module to wrap, got {type(pytorch_model).__name__}; "
                "for TensorFlow or MXNet use TensorFlowWrapper / MXNetWrapper"
            )
        super().__init__("pytorch", dims={"nI": None, "nO": None})
        self.module = pytorch_model if device is None else pytorch_model.to(torch.device(device))
        self.set_attr("convert_inputs", convert_inputs or self._default_io[0])
        self.set_attr("convert_outputs", convert_outputs or self._default_io[1])
        self.mixed_precision: bool = bool(mixed_precision)
        self.grad_scaler = grad_scaler

    # -------------------------------------------------------------- torch face
    def __call__(self, *args: Any, is_train: Optional[bool] = None, **kwargs: Any) -> Any:
        # Inside a Thinc-face call the wrapped module runs in the call's mode, however the
        # subclass's forward reaches it (see _module_mode); the torch face is untouched.
        if is_train is None and self.thinc_face:
            with _module_mode(self.module, self.training):
                return super().__call__(*args, **kwargs)
        return super().__call__(*args, is_train=is_train, **kwargs)

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> module's output
        if not torch.jit.is_scripting():
            if self._uses_custom_io() or not isinstance(X, Tensor):
                return self._call_any(X)
        return self.module(X)

    @torch.jit.unused
    def _uses_custom_io(self) -> bool:
        return self.convert_inputs is not self._default_io[0] or self.convert_outputs is not self._default_io[1]

    @torch.jit.unused
    def _run(self, inputs: ArgsKwargs) -> Any:
        device = self.device
        ctx = (
            torch.autocast(device_type="cuda")
            if self.mixed_precision and device.type == "cuda"
            else contextlib.nullcontext()
        )
        with ctx:
            return self.module(*inputs.args, **inputs.kwargs)

    @torch.jit.unused
    def _call_any(self, X: Any) -> Any:
        if not self._uses_custom_io():
            return self._run(as_args_kwargs(X))
        Xtorch, _ = self.convert_inputs(self, X, self.training)
        Ytorch = self._run(as_args_kwargs(Xtorch))
        Y, _ = self.convert_outputs(self, (X, Ytorch), self.training)
        return to_torch(Y)

    # -------------------------------------------------------------- Thinc face
    @property
    def shims(self) -> List[_ShimView]:
        """Thinc's ``model.shims``: one view of the wrapped module, what Thinc converters read
        (``shims[0]._model`` is ``self.module``, ``shims[0].device``, ``shims[0].id``).
        """
        return [_ShimView(self)]

    def thinc_forward(self, X: Any, is_train: bool) -> Optional[Tuple[Any, Callable[[Any], Any]]]:
        """With custom converters: Thinc's forward + PyTorchShim, step by step (the base makes
        the backprop one-shot); otherwise None, the face built from ``forward``."""
        if not self._uses_custom_io():
            return None
        Xraw, get_dX = self.convert_inputs(self, X, is_train)
        Xtorch = as_args_kwargs(Xraw)
        with torch.set_grad_enabled(is_train), _module_mode(self.module, is_train):
            Ytorch = self._run(Xtorch)
        Y, get_dYtorch = self.convert_outputs(self, (X, Ytorch), is_train)

        def backprop(dY: Any) -> Any:
            grads = get_dYtorch(dY)
            torch.autograd.backward(*grads.args, **grads.kwargs)
            dXtorch = map_tensors(lambda t: t.grad, Xtorch, lambda t: isinstance(t, Tensor))
            return get_dX(same_kind(Xraw, dXtorch))

        return Y, backprop

    def _initialize(self, X: Any, Y: Any) -> None:
        """Thinc's wrapper has no init: dims stay as they are, the module keeps its weights."""

    def foreign_params(self) -> List[Tuple[str, nn.Parameter]]:
        """The module's parameters: a Thinc optimizer updates them with key ``(model.id, torch_name)``."""
        return list(self.module.named_parameters())


@registry.layers("PyTorchWrapper.v2")
class PyTorchWrapper_v2(PyTorchWrapper):
    """``PyTorchWrapper_v2(pytorch_model, convert_inputs=None, convert_outputs=None,
    mixed_precision=False, grad_scaler=None, device=None)``: v1 plus autocast on CUDA and a device.

    Shape: as :class:`PyTorchWrapper`. ``grad_scaler`` is kept as ``model.grad_scaler``; scale
    the loss with it the torch way (the Thinc face does not rescale dY).
    """

    def __init__(self, pytorch_model: Any, convert_inputs: Optional[Callable] = None,
                 convert_outputs: Optional[Callable] = None, mixed_precision: bool = False,
                 grad_scaler: Any = None, device: Any = None) -> None:
        super().__init__(pytorch_model, convert_inputs, convert_outputs, mixed_precision=mixed_precision,
                         grad_scaler=grad_scaler, device=device)


@registry.layers("PyTorchWrapper.v3")
class PyTorchWrapper_v3(PyTorchWrapper_v2):
    """v2 plus ``serialize_model(module) -> bytes`` and
    ``deserialize_model(module, data, device) -> module`` used by ``to_bytes``/``from_bytes``.

    Shape: as :class:`PyTorchWrapper`. Without the callbacks the module's weights go through
    the usual safetensors state_dict. With them, ``to_bytes`` of *this node* stores their bytes
    (as a uint8 tensor in the safetensors file); inside a bigger model the state_dict is used.
    """

    def __init__(self, pytorch_model: Any, convert_inputs: Optional[Callable] = None,
                 convert_outputs: Optional[Callable] = None, mixed_precision: bool = False,
                 grad_scaler: Any = None, device: Any = None, serialize_model: Optional[Callable] = None,
                 deserialize_model: Optional[Callable] = None) -> None:
        super().__init__(pytorch_model, convert_inputs, convert_outputs, mixed_precision, grad_scaler, device)
        self.serialize_model = serialize_model
        self.deserialize_model = deserialize_model

    def to_bytes(self) -> bytes:
        """With ``serialize_model``: a safetensors file holding its bytes (a uint8 tensor) for this node;
        without it, ``Model.to_bytes`` (the module's state_dict). Raises TypeError when
        ``serialize_model`` returns something other than bytes.
        """
        if self.serialize_model is None:
            return super().to_bytes()
        import json

        from safetensors.torch import save

        data = self.serialize_model(self.module)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"{self.name}: serialize_model must return bytes, got {type(data).__name__}")
        blob = torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else torch.zeros(0, dtype=torch.uint8)
        return save({"serialized_model": blob}, metadata={"torchlayers_pytorch_v3": json.dumps({"name": self.name})})

    def from_bytes(self, data: bytes) -> PyTorchWrapper_v3:
        """Load ``to_bytes``'s output and return ``self``: with the callbacks, ``deserialize_model(module,
        data, device)`` rebuilds the module; without them, ``Model.from_bytes``.

        Raises ValueError for bytes not written by a ``serialize_model`` ``to_bytes`` or when
        ``deserialize_model`` is missing, TypeError when it returns no ``nn.Module``.
        """
        if self.serialize_model is None and self.deserialize_model is None:
            return super().from_bytes(data)  # type: ignore[return-value]  # Model.from_bytes returns self
        from safetensors.torch import load

        try:
            blob = load(bytes(data))["serialized_model"]
        except Exception as e:  # report what the file was
            raise ValueError(
                f"{self.name}: cannot load: expected bytes written by "
                f"PyTorchWrapper_v3.to_bytes with serialize_model ({e})"
            ) from None
        payload = blob.numpy().tobytes()
        if self.deserialize_model is None:
            raise ValueError(f"{self.name}: cannot load custom-serialized bytes without deserialize_model")
        module = self.deserialize_model(self.module, payload, self.device)
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"{self.name}: deserialize_model must return a torch.nn.Module, got {type(module).__name__}"
            )
        self.module = module
        return self
