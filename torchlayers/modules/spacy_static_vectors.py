"""SpacyStaticVectors: spaCy's ``static_vectors`` node (``spacy/ml/staticvectors.py``): the pipeline's
vectors table, projected by a learned W, one Ragged over the batch.

Shape:
    - Input: a list of B (n_i,) int64 row ids of the vocab's vectors table (the featurizer's
      ``vector_rows``: ``vocab.vectors.find(keys=doc.to_array(key))``, -1 for a word without a
      vector), or the Docs themselves (eager), or the featurizer's tuple of feature lists, of
      which this node takes ``slot``.
    - Output: ``Ragged`` (sum n_i, nO) with the B lengths: ``V[row] W^T``, zeros where row is -1.

The table is a buffer (``set_spacy_vectors(vocab.vectors)``; ``from_spacy`` sets the pipeline's),
with a zero row in front: ``torchlayers.modules.static_vectors.StaticVectors`` on ``row + 1``.
Params ``W`` (nO, nM). Dropout (``dropout_rate``) in training only, one (nO,) mask, as spaCy's.
Only spaCy's default vectors mode; floret vectors (hashed subwords) raise.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import numpy
import torch
from torch import Tensor

from ..initializers import glorot_uniform_init
from ..model import Model
from ..types import Ragged
from .static_vectors import StaticVectors

__all__ = ["SpacyStaticVectors", "vector_rows"]


def _default_mode(vectors: Any, where: str) -> None:
    mode = str(getattr(vectors, "mode", "default"))
    if mode.split(".")[-1].lower() != "default":
        raise ValueError(f"{where}: the vocab's vectors are in {mode!r} mode; torchlayers supports spaCy's default "
                         "vectors table only (floret's hashed subword vectors are not converted)")


class vector_rows:
    """The featurizer of ``SpacyStaticVectors``: B Docs -> B (n_i,) int64 rows of the vocab's table."""

    def __call__(self, docs: Any) -> List[Tensor]:
        out = []
        for i, doc in enumerate(docs):
            vocab = getattr(doc, "vocab", None)
            if vocab is None or not hasattr(doc, "to_array"):
                raise TypeError(f"static_vectors: expected spaCy Docs, got item {i} of type {type(doc).__name__}")
            _default_mode(vocab.vectors, "static_vectors")
            keys = numpy.asarray(doc.to_array(getattr(vocab.vectors, "attr", "ORTH")), dtype=numpy.uint64)
            rows = numpy.asarray(vocab.vectors.find(keys=keys), dtype=numpy.int64).reshape(-1)
            out.append(torch.from_numpy(rows))
        return out

    def __repr__(self) -> str:
        return "vector_rows()"


class SpacyStaticVectors(StaticVectors):
    """spaCy's ``StaticVectors(nO, nM, *, dropout=None, init_W=glorot_uniform_init, key_attr="ORTH")``."""

    def __init__(self, nO: Optional[int] = None, nM: Optional[int] = None, *, dropout: Optional[float] = None,
                 init_W: Callable = glorot_uniform_init, key_attr: str = "ORTH") -> None:
        super().__init__(nO, None, dropout=dropout, init_W=init_W)
        self.set_dim("nM", nM)
        self.set_attr("key_attr", key_attr)
        del self.attrs["column"]  # spaCy's node has no column option
        self.slot: Optional[int] = None

    def set_spacy_vectors(self, vectors: Any) -> None:
        """Install a spaCy ``Vectors`` table (its ``data``), behind a zero row for missing words."""
        _default_mode(vectors, self.name)
        data = numpy.asarray(vectors.data, dtype=numpy.float32)
        if data.ndim != 2 or (self.has_dim("nM") and self.get_dim("nM") != data.shape[1]):
            raise ValueError(f"{self.name}: the vectors table has shape {data.shape}, the layer expects "
                             f"(rows, nM={self.maybe_get_dim('nM')})")
        self.set_vectors(numpy.concatenate([numpy.zeros((1, data.shape[1]), numpy.float32), data]))

    def doc_features(self, slot: Optional[int]) -> Tuple[vector_rows, Model]:
        """The featurizer split: ``vector_rows()`` featurizes; this node projects the rows."""
        self.slot = slot
        return vector_rows(), self

    def forward(self, X: Any) -> Ragged:  # type: ignore[override]
        if self.slot is not None:
            X = X[self.slot]
        if len(X) and hasattr(X[0], "vocab"):
            if self.vectors is None:
                self.set_spacy_vectors(X[0].vocab.vectors)
            X = vector_rows()(X)
        lengths = torch.tensor([int(rows.shape[0]) for rows in X], dtype=torch.int32)
        W = self.weight
        if not X:
            return Ragged(torch.zeros((0, W.shape[0] if W is not None else self.get_dim("nO"))), lengths)
        rows = torch.cat([rows.reshape(-1) for rows in X])
        return Ragged(super().forward(rows + 1), lengths)
