"""TensorFlowWrapper: a Keras model as a torch module (Thinc's ``TensorFlowWrapper``).

TensorFlow is imported on construction only (``import torchlayers`` never imports it), with
``TF_CPP_MIN_LOG_LEVEL=3`` unless set, and every call runs on ``/CPU:0``. The mechanics
(DLPack, autograd through ``tf.GradientTape``, torch mirrors of the Keras variables) are in
``foreign.py``. Thinc 8.3.14's own TensorFlowWrapper is broken on Keras 3; this one is not.
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import tempfile
from typing import Any, Callable, Iterator, List, Optional, Tuple

from torch import Tensor

from ..types import ArgsKwargs
from .dlpack import tensorflow2torch, torch2tensorflow
from .foreign import (
    ForeignModelTypeError,
    ForeignWrapper,
    convert_foreign_default_inputs,
    convert_foreign_default_outputs,
)

__all__ = ["TensorFlowWrapper"]


def import_tensorflow() -> Any:
    """``import tensorflow`` quietly, or an ImportError saying what to install.

    TensorFlow and Triton both bundle LLVM: importing Triton *after* TensorFlow aborts the
    process ("LLVM ERROR: inconsistency in registered CommandLine options"; torch.optim and
    torch.compile import Triton lazily). Importing Triton first is safe, so we do that when it
    is installed. Import TensorFlow through this function, never directly, in a process that
    may use Triton.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules and importlib.util.find_spec("triton") is not None:
        try:
            import triton  # noqa: F401
        except Exception:  # a broken triton only loses the workaround
            pass
    try:
        import tensorflow as tf
    except ImportError as e:
        raise ImportError(
            f"TensorFlowWrapper needs TensorFlow, which could not be imported ({e}); "
            "install it with `pip install tensorflow-cpu`"
        ) from None
    return tf


