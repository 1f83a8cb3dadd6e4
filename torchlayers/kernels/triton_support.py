"""When the kernels take the Triton path (Triton installed, a CUDA tensor, not float64), and when
data checks must be skipped because the op is being traced.

float64 always takes the torch reference (so gradcheck runs there); CPU tensors too, except in
the interpreter tests, which launch the kernels directly.
"""
from __future__ import annotations

import functools

import torch
from torch import Tensor

__all__ = ["eager_cpu", "is_tracing", "triton_available", "use_triton"]


@functools.lru_cache(maxsize=None)
def triton_available() -> bool:
    """True when ``import triton`` works (Triton stays an optional dependency)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def use_triton(t: Tensor) -> bool:
    """Route ``t``'s op to the Triton kernels: a CUDA tensor, not float64, Triton installed."""
    return t.device.type == "cuda" and t.dtype != torch.float64 and triton_available()


def is_tracing(*tensors: Tensor) -> bool:
    """True while tracing (compile, export, opcheck's aot dispatch): data checks would need real values."""
    if torch.compiler.is_compiling():
        return True
    from torch._guards import detect_fake_mode
    from torch._subclasses.fake_tensor import FakeTensor
    from torch._subclasses.functional_tensor import FunctionalTensor

    if detect_fake_mode(tensors) is not None:
        return True
    return any(isinstance(t, (FakeTensor, FunctionalTensor)) or t.device.type == "meta" for t in tensors)


def eager_cpu(t: Tensor) -> bool:
    """A layer may skip its op (a plain autograd function over the same reference): eager mode,
    not TorchScript, not tracing, and ``t`` on CPU. Compile, export, script and CUDA take the op."""
    if torch.jit.is_scripting():
        return False
    return t.device.type == "cpu" and not torch.compiler.is_compiling()
