"""``model.shims[0]`` of a TensorFlowWrapper / MXNetWrapper: Thinc's ``Shim`` interface.

Thinc keeps a framework model in a shim (``TensorFlowShim``, ``MXNetShim``); torchlayers keeps it
in the wrapper node itself (``foreign.py``), and the shim is a view of that node, one per
wrapper, so code written against Thinc's shims runs unchanged:

    shim._model              the framework model (every pending torch update written into it)
    shim.id, shim.cfg        the wrapper's id; a dict (Thinc's config slot)
    str(shim)                the framework's summary (Keras ``model.summary()``, Gluon's repr)
    shim(Xf, is_train)       (Yf, backprop): framework tensors in, framework tensors out;
                             ``backprop(dYf) -> dXf`` (ArgsKwargs shaped like Xf) adds the weight
                             gradients to the wrapper's parameters
    shim.predict / begin_update / finish_update(optimizer) / use_params(params)
    shim.to_bytes() / from_bytes(data) / to_disk / from_disk
                             the framework's own weight file (MXNet: Thinc's msgpack
                             ``{"config", "state"}`` with Gluon's parameter file; TensorFlow: the
                             Keras HDF5 model file), loaded into the same framework model
    shim.gradients           TensorFlow: the accumulated weight gradients as tf tensors, None
                             when there are none (after ``finish_update``)
    shim.copy() / to_device(device_type, device_id)
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

if TYPE_CHECKING:
    from .foreign import ForeignWrapper

__all__ = ["ForeignShim"]


class ForeignShim:
    """Thinc's Shim interface over a framework wrapper node (see the module docstring)."""

    def __init__(self, owner: ForeignWrapper) -> None:
        self._owner = owner
        self.cfg: Dict[str, Any] = {}

    # ------------------------------------------------------------------ Thinc's attributes
    @property
    def _model(self) -> Any:
        return self._owner.foreign_model

    @property
    def _optimizer(self) -> Any:
        return getattr(self._owner, "foreign_optimizer", None)

    @property
    def id(self) -> int:
        """Thinc's ``shim.id``: the wrapper node's id (one shim per wrapper)."""
        return self._owner.id

    @property
    def gradients(self) -> Optional[List[Any]]:
        """The trainable parameters' gradients as framework tensors (copies), in parameter order; None when no
        gradient has been computed since the last ``finish_update`` (Thinc's ``Shim.gradients``)."""
        grads = [p.grad for p in self._owner._trainable()]
        if all(g is None for g in grads):
            return None
        return [self._owner._to_foreign(g.detach().clone()) if g is not None else None for g in grads]

    def __str__(self) -> str:
        return self._owner.foreign_summary()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._owner.name!r} ({self._owner.framework})>"

    # ------------------------------------------------------------------ calls
    def __call__(self, inputs: Any, is_train: bool) -> Tuple[Any, Callable[[Any], Any]]:
        from .pytorch_wrapper import as_args_kwargs

        return self._owner._shim_call(as_args_kwargs(inputs), is_train)

    def predict(self, inputs: Any) -> Any:
        """Thinc's ``shim.predict(inputs)``: ``inputs`` an ``ArgsKwargs`` (or args tuple) of framework
        tensors; returns the framework model's outputs in inference mode."""
        return self(inputs, False)[0]

    def begin_update(self, inputs: Any) -> Tuple[Any, Callable[[Any], Any]]:
        """Thinc's ``shim.begin_update(inputs)``: the framework outputs and a callback taking the outputs'
        gradient (``ArgsKwargs`` of framework tensors) and returning the inputs' gradient."""
        return self(inputs, True)

    def finish_update(self, optimizer: Any) -> None:
        """Applies the accumulated gradients with ``optimizer`` (a Thinc optimizer), as the wrapper's
        ``finish_update``; the gradients are reset."""
        self._owner.finish_update(optimizer)

    @contextlib.contextmanager
    def use_params(self, params: Dict[Tuple[int, str], Any]) -> Iterator[None]:
        """Context manager: the wrapped model's weights are ``params`` (keyed ``(node id, name)``, e.g.
        an optimizer's averages) inside the block, restored after it."""
        with self._owner.use_params(params):
            yield

    # ------------------------------------------------------------------ copies, devices
    def copy(self) -> ForeignShim:
        """The shim of a copy of the wrapper (a copy of the framework model)."""
        return self._owner.copy().shims[0]

    def to_device(self, device_type: str, device_id: int) -> None:
        """Thinc's ``shim.to_device``: only ``"cpu"`` is supported (the wrapped framework runs on the
        CPU here); raises ValueError for another device type."""
        if device_type != "cpu":
            raise ValueError(
                f"{self._owner.name}: {self._owner.framework} runs on the CPU here; to_device({device_type!r}, "
                f"{device_id}) is not supported: keep the wrapper on the CPU"
            )
        self._owner.to_cpu()

    # ------------------------------------------------------------------ serialization
    def to_bytes(self) -> bytes:
        """The framework model's own serialization: Keras's HDF5 model file (TensorFlow) or Thinc's MXNetShim
        msgpack (MXNet), readable by Thinc's shim."""
        return self._owner.foreign_to_bytes()

    def from_bytes(self, data: bytes) -> ForeignShim:
        """Loads ``to_bytes`` output (or Thinc's shim bytes) into the wrapped model in place; returns self.
        Raises ValueError when the bytes do not fit the model."""
        self._owner.foreign_from_bytes(data)
        return self

    def to_disk(self, path: Union[str, Path]) -> None:
        """Writes ``to_bytes()`` to ``path``."""
        Path(path).write_bytes(self.to_bytes())

    def from_disk(self, path: Union[str, Path]) -> ForeignShim:
        """Reads ``path`` with ``from_bytes``; returns self."""
        return self.from_bytes(Path(path).read_bytes())
