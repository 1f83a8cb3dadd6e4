"""Thinc's array conversions to and from TensorFlow and MXNet (``thinc.util`` names).

    xp2tensorflow(x, requires_grad=False, as_variable=False) -> tf.Tensor (or tf.Variable)
    tensorflow2xp(tf_tensor, *, ops=None)                     -> numpy (cupy for GPU ops)
    xp2mxnet(x, requires_grad=False)                          -> mx.nd.NDArray
    mxnet2xp(mx_tensor, *, ops=None)                          -> numpy (cupy for GPU ops)

``x`` may be a numpy array, a torch tensor or a cupy array (anything ``to_torch`` takes); it
crosses through DLPack (``dlpack.py``: no copy, except for TensorFlow when the buffer is not
64-byte aligned). The way back copies, as Thinc's does (``.numpy()`` / ``.asnumpy()``), so the
array stays valid whatever the framework does with its buffer later. The frameworks are
imported on the first call (TensorFlow after Triton, MXNet with its ``numpy.bool`` alias).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy
from torch import Tensor

from ..convert import to_torch
from .dlpack import torch2mxnet, torch2tensorflow

__all__ = ["xp2tensorflow", "tensorflow2xp", "xp2mxnet", "mxnet2xp"]


def _as_cpu_tensor(fn: str, framework: str, x: Any) -> Tensor:
    t = to_torch(x)
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: expected a numpy, cupy or torch array, got {type(x).__name__}")
    if t.device.type != "cpu":
        raise ValueError(
            f"{fn}: {framework} runs on the CPU here; got an array on {t.device}: move it to the CPU first "
            f"(e.g. x.cpu() or cupy.asnumpy(x))"
        )
    return t


def _to_ops_array(x: numpy.ndarray, ops: Optional[Any]) -> Any:
    """numpy, or cupy when ``ops`` is a GPU ops (Thinc's CupyOps / a CUDA TorchOps)."""
    if ops is not None and getattr(ops, "device_type", "cpu") == "gpu":
        import cupy

        return cupy.asarray(x)
    return x


def xp2tensorflow(xp_tensor: Any, requires_grad: bool = False, as_variable: bool = False) -> Any:
    """(any shape) array -> tf.Tensor on the same memory; ``as_variable`` gives a tf.Variable
    (trainable when ``requires_grad``); without either, the tensor is cut from the tape
    (``tf.stop_gradient``), as Thinc's."""
    from .tensorflow_wrapper import import_tensorflow

    tf = import_tensorflow()
    tensor = torch2tensorflow(tf, _as_cpu_tensor("xp2tensorflow", "TensorFlow", xp_tensor))
    with tf.device("/CPU:0"):
        if as_variable:
            return tf.Variable(tensor, trainable=requires_grad)
        return tensor if requires_grad else tf.stop_gradient(tensor)


def tensorflow2xp(tf_tensor: Any, *, ops: Optional[Any] = None) -> Any:
    """tf.Tensor / tf.Variable -> a numpy copy (cupy when ``ops`` is a GPU ops)."""
    from .tensorflow_wrapper import import_tensorflow

    tf = import_tensorflow()
    if not (tf.is_tensor(tf_tensor) or isinstance(tf_tensor, tf.Variable)):
        raise TypeError(f"tensorflow2xp: expected a tf.Tensor or tf.Variable, got {type(tf_tensor).__name__}")
    return _to_ops_array(numpy.array(tf_tensor.numpy()), ops)


def xp2mxnet(xp_tensor: Any, requires_grad: bool = False) -> Any:
    """(any shape) array -> mx.nd.NDArray on the same memory, with a gradient buffer attached
    when ``requires_grad``."""
    from .mxnet_wrapper import import_mxnet

    mx = import_mxnet()
    tensor = torch2mxnet(mx, _as_cpu_tensor("xp2mxnet", "MXNet", xp_tensor))
    if requires_grad:
        tensor.attach_grad()
    return tensor


def mxnet2xp(mx_tensor: Any, *, ops: Optional[Any] = None) -> Any:
    """mx.nd.NDArray -> a numpy copy (cupy when ``ops`` is a GPU ops)."""
    from .mxnet_wrapper import import_mxnet

    mx = import_mxnet()
    if not isinstance(mx_tensor, mx.nd.NDArray):
        raise TypeError(f"mxnet2xp: expected an mx.nd.NDArray, got {type(mx_tensor).__name__}")
    return _to_ops_array(mx_tensor.detach().asnumpy(), ops)
