"""from_spacy / to_spacy on spaCy's text classifiers (``textcat``, ``textcat_multilabel``) with each of
spaCy 3.8's architectures, trained from spaCy's default configs on the EWT excerpt: the converted module
scores what ``nlp(text).cats`` holds (rows of the comparison table in the terminal summary).

Labels: ``textcat`` the genre of the doc's first sentence (the fixtures' one-hot ``cats``);
``textcat_multilabel`` whether the doc has a question mark, a number, a proper noun (its UPOS).
"""
from __future__ import annotations

import random
from typing import Any, Dict

import numpy
import pytest
import torch

from tests.interop.spacy_fixtures import (  # noqa: F401
    compiled_outputs,
    default_config,
    ewt_examples,
    held_out_docs,
    spacy,
    spacy_comparison,
)
from torchlayers.interop import from_spacy, to_spacy

TRAIN_SENTENCES = 300
EPOCHS = 3
SMALL_TOK2VEC = {"components.tok2vec.model.encode.width": 32, "components.tok2vec.model.encode.depth": 2,
                 "components.tok2vec.model.embed.rows": [1000, 200, 500, 500]}
LISTENER = {"@architectures": "spacy.Tok2VecListener.v1", "width": "${components.tok2vec.model.encode.width}",
            "upstream": "*"}


def _bow(exclusive: bool) -> Dict[str, Any]:
    return {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": exclusive, "ngram_size": 1,
            "no_output_layer": False, "length": 262144, "nO": None}


def _model(architecture: str, exclusive: bool) -> Dict[str, Any]:
    """The component's model block for ``architecture`` (spaCy's defaults, a listener for the tok2vec)."""
    if architecture == "spacy.TextCatEnsemble.v2":
        return {"@architectures": architecture, "tok2vec": dict(LISTENER), "linear_model": _bow(exclusive), "nO": None}
    if architecture == "spacy.TextCatReduce.v1":
        return {"@architectures": architecture, "tok2vec": dict(LISTENER), "exclusive_classes": exclusive,
                "use_reduce_first": True, "use_reduce_last": True, "use_reduce_max": True, "use_reduce_mean": True,
                "nO": None}
    return {"@architectures": architecture, "tok2vec": dict(LISTENER), "exclusive_classes": exclusive, "nO": None}


#: (component, architecture): BOW is the efficiency default of both, the ensemble the accuracy one.
PIPELINES = [
    ("textcat", "spacy.TextCatBOW.v3"),
    ("textcat", "spacy.TextCatEnsemble.v2"),
    ("textcat", "spacy.TextCatReduce.v1"),
    ("textcat", "spacy.TextCatParametricAttention.v1"),
    ("textcat_multilabel", "spacy.TextCatBOW.v3"),
    ("textcat_multilabel", "spacy.TextCatEnsemble.v2"),
    ("textcat_multilabel", "spacy.TextCatCNN.v2"),
]


def multilabel_cats(doc: Any) -> Dict[str, float]:
    pos = {t.pos_ for t in doc}
    return {"QUESTION": float(any(t.text == "?" for t in doc)), "NUMBER": float("NUM" in pos),
            "PROPER_NOUN": float("PROPN" in pos)}


def textcat_config(component: str, architecture: str) -> Any:
    """spaCy's default config of ``component``: the efficiency preset for BOW, else the accuracy preset
    (a tok2vec component and the ensemble, read through a listener; smaller, without static vectors:
    the excerpt has none) with the model block set to ``architecture``."""
    if architecture == "spacy.TextCatBOW.v3":
        return default_config([component])
    from spacy.cli.init_config import init_config

    config = init_config(lang="en", pipeline=[component], optimize="accuracy")
    overrides = dict(SMALL_TOK2VEC, **{"components.tok2vec.model.embed.include_static_vectors": False,
                                       "paths.vectors": None, "initialize.vectors": None})
    config = config.merge(spacy.util.dot_to_dict(overrides))
    config["components"][component]["model"] = _model(architecture, component == "textcat")
    return config


def train_textcat(component: str, architecture: str, seed: int = 0) -> Any:
    """``textcat_config`` trained ``EPOCHS`` epochs on the excerpt's train split."""
    config = textcat_config(component, architecture)
    spacy.util.fix_random_seed(seed)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = ewt_examples(nlp, "train", limit=TRAIN_SENTENCES)
    if component == "textcat_multilabel":
        for example in examples:
            example.reference.cats = multilabel_cats(example.reference)
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(EPOCHS):
        rng.shuffle(examples)
        for i in range(0, len(examples), 16):
            nlp.update(examples[i:i + 16], sgd=optimizer, drop=0.1)
    return nlp


_PIPELINES: Dict[Any, Any] = {}


