"""spaCy pipelines in and out of torchlayers (spaCy 3.8): ``from_spacy``, ``to_spacy``.

- ``kinds.py``: spaCy's node kinds, the rows ``from_thinc``/``to_thinc`` add to Thinc's;
- ``features.py``: the featurizer split (Docs -> id tensors, then the torch module);
- ``convert.py``: components, listeners, labels, writing back;
- ``export.py``: the packed form of a converted module (its feature inputs packed as Ragged, N and
  B symbolic) for ``torch.export`` and ``torch.compile``; ``SpacyComponent.export`` uses it.

spaCy is imported only by these functions (and by ``from_thinc`` once it is imported).
"""
from __future__ import annotations

from .convert import SpacyComponent, from_spacy, to_spacy
from .export import export_packed, pack_features, packed_form
from .features import FeatureInput, Featurizer, split_features

__all__ = ["SpacyComponent", "from_spacy", "to_spacy", "Featurizer", "FeatureInput", "split_features",
           "export_packed", "pack_features", "packed_form"]
