"""spaCy 3.8's model architectures (``registry.architectures``, the ``spacy.*`` names) built from
torchlayers layers, so a spaCy ``[components.<name>.model]`` block resolves to torch modules.

spaCy is not a dependency: the two spaCy-only layers these need, ``FeatureExtractor``
(``extract_features``) and ``extract_ngrams``, read any object with spaCy's ``Doc.to_array(columns)``
(a ``Span`` through ``span.doc`` / ``start`` / ``end``) and are reimplemented here.
"""
from __future__ import annotations

from . import parser_model as parser_model  # spaCy's parser/NER model (registers on import)
from . import textcat_cnn as textcat_cnn  # one spaCy text classifier per file, each registers on import
from . import textcat_ensemble as textcat_ensemble
from . import textcat_parametric_attention as textcat_parametric_attention
from . import textcat_reduce as textcat_reduce
from .extract_ngrams import extract_ngrams as extract_ngrams
from .feature_extractor import FeatureExtractor as FeatureExtractor
from .tagger import build_tagger_model as build_tagger_model
from .textcat import build_bow_text_classifier_v3 as build_bow_text_classifier_v3
from .tok2vec import MaxoutWindowEncoder as MaxoutWindowEncoder
from .tok2vec import MultiHashEmbed as MultiHashEmbed
from .tok2vec import build_Tok2Vec_model as build_Tok2Vec_model
