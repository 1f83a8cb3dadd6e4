"""from_spacy on spaCy's transition-based components (``ner``, ``parser``: ``spacy.TransitionBasedParser.v2``),
trained from spaCy's default (efficiency) configs on the EWT excerpt: the converted ``parser_model`` gives
spaCy's state features and action scores for every state of spaCy's greedy parse, and spaCy's transition
system driven by our scores annotates the held-out docs as ``nlp(text)`` does (rows of the comparison table).

Gold: NER entities are the runs of proper nouns (NAME) and of numbers (NUMBER) of the UPOS column; the
parser's heads and labels come from the CoNLL-U (spaCy's converter).
"""
from __future__ import annotations

import gzip
import random
from typing import Any, List

import numpy
import pytest
import torch

from tests.interop.spacy_fixtures import EXCERPT, default_config, spacy, spacy_comparison  # noqa: F401
from torchlayers.architectures.parser_model import TransitionModel
from torchlayers.interop import from_spacy
from torchlayers.interop.spacy.parser import context_token_ids, greedy_parse

TRAIN_SENTENCES = {"ner": 300, "parser": 300}
EPOCHS = {"ner": 6, "parser": 4}
HELD_OUT = 60
BATCH = 16
SMALL = {"components.tok2vec.model.encode.width": 32, "components.tok2vec.model.encode.depth": 2,
         "components.tok2vec.model.embed.rows": [1000, 200, 500, 500]}


def conllu_docs(vocab: Any, split: str, limit: int) -> List[Any]:
    """The excerpt's ``split``, one sentence a Doc with heads, deps, POS (spaCy's CoNLL-U converter)."""
    from spacy.training.converters import conllu_to_docs

    with gzip.open(f"{EXCERPT}/{split}.conllu.gz", "rt", encoding="utf8") as f:
        text = f.read()
    docs = []
    for doc in conllu_to_docs(text, n_sents=1, no_print=True):
        docs.append(spacy.tokens.Doc(vocab).from_bytes(doc.to_bytes()))
        if len(docs) == limit:
            break
    return docs


def pos_entities(doc: Any) -> List[Any]:
    """Maximal runs of PROPN (NAME) and NUM (NUMBER) tokens."""
    labels = {"PROPN": "NAME", "NUM": "NUMBER"}
    spans, i = [], 0
    while i < len(doc):
        label = labels.get(doc[i].pos_)
        j = i + 1
        while label and j < len(doc) and doc[j].pos_ == doc[i].pos_:
            j += 1
        if label:
            spans.append(spacy.tokens.Span(doc, i, j, label=label))
        i = j
    return spans


_PIPELINES: dict = {}


def pipeline(component: str) -> Any:
    """``spacy init config -p <component> -o efficiency`` (a smaller tok2vec and hidden layer), trained
    on the excerpt; once per session."""
    if component in _PIPELINES:
        return _PIPELINES[component]
    from spacy.training import Example

    overrides = dict(SMALL, **{f"components.{component}.model.hidden_width": 32})
    if component == "parser":
        overrides["components.parser.min_action_freq"] = 1
    spacy.util.fix_random_seed(0)
    nlp = spacy.util.load_model_from_config(default_config([component], **overrides), auto_fill=True)
    examples = []
    for reference in conllu_docs(nlp.vocab, "train", TRAIN_SENTENCES[component]):
        if component == "ner":
            reference.ents = pos_entities(reference)
        words = [t.text for t in reference]
        examples.append(Example(spacy.tokens.Doc(nlp.vocab, words=words,
                                                 spaces=[bool(t.whitespace_) for t in reference]), reference))
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(0)
    for _ in range(EPOCHS[component]):
        rng.shuffle(examples)
        for i in range(0, len(examples), BATCH):
            nlp.update(examples[i:i + BATCH], sgd=optimizer, drop=0.1)
    _PIPELINES[component] = nlp
    return nlp


