"""spaCy 3.8's ``spacy.TextCatParametricAttention.v1`` (``spacy/ml/models/textcat.py``): attention-pooled
tok2vec with Gelu keys and a residual Maxout.

``tok2vec >> list2ragged >> ParametricAttention_v2(key_transform=Gelu) >> reduce_sum >>
residual(Maxout >> LayerNorm >> Dropout(0.0))``, then ``Softmax`` (exclusive classes) or
``Linear >> Logistic``. Shape: list of B docs -> (B, nO) scores.
"""
from __future__ import annotations

from typing import Any, Optional

from ..api import Gelu, Maxout
from ..combinators.chain import chain
from ..combinators.residual import residual
from ..model import Model
from ..modules.dropout import Dropout
from ..modules.layernorm import LayerNorm
from ..modules.linear import Linear
from ..modules.list2ragged import list2ragged
from ..modules.logistic import Logistic
from ..modules.parametric_attention_v2 import ParametricAttention_v2
from ..modules.reduce_sum import reduce_sum
from ..modules.softmax import Softmax
from ..registry import registry
from .textcat_ensemble import init_tok2vec_first

__all__ = ["build_textcat_parametric_attention_v1"]


def _init_parametric_attention_with_residual_nonlinear(model: Model, X: Any = None, Y: Any = None) -> Model:
    """spaCy's init of the attention block: its refs get the tok2vec width before the chain initializes."""
    return init_tok2vec_first(model, X, Y, {"attention_layer": ("nO",), "key_transform": ("nI", "nO"),
                                            "nonlinear_layer": ("nI", "nO"), "norm_layer": ("nI", "nO")})


def build_parametric_attention_with_residual_nonlinear(*, tok2vec: Model, nonlinear_layer: Model,
                                                       key_transform: Optional[Model] = None) -> Model:
    """spaCy's ``_build_parametric_attention_with_residual_nonlinear``; refs ``tok2vec``,
    ``attention_layer``, ``key_transform``, ``nonlinear_layer``, ``norm_layer``."""
    width = tok2vec.maybe_get_dim("nO")
    attention_layer = ParametricAttention_v2(nO=width, key_transform=key_transform)
    norm_layer = LayerNorm(nI=width)
    with Model.define_operators({">>": chain}):  # spaCy's operators: nested binary chains
        parametric_attention = (tok2vec >> list2ragged() >> attention_layer >> reduce_sum()
                                >> residual(nonlinear_layer >> norm_layer >> Dropout(0.0)))
    parametric_attention.init = _init_parametric_attention_with_residual_nonlinear
    parametric_attention.set_ref("tok2vec", tok2vec)
    parametric_attention.set_ref("attention_layer", attention_layer)
    parametric_attention.set_ref("key_transform", key_transform)
    parametric_attention.set_ref("nonlinear_layer", nonlinear_layer)
    parametric_attention.set_ref("norm_layer", norm_layer)
    return parametric_attention


@registry.architectures("spacy.TextCatParametricAttention.v1")
def build_textcat_parametric_attention_v1(tok2vec: Model, exclusive_classes: bool, nO: Optional[int] = None) -> Model:
    """Refs ``output_layer`` (the Softmax, or the ``Linear >> Logistic`` chain); attr ``multi_label``."""
    width = tok2vec.maybe_get_dim("nO")
    parametric_attention = build_parametric_attention_with_residual_nonlinear(
        tok2vec=tok2vec, nonlinear_layer=Maxout(nI=width, nO=width), key_transform=Gelu(nI=width, nO=width))
    output_layer: Model = Softmax(nO=nO) if exclusive_classes else chain(Linear(nO=nO), Logistic())
    model = chain(parametric_attention, output_layer)
    if model.has_dim("nO") is not False and nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", output_layer)
    model.set_attr("multi_label", not exclusive_classes)
    return model
