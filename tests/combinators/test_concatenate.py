"""concatenate: Thinc's node tree, init, list/Ragged/Padded structures (Thinc's backprop bugs
pinned, COMPATIBILITY.md), bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch
from thinc.types import Ragged as ThincRagged

import torchlayers as tl
from torchlayers.combinators.concatenate import concatenate
from torchlayers.convert import to_numpy
from torchlayers.functional.sequences import list2padded
from torchlayers.modules.expand_window import expand_window


class Scale(tl.Model):
    """Test helper: multiplies every tensor of a list / Padded by ``k`` (no params)."""

    def __init__(self, k: float):
        super().__init__(f"scale{k}")
        self.k = k

    def forward(self, X):
        if isinstance(X, tl.Padded):
            return tl.Padded(self.k * X.data, X.size_at_t, X.lengths, X.indices)
        return [self.k * x for x in X]


def thinc_scale(k: float):
    def forward(model, X, is_train):
        return [k * x for x in X], lambda dY: [k * d for d in dY]

    return ta.Model(f"scale{k}", forward)


def test_names_flattening_and_trivial_forms():
    a, b, c = tl.Linear(2, 3), tl.Relu(1, 3), tl.Linear(4, 3)
    m = concatenate(a, b)
    assert m.name == "linear|relu" and m.dim_names == ("nO", "nI")
    assert tl.concatenate(m, c) is m and list(m.layers) == [a, b, c]  # the facade flattens, like Thinc
    theirs = ta.concatenate(ta.concatenate(ta.Linear(2, 3), ta.Relu(1, 3)), ta.Linear(4, 3))
    assert m.name == theirs.name == "linear|relu"  # Thinc does not rename the extended node
    assert isinstance(tl.concatenate(), tl.noop) and tl.concatenate(a) is a
    assert concatenate(tl.Linear(2, 3), tl.noop()).dim_names == ("nO",)


def test_initialize_sums_nO_and_raises_on_conflict():
    m = concatenate(tl.Linear(2), tl.Relu(5)).initialize(X=torch.randn(3, 4))
    assert (m.get_dim("nI"), m.get_dim("nO")) == (4, 7)
    with pytest.raises(ValueError, match="nI"):
        concatenate(tl.Linear(2, 3), tl.Linear(2, 3)).initialize(X=torch.randn(3, 4))
    assert concatenate(tl.Linear(2), tl.noop()).initialize(X=torch.randn(3, 4)).maybe_get_dim("nO") is None


@pytest.mark.parametrize("lengths", [[3, 0, 2], [0, 0], [], [4]])
def test_ragged_forward_matches_thinc_and_backprop_is_right(lengths):
    X = tl.Ragged(torch.randn(sum(lengths), 2), torch.tensor(lengths, dtype=torch.int32))
    ours = concatenate(expand_window(1), expand_window(0))
    Y, backprop = ours(X, is_train=True)
    assert isinstance(Y, tl.Ragged) and torch.equal(Y.lengths, X.lengths) and Y.data.shape == (sum(lengths), 8)
    theirs = ta.concatenate(ta.expand_window(1), ta.expand_window(0))
    if sum(lengths):
        Yt, backprop_t = theirs(to_numpy(X), is_train=True)
        torch.testing.assert_close(Y.data, torch.from_numpy(Yt.data), atol=1e-5, rtol=0)
        with pytest.raises(TypeError, match="Ragged"):  # thinc: Ragged += Ragged
            backprop_t(ThincRagged(Yt.data, Yt.lengths))
    dY = torch.randn_like(Y.data)
    dX = backprop(tl.Ragged(dY, Y.lengths))
    _, bp1 = expand_window(1)(X, is_train=True)
    expected = bp1(tl.Ragged(dY[:, :6].contiguous(), X.lengths)).data + dY[:, 6:]
    assert isinstance(dX, tl.Ragged)
    torch.testing.assert_close(dX.data, expected)


@pytest.mark.parametrize("lengths", [[2, 0, 3], [0], [1]])
def test_list_forward_matches_thinc_and_backprop_is_right(lengths):
    X = [torch.randn(n, 2) for n in lengths]
    Y, backprop = concatenate(Scale(2.0), Scale(3.0))(X, is_train=True)
    Yt, backprop_t = ta.concatenate(thinc_scale(2.0), thinc_scale(3.0))(to_numpy(X), is_train=True)
    assert len(Y) == len(Yt) == len(X)
    for y, yt, x in zip(Y, Yt, X):
        torch.testing.assert_close(y, torch.from_numpy(yt))
        torch.testing.assert_close(y, torch.cat([2 * x, 3 * x], dim=1))
    dY = [torch.randn_like(y) for y in Y]
    dX = backprop(dY)
    assert len(dX) == len(X)
    for d, dy in zip(dX, dY):
        torch.testing.assert_close(d, 2 * dy[:, :2] + 3 * dy[:, 2:])
    # thinc: dX += [...] on lists concatenates, so dX has twice the items
    assert len(backprop_t(to_numpy(dY))) == 2 * len(X)


def test_empty_list_gives_empty_list_thinc_raises():
    assert concatenate(Scale(2.0), Scale(3.0))([]) == []
    with pytest.raises(ValueError):
        ta.concatenate(thinc_scale(2.0), thinc_scale(3.0))([], is_train=False)


def test_padded_is_concatenated_on_the_feature_axis():
    X = list2padded([torch.randn(3, 2), torch.randn(1, 2)])
    Y = concatenate(Scale(2.0), Scale(-1.0))(X)
    assert isinstance(Y, tl.Padded) and Y.data.shape == (3, 2, 4)
    torch.testing.assert_close(Y.data, torch.cat([2 * X.data, -X.data], dim=-1))
    assert torch.equal(Y.lengths, X.lengths) and torch.equal(Y.indices, X.indices)


def test_bad_inputs():
    with pytest.raises(TypeError, match="concatenate: layer 1 must be a torchlayers Model"):
        concatenate(tl.Linear(2, 2), "linear")

    class Rows(tl.Model):
        def __init__(self, n):
            super().__init__("rows")
            self.n = n

        def forward(self, X):
            return X[: self.n]

    with pytest.raises(ValueError, match=r"rows\|rows: expected layer 1 to give a 2-D output with 3 rows like layer 0, got shape \[2, 2\]"):
        concatenate(Rows(3), Rows(2))(torch.randn(4, 2))
    class First(tl.Model):
        def __init__(self):
            super().__init__("first")

        def forward(self, X):
            return X[0]

    with pytest.raises(TypeError, match="layer 1 gave a Tensor, expected a list like layer 0"):
        concatenate(Scale(1.0), First())([torch.randn(2, 2)])
    with pytest.raises(ValueError, match="expected layer 1 to give 2 items like layer 0, got 1"):
        concatenate(Scale(1.0), Rows(1))([torch.randn(2, 2), torch.randn(1, 2)])


def test_the_class_always_builds_a_new_node():
    a, b, c = tl.Linear(2, 3), tl.Relu(1, 3), tl.Linear(4, 3)
    inner = concatenate(a, b)
    outer = concatenate(inner, c)
    assert type(outer) is concatenate and outer is not inner and list(outer.layers) == [inner, c]
    assert outer.name == "linear|relu|linear" and list(inner.layers) == [a, b]
    one = concatenate(a)
    assert type(one) is concatenate and one.name == "linear" and list(one.layers) == [a]
    X = torch.randn(5, 3)
    assert torch.equal(one(X), a(X))
    with pytest.raises(ValueError, match="concatenate: expected at least one layer, got none.*torchlayers.concatenate()"):
        concatenate()


def test_deepcopy_and_pickle_keep_the_class():
    import copy
    import pickle

    m = concatenate(tl.Linear(2, 3), tl.Linear(1, 3))
    X = torch.randn(4, 3)
    for twin in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert type(twin) is concatenate and twin.name == m.name and len(twin.layers) == 2
        assert torch.equal(twin(X), m(X))


def test_copy_keeps_the_class():
    m = concatenate(tl.Linear(2, 3), tl.Linear(1, 3))
    c = m.copy()
    assert isinstance(c, concatenate) and c.name == m.name and len(c.layers) == 2
    X = torch.randn(4, 3)
    assert torch.equal(c(X), m(X))
