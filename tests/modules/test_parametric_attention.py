"""ParametricAttention: Thinc's per-sequence softmax (clip, no max shift), zero-length
sequences, the vectorized path, bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch
from thinc.api import NumpyOps

from torchlayers import Ragged
from torchlayers.convert import to_numpy
from torchlayers.modules.parametric_attention import ParametricAttention, softmax_sequences


def _pair(nO, scale=1.0):
    Q = torch.randn(nO) * scale
    ours = ParametricAttention(nO)
    ours.set_param("Q", Q)
    theirs = ta.ParametricAttention(nO).initialize()
    theirs.set_param("Q", Q.numpy().copy())
    return ours, theirs


@pytest.mark.parametrize("lengths", [[3, 0, 2, 0], [1, 1, 1], [0, 5]])
@pytest.mark.parametrize("scale", [1.0, 20.0])
def test_matches_thinc_including_beyond_the_clip(lengths, scale):
    """scale=20 pushes scores past +-20: the clip is Thinc's, and so is the gradient there."""
    ours, theirs = _pair(4, scale)
    X = Ragged(torch.randn(sum(lengths), 4), torch.tensor(lengths, dtype=torch.int32))
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(to_numpy(X), is_train=True)
    torch.testing.assert_close(Y.data, torch.from_numpy(Yt.dataXd), atol=1e-5, rtol=1e-4)
    assert torch.equal(Y.lengths, X.lengths) and ours(X).lengths is X.lengths  # torch face: same object
    dY = torch.randn_like(Y.data)
    dX = backprop(Ragged(dY, Y.lengths))
    dXt = backprop_t(ta.Ragged(dY.numpy(), X.lengths.numpy()))
    torch.testing.assert_close(dX.data, torch.from_numpy(dXt.dataXd), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(torch.as_tensor(ours.get_grad("Q")), torch.from_numpy(theirs.get_grad("Q")), atol=1e-4, rtol=1e-4)


def test_softmax_sequences_equals_thincs_op():
    scores = torch.randn(9) * 15
    lengths = torch.tensor([2, 0, 4, 3], dtype=torch.int32)
    expected = NumpyOps().softmax_sequences(scores.numpy().reshape(-1, 1), lengths.numpy()).ravel()
    torch.testing.assert_close(softmax_sequences(scores, lengths), torch.from_numpy(expected), atol=1e-6, rtol=1e-5)


def test_no_max_shift_like_thinc():
    """Scores of 30 clip to 20 before exp: equal scores past the clip share weight equally."""
    a = softmax_sequences(torch.tensor([30.0, 25.0, 0.0]), torch.tensor([3]))
    torch.testing.assert_close(a[0], a[1])


def test_each_sequence_sums_to_one_and_is_independent_of_the_others():
    lengths = torch.tensor([3, 0, 1, 4])
    scores = torch.randn(8)
    a = softmax_sequences(scores, lengths)
    sums = torch.zeros(4).index_add(0, torch.repeat_interleave(torch.arange(4), lengths), a)
    torch.testing.assert_close(sums, torch.tensor([1.0, 0.0, 1.0, 1.0]))
    alone = softmax_sequences(scores[4:], torch.tensor([4]))
    torch.testing.assert_close(a[4:], alone)


@pytest.mark.parametrize("lengths", [[], [0], [0, 0]])
def test_no_rows_at_all_gives_empty_output_where_thinc_raises(lengths):
    """Thinc's NumpyOps reduce_sum reads X[0, 0] and raises IndexError when N == 0 but B > 0
    (COMPATIBILITY.md); we return an empty Ragged and an empty gradient."""
    ours, theirs = _pair(3)
    X = Ragged(torch.zeros(0, 3), torch.tensor(lengths, dtype=torch.int32))
    Y, backprop = ours(X, is_train=True)
    assert Y.data.shape == (0, 3) and torch.equal(Y.lengths, X.lengths)
    assert backprop(Ragged(torch.zeros(0, 3), Y.lengths)).data.shape == (0, 3)
    assert torch.equal(torch.as_tensor(ours.get_grad("Q")), torch.zeros(3))
    if lengths:
        with pytest.raises(IndexError):
            theirs(to_numpy(X), is_train=True)
    else:
        assert theirs(to_numpy(X), is_train=True)[0].dataXd.shape == (0, 3)


def test_many_sequences_run_vectorized():
    model = ParametricAttention(8)
    lengths = torch.randint(0, 5, (20000,))
    X = Ragged(torch.randn(int(lengths.sum()), 8), lengths)
    Y = model(X)  # a Python loop over 20k sequences would be slow; this is a few vector ops
    assert Y.data.shape == X.data.shape


def test_init_from_ragged_width_and_Q_range():
    model = ParametricAttention().initialize(X=Ragged(torch.randn(4, 6), torch.tensor([4])))
    Q = torch.as_tensor(model.get_param("Q"))
    assert model.get_dim("nO") == 6 and Q.shape == (6,) and Q.abs().max() <= 0.1


@pytest.mark.parametrize(
    "X, error, words",
    [
        (torch.randn(3, 4), TypeError, ["para-attn", "Ragged", "Tensor"]),
        (Ragged(torch.randn(3, 5), torch.tensor([3])), ValueError, ["para-attn", "nO=4", "[3, 5]"]),
        (Ragged(torch.randn(3), torch.tensor([3])), ValueError, ["para-attn", "[3]"]),
        (Ragged(torch.ones(3, 4, dtype=torch.int64), torch.tensor([3])), TypeError, ["para-attn", "int64"]),
    ],
)
def test_bad_inputs_are_named(X, error, words):
    with pytest.raises(error) as info:
        ParametricAttention(4)(X)
    assert all(w in str(info.value) for w in words), str(info.value)
