"""with_cpu: run a layer on the CPU, hand its outputs to another device (Thinc "with_cpu.v1")."""
from __future__ import annotations

from typing import Any, Callable, cast

import torch
from torch import Tensor
from torch.utils._pytree import tree_map

from ..model import Model
from ..ops import TorchOps
from ..registry import registry
from ..types import Padded, Ragged
from .with_array import check_layer, child_dims


def ops_device(ops: Any) -> torch.device:
    """The device an ``ops`` argument names: TorchOps, Thinc's NumpyOps/CupyOps, a torch.device or a string."""
    if isinstance(ops, TorchOps):
        return ops.device
    if isinstance(ops, (torch.device, str)):
        return torch.device(ops)
    name = getattr(ops, "name", None)
    if name in ("numpy", "cpu", "apple", "bigendian"):
        return torch.device("cpu")
    if name == "cupy":
        return torch.device("cuda", getattr(ops, "device_id", 0))
    raise TypeError(
        f"with_cpu: ops must be a TorchOps, a Thinc Ops (NumpyOps, CupyOps), a torch.device or a device string, "
        f"got {type(ops).__name__}"
    )


@registry.layers("with_cpu.v1")
class with_cpu(Model):
    """``with_cpu(layer, ops)``: ``layer`` lives and runs on the CPU; inputs are copied there and
    outputs copied to ``ops``' device (gradients flow back through both copies).

    Named ``"with_cpu(<layer>)"``, dims copied from the layer. ``.to(device)``/``.cuda()`` on this
    node move where outputs go, never the layer (dtype casts such as ``.double()`` do reach it).

    Shape: the layer's own (tensors, Ragged, Padded, lists and tuples of them).
    """

    def __init__(self, layer: Model, ops: Any) -> None:
        check_layer("with_cpu", layer)
        device = ops_device(ops)
        layer.cpu()
        super().__init__(f"with_cpu({layer.name})", dims=child_dims(layer), layers=[layer])
        self.output_device = str(device)

    @classmethod
    def from_thinc_node(cls, node: Any, children: list) -> with_cpu:
        """``from_thinc``: Thinc's with_cpu keeps its ``ops`` argument as the node's ``ops``."""
        return cls(*children, node.ops)  # type: ignore[call-arg]  # children is the one wrapped layer

    def thinc_arguments(self, thinc_fn: Callable, children: list) -> tuple:
        """``to_thinc``: the Thinc ops of the output device (NumpyOps for the CPU, CupyOps for CUDA)."""
        from thinc.api import get_ops

        device = self.device
        try:
            ops = get_ops("cupy", device_id=device.index or 0) if device.type == "cuda" else get_ops("numpy")
        except ValueError as e:
            raise ValueError(f"to_thinc: {self.name!r} sends its outputs to {device}; thinc cannot: {e}") from None
        return [*children, ops], {}

    @property
    def device(self) -> torch.device:
        """Where this node's outputs live (Thinc's ``model.ops``); the Thinc face takes dY there."""
        return torch.device(self.output_device)

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> with_cpu:
        """``.to()``/``.cuda()``/``.double()``...: the output device follows ``fn``; the layer gets
        ``fn``'s dtype change only and stays on the CPU (this node holds no tensors of its own)."""
        def dtype_only(t: Tensor) -> Tensor:
            dtype = fn(torch.empty(0, dtype=t.dtype)).dtype
            return t if dtype == t.dtype else t.to(dtype=dtype)

        if recurse:
            for layer in self.layers:
                layer._apply(dtype_only)
        self.output_device = str(_target_device(fn, torch.device(self.output_device)))
        return self

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        if not torch.jit.is_scripting():
            return self._forward_any(X)
        if isinstance(X, Ragged):  # TorchScript: one branch per input type, the others pruned
            Y = self.layers[0](Ragged(X.data.cpu(), X.lengths.cpu()))
        elif isinstance(X, Padded):
            Y = self.layers[0](Padded(X.data.cpu(), X.size_at_t.cpu(), X.lengths.cpu(), X.indices.cpu()))
        else:
            Y = self.layers[0](X.cpu())
        device = torch.device(self.output_device)
        if isinstance(Y, Ragged):
            return Ragged(Y.data.to(device), Y.lengths.to(device))
        if isinstance(Y, Padded):
            return Padded(Y.data.to(device), Y.size_at_t.to(device), Y.lengths.to(device), Y.indices.to(device))
        return Y.to(device)

    @torch.jit.unused
    def _forward_any(self, X: Any) -> Any:
        device = torch.device(self.output_device)
        Y = self.layers[0](tree_map(lambda x: x.cpu() if isinstance(x, Tensor) else x, X))
        return tree_map(lambda y: y.to(device) if isinstance(y, Tensor) else y, Y)

    def _initialize(self, X: Any, Y: Any) -> None:
        to_cpu = lambda tree: tree_map(lambda x: x.cpu() if isinstance(x, Tensor) else x, tree)
        layer = cast(Model, self.layers[0])
        layer._initialize(to_cpu(X), to_cpu(Y))
        for name in self.dim_names:
            self._dims[name] = layer.maybe_get_dim(name)


def _target_device(fn: Callable[[Tensor], Tensor], here: torch.device) -> torch.device:
    """Where ``fn`` (a ``Module._apply`` function) sends a tensor that lives on ``here``."""
    moved = fn(torch.empty(0)).device
    if moved.type != "cpu":
        return moved  # .to(cuda/meta), .cuda()
    if here.type == "cpu":
        return here
    try:
        return fn(torch.empty(0, device=here)).device  # kept (dtype casts) or sent to the CPU
    except NotImplementedError:  # meta tensors cannot be copied out: fn moves them to the CPU
        return moved
