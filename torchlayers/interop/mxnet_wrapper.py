"""MXNetWrapper: a Gluon block as a torch module (Thinc's "MXNetWrapper.v1").

MXNet is imported on construction only (``import torchlayers`` never imports it). MXNet 1.9.1
reads ``numpy.bool``, which numpy 1.24+ removed: we define it as ``bool`` right before the
import, only when it is missing. The mechanics (DLPack, autograd through ``mx.autograd``,
torch mirrors of the Gluon parameters) are in ``foreign.py``.
"""
from __future__ import annotations

import copy
import os
import re
import tempfile
from typing import Any, Callable, List, Optional, Tuple

import srsly
from torch import Tensor

from ..types import ArgsKwargs
from .dlpack import mxnet2torch, torch2mxnet
from .foreign import (
    ForeignModelTypeError,
    ForeignWrapper,
    _dtype_name,
    convert_foreign_default_inputs,
    convert_foreign_default_outputs_xy,
)

__all__ = ["MXNetWrapper", "import_mxnet"]


def import_mxnet() -> Any:
    """``import mxnet`` (with the ``numpy.bool`` alias it needs), or an ImportError saying what to install."""
    import numpy

    if "bool" not in numpy.__dict__:
        numpy.bool = bool  # type: ignore[attr-defined]  # removed in numpy 1.24, read by mxnet 1.9.1
    try:
        import mxnet as mx
    except ImportError as e:
        raise ImportError(
            f"MXNetWrapper needs MXNet, which could not be imported ({e}); install it with `pip install mxnet`"
        ) from None
    return mx