class TensorFlowWrapper(ForeignWrapper):
    """Wrap a ``tf.keras.Model``: ``TensorFlowWrapper(tensorflow_model, convert_inputs=None,
    convert_outputs=None, optimizer=None, model_name="tensorflow")``.

    Shape:
        - Input: a float32 tensor (``keras_model(X, training=...)``), a list/tuple (positional
          args), a dict (keyword args) or an ArgsKwargs; CPU tensors, dtype of the Keras weights
        - Output: the Keras output as torch tensors (same structure), sharing TF's memory
    Node ``tensorflow`` (``model_name``); no dims. Keras trainable variables are mirrored as
    ``params.<i>_<name>`` parameters (``params.0_kernel``...), non-trainable ones as
    ``states.<i>_<name>`` buffers: position and role, since Keras numbers its scopes per process.
    ``optimizer`` is kept as ``model.tensorflow_optimizer`` (Thinc keeps it on its shim); train
    with a torch or Thinc optimizer through ``finish_update``. Thinc's ``model_class`` is the
    facade's: ``torchlayers.TensorFlowWrapper`` (api.py, ``foreign.wrapper_class``).
    ``model.shims[0]`` is Thinc's shim view (``foreign_shim.py``): ``str()`` is the Keras summary,
    ``to_bytes()`` the Keras HDF5 model file; ``copy()`` clones the Keras model
    (``tf.keras.models.clone_model`` + its weights).
    """

    framework = "TensorFlow"
    outputs_take_X = False
    _default_converters = (convert_foreign_default_inputs, convert_foreign_default_outputs)

    def __init__(self, tensorflow_model: Any, convert_inputs: Optional[Callable] = None,
                 convert_outputs: Optional[Callable] = None, optimizer: Any = None,
                 model_name: str = "tensorflow") -> None:
        tf = import_tensorflow()
        if not isinstance(tensorflow_model, tf.keras.Model):
            raise ForeignModelTypeError(
                f"TensorFlowWrapper: expected a tf.keras.Model, got {type(tensorflow_model).__name__}"
            )
        if not tensorflow_model.built:
            raise ValueError(
                "TensorFlowWrapper: the Keras model is not built (its variables do not exist yet); start it with "
                "tf.keras.Input(shape=...) or call model.build(input_shape) first"
            )
        super().__init__(model_name, tensorflow_model, convert_inputs, convert_outputs)
        self.tensorflow_optimizer = optimizer

    @property
    def tensorflow_model(self) -> Any:
        """The Keras model with every pending torch update written into it."""
        return self.foreign_model

    # -------------------------------------------------------------- primitives
    def _import(self) -> Any:
        return import_tensorflow()

    @property
    def foreign_optimizer(self) -> Any:
        """The Keras optimizer given as ``optimizer=`` (Thinc's ``TensorFlowShim._optimizer``), or None."""
        return self.tensorflow_optimizer

    def _variables(self, model: Any = None) -> List[Tuple[str, Any, bool]]:
        model = self._foreign if model is None else model
        out = [(getattr(v, "path", v.name), v, True) for v in model.trainable_variables]
        out += [(getattr(v, "path", v.name), v, False) for v in model.non_trainable_variables]
        return out

    def _short_name(self, var_name: str) -> str:
        return var_name.rsplit("/", 1)[-1].split(":")[0]

    def _read_var(self, var: Any) -> Tensor:
        return tensorflow2torch(self._fw, self._fw.convert_to_tensor(var))

    def _write_var(self, var: Any, value: Tensor) -> None:
        # TF's assign may adopt the incoming buffer instead of copying it: hand over a clone so
        # the variable never aliases the torch mirror (aliasing would bypass the version tracking).
        with self._fw.device("/CPU:0"):
            var.assign(torch2tensorflow(self._fw, value.clone()))

    def _is_foreign(self, x: Any) -> bool:
        return self._fw.is_tensor(x)

    def _to_foreign(self, t: Tensor) -> Any:
        if t.device.type != "cpu":
            raise ValueError(
                f"{self.name}: TensorFlow runs on the CPU here; got a tensor on {t.device}: move it with .cpu()"
            )
        return torch2tensorflow(self._fw, t)

    def _from_foreign(self, x: Any) -> Tensor:
        tf = self._fw
        if isinstance(x, tf.IndexedSlices):
            x = tf.convert_to_tensor(x)
        return tensorflow2torch(tf, x)

    def _check_inputs(self, tensors: List[Tensor]) -> None:
        weights = list(self._foreign.trainable_variables)
        want = self._fw.as_dtype(weights[0].dtype).name if weights else None
        for i, t in enumerate(tensors):
            if t.is_floating_point() and want is not None and str(t.dtype).replace("torch.", "") != want:
                raise TypeError(
                    f"{self.name}: expected float inputs of dtype {want} (the Keras weights' dtype), got input {i} "
                    f"with dtype {t.dtype}; cast it (e.g. X.float())"
                )
        try:
            specs = list(self._foreign.inputs)
        except (AttributeError, ValueError):
            return  # subclassed model without declared inputs: TF's own error is wrapped on call
        if len(specs) != len(tensors):
            return
        for i, (spec, t) in enumerate(zip(specs, tensors)):
            shape = tuple(spec.shape)
            if len(shape) != t.dim() or any(d is not None and d != g for d, g in zip(shape, t.shape)):
                raise ValueError(
                    f"{self.name}: expected input {i} of shape {tuple('B' if d is None else d for d in shape)} "
                    f"(the Keras model's input), got {tuple(t.shape)}"
                )

    def _foreign_call(self, inputs: ArgsKwargs, watched: List[Any], is_train: bool, record: bool) -> Tuple[Any, Any]:
        tf = self._fw
        with tf.device("/CPU:0"):
            if not record:
                return self._foreign(*inputs.args, training=is_train, **inputs.kwargs), None
            tape = tf.GradientTape(persistent=True)
            with tape:
                for x in watched:
                    tape.watch(x)
                Y = self._foreign(*inputs.args, training=is_train, **inputs.kwargs)
        return Y, tape

    def _foreign_grads(
        self, tape: Any, heads: List[Any], head_grads: List[Any], watched: List[Any]
    ) -> Tuple[List[Any], List[Any]]:
        tf = self._fw
        variables = list(self._foreign.trainable_variables)
        if not heads:
            return [tf.zeros_like(x) for x in watched], [tf.zeros_like(tf.convert_to_tensor(v)) for v in variables]
        with tf.device("/CPU:0"):
            grads = tape.gradient(heads, list(watched) + variables, output_gradients=head_grads,
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return list(grads[: len(watched)]), list(grads[len(watched):])

    # -------------------------------------------------------------- Thinc's surface
    def foreign_summary(self) -> str:
        lines: List[str] = []
        self._foreign.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
        return "\n".join(lines)

    def _clone_foreign(self) -> Any:
        tf = self._fw
        try:
            with tf.device("/CPU:0"):
                clone = tf.keras.models.clone_model(self._foreign)
                clone.set_weights(self._foreign.get_weights())
        except Exception as e:  # subclassed models without get_config, custom layers...
            raise TypeError(
                f"{self.name}: cannot copy the Keras model ({type(e).__name__}: {str(e)[:300]}); "
                "build a second wrapper instead"
            ) from e
        return clone

    def foreign_to_bytes(self) -> bytes:
        """The Keras HDF5 model file (``model.save("….h5")``, Thinc's shim bytes)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.h5")
            with _quiet_absl():
                self.tensorflow_model.save(path)
            with open(path, "rb") as f:
                return f.read()

    def foreign_from_bytes(self, data: bytes) -> None:
        """Load an HDF5 model (or weights) file's weights into the wrapped Keras model."""
        if not isinstance(data, (bytes, bytearray)) or not bytes(data[:8]) == b"\x89HDF\r\n\x1a\n":
            raise ValueError(
                f"{self.name}: shim.from_bytes expects the Keras HDF5 file of shim.to_bytes(), got "
                f"{type(data).__name__} starting {bytes(data[:8]) if isinstance(data, (bytes, bytearray)) else ''!r}"
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.h5")
            with open(path, "wb") as f:
                f.write(data)
            try:
                with self._fw.device("/CPU:0"):
                    self._foreign.load_weights(path)
            except Exception as e:
                raise ValueError(
                    f"{self.name}: the HDF5 file does not fit the wrapped Keras model ({type(e).__name__}: "
                    f"{str(e)[:300]})"
                ) from e
        self.sync_from_foreign()


@contextlib.contextmanager
def _quiet_absl() -> Iterator[None]:
    """Silence Keras's "HDF5 is legacy" warning while writing the shim's (Thinc's) HDF5 file."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
