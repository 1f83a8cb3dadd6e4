"""``TorchOps`` against Thinc's ``NumpyOps`` on the same inputs: one table of (method, args, kwargs).

Each row runs the method on numpy inputs through both (numpy in, numpy out on ours), and on
torch inputs through ours (tensors in, tensors out); results must match Thinc's to float32
rounding (exactly for integer results and layouts). In-place rows check that the caller's
numpy array was written.
"""
from __future__ import annotations

import numpy
import pytest
import torch

from torchlayers.ops import TorchOps

thinc_api = pytest.importorskip("thinc.api")

rng = numpy.random.default_rng(0)
X = rng.normal(size=(6, 4)).astype("float32") * 3
X64 = X.astype("float64")
dY = rng.normal(size=(6, 4)).astype("float32")
Y01 = rng.uniform(0.05, 0.95, size=(6, 4)).astype("float32")
L = numpy.array([2, 0, 3, 1], dtype="int32")
L_POS = numpy.array([2, 3, 1], dtype="int32")
X3 = rng.normal(size=(5, 3, 2)).astype("float32")
WHICH = numpy.array([[0, 1, 1], [1, 0, 0]], dtype="int32")
TABLE = rng.normal(size=(7, 3)).astype("float32")
IDX2 = numpy.array([[0, 6], [3, 3], [1, 2]], dtype="int32")
SEQS = [X[:2], X[:0], X[:3]]
SEQS3 = [X[:2], X[:3], X[:1]]
IDS = numpy.array([0, 1, 2**40, 2**63 + 5], dtype="uint64")

ACTIVATIONS = ["relu", "sigmoid", "dsigmoid", "dtanh", "clipped_linear", "relu_k", "hard_sigmoid", "hard_tanh", "swish",
               "hard_swish", "hard_swish_mobilenet", "dish", "erf", "sechsq", "gelu_approx", "gelu", "mish"]
BACKPROPS_X = ["backprop_clipped_linear", "backprop_relu_k", "backprop_hard_sigmoid", "backprop_hard_tanh",
               "backprop_hard_swish", "backprop_hard_swish_mobilenet", "backprop_dish", "backprop_gelu_approx",
               "backprop_gelu", "backprop_mish"]

CASES = (
    [(name, (X,), {}) for name in ACTIVATIONS]
    + [(name, (X64,), {}) for name in ("gelu", "swish", "erf")]
    + [("clipped_linear", (X,), {"slope": 0.5, "offset": 0.2, "min_val": -1.0, "max_val": 2.0})]
    + [(name, (dY, X), {}) for name in BACKPROPS_X]
    + [
        ("backprop_relu", (dY, X), {}),
        ("backprop_sigmoid", (dY, Y01), {}),
        ("backprop_swish", (dY, X, Y01), {}),
        ("softmax", (X,), {}),
        ("softmax", (X,), {"axis": 0, "temperature": 2.0}),
        ("backprop_softmax", (Y01, dY), {"temperature": 0.5}),
        ("softmax_sequences", (X, L_POS), {}),
        ("backprop_softmax_sequences", (dY, Y01, L_POS), {}),
        ("seq2col", (X, 1), {}),
        ("seq2col", (X, 2), {"lengths": L}),
        ("seq2col", (X64, 3), {"lengths": L_POS}),
        ("backprop_seq2col", (rng.normal(size=(6, 12)).astype("float32"), 1), {}),
        ("backprop_seq2col", (rng.normal(size=(6, 20)).astype("float32"), 2), {"lengths": L}),
        ("reduce_sum", (X, L), {}),
        ("reduce_mean", (X, L), {}),
        ("reduce_max", (X, L_POS), {}),
        ("reduce_first", (X, L_POS), {}),
        ("reduce_last", (X, L_POS), {}),
        ("backprop_reduce_sum", (dY[:4], L), {}),
        ("backprop_reduce_mean", (dY[:4], L), {}),
        ("backprop_reduce_max", (dY[:3], numpy.array([[1, 0, 1, 1], [2, 2, 0, 1], [0, 0, 0, 0]], dtype="int32"), L_POS), {}),
        ("backprop_reduce_first", (dY[:3], numpy.array([0, 2, 5, 6], dtype="int32")), {}),
        ("backprop_reduce_last", (dY[:3], numpy.array([1, 4, 5], dtype="int32")), {}),
        ("maxout", (X3,), {}),
        ("backprop_maxout", (dY[:2, :3].copy(), WHICH, 2), {}),
        ("gather_add", (TABLE, IDX2), {}),
        ("tile", (X, 2), {}),
        ("gemm", (X, dY), {"trans2": True}),
        ("affine", (X, rng.normal(size=(3, 4)).astype("float32"), TABLE[0]), {}),
        ("flatten", (SEQS,), {}),
        ("flatten", (SEQS,), {"pad": 1}),
        ("flatten", (SEQS3,), {"pad": 2, "dtype": "float64"}),
        ("unflatten", (X, L), {}),
        ("unflatten", (rng.normal(size=(10, 4)).astype("float32"), L), {"pad": 1}),
        ("pad", (SEQS3,), {"round_to": 4}),
        ("unpad", (X3, [2, 0, 3]), {}),
        ("list2padded", (SEQS3,), {}),
        ("insert_into", ((3, 4, 4), SEQS3), {}),
        ("reshape2f", (X, 3, 8), {}),
        ("reshape3f", (X, 2, 3, 4), {}),
        ("reshape1i", (L, 4), {}),
        ("reshape_f", (X, (4, 6)), {}),
        ("reshape", (X, (24,)), {}),
        ("as_contig", (X.T,), {}),
        ("hash", (IDS, 7), {}),
        ("ngrams", (2, IDS), {}),
        ("ngrams", (3, numpy.arange(7, dtype="uint64")), {}),
        ("ngrams", (5, IDS), {}),
        ("logloss", (Y01.round(), Y01), {}),
    ]
)


