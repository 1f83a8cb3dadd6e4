"""LSTM: Thinc's flat layout, forward parity, true gradients, Thinc's backward bug pinned, bad inputs."""
from __future__ import annotations

import math
import warnings

import numpy
import pytest
import thinc.api as ta
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from torchlayers import Padded
from torchlayers.convert import to_numpy
from torchlayers.errors import DimError
from torchlayers.functional.sequences import list2padded
from torchlayers.interop.thinc_convert import from_thinc, load_thinc_bytes, to_thinc
from torchlayers.modules import lstm as lstm_module
from torchlayers.modules.lstm import LSTM, BiLSTM, lstm_packed, lstm_padded, lstm_param_size

MATMUL = dict(atol=1e-5, rtol=1e-4)
CONFIGS = [  # (nO, nI, bi, depth, lengths)
    (6, 3, False, 1, [4, 2, 1]),
    (6, 3, True, 1, [3, 3, 1]),
    (4, 3, True, 2, [5, 3, 2, 1]),
    (5, 2, False, 2, [3, 3, 2]),
    (4, 3, True, 1, [3, 1, 0]),
    (2, 4, True, 3, [6]),
]
IDS = [f"nO{c[0]}-nI{c[1]}-{'bi' if c[2] else 'uni'}-depth{c[3]}-lengths{'_'.join(map(str, c[4]))}" for c in CONFIGS]


def _padded(lengths, width, dtype=torch.float32) -> Padded:
    return list2padded([torch.randn(n, width, dtype=dtype) for n in lengths])


def _randomized(model: LSTM, hc0: bool = True) -> LSTM:
    """Non-zero biases (so bx/bh mix-ups show) and, optionally, a non-zero HC0."""
    model.set_param("LSTM", torch.randn(model.get_param("LSTM").shape) * 0.5)
    if hc0:
        model.set_param("HC0", torch.randn(model.get_param("HC0").shape) * 0.5)
    return model


def _thinc_twin(model: LSTM):
    theirs = ta.LSTM(model.get_dim("nO"), model.get_dim("nI"), bi=model.get_dim("dirs") == 2,
                     depth=model.get_dim("depth")).initialize()
    for name in ("LSTM", "HC0"):
        theirs.set_param(name, torch.as_tensor(model.get_param(name)).numpy().copy())
    return theirs


def _thinc_padded(Xp: Padded, data: torch.Tensor):
    return ta.Padded(data.detach().numpy().copy(), *(to_numpy(f).astype("int32") for f in Xp[1:]))


def _reference_blocks(flat: torch.Tensor, nI: int, nH: int, depth: int, dirs: int):
    """Thinc's layout read directly (independent of the module's permutation)."""
    blocks, off = [], 0
    n_in = nI
    for _ in range(depth):
        for _ in range(dirs):
            Wx = flat[off : off + 4 * nH * n_in].view(4, nH, n_in)
            off += 4 * nH * n_in
            bx = flat[off : off + 4 * nH].view(4, nH)
            off += 4 * nH
            Wh = flat[off : off + 4 * nH * nH].view(4, nH, nH)
            off += 4 * nH * nH
            bh = flat[off : off + 4 * nH].view(4, nH)
            off += 4 * nH
            blocks.append(dict(Wx=Wx, bx=bx, Wh=Wh, bh=bh))
        n_in = nH * dirs
    assert off == flat.shape[0]
    return blocks