class MXNetWrapper(ForeignWrapper):
    """Wrap a Gluon ``Block``: ``MXNetWrapper(mxnet_model, convert_inputs=None,
    convert_outputs=None, model_name="mxnet")``; Thinc's ``model_class`` is the facade's:
    ``torchlayers.MXNetWrapper`` (api.py, ``foreign.wrapper_class``).

    Shape:
        - Input: a float32 CPU tensor (``block(X)`` under ``mx.autograd.record``), a list/tuple
          (positional args), a dict (keyword args) or an ArgsKwargs
        - Output: the block's output as torch tensors (same structure)
    Node ``mxnet`` (``model_name``); no dims. Parameters with ``grad_req != "null"`` are mirrored
    as ``params.<i>_<name>`` (``params.0_weight``...), the others (e.g. BatchNorm running stats)
    as ``states.<i>_<name>`` buffers: position and role, since Gluon numbers its prefixes per process.
    Deferred initialization (``Dense(n)`` without ``in_units``, then ``block.initialize()``) is
    finished by the first call, which then creates the mirrors (``foreign.py``); the block must
    be initialized (``block.initialize()``) before that call. ``model.shims[0]`` is Thinc's shim
    view (``foreign_shim.py``): ``to_bytes()`` is Thinc's MXNetShim format (msgpack
    ``{"config", "state"}``, ``state`` Gluon's parameter file); ``copy()`` deep-copies the block.
    """

    framework = "MXNet"
    outputs_take_X = True
    _default_converters = (convert_foreign_default_inputs, convert_foreign_default_outputs_xy)

    def __init__(self, mxnet_model: Any, convert_inputs: Optional[Callable] = None,
                 convert_outputs: Optional[Callable] = None, model_name: str = "mxnet") -> None:
        mx = import_mxnet()
        if not isinstance(mxnet_model, mx.gluon.Block):
            raise ForeignModelTypeError(
                f"MXNetWrapper: expected an mxnet.gluon.Block, got {type(mxnet_model).__name__}"
            )
        super().__init__(model_name, mxnet_model, convert_inputs, convert_outputs)

    @property
    def mxnet_model(self) -> Any:
        """The Gluon block with every pending torch update written into it."""
        return self.foreign_model

    # -------------------------------------------------------------- primitives
    def _import(self) -> Any:
        return import_mxnet()

    def _variables(self, model: Any = None) -> List[Tuple[str, Any, bool]]:
        model = self._foreign if model is None else model
        return [(name, p, p.grad_req != "null") for name, p in model.collect_params().items()]

    def _pending_variables(self) -> List[str]:
        return [name for name, p, _ in self._variables() if p._data is None]

    def _check_ready(self) -> None:
        never = [name for name, p, _ in self._variables() if p._data is None and not p._deferred_init]
        if never:
            raise ValueError(
                f"{self.name}: the Gluon parameter {never[0]!r} is not initialized; call block.initialize() "
                "before the first call"
            )

    def _short_name(self, var_name: str) -> str:
        return re.sub(r"^(?:[a-z]+\d+_)+", "", var_name) or var_name

    def _read_var(self, var: Any) -> Tensor:
        return mxnet2torch(var.data())

    def _write_var(self, var: Any, value: Tensor) -> None:
        var.set_data(torch2mxnet(self._fw, value))  # copies into the parameter's own array (async)
        var.data().wait_to_read()

    def _is_foreign(self, x: Any) -> bool:
        return isinstance(x, self._fw.nd.NDArray)

    def _to_foreign(self, t: Tensor) -> Any:
        if t.device.type != "cpu":
            raise ValueError(
                f"{self.name}: MXNet runs on the CPU here; got a tensor on {t.device}: move it with .cpu()"
            )
        return torch2mxnet(self._fw, t)

    def _from_foreign(self, x: Any) -> Tensor:
        return mxnet2torch(x)

    def _check_inputs(self, tensors: List[Tensor]) -> None:
        params = list(self._foreign.collect_params().values())
        want = _dtype_name(params[0].dtype) if params else None
        for i, t in enumerate(tensors):
            if t.is_floating_point() and want is not None and str(t.dtype).replace("torch.", "") != want:
                raise TypeError(
                    f"{self.name}: expected float inputs of dtype {want} (the Gluon parameters' dtype), got input {i} "
                    f"with dtype {t.dtype}; cast it (e.g. X.float())"
                )

    def _foreign_call(self, inputs: ArgsKwargs, watched: List[Any], is_train: bool, record: bool) -> Tuple[Any, Any]:
        autograd = self._fw.autograd
        if not record:
            with autograd.pause(train_mode=is_train):
                Y = self._foreign(*inputs.args, **inputs.kwargs)
            return Y, None
        for x in watched:
            x.attach_grad()
        with autograd.record(train_mode=is_train):
            Y = self._foreign(*inputs.args, **inputs.kwargs)
        return Y, None

    def _foreign_grads(
        self, state: Any, heads: List[Any], head_grads: List[Any], watched: List[Any]
    ) -> Tuple[List[Any], List[Any]]:
        mx = self._fw
        params = [p for _, p, trainable in self._mirrors if trainable]
        for p in params:
            p.zero_grad()
        for x in watched:
            x.grad[:] = 0
        if heads:
            mx.autograd.backward(heads, head_grads=head_grads, retain_graph=True)
        return [x.grad for x in watched], [p.grad() for p in params]

    # -------------------------------------------------------------- Thinc's surface
    def _clone_foreign(self) -> Any:
        clone = copy.deepcopy(self._foreign)
        # a deep copy loses autograd's marks on the arrays (no gradients would reach them):
        # fresh arrays with their gradient buffers, as Thinc's MXNetShim.copy, then the weights
        clone.initialize(force_reinit=True, ctx=self._fw.cpu())
        for (_, old, _), (_, new, _) in zip(self._variables(), self._variables(clone)):
            if old._data is not None:
                new.set_data(old.data().copy())
        return clone

    def foreign_to_bytes(self) -> bytes:
        """Thinc's MXNetShim bytes: msgpack ``{"config": shim.cfg, "state": <Gluon parameter file>}``."""
        self._check_mirrored("to_bytes")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.params")
            self.mxnet_model.save_parameters(path)
            with open(path, "rb") as f:
                state = f.read()
        return srsly.msgpack_dumps({"config": self._shim.cfg, "state": state})

    def foreign_from_bytes(self, data: bytes) -> None:
        """Load ``foreign_to_bytes``'s (or Thinc's MXNetShim's) bytes into the block and the mirrors."""
        self._check_mirrored("from_bytes")
        try:
            msg = srsly.msgpack_loads(data)
            config, state = msg["config"], msg["state"]
        except Exception as e:
            raise ValueError(
                f"{self.name}: shim.from_bytes expects the msgpack {{'config', 'state'}} of shim.to_bytes() "
                f"({type(e).__name__}: {e})"
            ) from None
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.params")
            with open(path, "wb") as f:
                f.write(state)
            try:
                self._foreign.load_parameters(path, ctx=self._fw.cpu())
            except Exception as e:
                raise ValueError(
                    f"{self.name}: the Gluon parameter file does not fit the wrapped block ({type(e).__name__}: "
                    f"{str(e).strip().splitlines()[0][:300] if str(e).strip() else ''})"
                ) from e
        self._shim.cfg = dict(config)
        self.sync_from_foreign()

    def _check_mirrored(self, what: str) -> None:
        if self._pending:
            raise ValueError(
                f"{self.name}: shim.{what}() before the first call: the block's deferred shapes are not known yet; "
                "run the model once (e.g. model.predict(X)) first"
            )
