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
