"""Mode predicates: is this call traced, may a check read tensor values on the host, may a layer
skip its op. The one place that decides them (``types`` validates with them, ``kernels`` route and
check with them); it imports torch only, so it sits at the bottom of the import order.

- ``is_tracing(*values)``: torch.compile, torch.export, make_fx and opcheck's fake/functional
  passes. Values are symbolic there (FakeTensor, FunctionalTensor, meta), so a check that reads
  them would fail with a data-dependent guard error or bake one batch's answer into the graph.
- ``values_readable(*values)``: a check may read the values (``int(t.sum())``): not tracing, and
  not capturing a CUDA graph with a tensor on the GPU (a host read is illegal during capture).
- ``eager_cpu(t)``: a layer may skip its ``torch.library`` op for a plain autograd function over
  the same reference: eager mode, not TorchScript, not tracing, ``t`` on CPU.

Non-tensor values are ignored, so callers may pass a NamedTuple's fields as they come.
"""

import torch
from torch import Tensor

__all__ = ["is_tracing", "values_readable", "eager_cpu"]

_FAKE = torch._C._TorchDispatchModeKey.FAKE
_FUNCTIONAL = torch._C._TorchDispatchModeKey.FUNCTIONAL


def is_tracing(*values: object) -> bool:
    """True while tracing: compiling/exporting, a fake or functional dispatch mode active, or a
    value that is a FakeTensor, a FunctionalTensor or a meta tensor."""
    if torch.compiler.is_compiling():
        return True
    if torch._C._get_dispatch_mode(_FAKE) is not None or torch._C._get_dispatch_mode(_FUNCTIONAL) is not None:
        return True
    for v in values:
        if not isinstance(v, Tensor):
            continue
        if v.is_meta:
            return True
        if type(v) is not Tensor:  # a subclass (Parameter, FakeTensor, FunctionalTensor, ...)
            from torch._subclasses.fake_tensor import FakeTensor
            from torch._subclasses.functional_tensor import FunctionalTensor

            if isinstance(v, (FakeTensor, FunctionalTensor)):
                return True
    return False


def values_readable(*values: object) -> bool:
    """True when a check may read these tensors' values on the host: not tracing, and not
    capturing a CUDA graph while one of them is on the GPU."""
    if is_tracing(*values):
        return False
    if any(isinstance(v, Tensor) and v.is_cuda for v in values):
        return not torch.cuda.is_current_stream_capturing()
    return True


def eager_cpu(t: Tensor) -> bool:
    """A layer may skip its op (a plain autograd function over the same reference): eager mode,
    not TorchScript, not tracing, and ``t`` on CPU. Compile, export, script and CUDA take the op."""
    if torch.jit.is_scripting():
        return False
    return t.device.type == "cpu" and not torch.compiler.is_compiling()