def held_out_texts(nlp: Any) -> List[str]:
    return [doc.text for doc in conllu_docs(nlp.vocab, "test", HELD_OUT)]


def annotations(component: str, doc: Any) -> Any:
    if component == "ner":
        return [(e.start, e.end, e.label_) for e in doc.ents]
    return [(t.head.i, t.dep_) for t in doc]


@pytest.mark.parametrize("component", ["ner", "parser"])
def test_converted_parser_model_scores_and_decodes_as_spacy(component, spacy_comparison):  # noqa: F811
    nlp = pipeline(component)
    pipe = nlp.get_pipe(component)
    result = from_spacy(nlp, component)
    model = result.module
    assert isinstance(model, TransitionModel) and result.architecture == "spacy.TransitionBasedParser.v2"
    assert result.labels == tuple(pipe.labels) and result.listeners
    texts = held_out_texts(nlp)
    docs = list(nlp.get_pipe("tok2vec").pipe(nlp.make_doc(t) for t in texts))
    # every state of spaCy's own greedy parse: spaCy's features and scores vs ours
    step = pipe.model.predict(docs)
    states = [s for s in pipe.moves.init_batch(docs) if not s.is_final()]
    with torch.no_grad():
        table = model.precompute(result.featurizer(docs))
    n_states, diff = 0, 0.0
    while states:
        ids = context_token_ids(states, model.n_features, docs)
        assert numpy.array_equal(ids.numpy(), step.get_token_ids(states)), "state features differ from spaCy's"
        theirs = step.predict(states)
        with torch.no_grad():
            ours = model.score(table, ids).numpy()
        assert ours.shape == theirs.shape == (len(states), pipe.moves.n_moves)
        diff = max(diff, float(numpy.abs(ours - theirs).max()))
        n_states += len(states)
        states = pipe.transition_states(states, numpy.ascontiguousarray(theirs))
    # decoding: spaCy's transition system on our scores gives nlp(text)'s annotations
    expected = [annotations(component, doc) for doc in nlp.pipe(texts)]
    mine = greedy_parse(pipe, model, [nlp.make_doc(t) for t in texts], result.featurizer)
    got = [annotations(component, doc) for doc in mine]
    same = sum(a == b for a, b in zip(got, expected)) / len(texts)
    # the exported program (features and states in, N, B and S dynamic) drives the same decoding
    fresh = [nlp.make_doc(t) for t in texts]
    first = pipe.moves.init_batch(fresh[:4])
    program = result.export(fresh[:4], context_token_ids(first, model.n_features, fresh[:4])).module()
    packed = result.ragged_features(fresh)
    start = context_token_ids(pipe.moves.init_batch(fresh), model.n_features, fresh)
    with torch.no_grad():
        assert torch.equal(program(packed, start), model.score(model.precompute(result.featurizer(fresh)), start))
    decoded = greedy_parse(pipe, model, fresh, scorer=lambda ids: program(packed, ids))
    exported = sum(annotations(component, d) == b for d, b in zip(decoded, expected)) / len(texts)
    what = "docs' entities (start, end, label)" if component == "ner" else "docs' (head, dep) of every token"
    upstream = ",".join(sorted(set(result.listeners.values())))
    spacy_comparison.add(component, f"spacy.TransitionBasedParser.v2 -> {upstream} spliced; scores of {n_states} "
                         "states", converted=True, max_abs_diff=diff, agreement=same, n_tokens=len(texts),
                         exported=exported, what=what)
    assert diff < 1e-4
    assert same == 1.0
    assert exported == 1.0
    if component == "ner":  # the model learnt something to agree on
        assert sum(len(a) for a in expected) > 0
    else:
        assert len({dep for a in expected for _, dep in a}) > 2


