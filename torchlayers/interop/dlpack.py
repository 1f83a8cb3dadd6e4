"""Zero-copy tensor hand-offs between torch and TensorFlow / MXNet through DLPack.

Every function takes the foreign module as an argument (``tf`` or ``mx``) so this file never
imports a framework itself. Torch tensors are made contiguous (a copy only when they are not)
and detached before export; TensorFlow also gets a copy of a tensor whose data does not start
on a 64-byte boundary (its oneDNN kernels abort the process on such a buffer: "Check failed:
IsAligned()"; numpy allocates on 16/32 bytes, torch on 64). Everything else shares memory:

    torch2tensorflow(tf, t) -> tf.Tensor       tensorflow2torch(tf, x) -> Tensor
    torch2mxnet(mx, t)      -> mx.nd.NDArray   mxnet2torch(x)          -> Tensor
"""
from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.utils.dlpack import from_dlpack, to_dlpack

__all__ = ["torch2tensorflow", "tensorflow2torch", "torch2mxnet", "mxnet2torch", "shares_memory"]


TF_ALIGNMENT = 64  # EIGEN_MAX_ALIGN_BYTES of TensorFlow's CPU build


def _export(t: Tensor) -> Any:
    return to_dlpack(t.detach().contiguous())


def torch2tensorflow(tf: Any, t: Tensor) -> Any:
    """(any shape) torch tensor -> tf.Tensor on the same memory (a copy when not 64-byte aligned)."""
    t = t.detach().contiguous()
    if t.device.type == "cpu" and t.data_ptr() % TF_ALIGNMENT:
        t = t.clone()  # torch's CPU allocator aligns on 64 bytes
    return tf.experimental.dlpack.from_dlpack(to_dlpack(t))


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
