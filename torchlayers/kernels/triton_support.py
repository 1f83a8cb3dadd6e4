"""The kernels' shared scaffolding, all of it free of Triton: the route (``use_triton``), the op
decorator (``kernel_op``), the launch helpers (``triton_kernels``, ``cdiv``, ``block_size``,
``identity``) and, re-exported from ``torchlayers._tracing``, the mode predicates.

Triton loads at the first launch, not at ``import torchlayers``: the ``@triton.jit`` kernels are
module-level functions in ``torchlayers/kernels/_triton/<op>.py``, imported by
``triton_kernels("<op>")`` inside the launchers (so ``TRITON_INTERPRET=1`` set before the first
launch is honoured). float64 always takes the torch reference (so gradcheck runs there); CPU
tensors too, except in the interpreter tests, which call the launchers directly.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
from types import ModuleType
from typing import Any, Callable, Iterable

import torch
from torch import Tensor

from .._tracing import eager_cpu, is_tracing, values_readable

__all__ = [
    "block_size", "cdiv", "eager_cpu", "identity", "is_tracing", "kernel_op", "triton_available",
    "triton_kernels", "use_triton", "values_readable",
]


@functools.cache
def triton_available() -> bool:
    """True when Triton is installed (found without importing it: Triton stays optional and loads
    at the first launch)."""
    return importlib.util.find_spec("triton") is not None


def use_triton(t: Tensor) -> bool:
    """Route ``t``'s op to the Triton kernels: a CUDA tensor, not float64, Triton installed."""
    return t.device.type == "cuda" and t.dtype != torch.float64 and triton_available()


def triton_kernels(op: str) -> ModuleType:
    """``torchlayers.kernels._triton.<op>``, the module of ``op``'s ``@triton.jit`` kernels; the
    first call imports Triton."""
    return importlib.import_module(f"{__package__}._triton.{op}")


def cdiv(a: int, b: int) -> int:
    """Ceiling division (the number of blocks of ``b`` covering ``a``)."""
    return (a + b - 1) // b


def block_size(n: int, lo: int = 16, hi: int = 128) -> int:
    """The power of 2 covering ``n``, clamped to [lo, hi]: a kernel's block along a width of ``n``."""
    return min(hi, max(lo, 1 << max(0, (n - 1).bit_length())))


def identity(kernel: Any) -> Any:
    """The default ``launch`` of a launcher: the kernel itself (ops pass ``torch.library.wrap_triton``)."""
    return kernel


def _no_kernels(fn: Callable[..., Any]) -> list:
    return []


def kernel_op(name: str, *, mutates_args: Iterable[str] = ()) -> Callable[[Callable[..., Any]], Any]:
    """``torch.library.triton_op(name)`` without its definition-time scan of the body for
    ``wrap_triton(kernel)`` calls.

    That scan imports Triton and Inductor when the op is defined, i.e. at ``import torchlayers``
    (and logs "Triton not available" per op without Triton). Our bodies pass ``wrap_triton`` to the
    launchers as an argument, so the scan finds no kernel anyway (its result only feeds the
    AOTAutograd cache key); the op, its CPU/CUDA branches, its functional decomposition under
    torch.compile and its export behaviour are ``triton_op``'s own.
    """

    def define(fn: Callable[..., Any]) -> Any:
        from torch._library import triton as _triton_lib

        scan = getattr(_triton_lib, "get_inner_triton_kernels", None)
        if scan is None:  # a torch without the scan: nothing to skip
            return torch.library.triton_op(name, mutates_args=mutates_args)(fn)
        _triton_lib.get_inner_triton_kernels = _no_kernels
        try:
            return torch.library.triton_op(name, mutates_args=mutates_args)(fn)
        finally:
            _triton_lib.get_inner_triton_kernels = scan

    return define
