"""The featurizer split and the Doc-reading nodes on bad inputs: each error names the node, what it
expected and what came (spaCy Docs from a blank English pipeline; nothing trained)."""
from __future__ import annotations

import numpy
import pytest
import torch

from tests.interop.spacy_fixtures import spacy
from torchlayers.architectures.feature_extractor import FeatureExtractor
from torchlayers.interop import from_spacy, to_spacy
from torchlayers.interop.spacy import FeatureInput, Featurizer, split_features
from torchlayers.modules.character_embed import CharacterEmbed, utf8_ids
from torchlayers.modules.spacy_static_vectors import SpacyStaticVectors, vector_rows


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def test_character_embed_matches_spacys_node_and_refuses_bad_ids(nlp):
    from spacy.ml._character_embed import CharacterEmbed as spacy_character_embed

    docs = [nlp.make_doc("Hello wörld, ok?"), nlp.make_doc("a")]
    theirs = spacy_character_embed(nM=3, nC=4).initialize()
    theirs.set_param("E", numpy.random.default_rng(0).standard_normal((4, 256, 3)).astype("f"))
    ours = CharacterEmbed(3, 4).initialize()
    ours.set_param("E", theirs.get_param("E"))
    for a, b in zip(ours(docs), theirs.predict(docs)):
        numpy.testing.assert_array_equal(a.detach().numpy(), b)
    ids = utf8_ids(4)(docs)
    assert [tuple(t.shape) for t in ids] == [(5, 4), (1, 4)] and ids[0].dtype == torch.int64
    with pytest.raises(ValueError, match=r"charembed: item 0: expected \(n, nC=4\) integer byte ids, got "
                                         r"shape \[5, 3\]"):
        ours([torch.zeros((5, 3), dtype=torch.int64)])
    with pytest.raises(TypeError, match=r"charembed: expected spaCy Docs \(with to_utf8_array\), got item 0 of "
                                        r"type str"):
        utf8_ids(4)(["text"])


def test_static_vectors_refuse_floret_tables_and_wrong_widths(nlp):
    from spacy.vectors import Vectors

    node = SpacyStaticVectors(nO=2, nM=4)
    floret = Vectors(data=numpy.zeros((10, 4), "f"), mode="floret", hash_count=1, minn=1, maxn=2)
    with pytest.raises(ValueError, match=r"static_vectors: the vocab's vectors are in 'floret' mode; torchlayers "
                                         r"supports spaCy's default vectors table only"):
        node.set_spacy_vectors(floret)
    with pytest.raises(ValueError, match=r"static_vectors: the vectors table has shape \(3, 5\), the layer expects "
                                         r"\(rows, nM=4\)"):
        node.set_spacy_vectors(Vectors(data=numpy.zeros((3, 5), "f")))
    with pytest.raises(TypeError, match=r"static_vectors: expected spaCy Docs, got item 0 of type int"):
        vector_rows()([3])


def test_feature_input_and_split_errors():
    with pytest.raises(TypeError, match=r"extract_features: expected the featurizer's tuple of feature lists "
                                        r"\(slot 1\), got list"):
        FeatureInput("extract_features", 1)([torch.zeros(2, 1)])
    with pytest.raises(ValueError, match=r"no node reads Docs \(extract_features, static_vectors, charembed...\)"):
        split_features(torch_linear())
    with pytest.raises(ValueError, match=r"the Doc-reading node 'extract_features' is the whole model; torchlayers "
                                         r"splits the featurizer off only where the Docs enter a chain"):
        split_features(FeatureExtractor(["ORTH"]))


def torch_linear():
    import torchlayers as tl

    return tl.Linear(2, 2)


def test_two_doc_readers_take_a_tuple_of_feature_lists(nlp):
    import torchlayers as tl

    model = tl.concatenate(FeatureExtractor(["ORTH"]), FeatureExtractor(["NORM", "SHAPE"]))
    featurizer, module = split_features(model)
    assert [type(n).__name__ for n in module.layers] == ["FeatureInput", "FeatureInput"]
    docs = [nlp.make_doc("One two three")]
    features = featurizer(docs)
    assert isinstance(features, tuple) and [f[0].shape[1] for f in features] == [1, 2]
    assert [t.shape[1] for t in module(features)] == [3]


def test_featurizer_and_entry_points_refuse_bad_arguments(nlp):
    featurizer = Featurizer([FeatureExtractor(["ORTH"])], ["extract_features"])
    with pytest.raises(TypeError, match=r"Featurizer\(extract_features\): expected a list of spaCy Docs, got str"):
        featurizer("a text")
    with pytest.raises(TypeError, match=r"from_spacy: expected a spaCy Language or a pipeline path, got int"):
        from_spacy(3, "tagger")
    with pytest.raises(TypeError, match=r"to_spacy: pass the loaded Language \(spacy.load\(path\)\)"):
        to_spacy("some/path", "tagger", torch_linear())
    with pytest.raises(ValueError, match=r"from_spacy: component 'sentencizer' \(Sentencizer\) has no Thinc model"):
        nlp.add_pipe("sentencizer")
        from_spacy(nlp, "sentencizer")
