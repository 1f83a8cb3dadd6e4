"""The ONE table of ``thinc.api.__all__`` names torchlayers leaves out, each with its reason.

``tests/test_thinc_api_coverage.py`` fails on a name of ``thinc.api.__all__`` that is neither provided
(by ``torchlayers`` or ``torchlayers.api``) nor listed here, and on a name listed here that is provided
(delete the row when you add the name). The section "Left out of thinc.api" of COMPATIBILITY.md mirrors
this table row for row (the test compares them).
"""
from __future__ import annotations

from typing import Dict

_SHIM = ("Thinc's shim between a Thinc model and a framework model; torchlayers layers are nn.Modules and the "
         "framework wrappers hold the framework model directly, so there is no shim")
_OPS = ("Thinc's backend Ops; torchlayers computes with torch on the tensors' device, and TorchOps / "
        "get_current_ops are its one ops")
_GPU = "device placement is torch's: model.to(device), tensors' devices; there is no global GPU state"
_XP = ("conversion between Thinc's numpy/cupy arrays and framework tensors; torchlayers' data are torch tensors "
       "(tensor.numpy(), torch.from_numpy, DLPack)")


LEFT_OUT: Dict[str, str] = {
    "Shim": _SHIM,
    "PyTorchShim": _SHIM,
    "TensorFlowShim": _SHIM,
    "MXNetShim": _SHIM,
    "TorchScriptShim": _SHIM,
    "keras_model_fns": "Thinc's registry of Keras model constructors for TensorFlowShim serialization; no shim here",
    "maybe_handshake_model": "Thinc's Keras-subclass handshake for TensorFlowShim; no shim here",
    "keras_subclass": "Thinc's decorator making a Keras subclass serializable through TensorFlowShim; no shim here",
    "PyTorchGradScaler": "use torch.amp.GradScaler: torchlayers layers are torch modules trained by torch's loop",
    "Optimizer": ("torch.optim.Optimizer is the optimizer: Adam / RAdam / SGD take Thinc's arguments and return an "
                  "OptimizerFactory that builds one (torchlayers.optimizers)"),
    "Unserializable": "Thinc's marker for attrs to_bytes skips; torchlayers keeps non-serializable state out of attrs",
    "has_cupy": "no cupy: torchlayers uses torch's CUDA (torch.cuda.is_available())",
    "set_active_gpu": _GPU,
    "prefer_gpu": _GPU,
    "require_gpu": _GPU,
    "require_cpu": _GPU,
    "set_gpu_allocator": "one allocator: torch's caching allocator serves every layer",
    "use_pytorch_for_gpu_memory": "one allocator: torch's caching allocator serves every layer",
    "use_tensorflow_for_gpu_memory": "one allocator: torch's caching allocator serves every layer",
    "get_array_module": _XP,
    "to_numpy": _XP,
    "enable_mxnet": "frameworks are imported on a wrapper's first use; there is nothing to enable",
    "enable_tensorflow": "frameworks are imported on a wrapper's first use; there is nothing to enable",
    "get_ops": _OPS,
    "set_current_ops": _OPS,
    "use_ops": _OPS,
    "Ops": _OPS,
    "CupyOps": _OPS,
    "MPSOps": _OPS,
    "NumpyOps": _OPS,
}
