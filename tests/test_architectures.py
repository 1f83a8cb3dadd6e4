"""spaCy 3.8 architectures (``registry.architectures``): a spaCy ``[components.*.model]`` config resolves to
torchlayers modules whose node trees, dims and refs are those of a hand-built Thinc equivalent
(spaCy's source transcribed onto thinc.api below; spaCy itself is not installed), with equal outputs
after weight injection."""
from __future__ import annotations

from functools import partial

import numpy
import pytest
import thinc.api as ta
import torch
from confection import Config, ConfigValidationError
from thinc.layers.resizable import resize_linear_weighted as thinc_resize_linear_weighted

import torchlayers as tl
from tests.harness import _inject, assert_matches_thinc
from torchlayers.architectures.extract_ngrams import ngrams
from torchlayers.registry import registry

TOL = {"rtol": 1e-5, "atol": 1e-6}


class FakeDoc:
    """The part of spaCy's Doc the architectures read: ``to_array(columns)`` (uint64, 1-D for one column)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.rng = n, numpy.random.default_rng(seed)
        self.table = {}

    def to_array(self, columns):
        cols = [columns] if isinstance(columns, (str, int)) else list(columns)
        for c in cols:
            if c not in self.table:
                odd = self.rng.integers(0, 2**63, size=self.n, dtype=numpy.uint64) * numpy.uint64(2) + numpy.uint64(1)
                self.table[c] = odd  # high bits set too
        out = numpy.stack([self.table[c] for c in cols], axis=1)
        return out if len(cols) >= 2 else out.reshape((self.n,))


class FakeSpan:
    def __init__(self, doc, start, end):
        self.doc, self.start, self.end = doc, start, end


# ------------------------------------------------------------- spaCy 3.8's source on thinc.api (the reference)
def thinc_feature_extractor(columns):
    def forward(model, docs, is_train):
        features = []
        for doc in docs:
            attrs = doc.to_array(columns) if hasattr(doc, "to_array") else doc.doc.to_array(columns)[doc.start:doc.end]
            if attrs.ndim == 1:
                attrs = attrs.reshape((attrs.shape[0], 1))
            features.append(model.ops.asarray2i(attrs, dtype="uint64"))
        return features, lambda d: []

    return ta.Model("extract_features", forward, attrs={"columns": columns})


def thinc_multi_hash_embed(width, attrs, rows, include_static_vectors):
    seed = 7

    def make_hash_embed(index):
        nonlocal seed
        seed += 1
        return ta.HashEmbed(width, rows[index], column=index, seed=seed, dropout=0.0)

    embeddings = [make_hash_embed(i) for i in range(len(attrs))]
    concat_size = width * (len(embeddings) + include_static_vectors)
    max_out = ta.with_array(ta.Maxout(width, concat_size, nP=3, dropout=0.0, normalize=True))
    return ta.chain(thinc_feature_extractor(attrs), ta.list2ragged(), ta.with_array(ta.concatenate(*embeddings)),
                    max_out, ta.ragged2list())


def thinc_maxout_window_encoder(width, window_size, maxout_pieces, depth):
    maxout = ta.Maxout(nO=width, nI=width * ((window_size * 2) + 1), nP=maxout_pieces, dropout=0.0, normalize=True)
    cnn = ta.chain(ta.expand_window(window_size=window_size), maxout)
    model = ta.clone(ta.residual(cnn), depth)
    model.set_dim("nO", width)
    return ta.with_array(model, pad=window_size * depth)


def thinc_tok2vec(embed, encode):
    tok2vec = ta.chain(embed, encode)
    if encode.has_dim("nO"):
        tok2vec.set_dim("nO", encode.get_dim("nO"))
    tok2vec.set_ref("embed", embed)
    tok2vec.set_ref("encode", encode)
    return tok2vec


def thinc_tagger(tok2vec, nO=None, normalize=False):
    t2v_width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    output_layer = ta.Softmax_v2(nO, t2v_width, init_W=ta.zero_init, normalize_outputs=normalize)
    softmax = ta.with_array(output_layer)
    model = ta.chain(tok2vec, softmax)
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("softmax", output_layer)
    model.set_ref("output_layer", output_layer)
    return model


def thinc_extract_ngrams(ngram_size, attr=65):
    def forward(model, docs, is_train):
        batch_keys, batch_vals = [], []
        for doc in docs:
            unigrams = model.ops.asarray(doc.to_array([model.attrs["attr"]]))
            grams = [unigrams] + [model.ops.ngrams(n, unigrams) for n in range(2, model.attrs["ngram_size"] + 1)]
            keys, vals = numpy.unique(numpy.concatenate(grams), return_counts=True)
            batch_keys.append(keys)
            batch_vals.append(vals)
        lengths = model.ops.asarray([a.shape[0] for a in batch_keys], dtype="int32")
        vals = model.ops.asarray(numpy.concatenate(batch_vals), dtype="f")
        return (numpy.concatenate(batch_keys), vals, lengths), lambda d: []

    model = ta.Model("extract_ngrams", forward)
    model.attrs["ngram_size"] = ngram_size
    model.attrs["attr"] = attr
    return model


def thinc_textcat_bow_v3(exclusive_classes, ngram_size, no_output_layer, length=262144, nO=None):
    length = 2 ** (length - 1).bit_length()
    sparse_linear = ta.SparseLinear_v2(nO=nO, length=length)
    fill_defaults = {"b": 0, "W": 0}
    output_layer = None
    if not no_output_layer:
        fill_defaults["b"] = -5000
        output_layer = ta.softmax_activation() if exclusive_classes else ta.Logistic()
    resize = partial(thinc_resize_linear_weighted, fill_defaults=fill_defaults)
    resizable_layer = ta.resizable(sparse_linear, resize_layer=resize)
    model = ta.chain(thinc_extract_ngrams(ngram_size, attr=65), resizable_layer)
    model = ta.with_cpu(model, model.ops)
    if output_layer:
        model = ta.chain(model, ta.with_cpu(output_layer, output_layer.ops))
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = not exclusive_classes
    return model


# --------------------------------------------------------------------------------------------- configs
TAGGER = """
[vars]
width = 8

