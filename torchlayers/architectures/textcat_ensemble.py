"""spaCy 3.8's ``spacy.TextCatEnsemble.v2`` (``spacy/ml/models/textcat.py``): a linear model and an
attention-pooled tok2vec side by side.

``(linear_model | tok2vec >> list2ragged >> ParametricAttention >> reduce_sum >>
residual(Maxout >> LayerNorm >> Dropout(0.0))) >> output`` where output is ``Softmax(nO, 2 nO)``
(exclusive classes: the linear model's ``multi_label`` is false) or ``Linear(nO, 2 nO) >> Logistic``.
Shape: list of B docs -> (B, nO) scores.
"""
from __future__ import annotations

from typing import Any, Optional, cast

from ..api import Maxout, concatenate
from ..combinators.chain import chain
from ..combinators.residual import residual
from ..convert import to_torch
from ..model import Model
from ..modules.dropout import Dropout
from ..modules.layernorm import LayerNorm
from ..modules.linear import Linear
from ..modules.list2ragged import list2ragged
from ..modules.logistic import Logistic
from ..modules.parametric_attention import ParametricAttention
from ..modules.reduce_sum import reduce_sum
from ..modules.softmax import Softmax
from ..registry import registry

__all__ = ["build_text_classifier_v2", "get_tok2vec_width", "init_tok2vec_first"]


def get_tok2vec_width(model: Model) -> Optional[int]:
    """spaCy's ``get_tok2vec_width``: the ``tok2vec`` ref's nO, else its ``listener`` ref's."""
    if model.has_ref("tok2vec"):
        tok2vec = model.get_ref("tok2vec")
        if tok2vec.has_dim("nO"):
            return tok2vec.get_dim("nO")
        if tok2vec.has_ref("listener"):
            return tok2vec.get_ref("listener").get_dim("nO")
    return None


def init_tok2vec_first(model: Model, X: Any, Y: Any, dims: Any) -> Model:
    """spaCy's ``init_ensemble_textcat``: initialize the ``tok2vec`` ref, give each ref named in
    ``dims`` (``{ref: ("nO", "nI"...)}``) its width, then initialize the chain as usual."""
    tok2vec = model.get_ref("tok2vec")
    tok2vec.initialize(X)
    width = get_tok2vec_width(model)
    if width is None:
        raise ValueError(f"{model.name}: the tok2vec ref has no nO after initialize (nor a listener with one); "
                         f"give the tok2vec architecture its width")
    for ref, names in dims.items():
        layer = model.maybe_get_ref(ref)
        if layer is not None:
            for name in names:
                layer.set_dim(name, width)
    device = model.device
    chain._initialize(cast(chain, model), to_torch(X, device) if X is not None else None,
                      to_torch(Y, device) if Y is not None else None)
    return model


def init_ensemble_textcat(model: Model, X: Any = None, Y: Any = None) -> Model:
    """The ensemble's ``init``: its refs get the tok2vec width before the chain initializes."""
    return init_tok2vec_first(model, X, Y, {"attention_layer": ("nO",), "maxout_layer": ("nO", "nI"),
                                            "norm_layer": ("nI", "nO")})


@registry.architectures("spacy.TextCatEnsemble.v2")
def build_text_classifier_v2(tok2vec: Model, linear_model: Model, nO: Optional[int] = None) -> Model:
    """Refs ``tok2vec``, ``output_layer`` (the linear model's), ``attention_layer``, ``maxout_layer``,
    ``norm_layer``; attr ``multi_label``; ``init`` sets the tok2vec width on the refs first."""
    if "multi_label" not in linear_model.attrs:
        raise ValueError(f"spacy.TextCatEnsemble.v2: linear_model {linear_model.name!r} has no 'multi_label' attr; "
                         f"use a spacy.TextCatBOW architecture (it sets it)")
    exclusive_classes = not linear_model.attrs["multi_label"]
    width = tok2vec.maybe_get_dim("nO")
    attention_layer = ParametricAttention(width)
    maxout_layer = Maxout(nO=width, nI=width)
    norm_layer = LayerNorm(nI=width)
    with Model.define_operators({">>": chain, "|": concatenate}):  # spaCy's operators: nested binary chains
        cnn_model = (tok2vec >> list2ragged() >> attention_layer >> reduce_sum()
                     >> residual(maxout_layer >> norm_layer >> Dropout(0.0)))
    nO_double = nO * 2 if nO else None
    output_layer: Model
    if exclusive_classes:
        output_layer = Softmax(nO=nO, nI=nO_double)
    else:
        output_layer = chain(Linear(nO=nO, nI=nO_double), Logistic())
    with Model.define_operators({">>": chain, "|": concatenate}):
        model = (linear_model | cnn_model) >> output_layer
    model.set_ref("tok2vec", tok2vec)
    if model.has_dim("nO") is not False and nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", linear_model.get_ref("output_layer"))
    model.set_ref("attention_layer", attention_layer)
    model.set_ref("maxout_layer", maxout_layer)
    model.set_ref("norm_layer", norm_layer)
    model.set_attr("multi_label", not exclusive_classes)
    model.init = init_ensemble_textcat
    return model
