"""spaCy's node kinds: the rows ``from_thinc``/``to_thinc`` add to Thinc's (the extension point).

``thinc_convert`` derives Thinc's node kinds from Thinc's registry; spaCy's own nodes
(``extract_features``, ``static_vectors``, ``charembed``...) are built by functions of spaCy's
modules, which that registry does not name. Each row of ``ROWS`` is one spaCy node kind:

    (spaCy's module, its function building the node -- or the node's forward --, our class)

named by strings and imported lazily (``thinc_convert`` consults the table only once spaCy is
imported). The building function's forward identifies the node, as for Thinc's layers; our class
is built from the node by ``thinc_convert.arguments`` (dims, attrs, children by name) or its
``from_thinc_node`` classmethod. To support another spaCy node, append a row (and, when the node
reads Docs, give the class the ``doc_features(slot)`` hook of ``torchlayers/interop/spacy/features.py``;
a node that only featurizes answers ``featurize_only(self, slot)``).

``HINTS`` adds a sentence to the error for spaCy nodes that are converted another way.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Tuple

__all__ = ["ROWS", "HINTS", "spacy_kinds", "hint"]

#: (spaCy module, function building the node kind or its forward, our class as "module:Class")
ROWS: List[Tuple[str, str, str]] = [
    ("spacy.ml.featureextractor", "FeatureExtractor", "torchlayers.architectures.feature_extractor:FeatureExtractor"),
    ("spacy.ml.extract_ngrams", "extract_ngrams", "torchlayers.architectures.extract_ngrams:extract_ngrams"),
    ("spacy.ml._precomputable_affine", "PrecomputableAffine",
     "torchlayers.modules.precomputable_affine:PrecomputableAffine"),
    ("spacy.ml.tb_framework", "TransitionModel", "torchlayers.architectures.parser_model:TransitionModel"),
    ("spacy.ml.staticvectors", "StaticVectors", "torchlayers.modules.spacy_static_vectors:SpacyStaticVectors"),
    ("spacy.ml._character_embed", "CharacterEmbed", "torchlayers.modules.character_embed:CharacterEmbed"),
]

#: (spaCy module, forward name) -> what to do instead
HINTS: Dict[Tuple[str, str], str] = {
    ("spacy.pipeline.tok2vec", "forward"): (
        "; it is a tok2vec listener, whose output is the upstream tok2vec component's: convert the component "
        "with torchlayers.interop.from_spacy(nlp, component), which splices the upstream tok2vec in"
    ),
}


def _load(path: str, attr: str) -> Any:
    return getattr(importlib.import_module(path), attr)


def spacy_kinds() -> List[Tuple[Callable[..., Any], type]]:
    """The rows resolved: (spaCy's function or forward, our node class)."""
    rows = []
    for module, name, ours in ROWS:
        our_module, our_class = ours.split(":")
        rows.append((_load(module, name), _load(our_module, our_class)))
    return rows


def hint(forward: Any) -> str:
    """The ``HINTS`` sentence for a spaCy forward ("" when none)."""
    return HINTS.get((getattr(forward, "__module__", ""), getattr(forward, "__name__", "")), "")