def test_scorer_masks_unseen_actions_with_the_batch_minimum():
    """spaCy's rule for actions never seen in training: they score the minimum of the batch's scores."""
    nlp = pipeline("ner")
    model = from_spacy(nlp, "ner").module
    docs = [nlp.make_doc("Alice met Bob in 2020 .")]
    ids = torch.tensor([[0, -1, -1], [2, 0, 1]])
    result = from_spacy(nlp, "ner")
    with torch.no_grad():
        table = model.precompute(result.featurizer(docs))
        plain = model.score(table, ids)
        model.attrs["unseen_classes"] = {1, 3}
        masked = model.score(table, ids)
    assert torch.equal(masked[:, [0, 2]], plain[:, [0, 2]])
    assert torch.equal(masked[:, [1, 3]], torch.full((2, 2), float(plain.min())))


def test_bad_states_and_ids_are_named():
    nlp = pipeline("ner")
    result = from_spacy(nlp, "ner")
    model = result.module
    docs = [nlp.make_doc("Alice met Bob .")]
    with torch.no_grad():
        table = model.precompute(result.featurizer(docs))
    with pytest.raises(ValueError, match=r"precomputable_affine: expected token ids of shape \(states, nF=3\)"):
        model.score(table, torch.zeros(1, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"precomputable_affine: token ids must lie in \[-1, 3\]"):
        model.score(table, torch.tensor([[4, -1, -1]]))
    other = nlp.make_doc("Carol .")
    states = nlp.get_pipe("ner").moves.init_batch([other])
    with pytest.raises(ValueError, match="context_token_ids: a state's doc is not in docs"):
        context_token_ids(states, 3, docs)
    with pytest.raises(TypeError, match="parser_model: expected \\(docs, token_ids\\)"):
        model(result.featurizer(docs))
    with pytest.raises(TypeError, match="greedy_parse: expected the parser_model"):
        greedy_parse(nlp.get_pipe("ner"), result.featurizer, docs)


def test_exported_scorer_checks_the_token_ids_in_the_graph():
    """The eager range check of the state features reads them on the host; traced it is an assert op
    of the program (no data-dependent guard): a program exported on valid ids refuses ids past the batch."""
    nlp = pipeline("ner")
    result = from_spacy(nlp, "ner")
    docs = [nlp.make_doc(t) for t in ("Alice met Bob .", "Carol went home in 2020 .")]
    ids = context_token_ids(nlp.get_pipe("ner").moves.init_batch(docs), 3, docs)
    program = result.export(docs, ids).module()
    packed = result.ragged_features(docs)
    with torch.no_grad():
        assert torch.equal(program(packed, ids), result.module((result.featurizer(docs), ids)))
    with pytest.raises(RuntimeError, match=r"precomputable_affine: token ids must lie in \[-1, tokens of the batch"):
        program(packed, torch.tensor([[10, -1, -1], [0, -1, -1]]))


@pytest.mark.parametrize("use_upper", [True, False])
def test_our_registry_builds_spacys_parser_model_and_resizes_like_it(use_upper):
    """``spacy.TransitionBasedParser.v2`` through spaCy's registry and ours: the same tree, dims and refs;
    ``resize_output`` grows the same layer, keeps the old rows and marks the new actions unseen."""
    from thinc.api import Config

    from torchlayers.interop.thinc_convert import copy_thinc_state
    from torchlayers.registry import registry

    tok2vec = {"@architectures": "spacy.Tok2Vec.v2",
               "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": 8, "attrs": ["NORM", "SHAPE"],
                         "rows": [50, 20], "include_static_vectors": False},
               "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": 8, "depth": 1,
                          "window_size": 1, "maxout_pieces": 3}}
    config = {"model": {"@architectures": "spacy.TransitionBasedParser.v2", "tok2vec": tok2vec,
                        "state_type": "parser", "extra_state_tokens": False, "hidden_width": 6,
                        "maxout_pieces": 2, "use_upper": use_upper, "nO": None}}
    theirs = spacy.registry.resolve(Config(config))["model"]
    ours = registry.resolve(config)["model"]
    docs = [spacy.blank("en")("A small test .")]
    for model in (theirs, ours):
        model.attrs["resize_output"](model, 4)
        model.initialize(X=docs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    for a, b in zip(ours.walk(), theirs.walk()):
        assert {d: a.maybe_get_dim(d) for d in b.dim_names} == {d: b.maybe_get_dim(d) for d in b.dim_names}, a.name
        assert sorted(a.ref_names) == sorted(b.ref_names), a.name
    assert ours.get_ref("lower").get_dim("nF") == 8 and ours.attrs["has_upper"] is use_upper
    rng = numpy.random.default_rng(0)
    for node in theirs.walk():
        for name in node.param_names:
            value = numpy.asarray(node.get_param(name))
            node.set_param(name, rng.normal(size=value.shape).astype(value.dtype))
    copy_thinc_state(theirs, ours)
    for model in (theirs, ours):
        model.attrs["resize_output"](model, 6)
    assert ours.attrs["unseen_classes"] == theirs.attrs["unseen_classes"] == {4, 5}
    for a, b in zip(ours.walk(), theirs.walk()):
        for name in b.param_names:
            numpy.testing.assert_array_equal(numpy.asarray(a.get_param(name)), numpy.asarray(b.get_param(name)))
    tokvecs = ours.get_ref("tok2vec").predict(docs)
    numpy.testing.assert_allclose(ours.get_ref("lower").predict(tokvecs),
                                  theirs.get_ref("lower").predict(numpy.asarray(tokvecs)), rtol=1e-5, atol=1e-5)


def test_one_piece_scores_follow_spacys_greedy_parse_not_its_step_model():
    """With maxout_pieces = 1 spaCy's greedy parse (nlp(text)) scores the state sums as they are, while its
    step model (beam search, training) applies a ReLU first: ours are the greedy parse's (COMPATIBILITY.md)."""
    nlp = spacy.blank("en")
    model = {"@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
             "hidden_width": 8, "maxout_pieces": 1, "use_upper": True, "nO": None,
             "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": 8,
                         "depth": 1, "embed_size": 100, "window_size": 1, "maxout_pieces": 2,
                         "subword_features": True}}
    ner = nlp.add_pipe("ner", config={"model": model})
    for label in ("A", "B"):
        ner.add_label(label)
    nlp.initialize()
    rng = numpy.random.default_rng(1)
    for node in ner.model.walk():
        for name in node.param_names:
            value = numpy.asarray(node.get_param(name))
            node.set_param(name, rng.normal(size=value.shape).astype(value.dtype))
    ner.model.attrs["unseen_classes"].clear()
    result = from_spacy(nlp, "ner")
    texts = ["Alice met Bob in Paris in 2020 .", "Carol and Dave went home ."]
    expected = [annotations("ner", doc) for doc in nlp.pipe(texts)]
    got = greedy_parse(ner, result.module, [nlp.make_doc(t) for t in texts], result.featurizer)
    assert [annotations("ner", doc) for doc in got] == expected and any(expected)
    docs = [nlp.make_doc(t) for t in texts]
    states = ner.moves.init_batch(docs)
    ids = context_token_ids(states, 3, docs)
    with torch.no_grad():
        ours = result.module((result.featurizer(docs), ids)).numpy()
    step = ner.model.predict(docs)
    relu_first = step.predict(states)
    assert not numpy.allclose(ours, relu_first, atol=1e-4)
    upper = ner.model.get_ref("upper")
    lower = ner.model.get_ref("lower")
    table = lower.predict(ner.model.get_ref("tok2vec").predict(docs))
    sums = numpy.stack([table[ids.numpy()[s] + 1, numpy.arange(3)].sum(0) for s in range(len(ids))])
    sums = sums[..., 0] + numpy.asarray(lower.get_param("b"))[:, 0]
    greedy = sums @ numpy.asarray(upper.get_param("W")).T + numpy.asarray(upper.get_param("b"))
    numpy.testing.assert_allclose(ours, greedy, rtol=1e-5, atol=1e-5)
    numpy.testing.assert_allclose(relu_first, numpy.maximum(sums, 0) @ numpy.asarray(upper.get_param("W")).T
                                  + numpy.asarray(upper.get_param("b")), rtol=1e-5, atol=1e-5)