def _torch(x, device="cpu"):
    if isinstance(x, numpy.ndarray):
        return torch.from_numpy(x.view(numpy.int64) if x.dtype == numpy.uint64 else x.copy()).to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(_torch(v, device) for v in x)
    if isinstance(x, dict):
        return {k: _torch(v, device) for k, v in x.items()}
    return x


def _fields(x):
    """Comparable leaves of a result: arrays (Thinc's Padded and ours by field), lists, tuples."""
    if hasattr(x, "size_at_t"):
        return [x.data, x.size_at_t, x.lengths, x.indices]
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _fields(item)]
    return [x]


def _assert_same(ours, theirs, kind):
    if hasattr(ours, "size_at_t"):
        kind = torch.Tensor  # torchlayers' Padded holds tensors (for numpy inputs too)
    a, b = _fields(ours), _fields(theirs)
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert isinstance(u, kind), f"expected {kind.__name__} out, got {type(u).__name__}"
        u = u.cpu().numpy() if isinstance(u, torch.Tensor) else numpy.asarray(u)
        v = numpy.asarray(v)
        assert u.shape == v.shape
        if v.dtype.kind == "f":
            numpy.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
        else:
            assert (u.astype(numpy.int64) == v.astype(numpy.int64)).all()


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_numpy_ops(name, args, kwargs):
    theirs = getattr(thinc_api.NumpyOps(), name)(*args, **kwargs)
    ours = getattr(TorchOps(), name)(*args, **kwargs)
    _assert_same(ours, theirs, numpy.ndarray)
    ours_t = getattr(TorchOps(), name)(*_torch(args), **_torch(kwargs))
    _assert_same(ours_t, theirs, torch.Tensor)


@pytest.mark.gpu
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_numpy_ops_on_cuda(name, args, kwargs):
    theirs = getattr(thinc_api.NumpyOps(), name)(*args, **kwargs)
    ours = getattr(TorchOps("cuda"), name)(*_torch(args, "cuda"), **_torch(kwargs, "cuda"))
    for leaf in _fields(ours):
        assert leaf.device.type == "cuda"
    _assert_same(ours, theirs, torch.Tensor)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "swish", "gelu", "mish", "hard_tanh", "dish"])