def _step_reference(Xp: Padded, model: LSTM) -> torch.Tensor:
    """The LSTM equations, one sequence and one step at a time, straight from Thinc's layout
    (gates f, i, o, c): an independent float64 reference."""
    nH, depth, dirs = model.get_dim("nO") // model.get_dim("dirs"), model.get_dim("depth"), model.get_dim("dirs")
    flat = torch.as_tensor(model.get_param("LSTM")).double()
    HC0 = torch.as_tensor(model.get_param("HC0")).double()
    blocks = _reference_blocks(flat, model.get_dim("nI"), nH, depth, dirs)
    T, B = Xp.data.shape[:2]
    out = torch.zeros(T, B, dirs * nH, dtype=torch.float64)
    for b, L in enumerate(Xp.lengths.tolist()):
        x = Xp.data[:L, b].double()
        for i in range(depth):
            outs = []
            for d in range(dirs):
                p = blocks[i * dirs + d]
                h, c = HC0[1, i, d].clone(), HC0[0, i, d].clone()
                ys = [None] * L
                for t in (range(L) if d == 0 else reversed(range(L))):
                    a = torch.einsum("ghn,n->gh", p["Wx"], x[t]) + p["bx"] + torch.einsum("ghk,k->gh", p["Wh"], h) + p["bh"]
                    f, ig, o, g = torch.sigmoid(a[0]), torch.sigmoid(a[1]), torch.sigmoid(a[2]), torch.tanh(a[3])
                    c = f * c + ig * g
                    h = o * torch.tanh(c)
                    ys[t] = h
                outs.append(torch.stack(ys) if L else x.new_zeros(0, nH))
            x = torch.cat(outs, dim=-1)
        out[:L, b] = x
    return out


