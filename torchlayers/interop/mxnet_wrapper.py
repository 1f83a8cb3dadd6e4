"""MXNetWrapper: a Gluon block as a torch module (Thinc's "MXNetWrapper.v1").

MXNet is imported on construction only (``import torchlayers`` never imports it). MXNet 1.9.1
reads ``numpy.bool``, which numpy 1.24+ removed: we define it as ``bool`` right before the
import, only when it is missing. The mechanics (DLPack, autograd through ``mx.autograd``,
torch mirrors of the Gluon parameters) are in ``foreign.py``.
"""
from __future__ import annotations

import re
from typing import Any, Callable, List, Optional, Tuple

from torch import Tensor

from ..types import ArgsKwargs
from .dlpack import mxnet2torch, torch2mxnet
from .foreign import ForeignWrapper, _dtype_name, convert_foreign_default_inputs, convert_foreign_default_outputs_xy

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
    convert_outputs=None, model_name="mxnet")``; Thinc's ``model_class`` (build a subclass
    instead) is the facade's: ``torchlayers.MXNetWrapper`` (api.py).

    Shape:
        - Input: a float32 CPU tensor (``block(X)`` under ``mx.autograd.record``), a list/tuple
          (positional args), a dict (keyword args) or an ArgsKwargs
        - Output: the block's output as torch tensors (same structure)
    Node ``mxnet`` (``model_name``); no dims. Parameters with ``grad_req != "null"`` are mirrored
    as ``params.<i>_<name>`` (``params.0_weight``...), the others (e.g. BatchNorm running stats)
    as ``states.<i>_<name>`` buffers: position and role, since Gluon numbers its prefixes per process.
    The block must be initialized with known shapes (no deferred initialization).
    """

    framework = "MXNet"
    outputs_take_X = True
    _default_converters = (convert_foreign_default_inputs, convert_foreign_default_outputs_xy)

    def __init__(self, mxnet_model: Any, convert_inputs: Optional[Callable] = None,
                 convert_outputs: Optional[Callable] = None, model_name: str = "mxnet") -> None:
        mx = import_mxnet()
        if not isinstance(mxnet_model, mx.gluon.Block):
            raise TypeError(f"MXNetWrapper: expected an mxnet.gluon.Block, got {type(mxnet_model).__name__}")
        for name, p in mxnet_model.collect_params().items():
            try:
                p.data()
            except Exception as e:  # DeferredInitializationError / RuntimeError
                raise ValueError(
                    f"MXNetWrapper: parameter {name!r} of shape {p.shape} is not initialized ({type(e).__name__}); "
                    "call block.initialize() with every input size given (e.g. Dense(units, in_units=...)), "
                    "or run one forward pass on a sample before wrapping"
                ) from None
        super().__init__(model_name, mxnet_model, convert_inputs, convert_outputs)

    @property
    def mxnet_model(self) -> Any:
        """The Gluon block with every pending torch update written into it."""
        return self.foreign_model

    # -------------------------------------------------------------- primitives
    def _import(self) -> Any:
        return import_mxnet()

    def _variables(self) -> List[Tuple[str, Any, bool]]:
        return [(name, p, p.grad_req != "null") for name, p in self._foreign.collect_params().items()]

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