def test_inplace_writes_the_callers_numpy_array(name):
    mine, ref = X.copy(), X.copy()
    out = getattr(TorchOps(), name)(mine, inplace=True)
    expected = getattr(thinc_api.NumpyOps(), name)(ref, inplace=True)
    numpy.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_scatter_add_and_adam_update_in_place():
    mine, ref = TABLE.copy(), TABLE.copy()
    idx = numpy.array([0, 3, 3], dtype="int32")
    vals = rng.normal(size=(3, 3)).astype("float32")
    TorchOps().scatter_add(mine, idx, vals)
    thinc_api.NumpyOps().scatter_add(ref, idx, vals)
    numpy.testing.assert_allclose(mine, ref, rtol=1e-6)
    state = [rng.normal(size=(8,)).astype("float32") for _ in range(3)] + [rng.uniform(size=(8,)).astype("float32")]
    ours_state, thinc_state = [a.copy() for a in state], [a.copy() for a in state]
    TorchOps().adam(*ours_state, 0.9, 0.999, 1e-8, 0.01)
    thinc_api.NumpyOps().adam(*thinc_state, 0.9, 0.999, 1e-8, 0.01)
    for u, v in zip(ours_state, thinc_state):
        numpy.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)


def test_minibatch_and_multibatch_follow_thinc_with_one_seed():
    data, labels = numpy.arange(20).reshape(10, 2), list(range(10))
    for ops_cls in (TorchOps, thinc_api.NumpyOps):
        numpy.random.seed(3)
        batches = list(ops_cls().multibatch(4, data, labels, shuffle=True))
        numpy.random.seed(3)
        single = list(ops_cls().minibatch(iter([3, 5, 2]), data, shuffle=True))
        if ops_cls is TorchOps:
            ours = (batches, single)
        else:
            theirs = (batches, single)
    assert len(ours[0]) == len(theirs[0]) == 3 and len(TorchOps().minibatch(4, data)) == 3
    for (a, la), (b, lb) in zip(ours[0], theirs[0]):
        assert (a == b).all() and la == lb and a.flags.c_contiguous
    for a, b in zip(ours[1], theirs[1]):
        assert (a == b).all()
    tensors = list(TorchOps().minibatch(4, torch.arange(10)))
    assert [t.tolist() for t in tensors] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


@pytest.mark.parametrize("N,D", [(5, 4), (7, 5), (3, 1), (0, 3)])
def test_position_encode_matches_numpy_ops(N, D):
    ours = TorchOps().position_encode(N, D)
    numpy.testing.assert_allclose(ours.numpy(), thinc_api.NumpyOps().position_encode(N, D), rtol=1e-5, atol=1e-6)
    out = torch.empty(N, D)
    assert TorchOps().position_encode(N, D, out=out) is out and torch.equal(out, ours)


def test_bad_inputs_are_named():
    ops = TorchOps()
    with pytest.raises(ValueError, match=r"ops.reduce_max: all sequence lengths must be > 0, got 0"):
        ops.reduce_max(X, L)
    with pytest.raises(IndexError, match=r"ops.reduce_sum: lengths must sum up to the number of rows: 5 != 6"):
        ops.reduce_sum(X, numpy.array([2, 3], dtype="int32"))
    with pytest.raises(ValueError, match=r"ops.seq2col: the lengths must sum up to the number of rows: 5 != 6"):
        ops.seq2col(X, 1, lengths=numpy.array([2, 3], dtype="int32"))
    with pytest.raises(ValueError, match=r"ops.unflatten: expected 9 rows \(the lengths' sum 6 plus 3 pad rows\), got shape \[6, 4\]"):
        ops.unflatten(X, numpy.array([2, 0, 4]), pad=1)
    with pytest.raises(ValueError, match=r"ops.minibatch: expected sequences \(with a length\), got generator"):
        ops.minibatch(2, (i for i in range(3)))
    with pytest.raises(ValueError, match=r"ops.multibatch: batch sizes must be >= 1, got 0"):
        ops.multibatch(0, X, X)
    with pytest.raises(ValueError, match=r"ops.pad: every sequence must have the same trailing shapes"):
        ops.pad([X[:2], X[:1, :3]])


def test_ops_cover_thinc_ops_api():
    """Every public NumpyOps name exists on TorchOps except the documented few."""
    not_here = {"cblas", "use_blis", "name", "xp"}
    missing = {n for n in dir(thinc_api.NumpyOps()) if not n.startswith("_")} - set(dir(TorchOps)) - not_here
    assert not missing, f"TorchOps lacks {sorted(missing)}"