# ---------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("bi,depth", [(False, 1), (True, 1), (True, 2), (False, 3)])
def test_node_dims_params_attrs_match_thinc(bi, depth):
    ours = LSTM(6, 4, bi=bi, depth=depth)
    theirs = ta.LSTM(6, 4, bi=bi, depth=depth).initialize()
    assert ours.name == theirs.name == "lstm"
    assert list(ours.dim_names) == list(theirs.dim_names) == ["nO", "nI", "depth", "dirs"]
    assert [ours.get_dim(d) for d in ours.dim_names] == [theirs.get_dim(d) for d in theirs.dim_names]
    assert list(ours.param_names) == list(theirs.param_names) == ["LSTM", "HC0"]
    for name in ours.param_names:
        assert tuple(ours.get_param(name).shape) == theirs.get_param(name).shape
    assert dict(ours.attrs) == dict(theirs.attrs) == {"registry_name": "LSTM.v1", "dropout_rate": 0.0}
    assert ours.get_param("LSTM").shape[0] == lstm_param_size(4, 6 // (1 + bi), depth, 1 + bi)
    assert "nO=6, nI=4, depth" in repr(ours) and "nI=?" in repr(LSTM(bi=True))
    assert set(ours.state_dict()) == {"weight", "initial_state"}  # the order buffer is not saved
    assert isinstance(BiLSTM(4, 2), LSTM) and BiLSTM(4, 2).get_dim("dirs") == 2


def test_init_draws_each_matrix_separately_like_thinc():
    torch.manual_seed(0)
    nI, nO = 40, 20
    model = LSTM(nO, nI, bi=True, depth=2)
    nH = nO // 2
    for k, block in enumerate(_reference_blocks(torch.as_tensor(model.get_param("LSTM")), nI, nH, 2, 2)):
        n_in = nI if k < 2 else 2 * nH
        for g in range(4):
            for W, scale in ((block["Wx"][g], math.sqrt(6 / (nH + n_in))), (block["Wh"][g], math.sqrt(6 / (2 * nH)))):
                assert W.abs().max() <= scale and W.abs().max() > 0.85 * scale
        assert torch.count_nonzero(block["bx"]) == 0 and torch.count_nonzero(block["bh"]) == 0
    assert torch.count_nonzero(torch.as_tensor(model.get_param("HC0"))) == 0
    seen = []
    model = LSTM(4, 3, init_W=lambda ops, shape: seen.append(tuple(shape)) or torch.ones(shape),
                 init_b=lambda ops, shape: torch.full(shape, 2.0))
    assert seen == [(4, 3)] * 4 + [(4, 4)] * 4
    assert set(torch.as_tensor(model.get_param("LSTM")).unique().tolist()) == {1.0, 2.0}


def test_inferred_dims_and_conflicts():
    model = LSTM(bi=True).copy()  # the copy's initializer draws for the copy (bound to it)
    assert not model.has_param("LSTM")
    model.initialize(X=_padded([3, 1], 5), Y=_padded([3, 1], 8))
    assert (model.get_dim("nI"), model.get_dim("nO")) == (5, 8)
    assert tuple(model.get_param("HC0").shape) == (2, 1, 2, 4)
    assert model(_padded([2, 2], 5)).data.shape == (2, 2, 8)
    with pytest.raises(DimError, match="nI"):
        LSTM(4, 3).initialize(X=_padded([2], 5))


# ---------------------------------------------------------------------------------- layout
def test_thinc_flat_layout_round_trips_and_maps_to_torch_gate_order():
    torch.manual_seed(1)
    nI, nO, depth = 3, 4, 2
    theirs = ta.LSTM(nO, nI, bi=True, depth=depth).initialize()
    flat = numpy.random.uniform(-1, 1, theirs.get_param("LSTM").shape).astype("float32")
    hc0 = numpy.random.uniform(-1, 1, theirs.get_param("HC0").shape).astype("float32")
    theirs.set_param("LSTM", flat)
    theirs.set_param("HC0", hc0)
    ours = LSTM(nO, nI, bi=True, depth=depth)
    ours.set_param("LSTM", torch.as_tensor(theirs.get_param("LSTM")))
    ours.set_param("HC0", torch.as_tensor(theirs.get_param("HC0")))
    assert numpy.array_equal(torch.as_tensor(ours.get_param("LSTM")).numpy(), flat)
    assert numpy.array_equal(ours.state_dict()["weight"].numpy(), flat)  # stored in Thinc's layout
    assert numpy.array_equal(torch.as_tensor(ours.get_param("HC0")).numpy(), hc0)
    back = ta.LSTM(nO, nI, bi=True, depth=depth).initialize()
    back.set_param("LSTM", torch.as_tensor(ours.get_param("LSTM")).numpy().copy())
    assert numpy.array_equal(torch.as_tensor(back.get_param("LSTM")), flat)
    # torch's (i, f, g, o) blocks, per (layer, direction): [w_ih, w_hh, b_ih, b_hh]
    blocks = _reference_blocks(torch.from_numpy(flat), nI, nO // 2, depth, 2)
    weights = ours.torch_lstm_weights()
    assert len(weights) == 4 * len(blocks)
    torch_gate = [1, 0, 3, 2]  # thinc blocks are (f, i, o, c)
    for k, block in enumerate(blocks):
        assert torch.equal(weights[4 * k], block["Wx"][torch_gate].reshape(-1, block["Wx"].shape[-1]))
        assert torch.equal(weights[4 * k + 1], block["Wh"][torch_gate].reshape(-1, block["Wh"].shape[-1]))
        assert torch.equal(weights[4 * k + 2], block["bx"][torch_gate].reshape(-1))
        assert torch.equal(weights[4 * k + 3], block["bh"][torch_gate].reshape(-1))
    # get_param is live, like Thinc's
    Xp = _padded([3, 2], nI)
    before = ours.predict(Xp).data
    torch.as_tensor(ours.get_param("LSTM")).mul_(0.5)
    assert not torch.allclose(ours.predict(Xp).data, before)


def test_set_param_checks():
    model = LSTM(4, 3, bi=True)
    size = model.get_param("LSTM").shape[0]
    with pytest.raises(ValueError, match=rf"lstm: cannot set param 'LSTM'.*= \({size},\), got \({size + 1},\)"):
        model.set_param("LSTM", torch.zeros(size + 1))
    with pytest.raises(ValueError, match="flat 1-D vector"):
        model.set_param("LSTM", torch.zeros(2, size // 2))
    with pytest.raises(ValueError, match=r"HC0.*\(2, depth=1, dirs=2, nH=nO/dirs=4/2\) = \(2, 1, 2, 2\), got \(2, 1, 1, 2\)"):
        model.set_param("HC0", torch.zeros(2, 1, 1, 2))
    with pytest.raises(TypeError, match="floating point"):
        model.set_param("LSTM", torch.zeros(size, dtype=torch.int64))
    fresh = LSTM(bi=True)
    with pytest.raises(DimError, match=r"dims \['nO', 'nI'\] are unset"):
        fresh.set_param("LSTM", torch.zeros(size))
    fresh.set_param("HC0", torch.zeros(2, 1, 2, 3))  # sets nO = dirs * nH
    assert fresh.get_dim("nO") == 6


# ---------------------------------------------------------------------------------- forward
@pytest.mark.parametrize("nO,nI,bi,depth,lengths", CONFIGS, ids=IDS)
def test_forward_matches_thinc_and_the_step_equations(nO, nI, bi, depth, lengths):
    torch.manual_seed(2)
    model = _randomized(LSTM(nO, nI, bi=bi, depth=depth))
    theirs = _thinc_twin(model)
    Xp = _padded(lengths, nI)
    for is_train in (False, True):
        Y, _ = model(Xp, is_train=is_train)
        Yt, _ = theirs(to_numpy(Xp), is_train=is_train)
        torch.testing.assert_close(Y.data, torch.from_numpy(Yt.data), **MATMUL)
        assert torch.equal(Y.size_at_t, Xp.size_at_t) and torch.equal(Y.lengths, Xp.lengths) and torch.equal(Y.indices, Xp.indices)
    torch.testing.assert_close(Y.data.double(), _step_reference(Xp, model), **MATMUL)
    padding = torch.arange(Xp.data.shape[0]).unsqueeze(1) >= Xp.lengths.unsqueeze(0)
    assert torch.count_nonzero(Y.data[padding]) == 0  # padding rows are zero, like Thinc's


@pytest.mark.parametrize("nO,nI,bi,depth,lengths", CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_padded_path_equals_the_packed_path(nO, nI, bi, depth, lengths, dtype):
    """lstm_padded (static shapes: compile/export, and CPU eager via oneDNN in float32) ==
    lstm_packed: outputs and gradients, with junk in the padding inputs."""
    torch.manual_seed(3)
    model = _randomized(LSTM(nO, nI, bi=bi, depth=depth)).to(dtype)
    Xp = _padded(lengths, nI, dtype)
    data = Xp.data + (torch.arange(Xp.data.shape[0]).view(-1, 1, 1) >= Xp.lengths.view(1, -1, 1)) * 7.0  # junk padding
    results = []
    for path in ("packed", "padded"):
        W = model.weight.detach().clone().requires_grad_(True)
        HC0 = model.initial_state.detach().clone().requires_grad_(True)
        X = data.clone().requires_grad_(True)
        weights = lstm_module._torch_weights(W, model.torch_order, nI, nO // (1 + bi), depth, 1 + bi)
        Y = lstm_packed(X, Xp.size_at_t, weights, HC0, True) if path == "packed" else lstm_padded(X, Xp.lengths, weights, HC0, True)
        dY = torch.randn(Y.shape, generator=torch.Generator().manual_seed(0)).to(dtype)
        results.append([Y, *list(torch.autograd.grad(Y, (X, W, HC0), dY))])
    tol = dict(atol=1e-12, rtol=1e-10) if dtype == torch.float64 else MATMUL
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, **tol)
    assert torch.count_nonzero(results[0][1][data != Xp.data]) == 0  # no gradient into the padding


@pytest.mark.parametrize("bi,depth,lengths,expected", [
    (True, 3, [20, 15, 3], [(20, 3)] * 6),  # padded: per layer one call per direction, over the whole batch
    (False, 3, [20, 15, 3], [(20, 3)]),  # padded, one direction: one call for every layer
    (True, 3, [20, 1, 1, 1, 1, 1, 1, 1, 1, 1], [(29,)]),  # mostly padding: one packed call of 29 rows
])
def test_eager_uses_fused_lstm_calls_never_a_loop_over_time(monkeypatch, bi, depth, lengths, expected):
    calls = []
    real = torch._VF.lstm

    def counting(*args):
        calls.append(tuple(args[0].shape[:-1]))
        return real(*args)

    monkeypatch.setattr(torch._VF, "lstm", counting)
    model = LSTM(8, 4, bi=bi, depth=depth)
    Y, backprop = model(_padded(lengths, 4), is_train=True)
    backprop(torch.randn_like(Y.data))
    assert calls == expected


# ---------------------------------------------------------------------------------- gradients
def _finite_differences(model: LSTM, Xp: Padded, dY: torch.Tensor, eps: float = 1e-6):
    """Central differences of sum(Y * dY) w.r.t. the valid rows of X and every parameter (float64)."""

    def loss() -> float:
        with torch.no_grad():
            return float((model.predict(Xp).data * dY).sum())

    def grad_of(t: torch.Tensor, where) -> torch.Tensor:
        g = torch.zeros_like(t)
        flat, gflat = t.view(-1), g.view(-1)
        for i in where:
            old = float(flat[i])
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            gflat[i] = (up - down) / (2 * eps)
        return g

    valid = (torch.arange(Xp.data.shape[0]).view(-1, 1, 1) < Xp.lengths.view(1, -1, 1)).expand_as(Xp.data)
    dX = grad_of(Xp.data, valid.reshape(-1).nonzero().view(-1).tolist())
    dW = grad_of(torch.as_tensor(model.get_param("LSTM")), range(torch.as_tensor(model.get_param("LSTM")).numel()))
    dH = grad_of(torch.as_tensor(model.get_param("HC0")), range(torch.as_tensor(model.get_param("HC0")).numel()))
    return dX, dW, dH


@pytest.mark.parametrize("bi,depth,lengths", [(False, 1, [3, 2, 1]), (True, 2, [3, 2, 0])])
def test_thinc_face_backprop_is_the_true_gradient(bi, depth, lengths):
    torch.manual_seed(4)
    model = _randomized(LSTM(4, 2, bi=bi, depth=depth)).double()
    Xp = _padded(lengths, 2, torch.float64)
    Y, backprop = model(Xp, is_train=True)
    dY = torch.randn_like(Y.data)
    dX = backprop(dY).data
    fd_dX, fd_dW, fd_dH = _finite_differences(model, Xp, dY)
    torch.testing.assert_close(dX, fd_dX, atol=1e-7, rtol=1e-6)
    torch.testing.assert_close(torch.as_tensor(model.get_grad("LSTM")), fd_dW, atol=1e-7, rtol=1e-6)
    torch.testing.assert_close(torch.as_tensor(model.get_grad("HC0")), fd_dH, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("bi,depth", [(False, 2), (True, 2)])
def test_gradients_equal_torch_nn_lstm_autograd(bi, depth):
    torch.manual_seed(5)
    model = _randomized(LSTM(6, 3, bi=bi, depth=depth))
    Xp = _padded([5, 4, 2, 1], 3)
    Y, backprop = model(Xp, is_train=True)
    dY = torch.randn_like(Y.data)
    dX = backprop(dY).data
    rnn = model.as_torch_lstm()
    X = Xp.data.clone().requires_grad_(True)
    n = model.get_dim("depth") * model.get_dim("dirs")
    HC0 = torch.as_tensor(model.get_param("HC0")).clone().requires_grad_(True)
    hx = (HC0[1].reshape(n, 1, -1).expand(n, 4, -1).contiguous(), HC0[0].reshape(n, 1, -1).expand(n, 4, -1).contiguous())
    out, _ = rnn(pack_padded_sequence(X, Xp.lengths.long()), hx)
    Yt, _ = pad_packed_sequence(out, total_length=X.shape[0])
    torch.testing.assert_close(Y.data, Yt, **MATMUL)
    Yt.backward(dY)
    torch.testing.assert_close(dX, X.grad, **MATMUL)
    ours_in_torch_order = torch.as_tensor(model.get_grad("LSTM")).index_select(0, model.torch_order)
    torch.testing.assert_close(ours_in_torch_order, torch.cat([p.grad.reshape(-1) for p in rnn._flat_weights]), **MATMUL)
    torch.testing.assert_close(torch.as_tensor(model.get_grad("HC0")), HC0.grad, **MATMUL)


def test_thinc_numpyops_backward_is_not_the_gradient():
    """COMPATIBILITY.md: thinc 8.3.14's NumpyOps LSTM backward.

    (1) dY = 0 must give zero gradients; Thinc's dLSTM is the parameter vector itself (bx slot
    bx + bh, bh slot 0); (2) dX at the first step is 0 (the loop never reaches t = 0), while
    the rest of a unidirectional layer's dX is right; (3) the bh slot of dLSTM is always 0.
    Ours equal finite differences (above) and torch.nn.LSTM autograd (above).
    """
    torch.manual_seed(6)
    nI, nO = 3, 4
    model = _randomized(LSTM(nO, nI), hc0=False)
    Xp = _padded([4, 3, 1], nI)
    flat = torch.as_tensor(model.get_param("LSTM")).clone()
    # (1) zero upstream gradient
    theirs = _thinc_twin(model)
    Yt, backprop_t = theirs(to_numpy(Xp), is_train=True)
    backprop_t(_thinc_padded(Xp, torch.zeros(Yt.data.shape)))
    Y, backprop = model(Xp, is_train=True)
    backprop(torch.zeros_like(Y.data))
    assert torch.count_nonzero(torch.as_tensor(model.get_grad("LSTM"))) == 0
    block = _reference_blocks(flat, nI, nO, 1, 1)[0]
    expected = torch.cat([block["Wx"].reshape(-1), (block["bx"] + block["bh"]).reshape(-1), block["Wh"].reshape(-1),
                          torch.zeros(4 * nO)])
    torch.testing.assert_close(torch.from_numpy(theirs.get_grad("LSTM")), expected, atol=1e-6, rtol=0)
    assert expected.abs().max() > 0.5  # so Thinc's "gradient" is off by the size of the weights
    # (2) and (3) with a random dY
    model.zero_grad(set_to_none=True)
    theirs = _thinc_twin(model)
    Yt, backprop_t = theirs(to_numpy(Xp), is_train=True)
    Y, backprop = model(Xp, is_train=True)
    dY = torch.randn_like(Y.data)
    dXt = torch.from_numpy(backprop_t(_thinc_padded(Xp, dY)).data)
    dX = backprop(dY).data
    assert torch.count_nonzero(dXt[0]) == 0 and dX[0].abs().max() > 0.05
    torch.testing.assert_close(dXt[1:], dX[1:], **MATMUL)  # t >= 1 agrees for one direction
    dW_t = torch.from_numpy(theirs.get_grad("LSTM"))
    bh_slot = slice(flat.shape[0] - 4 * nO, flat.shape[0])
    assert torch.count_nonzero(dW_t[bh_slot]) == 0
    assert torch.as_tensor(model.get_grad("LSTM"))[bh_slot].abs().max() > 0.05
    assert (dW_t - torch.as_tensor(model.get_grad("LSTM"))).abs().max() > 0.5
    # HC0: Thinc never computes its gradient; ours is the true one (finite differences, above)
    assert not theirs.has_grad("HC0") and model.has_grad("HC0")


def test_odd_nO_with_bi_raises_where_thinc_outputs_nO_minus_1():
    theirs = ta.LSTM(5, 3, bi=True).initialize()
    Xp = _padded([2], 3)
    assert theirs.predict(to_numpy(Xp)).data.shape == (2, 1, 4)  # nO=5 but 4 columns (nH = int(5 / 2))
    with pytest.raises(DimError, match="nO=5 must be divisible by dirs=2"):
        LSTM(5, 3, bi=True)
    model = LSTM(bi=True)
    with pytest.raises(DimError, match="nO=5 must be divisible by dirs=2"):
        model.initialize(X=Xp, Y=_padded([2], 5))


# ---------------------------------------------------------------------------------- dropout
def test_dropout_is_dropconnect_over_the_whole_flat_vector():
    torch.manual_seed(7)
    model = LSTM(16, 8, bi=True, dropout=0.5)
    Xp = _padded([6, 5, 2], 8)
    eval_Y = model.predict(Xp).data
    assert torch.equal(model.predict(Xp).data, eval_Y)  # no dropout in inference
    Y, backprop = model(Xp, is_train=True)
    assert not torch.allclose(Y.data, eval_Y)
    backprop(torch.randn_like(Y.data))
    dropped = (torch.as_tensor(model.get_grad("LSTM")) == 0).float().mean().item()
    assert 0.4 < dropped < 0.6  # the gradient is masked like the weights
    model.attrs["dropout_rate"] = 1.0  # every weight and bias dropped: gates 0.5, cell 0, output 0
    Y, _ = model(Xp, is_train=True)
    assert torch.count_nonzero(Y.data) == 0
    model.attrs["dropout_rate"] = 0.0
    Y, _ = model(Xp, is_train=True)
    # oneDNN's training and inference kernels round differently (a few ulp), hence not bitwise
    torch.testing.assert_close(Y.data, eval_Y, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------------------- interop
def test_from_thinc_to_thinc_and_thinc_bytes():
    numpy.random.seed(8)
    theirs = ta.LSTM(6, 3, bi=True, depth=2, dropout=0.25).initialize()
    theirs.set_param("HC0", numpy.random.uniform(-1, 1, theirs.get_param("HC0").shape).astype("float32"))
    Xp = _padded([4, 4, 2, 0], 3)
    ours = from_thinc(theirs)
    assert isinstance(ours, LSTM) and ours.attrs["dropout_rate"] == 0.25
    for name in ("LSTM", "HC0"):
        assert numpy.array_equal(torch.as_tensor(ours.get_param(name)).numpy(), torch.as_tensor(theirs.get_param(name)))
    torch.testing.assert_close(ours.predict(Xp).data, torch.from_numpy(theirs.predict(to_numpy(Xp)).data), **MATMUL)
    back = to_thinc(ours)
    assert back.attrs["dropout_rate"] == 0.25 and back.get_dim("depth") == 2 and back.get_dim("dirs") == 2
    assert numpy.array_equal(torch.as_tensor(back.get_param("LSTM")), torch.as_tensor(theirs.get_param("LSTM")))
    assert numpy.array_equal(back.predict(to_numpy(Xp)).data, theirs.predict(to_numpy(Xp)).data)
    loaded = load_thinc_bytes(LSTM(bi=True, depth=2), theirs.to_bytes())
    assert torch.equal(loaded.predict(Xp).data, ours.predict(Xp).data)


def test_with_padded_over_lists_matches_thinc():

    numpy.random.seed(10)
    theirs = ta.with_padded(ta.LSTM(4, 3, bi=True, depth=2))
    seqs = [numpy.random.randn(n, 3).astype("float32") for n in (2, 5, 0, 3)]
    theirs.initialize(X=seqs)
    ours = from_thinc(theirs)
    assert [n.name for n in ours.walk()] == ["with_padded(lstm)", "lstm"]
    Y, backprop = ours([torch.from_numpy(x) for x in seqs], is_train=True)
    Yt = theirs.predict(seqs)
    assert [tuple(y.shape) for y in Y] == [y.shape for y in Yt] == [(2, 4), (5, 4), (0, 4), (3, 4)]
    for y, yt in zip(Y, Yt):
        torch.testing.assert_close(y, torch.from_numpy(yt), **MATMUL)
    dX = backprop([torch.ones_like(y) for y in Y])
    assert [tuple(d.shape) for d in dX] == [x.shape for x in seqs]


def test_export_with_dynamic_batch_and_script_on_both_paths():
    """The harness exports with static shapes; here B is dynamic (T's dynamism is pinned in
    tests/modules/test_lstm_export.py). Fields in, data out, because
    torch.export rebuilds a Padded dynamic_shapes spec with None leaves, which Padded rejects."""

    class Fields(torch.nn.Module):
        def __init__(self, lstm: LSTM) -> None:
            super().__init__()
            self.lstm = lstm

        def forward(self, data, size_at_t, lengths, indices):
            return self.lstm(Padded(data, size_at_t, lengths, indices)).data

    torch.manual_seed(9)
    model = _randomized(LSTM(4, 3, bi=True, depth=2)).eval()
    B = torch.export.Dim("B", min=2, max=512)
    ep = torch.export.export(Fields(model), tuple(_padded([4, 3, 1], 3)), dynamic_shapes=({1: B}, None, {0: B}, {0: B}))
    X2 = _padded([4, 4, 3, 2, 1, 1], 3)
    with torch.no_grad():
        torch.testing.assert_close(ep.module()(*X2), model(X2).data, atol=1e-6, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(model)
    for lengths in ([4, 4, 3], [12, 1, 1, 1, 1, 1, 1, 1, 1]):  # padded path, then packed (mostly padding)
        Xp = _padded(lengths, 3)
        with torch.no_grad():
            torch.testing.assert_close(scripted(Xp).data, model(Xp).data, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------------------- bad inputs
def test_bad_inputs_are_named():
    model = LSTM(4, 3, bi=True)
    Xp = _padded([3, 2], 3)
    with pytest.raises(TypeError, match=r"lstm: expected a Padded .*got Tensor; wrap the layer in with_padded"):
        model(Xp.data)
    with pytest.raises(ValueError, match=r"lstm: expected Padded data width nI=3, got data of shape \(3, 2, 5\)"):
        model(_padded([3, 2], 5))
    with pytest.raises(ValueError, match=r"shape \(T, B, nI=3\), got a 2-D tensor"):
        model(Padded(torch.zeros(3, 2), Xp.size_at_t, Xp.lengths, Xp.indices))
    with pytest.raises(TypeError, match="floating point"):
        model(Padded(Xp.data.long(), Xp.size_at_t, Xp.lengths, Xp.indices))
    with pytest.raises(TypeError, match="dtype torch.float32 .*got torch.float64"):
        model(Padded(Xp.data.double(), Xp.size_at_t, Xp.lengths, Xp.indices))
    with pytest.raises(ValueError, match=r"sorted by decreasing length .*got lengths \[2, 3\]"):
        model(Padded(Xp.data, Xp.size_at_t, Xp.lengths.flip(0), Xp.indices))
    with pytest.raises(ValueError, match=r"size_at_t disagrees with lengths: expected \[2, 2, 1\] .*, got \[2, 1, 1\]"):
        model(Padded(Xp.data, torch.tensor([2, 1, 1], dtype=torch.int32), Xp.lengths, Xp.indices))
    with pytest.raises(DimError, match="nO=5 must be divisible by dirs=2"):
        LSTM(5, 3, bi=True)
    with pytest.raises(ValueError, match="depth must be an int >= 1"):
        LSTM(4, 3, depth=0)
    with pytest.raises(ValueError, match="dropout must be a float in"):
        LSTM(4, 3, dropout=1.5)
    with pytest.raises(ValueError, match="lstm: parameter LSTM has not been allocated"):
        LSTM(bi=True)(Xp)


# ------------------------------------------------------------------------------ training under torch.compile
@pytest.mark.parametrize("bi,depth", [(False, 1), (False, 2), (True, 2)])
def test_compiled_training_matches_eager(bi, depth):
    """aten.lstm cannot be differentiated by AOTAutograd; torchlayers::fused_lstm makes it train."""
    arrays = [numpy.random.uniform(-1, 1, (n, 5)).astype("f") for n in (4, 2, 3)]
    tX = ta.get_current_ops().list2padded(arrays)
    X = Padded(*(torch.from_numpy(numpy.ascontiguousarray(a)) for a in (tX.data, tX.size_at_t, tX.lengths, tX.indices)))
    compiled_model, eager_model = LSTM(6, 5, bi=bi, depth=depth), LSTM(6, 5, bi=bi, depth=depth)
    eager_model.load_state_dict(compiled_model.state_dict())
    Y = torch.compile(compiled_model, fullgraph=True, backend="aot_eager")(X).data
    Y.pow(2).sum().backward()
    Y_ref = eager_model(X).data
    Y_ref.pow(2).sum().backward()
    torch.testing.assert_close(Y, Y_ref)
    torch.testing.assert_close(compiled_model.weight.grad, eager_model.weight.grad, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(compiled_model.initial_state.grad, eager_model.initial_state.grad, atol=1e-6, rtol=1e-5)


def test_fused_lstm_op_passes_opcheck():
    from torchlayers.kernels import fused_lstm  # noqa: F401

    gen = torch.Generator().manual_seed(0)
    X = torch.randn(3, 2, 4, generator=gen, requires_grad=True)
    h0, c0 = torch.randn(2, 2, 5, generator=gen), torch.randn(2, 2, 5, generator=gen)
    shapes = [(20, 4), (20, 5), (20,), (20,), (20, 5), (20, 5), (20,), (20,)]
    weights = [torch.randn(*s, generator=gen, requires_grad=True) for s in shapes]
    torch.library.opcheck(torch.ops.torchlayers.fused_lstm, (X, h0, c0, weights, 2))
