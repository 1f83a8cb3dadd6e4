"""PrecomputableAffine (spaCy's parser/NER lower layer) against spaCy 3.8's ``spacy/ml/_precomputable_affine.py``:
the table, spaCy's ``(d_state_sums, ids)`` backprop, the whitening init, and the errors."""
from __future__ import annotations

import numpy
import pytest
import torch

from torchlayers.modules.precomputable_affine import PrecomputableAffine, state_sums

spacy_pa = pytest.importorskip("spacy.ml._precomputable_affine")

nO, nI, nF, nP, N = 3, 5, 4, 2, 6


def _pair(seed: int = 0):
    ours = PrecomputableAffine(nO, nI, nF, nP)
    theirs = spacy_pa.PrecomputableAffine(nO=nO, nI=nI, nF=nF, nP=nP)
    theirs.initialize()
    gen = torch.Generator().manual_seed(seed)
    for name, shape in (("W", (nF, nO, nP, nI)), ("b", (nO, nP)), ("pad", (1, nF, nO, nP))):
        value = torch.randn(*shape, generator=gen)
        ours.set_param(name, value)
        theirs.set_param(name, value.numpy().copy())
    return ours, theirs


def _X(seed: int = 1) -> numpy.ndarray:
    return numpy.random.default_rng(seed).normal(size=(N, nI)).astype("float32")


def test_table_matches_spacy_with_padding_row_first():
    ours, theirs = _pair()
    X = _X()
    Y = ours.predict(X)
    expected = theirs.predict(X)
    assert Y.shape == (N + 1, nF, nO, nP) == expected.shape
    numpy.testing.assert_allclose(Y, expected, rtol=1e-5, atol=1e-6)
    assert numpy.array_equal(Y[0], ours.get_param("pad")[0])


@pytest.mark.parametrize("missing", [False, True])
def test_spacy_backprop_convention_matches_spacy(missing):
    """backprop((d_state_sums, ids)): dXf, b and pad gradients as spaCy; W's as spaCy's when every feature
    has a token. With missing features (id -1) spaCy also adds X[-1]'s outer product to W's gradient (the
    last token's, which the state never read); ours leaves it out (COMPATIBILITY.md)."""
    ours, theirs = _pair()
    X = _X()
    rng = numpy.random.default_rng(2)
    ids = rng.integers(-1 if missing else 0, N, size=(7, nF)).astype("int32")
    assert (ids < 0).any() == missing
    dY = rng.normal(size=(7, nO, nP)).astype("float32")
    _, bp = ours(X, is_train=True)
    _, bp_t = theirs(X, is_train=True)
    dXf, dXf_t = bp((dY, ids)), bp_t((dY, ids))
    assert dXf.shape == (7, nF, nI)
    numpy.testing.assert_allclose(dXf, dXf_t, rtol=1e-5, atol=1e-5)
    for name in ("b", "pad"):
        numpy.testing.assert_allclose(ours.get_grad(name), theirs.get_grad(name), rtol=1e-5, atol=1e-5)
    # spaCy's W gradient minus the X[-1] terms of the missing features is ours
    mask = (ids < 0).astype("float32")
    extra = numpy.einsum("sop,sf,i->fopi", dY, mask, X[-1])
    numpy.testing.assert_allclose(ours.get_grad("W"), theirs.get_grad("W") - extra, rtol=1e-4, atol=1e-5)
    assert missing == (not numpy.allclose(ours.get_grad("W"), theirs.get_grad("W"), atol=1e-5))


