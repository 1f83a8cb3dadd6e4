"""Thinc's model helpers: ``set_dropout_rate``, ``change_attr_values``, ``fix_random_seed``."""
from __future__ import annotations

import random
from typing import Any, Dict, List

import numpy
import torch

from .model import Model


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
