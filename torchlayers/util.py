"""Thinc's model helpers: ``set_dropout_rate``, ``change_attr_values``, ``fix_random_seed``,
``data_validation``, and the array hand-offs ``xp2torch`` / ``torch2xp`` / ``is_cupy_array``."""
from __future__ import annotations

import contextlib
import contextvars
import random
from typing import Any, Dict, Iterator, List, Optional

import numpy
import torch

from .arrays import is_cupy_array, param_array
from .convert import to_torch
from .model import Model

__all__ = ["set_dropout_rate", "change_attr_values", "fix_random_seed", "data_validation", "xp2torch", "torch2xp",
           "is_cupy_array"]

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