@pytest.mark.parametrize("depth,dirs", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_lstm_forward_matches_numpy_ops_and_backprop_is_the_gradient(depth, dirs):
    """Forward and inference as NumpyOps (flat Thinc params, H0/C0 read swapped as there); the
    backward is autograd's, checked by gradcheck in float64 (NumpyOps' is not the gradient:
    COMPATIBILITY.md row 56)."""
    from torchlayers.modules.lstm import lstm_param_size

    nI, nO = 3, 2
    size_at_t = numpy.array([3, 3, 2, 1], dtype="int32")
    N = int(size_at_t.sum())
    P = (rng.normal(size=lstm_param_size(nI, nO, depth, dirs)) * 0.5).astype("float32")
    H0, C0 = (rng.normal(size=(depth, dirs, nO)).astype("float32") for _ in range(2))
    Xs = rng.normal(size=(N, nI)).astype("float32")
    theirs = thinc_api.NumpyOps()
    Yt, _ = theirs.lstm_forward_training(P, H0, C0, Xs, size_at_t)
    Y, state = TorchOps().lstm_forward_training(P, H0, C0, Xs, size_at_t)
    assert isinstance(Y, numpy.ndarray) and Y.shape == (N, dirs * nO)
    numpy.testing.assert_allclose(Y, Yt, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(TorchOps().lstm_forward_inference(P, H0, C0, Xs, size_at_t), Yt, rtol=1e-5, atol=1e-6)

    args = [torch.from_numpy(a.astype("float64")) for a in (P, H0, C0, Xs)]
    P64, H64, C64, X64_ = args
    dY64 = torch.randn(N, dirs * nO, dtype=torch.float64)
    _, st = TorchOps().lstm_forward_training(P64, H64, C64, X64_, torch.from_numpy(size_at_t))
    dX, dP = TorchOps().backprop_lstm(dY64, torch.from_numpy(size_at_t), P64, st)

    def f(p, x):
        return (TorchOps()._lstm(p, H64, C64, x, torch.from_numpy(size_at_t), train=True) * dY64).sum()

    p, x = P64.clone().requires_grad_(), X64_.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda p, x: TorchOps()._lstm(p, H64, C64, x, torch.from_numpy(size_at_t), train=True), (p, x))
    gp, gx = torch.autograd.grad(f(p, x), (p, x))
    assert torch.allclose(dX, gx) and torch.allclose(dP, gp)


def test_numpy_ops_lstm_backprop_is_not_the_gradient():
    """COMPATIBILITY.md row 56: NumpyOps' backprop_lstm differs from the finite-difference gradient
    of its own forward; ours matches it."""
    from torchlayers.modules.lstm import lstm_param_size

    nI, nO, size_at_t = 3, 2, numpy.array([2, 2, 1], dtype="int32")
    P = rng.normal(size=lstm_param_size(nI, nO, 1, 1)) * 0.5
    H0, C0 = numpy.zeros((1, 1, nO)), numpy.zeros((1, 1, nO))
    Xs, dYs = rng.normal(size=(5, nI)), rng.normal(size=(5, nO))
    ops = TorchOps()
    numeric = numpy.zeros_like(Xs)
    for i in numpy.ndindex(*Xs.shape):
        up, down = Xs.copy(), Xs.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = ((ops.lstm_forward_inference(P, H0, C0, up, size_at_t) - ops.lstm_forward_inference(P, H0, C0, down, size_at_t)) * dYs).sum() / 2e-6
    _, state = ops.lstm_forward_training(P, H0, C0, Xs, size_at_t)
    ours, _ = ops.backprop_lstm(dYs, size_at_t, P, state)
    numpy.testing.assert_allclose(ours, numeric, rtol=1e-6, atol=1e-8)
    f32 = [a.astype("float32") for a in (P, H0, C0, Xs)]
    _, thinc_state = thinc_api.NumpyOps().lstm_forward_training(*f32, size_at_t)
    theirs, _ = thinc_api.NumpyOps().backprop_lstm(dYs.astype("float32"), size_at_t, f32[0], thinc_state)
    assert numpy.abs(theirs - numeric).max() > 1e-2


def test_xp_is_thincs_array_module():
    assert TorchOps().xp is numpy is thinc_api.NumpyOps().xp
    W = TorchOps().xp.eye(3, dtype="f")
    numpy.testing.assert_array_equal(TorchOps().relu(W - 0.5), thinc_api.NumpyOps().relu(W - 0.5))
