"""spaCy 3.8's ``spacy.TextCatReduce.v1`` (``spacy/ml/models/textcat.py``): pooled tok2vec text classifier.

``tok2vec >> list2ragged >> concatenate(reduce_first, reduce_last, reduce_max, reduce_mean)`` (the
ones asked for, in that order), then ``resizable(Softmax)`` (exclusive classes) or
``resizable(Linear) >> Logistic``. Shape: list of B docs -> (B, nO) scores.
"""
from __future__ import annotations

from functools import partial
from typing import Dict, List, Optional

from ..api import concatenate
from ..combinators.chain import chain
from ..combinators.resizable import resizable, resize_linear_weighted
from ..model import Model
from ..modules.linear import Linear
from ..modules.list2ragged import list2ragged
from ..modules.logistic import Logistic
from ..modules.reduce_first import reduce_first
from ..modules.reduce_last import reduce_last
from ..modules.reduce_max import reduce_max
from ..modules.reduce_mean import reduce_mean
from ..modules.softmax import Softmax
from ..registry import registry
from .textcat import NEG_VALUE, resize_and_set_ref

__all__ = ["build_reduce_text_classifier"]


@registry.architectures("spacy.TextCatReduce.v1")
def build_reduce_text_classifier(tok2vec: Model, exclusive_classes: bool, use_reduce_first: bool,
                                 use_reduce_last: bool, use_reduce_max: bool, use_reduce_mean: bool,
                                 nO: Optional[int] = None) -> Model:
    """Refs ``tok2vec`` and ``output_layer`` (the Softmax/Linear); attrs ``multi_label`` and
    ``resize_output``. At least one ``use_reduce_*`` must be true."""
    reductions: List[Model] = []
    if use_reduce_first:
        reductions.append(reduce_first())
    if use_reduce_last:
        reductions.append(reduce_last())
    if use_reduce_max:
        reductions.append(reduce_max())
    if use_reduce_mean:
        reductions.append(reduce_mean())
    if not reductions:
        raise ValueError(
            "spacy.TextCatReduce.v1: use_reduce_first, use_reduce_last, use_reduce_max and use_reduce_mean are all "
            "false; set at least one to true (the model pools the token vectors with them)"
        )
    fill_defaults: Dict[str, float] = {"b": 0, "W": 0}
    with Model.define_operators({">>": chain}):  # spaCy's operators: nested binary chains
        cnn = tok2vec >> list2ragged() >> concatenate(*reductions)
    nO_tok2vec = tok2vec.maybe_get_dim("nO")
    nI = nO_tok2vec * len(reductions) if nO_tok2vec is not None else None
    output_layer: Model
    if exclusive_classes:
        output_layer = Softmax(nO=nO, nI=nI)
        fill_defaults["b"] = NEG_VALUE
        resizable_layer = resizable(output_layer, resize_layer=partial(resize_linear_weighted,
                                                                       fill_defaults=fill_defaults))
        model: Model = chain(cnn, resizable_layer)
    else:
        output_layer = Linear(nO=nO, nI=nI)
        resizable_layer = resizable(output_layer, resize_layer=partial(resize_linear_weighted,
                                                                       fill_defaults=fill_defaults))
        with Model.define_operators({">>": chain}):
            model = cnn >> resizable_layer >> Logistic()
    model.set_ref("output_layer", output_layer)
    model.set_attr("resize_output", partial(resize_and_set_ref, resizable_layer=resizable_layer))
    model.set_ref("tok2vec", tok2vec)
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_attr("multi_label", not exclusive_classes)
    return model