def pipeline(component: str, architecture: str) -> Any:
    """Each pipeline is trained once per session (the to_spacy tests copy it before changing it)."""
    key = (component, architecture)
    if key not in _PIPELINES:
        _PIPELINES[key] = train_textcat(component, architecture)
    return _PIPELINES[key]


def _scores(result: Any, docs: Any) -> numpy.ndarray:
    with torch.no_grad():
        return torch.as_tensor(result(docs)).numpy()


def exported_scores(result: Any, docs: Any) -> numpy.ndarray:
    """The scores of ``torch.export``'s program of the module (exported on 4 docs; N, K and B dynamic);
    its input is ``ragged_features``: the n-grams' (keys, values, lengths), the token ids' Ragged, or
    the ensemble's tuple of both."""
    return result.export(docs[:4]).module()(result.ragged_features(docs)).detach().numpy()


#: the modules compiled (CI time: one n-gram model, one tok2vec model)
COMPILED = {("textcat", "spacy.TextCatBOW.v3"), ("textcat", "spacy.TextCatReduce.v1")}


def _labels(component: str, scores: numpy.ndarray, threshold: float) -> Any:
    return scores.argmax(1).tolist() if component == "textcat" else (scores >= threshold).tolist()


@pytest.mark.parametrize("component,architecture", PIPELINES, ids=[f"{c}-{a}" for c, a in PIPELINES])
def test_converted_textcat_scores_what_nlp_does(component, architecture, spacy_comparison):  # noqa: F811
    nlp = pipeline(component, architecture)
    docs = held_out_docs(nlp, limit=120)
    pipe = nlp.get_pipe(component)
    result = from_spacy(nlp, component)
    assert result.factory == component and result.architecture == architecture
    assert result.labels == tuple(pipe.labels)
    assert bool(result.listeners) == (architecture != "spacy.TextCatBOW.v3")
    ours = _scores(result, docs)
    theirs = numpy.array([[doc.cats[label] for label in result.labels] for doc in docs], dtype="float32")
    assert ours.shape == theirs.shape == (len(docs), len(pipe.labels))
    diff = float(numpy.abs(ours - theirs).max())
    threshold = pipe.cfg.get("threshold", 0.5)
    mine, spacys = _labels(component, ours, threshold), _labels(component, theirs, threshold)
    agreement = sum(a == b for a, b in zip(mine, spacys)) / len(docs)
    program = exported_scores(result, docs)
    exported = sum(a == b for a, b in zip(_labels(component, program, threshold), spacys)) / len(docs)
    compiled = None
    if (component, architecture) in COMPILED:
        small, scores = (Y.numpy() for Y in compiled_outputs(result, [docs[:5], docs]))
        numpy.testing.assert_array_equal(small, ours[:5])
        compiled = sum(a == b for a, b in zip(_labels(component, scores, threshold), spacys)) / len(docs)
    what = "docs' argmax label" if component == "textcat" else f"docs' labels at threshold {threshold}"
    spacy_comparison.add(component, architecture + (f" -> {','.join(sorted(set(result.listeners.values())))} "
                                                   "spliced" if result.listeners else ""),
                         converted=True, max_abs_diff=diff, agreement=agreement, n_tokens=len(docs),
                         exported=exported, what=what, compiled=compiled)
    assert diff < 1e-5
    assert agreement == 1.0
    assert exported == 1.0
    assert compiled == (1.0 if (component, architecture) in COMPILED else None)
    # the classifier learnt something: its scores are not one constant row
    assert float(theirs.std(0).max()) > 1e-3


@pytest.mark.parametrize("architecture", ["spacy.TextCatBOW.v3", "spacy.TextCatEnsemble.v2"])
def test_torch_trained_textcat_goes_back_into_spacy(architecture):
    """A few torch steps on the converted classifier, written back: nlp(text).cats are its scores."""
    from tests.interop.spacy_fixtures import copy_pipeline

    nlp = copy_pipeline(pipeline("textcat", architecture))
    result = from_spacy(nlp, "textcat")
    examples = ewt_examples(nlp, "train", limit=60)
    features = result.featurizer([ex.predicted for ex in examples])
    gold = torch.tensor([[ex.reference.cats[label] for label in result.labels] for ex in examples])
    module = result.module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(module(features), gold)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    module.eval()
    to_spacy(nlp, "textcat", module)
    docs = held_out_docs(nlp, limit=60)
    theirs = numpy.array([[doc.cats[label] for label in result.labels] for doc in docs], dtype="float32")
    numpy.testing.assert_allclose(_scores(result, docs), theirs, atol=1e-5, rtol=0)


SMALL_T2V = {"@architectures": "spacy.Tok2Vec.v2",
             "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 8, "attrs": ["NORM", "PREFIX"],
                       "rows": [50, 20], "include_static_vectors": False},
             "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 8, "depth": 1, "window_size": 1,
                        "maxout_pieces": 3}}


