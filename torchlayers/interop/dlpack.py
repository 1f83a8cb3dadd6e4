"""Zero-copy tensor hand-offs between torch and TensorFlow / MXNet through DLPack.

Every function takes the foreign module as an argument (``tf`` or ``mx``) so this file never
imports a framework itself. Torch tensors are made contiguous (a copy only when they are not)
and detached before export; everything else shares memory:

    torch2tensorflow(tf, t) -> tf.Tensor       tensorflow2torch(tf, x) -> Tensor
    torch2mxnet(mx, t)      -> mx.nd.NDArray   mxnet2torch(x)          -> Tensor
"""
from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.utils.dlpack import from_dlpack, to_dlpack

__all__ = ["torch2tensorflow", "tensorflow2torch", "torch2mxnet", "mxnet2torch", "shares_memory"]


def _export(t: Tensor) -> Any:
    return to_dlpack(t.detach().contiguous())


def torch2tensorflow(tf: Any, t: Tensor) -> Any:
    """(any shape) torch tensor -> tf.Tensor on the same memory."""
    return tf.experimental.dlpack.from_dlpack(_export(t))


def tensorflow2torch(tf: Any, x: Any) -> Tensor:
    """tf.Tensor (or Variable value) -> torch tensor on the same memory."""
    return from_dlpack(tf.experimental.dlpack.to_dlpack(x))


def torch2mxnet(mx: Any, t: Tensor) -> Any:
    """(any shape) torch tensor -> mx.nd.NDArray on the same memory."""
    return mx.nd.from_dlpack(_export(t))


def mxnet2torch(x: Any) -> Tensor:
    """mx.nd.NDArray -> torch tensor on the same memory (waits for pending writes)."""
    return from_dlpack(x.to_dlpack_for_read())


def shares_memory(a: Tensor, b: Tensor) -> bool:
    """True when two torch tensors start at the same address (a zero-copy hand-off)."""
    return a.data_ptr() == b.data_ptr()
