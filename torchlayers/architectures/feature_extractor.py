"""FeatureExtractor: spaCy's ``extract_features`` node (``spacy/ml/featureextractor.py``).

Shape:
    - Input: a list of B docs: objects with spaCy's ``Doc.to_array(columns)`` (n_i tokens), or spans
      (``span.doc.to_array(columns)[span.start:span.end]``).
    - Output: list of B int64 tensors (n_i, len(columns)): spaCy's uint64 attribute values, the same
      64 bits stored as int64 (torch has no general uint64; ``HashEmbed`` hashes the bits).

Attr ``columns`` (the attribute names or ids, passed to ``to_array`` as given). Preprocessing: eager
only (Python objects), no gradient; the Thinc face's backprop returns ``[]`` as spaCy's.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy
import torch
from torch import Tensor

from ..model import Model
from ..modules.remap_ids import _Preprocessing

__all__ = ["FeatureExtractor", "doc_array"]


def doc_array(layer: str, doc: Any, columns: Any, i: int) -> numpy.ndarray:
    """``doc.to_array(columns)`` for a Doc, the span's rows of its doc's array for a Span."""
    if hasattr(doc, "to_array"):
        return numpy.asarray(doc.to_array(columns))
    if hasattr(getattr(doc, "doc", None), "to_array") and hasattr(doc, "start") and hasattr(doc, "end"):
        return numpy.asarray(doc.doc.to_array(columns))[doc.start:doc.end]
    raise TypeError(f"{layer}: expected spaCy Docs or Spans (objects with to_array(columns)), got item {i} of type "
                    f"{type(doc).__name__}; extract the features yourself and start the model after this node")


def as_int64_bits(array: numpy.ndarray) -> Tensor:
    """uint64 attribute values as int64 tensors with the same bits."""
    return torch.from_numpy(numpy.ascontiguousarray(array.astype(numpy.uint64)).view(numpy.int64))


class FeatureExtractor(_Preprocessing):
    """spaCy's ``FeatureExtractor(columns)``: each doc's attribute columns as ids."""

    def __init__(self, columns: Sequence[Union[str, int]]) -> None:
        if isinstance(columns, (str, bytes)) or not hasattr(columns, "__iter__"):
            raise TypeError(f"extract_features: columns must be a list of attribute names or ids, got {columns!r}")
        super().__init__("extract_features", attrs={"columns": list(columns)})

    def forward(self, docs: Any) -> List[Tensor]:
        if not hasattr(docs, "__iter__"):
            raise TypeError(f"{self.name}: expected a list of docs, got {type(docs).__name__}")
        out = []
        for i, doc in enumerate(docs):
            attrs = doc_array(self.name, doc, self.columns, i)
            if attrs.ndim == 1:
                attrs = attrs.reshape((attrs.shape[0], 1))
            out.append(as_int64_bits(attrs))
        return out

    def doc_features(self, slot: Optional[int]) -> Tuple[Model, Optional[Model]]:
        """The featurizer split (``torchlayers/interop/spacy/features.py``): this node featurizes;
        the module takes its output in its place (a ``FeatureInput`` slot, or nothing: the chain
        it starts goes on without it)."""
        from ..interop.spacy.features import featurize_only

        return featurize_only(self, slot)
