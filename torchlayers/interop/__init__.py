"""Wrappers for PyTorch, TensorFlow and MXNet models, and Thinc model conversion.

Frameworks are imported lazily: ``import torchlayers`` never needs TensorFlow or MXNet.
"""


def __getattr__(name: str):  # from_spacy / to_spacy: spaCy is imported only when they are used
    if name in ("from_spacy", "to_spacy", "SpacyComponent"):
        from . import spacy as _spacy

        return getattr(_spacy, name)
    raise AttributeError(f"module 'torchlayers.interop' has no attribute {name!r}")
