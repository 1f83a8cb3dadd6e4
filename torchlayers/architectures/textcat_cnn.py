"""spaCy 3.8's ``spacy.TextCatCNN.v2`` (``spacy/ml/models/textcat.py``): ``spacy.TextCatReduce.v1`` with
mean pooling only. Shape: list of B docs -> (B, nO) scores.
"""
from __future__ import annotations

from typing import Optional

from ..model import Model
from ..registry import registry
from .textcat_reduce import build_reduce_text_classifier

__all__ = ["build_simple_cnn_text_classifier"]


@registry.architectures("spacy.TextCatCNN.v2")
def build_simple_cnn_text_classifier(tok2vec: Model, exclusive_classes: bool, nO: Optional[int] = None) -> Model:
    """``TextCatReduce.v1(tok2vec, exclusive_classes, use_reduce_mean=True, the others False)``."""
    return build_reduce_text_classifier(tok2vec=tok2vec, exclusive_classes=exclusive_classes, use_reduce_first=False,
                                        use_reduce_last=False, use_reduce_max=False, use_reduce_mean=True, nO=nO)
