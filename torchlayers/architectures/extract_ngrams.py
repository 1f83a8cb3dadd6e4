"""extract_ngrams: spaCy's bag-of-ngrams features (``spacy/ml/extract_ngrams.py``).

Shape:
    - Input: a list of B docs (objects with ``Doc.to_array([attr])``, n_i tokens).
    - Output: the ``SparseLinear`` input tuple ``(keys, values, lengths)``: keys (N,) int64 (the
      uint64 bits of the attribute values and of their n-gram hashes, ``2 <= n <= ngram_size``,
      each doc's keys unique and sorted as uint64), values (N,) float32 (their counts), lengths (B,)
      int32.

An n-gram's key is MurmurHash64A (seed 0) of its n keys' 8-byte little-endian words, as Thinc's
``NumpyOps.ngrams``. Attrs ``ngram_size``, ``attr`` (default ``ORTH``, spaCy's attribute id 65).
Preprocessing: eager only, no gradient; the Thinc face's backprop returns ``[]``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Tuple

import numpy
import torch
from torch import Tensor

from ..model import Model
from ..modules.remap_ids import _Preprocessing
from .feature_extractor import as_int64_bits, doc_array

__all__ = ["ORTH", "extract_ngrams", "ngrams"]

ORTH = 65  # spacy.attrs.ORTH
_M = numpy.uint64(0xC6A4A7935BD1E995)
_R = numpy.uint64(47)


def ngrams(n: int, keys: numpy.ndarray) -> numpy.ndarray:
    """Thinc's ``NumpyOps.ngrams(n, keys)``: MurmurHash64A of every window of ``n`` uint64 keys."""
    keys = numpy.ascontiguousarray(keys, dtype=numpy.uint64).reshape(-1)
    if n < 1:
        return numpy.zeros((0,), dtype=numpy.uint64)
    count = max(0, keys.shape[0] - (n - 1))
    with numpy.errstate(over="ignore"):
        h = numpy.full((count,), numpy.uint64(0) ^ (numpy.uint64(8 * n) * _M), dtype=numpy.uint64)
        for j in range(n):
            k = keys[j:j + count] * _M
            k ^= k >> _R
            k *= _M
            h ^= k
            h *= _M
        h ^= h >> _R
        h *= _M
        h ^= h >> _R
    return h


class extract_ngrams(_Preprocessing):
    """spaCy's ``extract_ngrams(ngram_size, attr=ORTH)``."""

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        ngram_size: int
        attr: int

    def __init__(self, ngram_size: int, attr: int = ORTH) -> None:
        if isinstance(ngram_size, bool) or not isinstance(ngram_size, int) or ngram_size < 1:
            raise ValueError(f"extract_ngrams: ngram_size must be an int >= 1, got {ngram_size!r}")
        super().__init__("extract_ngrams", attrs={"ngram_size": ngram_size, "attr": attr})

    def forward(self, docs: Any) -> Tuple[Tensor, Tensor, Tensor]:
        if not hasattr(docs, "__iter__"):
            raise TypeError(f"{self.name}: expected a list of docs, got {type(docs).__name__}")
        batch_keys, batch_vals = [], []
        for i, doc in enumerate(docs):
            unigrams = doc_array(self.name, doc, [self.attr], i).astype(numpy.uint64).reshape(-1)
            grams = [unigrams] + [ngrams(n, unigrams) for n in range(2, self.ngram_size + 1)]
            keys, vals = numpy.unique(numpy.concatenate(grams), return_counts=True)
            batch_keys.append(keys)
            batch_vals.append(vals)
        lengths = torch.tensor([k.shape[0] for k in batch_keys], dtype=torch.int32)
        keys = numpy.concatenate(batch_keys) if batch_keys else numpy.zeros((0,), dtype=numpy.uint64)
        vals = numpy.concatenate(batch_vals) if batch_vals else numpy.zeros((0,))
        return as_int64_bits(keys), torch.from_numpy(vals.astype(numpy.float32)), lengths

    def doc_features(self, slot: Optional[int]) -> Tuple[Model, Optional[Model]]:
        """The featurizer split (``torchlayers/interop/spacy/features.py``): this node featurizes; the
        module takes its ``(keys, values, lengths)`` in its place (a ``FeatureInput`` slot, or nothing:
        the chain it starts goes on without it)."""
        from ..interop.spacy.features import featurize_only

        return featurize_only(self, slot)