def test_thinc_face_scores_given_states_where_spacys_returns_a_step_model():
    nlp = pipeline("ner")
    result = from_spacy(nlp, "ner")
    docs = [nlp.make_doc("Alice met Bob in 2020 .")]
    ids = context_token_ids(nlp.get_pipe("ner").moves.init_batch(docs), 3, docs)
    features = result.featurizer(docs)
    scores = result.module.predict((features, ids))
    with torch.no_grad():
        assert numpy.array_equal(numpy.asarray(scores), result.module((features, ids)).numpy())
    assert numpy.asarray(scores).shape == (1, nlp.get_pipe("ner").moves.n_moves)
    module = result.module
    module.zero_grad(set_to_none=True)
    Y, backprop = module((features, ids), is_train=True)
    backprop(numpy.ones_like(numpy.asarray(Y)))
    assert module.get_ref("lower").has_grad("b") and module.get_ref("upper").has_grad("W")
    step = nlp.get_pipe("ner").model.predict([nlp(d.text) for d in docs])
    assert type(step).__name__ == "ParserStepModel"


def test_changed_parser_model_goes_back_into_spacy():
    """Scaled action weights written back with to_spacy: nlp(text) decodes with them (and still as ours)."""
    from tests.interop.spacy_fixtures import copy_pipeline
    from torchlayers.interop import to_spacy

    nlp = copy_pipeline(pipeline("ner"))
    result = from_spacy(nlp, "ner")
    texts = held_out_texts(nlp)
    before = [annotations("ner", doc) for doc in nlp.pipe(texts)]
    upper = result.module.get_ref("upper")
    with torch.no_grad():
        upper.get_param_tensor("b").add_(torch.linspace(-3.0, 3.0, upper.get_dim("nO")))
    to_spacy(nlp, "ner", result.module)
    numpy.testing.assert_array_equal(numpy.asarray(nlp.get_pipe("ner").model.get_ref("upper").get_param("b")),
                                     upper.get_param_tensor("b").numpy())
    after = [annotations("ner", doc) for doc in nlp.pipe(texts)]
    ours = greedy_parse(nlp.get_pipe("ner"), result.module, [nlp.make_doc(t) for t in texts], result.featurizer)
    assert after == [annotations("ner", doc) for doc in ours]
    assert after != before


