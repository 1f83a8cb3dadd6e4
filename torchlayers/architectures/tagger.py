"""spaCy 3.8's ``spacy.Tagger.v2`` (``spacy/ml/models/tagger.py``): ``tok2vec >> with_array(Softmax_v2)``.

Shape: list of B docs -> list of B (n_i, nO) tag probabilities.
"""
from __future__ import annotations

from typing import Optional

from ..combinators.chain import chain
from ..combinators.with_array import with_array
from ..initializers import zero_init
from ..model import Model
from ..modules.softmax import Softmax_v2
from ..registry import registry

__all__ = ["build_tagger_model"]


@registry.architectures("spacy.Tagger.v2")
def build_tagger_model(tok2vec: Model, nO: Optional[int] = None, normalize: bool = False) -> Model:
    """A zero-initialized ``Softmax_v2(nO, tok2vec's nO, normalize_outputs=normalize)`` over the token
    vectors; refs ``tok2vec``, ``softmax`` and ``output_layer`` (the softmax node)."""
    t2v_width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    output_layer = Softmax_v2(nO, t2v_width, init_W=zero_init, normalize_outputs=normalize)
    softmax = with_array(output_layer)
    model = chain(tok2vec, softmax)
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("softmax", output_layer)
    model.set_ref("output_layer", output_layer)
    return model
