"""from_spacy on spaCy's other tok2vec architectures: ``CharacterEmbed.v2`` with ``MishWindowEncoder.v2``,
and ``MultiHashEmbed.v2`` with static vectors (the pipeline's vectors table) and
``TorchBiLSTMEncoder.v1``: the tok2vec vectors and the tagger's tags match ``nlp(text)``."""
from __future__ import annotations

import numpy
import pytest
import torch

from tests.interop.spacy_fixtures import held_out_docs, spacy_comparison, train_pipeline  # noqa: F401
from torchlayers.interop import from_spacy
from torchlayers.modules.character_embed import CharacterEmbed
from torchlayers.modules.spacy_static_vectors import SpacyStaticVectors

CHARACTERS = {
    "components.tok2vec.model.embed": {"@architectures": "spacy.CharacterEmbed.v2", "width": 64, "rows": 2000,
                                       "nM": 16, "nC": 4, "include_static_vectors": False},
    "components.tok2vec.model.encode": {"@architectures": "spacy.MishWindowEncoder.v2", "width": 64,
                                        "window_size": 1, "depth": 2},
}
VECTORS = {
    "components.tok2vec.model.embed.include_static_vectors": True,
    "components.tok2vec.model.encode": {"@architectures": "spacy.TorchBiLSTMEncoder.v1", "width": 96, "depth": 1,
                                        "dropout": 0.0},
}



def _vectors(n_words=800, width=20):
    """Random vectors for the excerpt's first words (the rest of the vocabulary has none: row -1)."""
    from examples import ewt

    rng = numpy.random.default_rng(0)
    words = sorted({w for s in ewt.load_split("train", str(ewt.EXCERPT)) for w in s.words})[:n_words]
    return {w: rng.standard_normal(width).astype("float32") for w in words}


@pytest.fixture(scope="module")
def characters_pipeline():
    return train_pipeline(["tagger"], epochs=2, limit=150, overrides=CHARACTERS)


@pytest.fixture(scope="module")
def vectors_pipeline():
    return train_pipeline(["tagger"], epochs=1, limit=90, overrides=VECTORS, vectors=_vectors())


@pytest.fixture(params=["characters", "vectors"])
def pipeline(request):
    return request.param, request.getfixturevalue(f"{request.param}_pipeline")


def test_tok2vec_and_tagger_agree(pipeline, spacy_comparison):  # noqa: F811
    kind, nlp = pipeline
    docs = held_out_docs(nlp, limit=90)
    t2v = from_spacy(nlp, "tok2vec")
    tagger = from_spacy(nlp, "tagger")
    with torch.no_grad():
        vectors, scores = t2v(docs), tagger(docs)
    vec_diff = max(float(numpy.abs(v.numpy() - d.tensor).max()) for v, d in zip(vectors, docs))
    theirs = nlp.get_pipe("tagger").model.predict(docs)
    diff = max(float(numpy.abs(s.numpy() - numpy.asarray(t)).max()) for s, t in zip(scores, theirs))
    tags = [tagger.labels[i] for i in torch.cat(scores).argmax(1).tolist()]
    expected = [t.tag_ for d in docs for t in d]
    agreement = sum(a == b for a, b in zip(tags, expected)) / len(expected)
    assert isinstance(tagger.ragged_features(docs[:2]), tuple)  # two feature inputs: the tuple of their Ragged forms
    # one program each, exported on 4 docs and run on all of them: N, B and (the BiLSTM's Padded) T dynamic
    with torch.no_grad():
        V = t2v.export(docs[:4]).module()(t2v.ragged_features(docs)).data
        Y = tagger.export(docs[:4]).module()(tagger.ragged_features(docs)).data
    exported = {"tok2vec": f"max abs diff {float((V - torch.cat(vectors)).abs().max()):.1e} (vectors)"}
    got = [tagger.labels[i] for i in Y.argmax(1).tolist()]
    exported["tagger"] = sum(a == b for a, b in zip(got, expected)) / len(expected)
    assert torch.equal(V, torch.cat(vectors)) and torch.equal(Y, torch.cat(scores))
    assert max(len(d) for d in docs) > max(len(d) for d in docs[:4])  # the program ran past the example's T
    config = nlp.get_pipe_config("tok2vec")["model"]
    arch = f"{config['embed']['@architectures']} + {config['encode']['@architectures']}"
    if kind == "vectors":
        arch += f" (static vectors {nlp.vocab.vectors.shape})"
    spacy_comparison.add("tok2vec", arch, converted=True, max_abs_diff=vec_diff, agreement=None,
                         n_tokens=len(expected), exported=exported["tok2vec"], what="(vectors)")
    spacy_comparison.add("tagger", f"spacy.Tagger.v2 on {arch}", converted=True, max_abs_diff=diff,
                         agreement=agreement, n_tokens=len(expected), exported=exported["tagger"],
                         what="tags")
    readers = {"characters": CharacterEmbed, "vectors": SpacyStaticVectors}[kind]
    assert any(isinstance(n, readers) for n in tagger.module.walk())
    assert isinstance(tagger.featurizer(docs[:2]), tuple)  # two Doc-reading nodes: a tuple of feature lists
    assert vec_diff < 1e-4 and diff < 1e-4
    assert agreement == 1.0
    assert exported["tagger"] == 1.0