def test_scripted_scorer_masks_unseen_classes_and_checks_ids():
    """deploy.script of the parser model: the unseen classes come along as a TorchScript constant (as
    scripted; TorchScript has no sets), and out-of-range state features raise the eager error."""
    from torchlayers import Linear, chain, list2array, noop
    from torchlayers.architectures.parser_model import resize_output
    from torchlayers.deploy import script
    from torchlayers.modules.precomputable_affine import PrecomputableAffine

    gen = torch.Generator().manual_seed(3)
    docs = [torch.randn(3, 4, generator=gen), torch.randn(4, 4, generator=gen)]
    ids = torch.randint(-1, 7, (5, 3), generator=gen)
    model = TransitionModel(chain(noop(), list2array(), Linear(6, 4)), PrecomputableAffine(6, 6, 3, 2),
                            Linear(5, 6), resize_output, unseen_classes={1, 4})
    model.initialize(X=(docs, ids))
    model.eval()
    scripted = script(model, (docs, ids))
    with torch.no_grad():
        expected = model((docs, ids))
        got = scripted((docs, ids))
    assert torch.equal(got, expected)
    assert torch.equal(got[:, [1, 4]], torch.full((5, 2), float(expected.min())))
    with pytest.raises(torch.jit.Error, match=r"precomputable_affine: token ids must lie in \[-1, 6\]"):
        scripted((docs, torch.full((1, 3), 7)))