@pytest.mark.parametrize("exclusive", [True, False])
@pytest.mark.parametrize("architecture", [a for _, a in PIPELINES[:4]] + ["spacy.TextCatCNN.v2", "spacy.TextCatBOW.v2"])
def test_our_registry_builds_spacys_tree(architecture, exclusive):
    """The same config block through spaCy's registry and ours: the same node names, dims and refs, and
    (spaCy's weights, randomized, copied in) the same scores."""
    from thinc.api import Config

    from torchlayers.interop.thinc_convert import copy_thinc_state
    from torchlayers.registry import registry

    block = _bow(exclusive) if architecture.startswith("spacy.TextCatBOW") else _model(architecture, exclusive)
    if architecture == "spacy.TextCatBOW.v2":
        block = {**block, "@architectures": architecture}
        del block["length"]
    block = {**block, "nO": None if architecture == "spacy.TextCatEnsemble.v2" else 3}
    if "tok2vec" in block:
        block["tok2vec"] = SMALL_T2V
    if "linear_model" in block:
        block["linear_model"] = {**block["linear_model"], "nO": 3, "length": 100}
    config = {"model": block}
    theirs = spacy.registry.resolve(Config(config))["model"]
    ours = registry.resolve(config)["model"]
    nlp = spacy.blank("en")
    docs = [nlp("This is a test sentence ."), nlp("Another one !"), nlp("Why ?")]
    Y = numpy.eye(3, dtype="float32")
    theirs.initialize(X=docs, Y=Y)
    ours.initialize(X=docs, Y=Y)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    for a, b in zip(ours.walk(), theirs.walk()):
        assert {d: a.maybe_get_dim(d) for d in b.dim_names} == {d: b.maybe_get_dim(d) for d in b.dim_names}, a.name
        assert sorted(a.ref_names) == sorted(b.ref_names), a.name
    assert ours.attrs["multi_label"] is (not exclusive)
    rng = numpy.random.default_rng(0)
    for node in theirs.walk():  # nonzero weights everywhere (spaCy zero-initializes its output layers)
        for name in node.param_names:
            value = numpy.asarray(node.get_param(name))
            node.set_param(name, rng.normal(scale=0.5, size=value.shape).astype(value.dtype))
    copy_thinc_state(theirs, ours)
    assert float(numpy.asarray(theirs.predict(docs)).std(0).max()) > 1e-3
    numpy.testing.assert_allclose(numpy.asarray(ours.predict(docs)), theirs.predict(docs), atol=1e-6, rtol=1e-5)


def test_reduce_without_reductions_is_refused():
    from torchlayers.registry import registry

    block = {**_model("spacy.TextCatReduce.v1", True), "tok2vec": SMALL_T2V, "use_reduce_first": False,
             "use_reduce_last": False, "use_reduce_max": False, "use_reduce_mean": False}
    with pytest.raises(ValueError, match=r"spacy.TextCatReduce.v1: use_reduce_first, .* are all false"):
        registry.resolve({"model": block})


def test_chain_runs_a_nested_init_and_concatenate_asks_docs_no_width():
    """Thinc's init rules the spaCy architectures rely on: a chain initializes each layer with the
    layer's assigned ``init`` (a nested chain's too: the parametric attention block), and a
    concatenate asks its input's width only when a node has an nI dim (the ensemble on Docs)."""
    import thinc.api as ta

    from torchlayers.api import Linear, concatenate
    from torchlayers.architectures.extract_ngrams import extract_ngrams
    from torchlayers.combinators.chain import chain

    ours_calls, theirs_calls = [], []

    def ours_init(model, X=None, Y=None):
        ours_calls.append(model.name)
        chain._initialize(model, X, Y)

    def theirs_init(model, X=None, Y=None):
        from thinc.layers.chain import init as thinc_chain_init

        theirs_calls.append(model.name)
        thinc_chain_init(model, X, Y)

    inner = chain(Linear(4, 3), Linear(2, 4))
    inner.init = ours_init
    ours = chain(inner, Linear(5, 2))
    theirs_inner = ta.chain(ta.Linear(4, 3), ta.Linear(2, 4))
    theirs_inner.init = theirs_init
    theirs = ta.chain(theirs_inner, ta.Linear(5, 2))
    X = numpy.ones((2, 3), dtype="float32")
    ours.initialize(X=X)
    theirs.initialize(X=X)
    assert ours_calls == theirs_calls == ["linear>>linear"]
    docs = [spacy.blank("en")("A test .")]
    both = concatenate(extract_ngrams(1), extract_ngrams(2))
    assert both.has_dim("nI") is False
    both.initialize(X=docs)  # no width asked of a list of Docs
