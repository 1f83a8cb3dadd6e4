"""spaCy 3.8's model architectures (``registry.architectures``, the ``spacy.*`` names) built from
torchlayers layers, so a spaCy ``[components.<name>.model]`` block resolves to torch modules.

spaCy is not a dependency: the two spaCy-only layers these need, ``FeatureExtractor``
(``extract_features``) and ``extract_ngrams``, read any object with spaCy's ``Doc.to_array(columns)``
(a ``Span`` through ``span.doc`` / ``start`` / ``end``) and are reimplemented here.
"""
from __future__ import annotations
