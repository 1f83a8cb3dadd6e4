"""spaCy 3.8's ``spacy.Tok2Vec.v2``, ``spacy.MultiHashEmbed.v2`` and ``spacy.MaxoutWindowEncoder.v2``
(``spacy/ml/models/tok2vec.py``), from torchlayers layers; same node trees, dims, refs and seeds.

Shapes: ``MultiHashEmbed``: list of B docs -> list of B (n_i, width) tensors; ``MaxoutWindowEncoder``:
list of (n_i, width) -> list of (n_i, width); ``Tok2Vec``: docs -> list of (n_i, nO).
"""
from __future__ import annotations

from typing import List, Union

from ..api import HashEmbed, Maxout, chain, clone, concatenate
from ..combinators.residual import residual
from ..combinators.with_array import with_array
from ..model import Model
from ..modules.expand_window import expand_window
from ..modules.list2ragged import list2ragged
from ..modules.ragged2list import ragged2list
from ..registry import registry
from .feature_extractor import FeatureExtractor

__all__ = ["MaxoutWindowEncoder", "MultiHashEmbed", "build_Tok2Vec_model"]


@registry.architectures("spacy.Tok2Vec.v2")
def build_Tok2Vec_model(embed: Model, encode: Model) -> Model:
    """``chain(embed, encode)`` with refs ``embed``, ``encode`` and ``nO`` from ``encode``."""
    tok2vec = chain(embed, encode)
    if encode.has_dim("nO"):
        tok2vec.set_dim("nO", encode.get_dim("nO"))
    tok2vec.set_ref("embed", embed)
    tok2vec.set_ref("encode", encode)
    return tok2vec


@registry.architectures("spacy.MultiHashEmbed.v2")
def MultiHashEmbed(width: int, attrs: List[Union[str, int]], rows: List[int], include_static_vectors: bool) -> Model:
    """One ``HashEmbed(width, rows[i], column=i, seed=8+i)`` per attribute, concatenated, then a
    layer-normalized ``Maxout(width, nP=3)``. ``include_static_vectors`` needs spaCy's ``StaticVectors``
    (vectors from ``Doc.vocab``), which torchlayers does not provide: it raises."""
    if len(rows) != len(attrs):
        raise ValueError(f"spacy.MultiHashEmbed.v2: Mismatched lengths: {len(rows)} vs {len(attrs)} (rows vs attrs)")
    if include_static_vectors:
        raise ValueError(
            "spacy.MultiHashEmbed.v2: include_static_vectors=True needs spaCy's StaticVectors, which reads the "
            "vectors table of Doc.vocab; torchlayers does not provide it. Set include_static_vectors = false, or "
            "build the vectors branch with torchlayers.StaticVectors on your own id input"
        )
    embeddings = [HashEmbed(width, rows[i], column=i, seed=8 + i, dropout=0.0) for i in range(len(attrs))]
    concat_size = width * len(embeddings)
    max_out = with_array(Maxout(width, concat_size, nP=3, dropout=0.0, normalize=True))
    return chain(FeatureExtractor(attrs), list2ragged(), with_array(concatenate(*embeddings)), max_out, ragged2list())


@registry.architectures("spacy.MaxoutWindowEncoder.v2")
def MaxoutWindowEncoder(width: int, window_size: int, maxout_pieces: int, depth: int) -> Model:
    """``depth`` residual blocks of ``expand_window >> Maxout`` (layer-normalized), in ``with_array``
    padded by the receptive field ``window_size * depth``."""
    cnn = chain(
        expand_window(window_size=window_size),
        Maxout(nO=width, nI=width * ((window_size * 2) + 1), nP=maxout_pieces, dropout=0.0, normalize=True),
    )
    model = clone(residual(cnn), depth)
    model.set_dim("nO", width)
    return with_array(model, pad=window_size * depth)
