"""Input checks shared by layers; scriptable, and silent for valid input.

Every message names the layer, the field, what was expected and what came.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def check_param(layer: str, param: Optional[Tensor], name: str) -> Tensor:
    if param is None:
        raise ValueError(
            f"{layer}: parameter {name} has not been allocated yet (a dim is unset); "
            f"call initialize(X=..., Y=...) or pass the dims to the constructor"
        )
    return param


def check_floats2d(layer: str, X: Tensor, nI: int) -> None:
    """X must be a float tensor of shape (B, nI)."""
    if X.dim() != 2:
        raise ValueError(
            f"{layer}: expected X of shape (B, nI={nI}), got a {X.dim()}-D tensor of shape {list(X.shape)}"
        )
    if X.shape[1] != nI:
        raise ValueError(
            f"{layer}: expected input width nI={nI}, got X of shape {list(X.shape)}; "
            f"build the layer with nI={X.shape[1]} or initialize it on a sample"
        )
    if not X.is_floating_point():
        raise TypeError(f"{layer}: expected a floating point X, got dtype {X.dtype}; cast ids with .float() only if they are features")


def check_ids(layer: str, ids: Tensor) -> None:
    """ids must be an integer tensor."""
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"{layer}: expected integer ids, got dtype {ids.dtype}; convert with .long()")


def check_same_shape(layer: str, field: str, expected: Tensor, got: Tensor) -> None:
    if expected.shape != got.shape:
        raise ValueError(f"{layer}: expected {field} of shape {list(expected.shape)}, got {list(got.shape)}")