[components]

[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "spacy.Tagger.v2"
nO = 5

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[components.tagger.model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = ${vars.width}
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [50, 20, 20, 20]
include_static_vectors = false

[components.tagger.model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = ${vars.width}
depth = 2
window_size = 1
maxout_pieces = 3
"""

TEXTCAT = """
[components]

[components.textcat]
factory = "textcat"

[components.textcat.model]
@architectures = "spacy.TextCatBOW.v3"
exclusive_classes = %s
ngram_size = 2
no_output_layer = false
length = 1000
nO = 3
"""


def _docs():
    return [FakeDoc(5, 1), FakeDoc(3, 2), FakeDoc(1, 3)]


def _randomize(model):
    torch.manual_seed(0)
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                node.set_param(name, torch.randn_like(torch.as_tensor(node.get_param(name))) * 0.5)


def _compare(ours, theirs, docs):
    ours.initialize(X=docs)
    theirs.initialize(X=docs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    for a, b in zip(ours.walk(), theirs.walk()):
        for d in b.dim_names:
            assert a.maybe_get_dim(d) == b.maybe_get_dim(d), f"{a.name}: dim {d}"
        assert sorted(a.ref_names) == sorted(b.ref_names), a.name
    _randomize(ours)
    _inject(ours, theirs)
    assert_matches_thinc(ours.predict(docs), theirs.predict(docs), TOL, "predict")


def test_tagger_config_matches_spacys_tree_and_outputs():
    ours = registry.resolve(TAGGER)["components"]["tagger"]["model"]
    assert isinstance(ours, torch.nn.Module) and all(isinstance(n, tl.Model) for n in ours.walk())
    embed = thinc_multi_hash_embed(8, ["NORM", "PREFIX", "SUFFIX", "SHAPE"], [50, 20, 20, 20], False)
    encode = thinc_maxout_window_encoder(8, 1, 3, 2)
    theirs = thinc_tagger(thinc_tok2vec(embed, encode), nO=5)
    _compare(ours, theirs, _docs())
    t2v = ours.get_ref("tok2vec")
    assert t2v.get_ref("embed").name.startswith("extract_features") and t2v.get_dim("nO") == 8
    assert ours.get_ref("softmax") is ours.get_ref("output_layer") and ours.get_ref("softmax").name == "softmax"
    Y = ours.predict(_docs())
    assert [tuple(y.shape) for y in Y] == [(5, 5), (3, 5), (1, 5)]


def test_tok2vec_reads_spans():
    model = registry.resolve(TAGGER)["components"]["tagger"]["model"].get_ref("tok2vec")
    doc = FakeDoc(6, 4)
    model.initialize(X=[doc])
    whole = model.predict([doc])[0]
    part = model.predict([FakeSpan(doc, 1, 4)])[0]
    assert part.shape == (3, 8) and whole.shape == (6, 8)
    feats = model.get_ref("embed").layers[0].predict([FakeSpan(doc, 1, 4)])[0]
    assert torch.equal(torch.as_tensor(feats), tl.architectures.feature_extractor.as_int64_bits(
        doc.to_array(["NORM", "PREFIX", "SUFFIX", "SHAPE"])[1:4]))


@pytest.mark.parametrize("exclusive", ["true", "false"])
def test_textcat_bow_v3_matches_spacys_tree_and_outputs(exclusive):
    ours = registry.resolve(TEXTCAT % exclusive)["components"]["textcat"]["model"]
    theirs = thinc_textcat_bow_v3(exclusive == "true", 2, False, length=1000, nO=3)
    _compare(ours, theirs, _docs())
    assert ours.attrs["multi_label"] is (exclusive == "false")
    assert ours.get_ref("output_layer").get_dim("length") == 1024
    resized = ours.attrs["resize_output"](ours, 4)
    assert resized.get_dim("nO") == 4 and resized.get_ref("output_layer").get_dim("nO") == 4
    assert tuple(resized.predict(_docs()).shape) == (3, 4)


def test_ngrams_hash_as_thinc():
    keys = numpy.array([1, 2, 3, 2**63 + 5, 7, 7], dtype="uint64")
    for n in range(0, 5):
        assert numpy.array_equal(ngrams(n, keys), ta.NumpyOps().ngrams(n, keys)), n


def test_architectures_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"spacy\.MultiHashEmbed\.v2: Mismatched lengths: 1 vs 2"):
        registry.resolve({"@architectures": "spacy.MultiHashEmbed.v2", "width": 4, "attrs": ["NORM", "SHAPE"],
                          "rows": [10], "include_static_vectors": False})
    with pytest.raises(ValueError, match="include_static_vectors=True needs spaCy's StaticVectors"):
        registry.resolve({"@architectures": "spacy.MultiHashEmbed.v2", "width": 4, "attrs": ["NORM"],
                          "rows": [10], "include_static_vectors": True})
    with pytest.raises(ValueError, match="length must be at least 1"):
        registry.resolve({"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": 1,
                          "no_output_layer": False, "length": 0})
    model = registry.resolve({"@architectures": "spacy.MultiHashEmbed.v2", "width": 4, "attrs": ["NORM"],
                              "rows": [10], "include_static_vectors": False})
    with pytest.raises(TypeError, match=r"extract_features: expected spaCy Docs or Spans .* item 1 of type str"):
        model.predict([FakeDoc(2, 0), "not a doc"])


def test_fill_gives_spacys_defaults():
    filled = registry.fill(TAGGER.replace("nO = 5\n", ""))
    tagger = filled["components"]["tagger"]["model"]
    assert tagger["nO"] is None and tagger["normalize"] is False
    bow = registry.fill({"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": 1,
                         "no_output_layer": True})
    assert bow["length"] == 262144 and bow["nO"] is None
    with pytest.raises(ConfigValidationError, match=r"spacy.MaxoutWindowEncoder.v2(.|\n)*depth\tat root: 'deep'"):
        registry.resolve(TAGGER.replace("depth = 2", 'depth = "deep"'))


def test_no_output_layer_textcat_is_the_bare_sparse_linear():
    ours = registry.resolve({"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "ngram_size": 3,
                             "no_output_layer": True, "length": 64, "nO": 2})
    theirs = thinc_textcat_bow_v3(False, 3, True, length=64, nO=2)
    _compare(ours, theirs, _docs())
    assert ours.name == theirs.name


def test_thinc_registry_refuses_the_spacy_config():
    with pytest.raises(ValueError, match="Unknown registry: 'architectures'"):
        ta.registry.resolve(Config().from_str(TAGGER))
