"""Thinc's ``normalize``/``dropout`` options: activation >> LayerNorm >> Dropout, as nested chains."""
from __future__ import annotations

from typing import Optional

from ..model import Model


def with_normalize_dropout(layer: Model, nO: Optional[int], *, normalize: bool, dropout: Optional[float]) -> Model:
    """Build Thinc's tree: ``chain(chain(layer, LayerNorm(nI=nO)), Dropout(dropout))``.

    ``dropout=0.0`` still adds a Dropout node, as in Thinc.
    """
    from ..combinators.chain import chain
    from .dropout import Dropout
    from .layernorm import LayerNorm

    model: Model = layer
    if normalize:
        model = chain(model, LayerNorm(nI=nO))
    if dropout is not None:
        model = chain(model, Dropout(dropout))
    return model
