"""spaCy 3.8's ``spacy.TextCatBOW.v3`` and ``.v2`` (``spacy/ml/models/textcat.py``): bag-of-ngrams text classifier.

``with_cpu(extract_ngrams >> resizable(SparseLinear_v2))`` (v2: ``SparseLinear``), then ``with_cpu(softmax_activation)``
(exclusive classes) or ``with_cpu(Logistic)`` unless ``no_output_layer``.
Shape: list of B docs -> (B, nO) scores.
"""
from __future__ import annotations

from functools import partial
from typing import Dict, Optional, cast

from ..combinators.chain import chain
from ..combinators.resizable import resizable, resize_linear_weighted, resize_model
from ..combinators.with_cpu import with_cpu
from ..model import Model
from ..modules.logistic import Logistic
from ..modules.softmax_activation import softmax_activation
from ..modules.sparse_linear import SparseLinear, SparseLinear_v2
from ..registry import registry
from .extract_ngrams import ORTH, extract_ngrams

__all__ = ["NEG_VALUE", "build_bow_text_classifier", "build_bow_text_classifier_v3", "resize_and_set_ref"]

NEG_VALUE = -5000  # spaCy's fill value of new output biases when an output layer follows


def resize_and_set_ref(model: Model, new_nO: int, resizable_layer: resizable) -> Model:
    """spaCy's ``resize_output``: grow the resizable layer to ``new_nO``, repoint ``output_layer``."""
    resizable_layer = resize_model(resizable_layer, new_nO)
    model.set_ref("output_layer", cast(Model, resizable_layer.layers[0]))
    model.set_dim("nO", new_nO, force=True)
    return model


@registry.architectures("spacy.TextCatBOW.v2")
def build_bow_text_classifier(exclusive_classes: bool, ngram_size: int, no_output_layer: bool,
                              nO: Optional[int] = None) -> Model:
    """v3 with Thinc's ``SparseLinear`` (2**18 hash slots, keys taken modulo the length)."""
    return _build_bow_text_classifier(exclusive_classes, ngram_size, no_output_layer, SparseLinear(nO=nO), nO)


@registry.architectures("spacy.TextCatBOW.v3")
def build_bow_text_classifier_v3(exclusive_classes: bool, ngram_size: int, no_output_layer: bool,
                                 length: int = 262144, nO: Optional[int] = None) -> Model:
    """``length`` is rounded up to a power of two, as spaCy; attrs ``multi_label`` and ``resize_output``."""
    if length < 1:
        raise ValueError(f"spacy.TextCatBOW.v3: length must be at least 1 (the number of hash slots), got {length}")
    length = 2 ** (length - 1).bit_length()
    return _build_bow_text_classifier(exclusive_classes, ngram_size, no_output_layer,
                                      SparseLinear_v2(nO=nO, length=length), nO)


def _build_bow_text_classifier(exclusive_classes: bool, ngram_size: int, no_output_layer: bool,
                               sparse_linear: Model, nO: Optional[int]) -> Model:
    fill_defaults: Dict[str, float] = {"b": 0, "W": 0}
    output_layer = None
    if not no_output_layer:
        fill_defaults["b"] = NEG_VALUE
        output_layer = softmax_activation() if exclusive_classes else Logistic()
    resize = partial(resize_linear_weighted, fill_defaults=fill_defaults)
    resizable_layer = resizable(sparse_linear, resize_layer=resize)
    model: Model = chain(extract_ngrams(ngram_size, attr=ORTH), resizable_layer)
    model = with_cpu(model, model.ops)
    if output_layer is not None:
        model = chain(model, with_cpu(output_layer, output_layer.ops))
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", sparse_linear)
    model.set_attr("multi_label", not exclusive_classes)
    model.set_attr("resize_output", partial(resize_and_set_ref, resizable_layer=resizable_layer))
    return model
