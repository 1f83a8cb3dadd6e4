"""from_thinc / to_thinc / load_thinc_bytes: same outputs as thinc, params round trip exactly."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

from torchlayers.interop.thinc_convert import from_thinc, load_thinc_bytes, to_thinc


def _thinc_mlp():
    return ta.chain(ta.Relu(16, 8, normalize=True, dropout=0.0), ta.Maxout(12, nP=3), ta.Softmax(5))


def _params(model):
    return [(n.name, p, numpy.asarray(n.get_param(p))) for n in model.walk() for p in n.param_names if n.has_param(p)]


def test_from_thinc_mlp_matches_outputs_and_deploys():
    X = numpy.random.uniform(-1, 1, (6, 8)).astype("f")
    theirs = _thinc_mlp().initialize(X=X)
    ours = from_thinc(theirs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    numpy.testing.assert_allclose(ours.predict(X).numpy(), theirs.predict(X), atol=1e-5, rtol=1e-4)
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(X, is_train=True)
    dY = numpy.random.uniform(-1, 1, Yt.shape).astype("f")
    numpy.testing.assert_allclose(backprop(dY).numpy(), backprop_t(dY), atol=1e-5, rtol=1e-4)
    ours.eval()
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(torch.from_numpy(X)), ours(torch.from_numpy(X)), atol=1e-6, rtol=1e-6)
    exported = torch.export.export(ours, (torch.from_numpy(X),))
    torch.testing.assert_close(exported.module()(torch.from_numpy(X)), ours(torch.from_numpy(X)), atol=1e-6, rtol=1e-6)


def test_round_trip_thinc_torchlayers_thinc_reproduces_params_bitwise():
    X = numpy.random.uniform(-1, 1, (3, 8)).astype("f")
    theirs = _thinc_mlp().initialize(X=X)
    back = to_thinc(from_thinc(theirs))
    before, after = _params(theirs), _params(back)
    assert [(n, p) for n, p, _ in before] == [(n, p) for n, p, _ in after]
    for (_, _, a), (_, _, b) in zip(before, after):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    import srsly

    msg_a, msg_b = srsly.msgpack_loads(theirs.to_bytes()), srsly.msgpack_loads(back.to_bytes())
    assert len(msg_a["params"]) == len(msg_b["params"])
    for a, b in zip(msg_a["params"], msg_b["params"]):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key


def test_load_thinc_bytes_into_same_tree():
    X = numpy.random.uniform(-1, 1, (3, 8)).astype("f")
    theirs = _thinc_mlp().initialize(X=X)
    import torchlayers as tl
    from torchlayers.modules.maxout import Maxout

    ours = tl.chain(tl.Relu(16, normalize=True, dropout=0.0), Maxout(12, nP=3), tl.Softmax(5))
    load_thinc_bytes(ours, theirs.to_bytes())
    numpy.testing.assert_allclose(ours.predict(X).numpy(), theirs.predict(X), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="expected 3 nodes .* got 8"):
        load_thinc_bytes(tl.chain(tl.Linear(2, 2), tl.Linear(2, 2)), theirs.to_bytes())


def test_unsupported_thinc_layer_is_named():
    with pytest.raises(ValueError, match="no torchlayers equivalent for thinc layer 'gelu'"):
        from_thinc(ta.Gelu(3, 2))


# ------------------------------------------------------------------------------ the spaCy-style models
def _tagger_pair():
    from examples.ewt import featurize, load_split
    from examples.tagger import build_tagger, to_ragged, to_thinc_ragged

    sentences = load_split("dev")[:12]
    feats = featurize(sentences)
    X, _ = to_ragged(feats, [torch.zeros(len(f), dtype=torch.long) for f in feats])
    theirs = build_tagger(ta, width=16, rows=(50, 20, 30, 30), depth=2).initialize(X=to_thinc_ragged(X))
    return theirs, X, to_thinc_ragged(X), lambda Y: Y.data


def _bow_pair():
    gen = torch.Generator().manual_seed(3)
    lengths = torch.tensor([3, 0, 5, 2], dtype=torch.int32)
    keys = torch.randint(-(2**62), 2**62, (10,), generator=gen)
    values = torch.rand(10, generator=gen)
    X = (keys, values, lengths)
    thinc_X = (keys.numpy().view(numpy.uint64), values.numpy(), lengths.numpy())
    theirs = ta.SparseLinear(4, length=64)
    theirs.initialize(X=thinc_X, Y=numpy.zeros((4, 4), dtype="f"))
    theirs.set_param("W", numpy.random.uniform(-1, 1, theirs.get_param("W").shape).astype("f"))
    theirs.set_param("b", numpy.random.uniform(-1, 1, theirs.get_param("b").shape).astype("f"))
    return theirs, X, thinc_X, lambda Y: Y


def _cnn_textcat_pair():
    from examples.textcat import build_cnn
    from examples.tagger import to_ragged, to_thinc_ragged

    gen = torch.Generator().manual_seed(4)
    feats = [torch.randint(0, 2**62, (n, 4), generator=gen) for n in (4, 1, 6)]
    X, _ = to_ragged(feats, [torch.zeros(len(f), dtype=torch.long) for f in feats])
    theirs = build_cnn(ta, n_classes=5, width=8, depth=1)
    theirs.initialize(X=to_thinc_ragged(X), Y=numpy.zeros((3, 5), dtype="f"))
    return theirs, X, to_thinc_ragged(X), lambda Y: Y


def _lstm_pair():
    from torchlayers import Padded

    arrays = [numpy.random.uniform(-1, 1, (n, 5)).astype("f") for n in (4, 2, 3)]
    thinc_X = ta.get_current_ops().list2padded(arrays)
    X = Padded(*(torch.from_numpy(numpy.ascontiguousarray(a)) for a in (thinc_X.data, thinc_X.size_at_t, thinc_X.lengths, thinc_X.indices)))
    theirs = ta.LSTM(6, 5, bi=True, depth=2).initialize(X=thinc_X)
    return theirs, X, thinc_X, lambda Y: Y.data


SPACY_STYLE = {"tok2vec_tagger": _tagger_pair, "sparse_linear_bow": _bow_pair, "cnn_reduce_mean_textcat": _cnn_textcat_pair,
               "bilstm_padded": _lstm_pair}


@pytest.mark.parametrize("kind", sorted(SPACY_STYLE))
def test_from_thinc_spacy_style_models_match_round_trip_and_deploy(kind):
    theirs, X, thinc_X, data = SPACY_STYLE[kind]()
    ours = from_thinc(theirs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    expected = numpy.asarray(data(theirs.predict(thinc_X)))
    got = data(ours.predict(X))
    numpy.testing.assert_allclose(got.numpy(), expected, atol=1e-5, rtol=1e-4)
    back = to_thinc(ours)
    for (na, pa, a), (nb, pb, b) in zip(_params(theirs), _params(back)):
        assert (na, pa) == (nb, pb) and a.dtype == b.dtype and a.tobytes() == b.tobytes(), (na, pa)
    ours.eval()
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(data(compiled(X)), got, atol=1e-6, rtol=1e-6)
    exported = torch.export.export(ours, (X,))
    torch.testing.assert_close(data(exported.module()(X)), got, atol=1e-6, rtol=1e-6)
