"""Thinc's model helpers: ``set_dropout_rate``, ``change_attr_values``, ``fix_random_seed``,
``data_validation``, ``to_categorical``, ``get_torch_default_device``, and the array hand-offs
``xp2torch`` / ``torch2xp`` / ``is_cupy_array`` / ``is_numpy_array``."""
from __future__ import annotations

import contextlib
import contextvars
import random
from typing import Any, Dict, Iterator, List, Optional

import numpy
import torch

from .arrays import array_kind, is_cupy_array, is_numpy_array, param_array, to_kind
from .convert import to_torch
from .losses.categorical_crossentropy import to_categorical as _one_hot_table
from .model import Model

__all__ = ["set_dropout_rate", "change_attr_values", "fix_random_seed", "data_validation", "xp2torch", "torch2xp",
           "is_cupy_array", "is_numpy_array", "to_categorical", "get_torch_default_device"]

#: Thinc's ``DATA_VALIDATION`` flag, as ``data_validation`` sets it (per thread / task).
DATA_VALIDATION: contextvars.ContextVar[bool] = contextvars.ContextVar("torchlayers_data_validation", default=False)


def set_dropout_rate(model: Model, drop: float, attrs: List[str] = ["dropout_rate"]) -> Model:  # noqa: B006
    """Set every node's dropout attrs (only those that already have them)."""
    for node in model.walk():
        for attr in attrs:
            if attr in node.attrs:
                node.attrs[attr] = drop
    return model


def change_attr_values(model: Model, mapping: Dict[str, Dict[str, Any]]) -> Model:
    """``{node_name: {attr: value}}``: change attrs that already exist on nodes of that name."""
    for node in model.walk():
        for attr, value in mapping.get(node.name, {}).items():
            if attr in node.attrs:
                node.attrs[attr] = value
    return model


def fix_random_seed(seed: int = 0) -> None:
    """Seed Python's, numpy's and torch's generators."""
    random.seed(seed)
    numpy.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def data_validation(validation: bool) -> Iterator[None]:
    """Thinc's ``data_validation``: set ``DATA_VALIDATION`` inside the block. Thinc then checks
    inputs against type annotations with pydantic; torchlayers' layers check every input eagerly
    whatever the flag (COMPATIBILITY.md), so it only records what the caller asked for."""
    token = DATA_VALIDATION.set(bool(validation))
    try:
        yield
    finally:
        DATA_VALIDATION.reset(token)


def xp2torch(xp_tensor: Any, requires_grad: bool = False, device: Optional[Any] = None) -> torch.Tensor:
    """Thinc's ``xp2torch``: a numpy / cupy array as a tensor (zero-copy on the array's device,
    through ``from_numpy`` / DLPack), moved to ``device`` when given."""
    t = to_torch(xp_tensor, torch.device(device) if device is not None else None)
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"xp2torch: expected a numpy or cupy array, got {type(xp_tensor).__name__}")
    if requires_grad:
        t.requires_grad_()
    return t


def torch2xp(torch_tensor: torch.Tensor, *, ops: Any = None) -> Any:
    """Thinc's ``torch2xp``: a tensor as numpy (CPU) or cupy (CUDA) sharing its memory; with a
    Thinc ``NumpyOps`` given, numpy whatever the device."""
    if not isinstance(torch_tensor, torch.Tensor):
        raise TypeError(f"torch2xp: expected a torch tensor, got {type(torch_tensor).__name__}")
    if ops is not None and getattr(ops, "device_type", None) == "cpu":
        return torch_tensor.detach().cpu().numpy()
    return param_array(torch_tensor)


def to_categorical(Y: Any, n_classes: Optional[int] = None, *, label_smoothing: float = 0.0) -> Any:
    """Thinc's ``to_categorical``: class ids as one-hot float32 rows (``1 - label_smoothing`` on
    the gold class, ``label_smoothing / (n_classes - 1)`` elsewhere).

    Shape: Y (...) integer ids in [0, n_classes) -> (..., n_classes) float32, of Y's array kind
    (numpy in, numpy out). ``n_classes`` defaults to ``max(Y) + 1``.
    """
    ids = to_torch(Y)
    if not isinstance(ids, torch.Tensor) or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"to_categorical: expected an array of integer class ids, got {_describe(Y)}")
    if n_classes is None:
        n_classes = int(ids.max()) + 1 if ids.numel() else 0
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= n_classes):
        raise ValueError(
            f"to_categorical: expected class ids in [0, n_classes={n_classes}), got ids in "
            f"[{int(ids.min())}, {int(ids.max())}]"
        )
    return to_kind(_one_hot_table(ids, n_classes, label_smoothing=label_smoothing), array_kind(Y))


def _describe(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    return f"{type(x).__name__} of dtype {dtype}" if dtype is not None else type(x).__name__


def get_torch_default_device() -> torch.device:
    """Thinc's ``get_torch_default_device``: the device new tensors are created on (torch's
    default device, ``torch.set_default_device``; Thinc reads its current Ops instead, and
    torchlayers has no global ops state)."""
    return torch.get_default_device()
