"""spaCy pipelines in and out of torchlayers (spaCy 3.8): ``from_spacy``, ``to_spacy``.

- ``kinds.py``: spaCy's node kinds, the rows ``from_thinc``/``to_thinc`` add to Thinc's;
- ``features.py``: the featurizer split (Docs -> id tensors, then the torch module);
- ``convert.py``: components, listeners, labels, writing back.

spaCy is imported only by these functions (and by ``from_thinc`` once it is imported).
"""
from __future__ import annotations

from .convert import SpacyComponent, from_spacy, to_spacy
from .features import FeatureInput, Featurizer, split_features

__all__ = ["SpacyComponent", "from_spacy", "to_spacy", "Featurizer", "FeatureInput", "split_features"]