def test_static_vectors_hold_the_pipeline_table_and_zero_missing_words(vectors_pipeline):
    nlp = vectors_pipeline
    node = next(n for n in from_spacy(nlp, "tok2vec").module.walk() if isinstance(n, SpacyStaticVectors))
    table = numpy.asarray(nlp.vocab.vectors.data)
    assert numpy.array_equal(node.vectors[1:].numpy(), table) and not node.vectors[0].any()
    doc = nlp.make_doc(f"{next(iter(_vectors()))} zzzunknownzzz")
    rows = node.doc_features(None)[0]([doc])[0]
    assert int(rows[1]) == -1
    with torch.no_grad():
        out = node([rows]).data
    assert not out[1].any() and out[0].any()


def test_static_vectors_embedding_exports_with_two_feature_inputs(vectors_pipeline):
    """The embedding half of the vectors tok2vec (hash embeddings | static vectors, Maxout): one program
    on the tuple of both inputs' Ragged forms, N and B dynamic."""
    from torchlayers.interop.spacy.export import export_packed

    nlp = vectors_pipeline
    result = from_spacy(nlp, "tok2vec")
    embed = result.module.layers[0]
    assert any(isinstance(n, SpacyStaticVectors) for n in embed.walk())
    docs = held_out_docs(nlp, limit=30)
    program = export_packed(embed, result.ragged_features(docs[:4])).module()
    with torch.no_grad():
        Y = program(result.ragged_features(docs))
        assert torch.equal(Y.data, torch.cat(embed(result.featurizer(docs))))
    assert Y.lengths.tolist() == [len(d) for d in docs]


def test_packed_form_names_what_it_expected(characters_pipeline):
    from torchlayers.interop.spacy import pack_features, packed_form

    result = from_spacy(characters_pipeline, "tagger")
    docs = held_out_docs(characters_pipeline, limit=6)
    form = packed_form(result.module, result.ragged_features(docs))
    with pytest.raises(TypeError, match=r"packed_form\(.*\): expected the packed features \(a tuple of a Ragged, "
                                        r"a Ragged\), got \(a tuple of a list \(not packed\), a list \(not "
                                        r"packed\)\); pack them with pack_features"):
        form(result.featurizer(docs))  # the tuple of lists, unpacked
    with pytest.raises(TypeError, match=r"pack_features: Featurizer\(charembed, extract_features\) gives a tuple "
                                        r"of 2 feature inputs, got list"):
        pack_features(result.featurizer, result.featurizer(docs)[0])


def test_spacy_node_kinds_go_back_to_thinc(pipeline):
    """to_thinc(from_thinc(tok2vec model)): spaCy's node kinds (extract_features, charembed,
    static_vectors) are rebuilt with spaCy's functions, and predict what the original predicts."""
    from torchlayers.interop.thinc_convert import from_thinc, to_thinc

    kind, nlp = pipeline
    docs = held_out_docs(nlp, limit=30)
    original = nlp.get_pipe("tok2vec").model
    back = to_thinc(from_thinc(original))
    assert [n.name for n in back.walk()] == [n.name for n in original.walk()]
    spacy_kinds = {"characters": "charembed", "vectors": "static_vectors"}[kind]
    node = next(n for n in back.walk() if n.name == spacy_kinds)
    assert node._func.__module__.startswith("spacy.ml.")
    for ours, theirs in zip(back.predict(docs), original.predict(docs)):
        numpy.testing.assert_array_equal(ours, theirs)


def test_torch_gradients_reach_the_spacy_nodes(pipeline):
    """The converted tok2vec trains in torch: the character table E / the vectors projection W get
    gradients (the vectors table itself is a buffer, as spaCy's)."""
    kind, nlp = pipeline
    result = from_spacy(nlp, "tok2vec")
    module = result.module.train()
    docs = held_out_docs(nlp, limit=9)
    torch.cat(module(result.featurizer(docs))).pow(2).sum().backward()
    node = next(n for n in module.walk() if isinstance(n, (CharacterEmbed, SpacyStaticVectors)))
    grad = node.E.grad if kind == "characters" else node.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    if kind == "vectors":
        assert not node.vectors.requires_grad
