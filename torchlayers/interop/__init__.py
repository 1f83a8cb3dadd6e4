"""Wrappers for PyTorch, TensorFlow and MXNet models, Thinc model conversion, and spaCy pipelines in and
out (``from_spacy``, ``to_spacy``: ``torchlayers/interop/spacy/``).

Frameworks are imported lazily: ``import torchlayers`` never needs TensorFlow, MXNet or spaCy.
"""


def __getattr__(name: str):  # from_spacy / to_spacy: spaCy is imported only when they are used
    if name in ("from_spacy", "to_spacy", "SpacyComponent"):
        from . import spacy as _spacy

        return getattr(_spacy, name)
    raise AttributeError(f"module 'torchlayers.interop' has no attribute {name!r}")