def test_spacy_convention_is_the_gradient_of_the_state_sums():
    """Ours is autograd's gradient of sum(state_sums(table, ids) * dY) (+ the bias) through the torch face."""
    ours, _ = _pair()
    X = torch.from_numpy(_X())
    ids = torch.tensor([[0, -1, 2, 5], [-1, -1, -1, -1], [5, 4, 3, 2]])
    dY = torch.randn(3, nO, nP, generator=torch.Generator().manual_seed(3))
    _, bp = ours(X, is_train=True)
    dXf = bp((dY, ids))
    grads = {name: ours.get_grad_tensor(name).clone() for name in ("W", "pad")}
    ours.zero_grad(set_to_none=True)
    Xg = X.clone().requires_grad_(True)
    (state_sums(ours(Xg), ids) * dY).sum().backward()
    for name in ("W", "pad"):
        torch.testing.assert_close(grads[name], ours.get_grad_tensor(name), rtol=1e-5, atol=1e-5)
    dX = torch.zeros(N + 1, nI).index_add_(0, (ids + 1).reshape(-1), torch.as_tensor(dXf).reshape(-1, nI))[1:]
    torch.testing.assert_close(dX, Xg.grad, rtol=1e-5, atol=1e-5)


def test_table_gradient_on_the_thinc_face_is_autograd():
    ours, _ = _pair()
    X = torch.from_numpy(_X())
    Y, bp = ours(X, is_train=True)
    dY = torch.randn(*Y.shape, generator=torch.Generator().manual_seed(4))
    dX = bp(dY)
    Xg = X.clone().requires_grad_(True)
    ours.zero_grad(set_to_none=True)
    (ours(Xg) * dY).sum().backward()
    torch.testing.assert_close(dX, Xg.grad)


def test_initialize_whitens_like_spacy_and_keeps_trained_weights():
    torch.manual_seed(0)
    model = PrecomputableAffine(8, 6, 3, 2)
    assert not model.get_param_tensor("W").any()  # spaCy's: W is drawn by initialize
    model.initialize()
    assert model.get_param_tensor("b").shape == (8, 2) and model.get_param_tensor("pad").shape == (1, 3, 8, 2)
    # spaCy's statistic on fresh random data: the maxout of summed rows of random whitened inputs
    ids = torch.randint(0, 1000, (5000, 3))
    with torch.no_grad():
        table = model(torch.randn(4999, 6)).reshape(-1, 16)
    vectors = torch.zeros(5000, 16).index_add_(0, ids.reshape(-1), table).reshape(5000, 8, 2)
    acts = (vectors + model.get_param_tensor("b")).max(-1)[0]
    assert abs(float(acts.var()) - 1.0) < 0.1 and abs(float(acts.mean())) < 0.1
    W = model.get_param_tensor("W").clone()
    model.initialize()
    assert torch.equal(model.get_param_tensor("W"), W)


def test_bad_inputs_are_named():
    ours, _ = _pair()
    with pytest.raises(ValueError, match=r"precomputable_affine: .*5"):
        ours(torch.zeros(2, 4))
    table = ours(torch.zeros(N, nI))
    with pytest.raises(ValueError, match=r"precomputable_affine: expected token ids of shape \(states, nF=4\)"):
        state_sums(table, torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"precomputable_affine: token ids must lie in \[-1, 5\]"):
        state_sums(table, torch.full((1, nF), N, dtype=torch.long))
    _, bp = ours(_X(), is_train=True)
    with pytest.raises(ValueError, match=r"expected dY of shape \(states, nO=3, nP=2\) and ids of shape"):
        bp((numpy.zeros((2, nO, 1), "f"), numpy.zeros((2, nF), "i")))
    _, bp = ours(_X(), is_train=True)
    with pytest.raises(ValueError, match=r"backprop expected dY of the table's shape \[7, 4, 3, 2\]"):
        bp(numpy.zeros((N, nF, nO, nP), "f"))


def test_state_sums_scripts_with_the_eager_range_check():
    """TorchScript takes the eager check (a clear ValueError); traced graphs take an assert op instead."""
    ours, _ = _pair()
    table = ours(torch.zeros(N, nI)).detach()
    scripted = torch.jit.script(state_sums)
    ids = torch.tensor([[0, -1, 5, 2], [-1, -1, -1, -1]])
    assert torch.equal(scripted(table, ids), state_sums(table, ids))
    with pytest.raises(torch.jit.Error, match=r"precomputable_affine: token ids must lie in \[-1, 5\]"):
        scripted(table, torch.full((1, nF), N, dtype=torch.long))
