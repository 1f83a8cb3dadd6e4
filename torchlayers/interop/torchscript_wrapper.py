"""TorchScriptWrapper_v1 (Thinc's ``TorchScriptWrapper_v1``) and ``pytorch_to_torchscript_wrapper``.

A ``PyTorchWrapper_v2`` around a ``torch.jit.ScriptModule``: the same converters, mixed
precision and device, and the same two faces. ``to_bytes`` of the node stores the scripted
module's own archive (``torch.jit.save``) as a uint8 tensor in a safetensors file, as
``PyTorchWrapper_v3`` stores custom-serialized modules, so ``TorchScriptWrapper_v1()`` (no module
yet) can ``from_bytes`` it: code and weights come back together (``torch.jit.load``, onto the
wrapper's device). A torchlayers model needs no wrapper to be scripted (``torch.jit.script(model)``);
this is for Thinc code that holds scripted modules. Not registered as "TorchScriptWrapper.v1" (yet):
``to_thinc`` / ``from_thinc`` do not convert it, and a ScriptModule neither compiles nor exports.
"""
from __future__ import annotations

import io
import json
from typing import Any, Callable, Optional

import torch
from torch import nn

from ..model import Model
from .pytorch_wrapper import PyTorchWrapper, PyTorchWrapper_v2

__all__ = ["TorchScriptWrapper_v1", "pytorch_to_torchscript_wrapper"]

_META = "torchlayers_torchscript_v1"


class _NoScriptModule(nn.Module):
    """The module of ``TorchScriptWrapper_v1()`` before ``from_bytes``: calling it says so."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "TorchScriptWrapper_v1: no TorchScript module yet; pass one (torch.jit.script(module)) "
            "or load one with from_bytes(data)"
        )


class TorchScriptWrapper_v1(PyTorchWrapper_v2):
    """``TorchScriptWrapper_v1(torchscript_model=None, convert_inputs=None, convert_outputs=None,
    mixed_precision=False, grad_scaler=None, device=None)``.

    Shape: as :class:`~torchlayers.interop.pytorch_wrapper.PyTorchWrapper` (the scripted module's
    own inputs and outputs). Node ``"pytorch_script"``; the module's parameters are the node's.
    """

    def __init__(self, torchscript_model: Optional[torch.jit.ScriptModule] = None,
                 convert_inputs: Optional[Callable] = None, convert_outputs: Optional[Callable] = None,
                 mixed_precision: bool = False, grad_scaler: Any = None, device: Any = None) -> None:
        if torchscript_model is not None and not isinstance(torchscript_model, torch.jit.ScriptModule):
            raise TypeError(
                f"TorchScriptWrapper_v1: expected a torch.jit.ScriptModule, got {type(torchscript_model).__name__}; "
                "script it first (torch.jit.script(module)) or wrap the plain module with PyTorchWrapper_v2"
            )
        module = _NoScriptModule() if torchscript_model is None else torchscript_model
        super().__init__(module, convert_inputs, convert_outputs, mixed_precision, grad_scaler, device)
        self.name = "pytorch_script"

    def to_bytes(self) -> bytes:
        """The scripted module's archive (``torch.jit.save``) in a safetensors file."""
        from safetensors.torch import save

        if not isinstance(self.module, torch.jit.ScriptModule):
            raise ValueError(f"{self.name}: no TorchScript module to serialize; pass one or call from_bytes first")
        buffer = io.BytesIO()
        torch.jit.save(self.module, buffer)
        blob = torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)
        return save({"torchscript_model": blob}, metadata={_META: json.dumps({"name": self.name})})

    def from_bytes(self, data: bytes) -> TorchScriptWrapper_v1:
        """Load the scripted module written by ``to_bytes`` onto the wrapper's device."""
        from safetensors.torch import load

        try:
            blob = load(bytes(data))["torchscript_model"]
        except Exception as e:  # report what the file was
            raise ValueError(
                f"{self.name}: cannot load: expected bytes written by TorchScriptWrapper_v1.to_bytes ({e})"
            ) from None
        self.module = torch.jit.load(io.BytesIO(blob.numpy().tobytes()), map_location=self.device)
        return self


def pytorch_to_torchscript_wrapper(model: Model) -> TorchScriptWrapper_v1:
    """Thinc's ``pytorch_to_torchscript_wrapper``: a PyTorchWrapper's module scripted
    (``torch.jit.script``), with the wrapper's converters, mixed precision, grad scaler and device."""
    if not isinstance(model, PyTorchWrapper):
        raise TypeError(
            f"pytorch_to_torchscript_wrapper: expected a PyTorchWrapper (v1-v3), got {type(model).__name__} "
            f"{getattr(model, 'name', '')!r}"
        )
    return TorchScriptWrapper_v1(
        torch.jit.script(model.module),
        convert_inputs=model.attrs["convert_inputs"],
        convert_outputs=model.attrs["convert_outputs"],
        mixed_precision=model.mixed_precision,
        grad_scaler=model.grad_scaler,
        device=model.device,
    )
