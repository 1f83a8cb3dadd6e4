"""residual: Thinc's name/dims/init, list/Ragged/Padded vs thinc, no in-place update, bad inputs."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch
from thinc.types import Padded as ThincPadded
from thinc.types import Ragged as ThincRagged

import torchlayers as tl
from torchlayers.combinators.residual import residual
from torchlayers.convert import to_numpy
from torchlayers.functional.sequences import list2padded
from torchlayers.modules.expand_window import expand_window

from .test_concatenate import Scale


def thinc_scale_any(k: float):
    """thinc counterpart of Scale for lists, Ragged and Padded."""

    def forward(model, X, is_train):
        if isinstance(X, list):
            return [k * x for x in X], lambda dY: [k * d for d in dY]
        if isinstance(X, ThincRagged):
            return ThincRagged(k * X.data, X.lengths), lambda dY: ThincRagged(k * dY.data, dY.lengths)
        return ThincPadded(k * X.data, X.size_at_t, X.lengths, X.indices), \
            lambda dY: ThincPadded(k * dY.data, dY.size_at_t, dY.lengths, dY.indices)

    return ta.Model(f"scale{k}", forward)


class ScaleAny(Scale):
    def forward(self, X):
        if isinstance(X, tl.Ragged):
            return tl.Ragged(self.k * X.data, X.lengths)
        return super().forward(X)


def test_name_dims_and_init():
    m = residual(tl.Linear(4, 4))
    assert m.name == ta.residual(ta.Linear(4, 4)).name == "residual(linear)"
    assert m.dim_names == ("nO", "nI") and (m.get_dim("nO"), m.get_dim("nI")) == (4, 4)
    m = residual(tl.Linear()).initialize(X=torch.randn(2, 3), Y=torch.randn(2, 3))
    assert (m.get_dim("nO"), m.get_dim("nI")) == (3, 3)
    # Y is not passed to a layer whose nO is set (so no conflict is raised), as in Thinc
    residual(tl.Linear(3)).initialize(X=torch.randn(2, 3), Y=torch.randn(2, 5))
    with pytest.raises(ValueError, match="nI"):
        residual(tl.Linear(3, 3)).initialize(X=torch.randn(2, 4))


@pytest.mark.parametrize("lengths", [[2, 0, 3], [0], []])
def test_list_ragged_padded_match_thinc(lengths):
    seqs = [torch.randn(n, 3) for n in lengths]
    inputs = [seqs, tl.Ragged(torch.cat(seqs) if seqs else torch.zeros(0, 3), torch.tensor(lengths, dtype=torch.int32))]
    if lengths and max(lengths):
        inputs.append(list2padded(seqs))
    for X in inputs:
        Y, backprop = residual(ScaleAny(2.0))(X, is_train=True)
        Yt, backprop_t = ta.residual(thinc_scale_any(2.0))(to_numpy(X), is_train=True)
        ours = Y if isinstance(Y, list) else [Y.data]
        theirs = Yt if isinstance(Yt, list) else [Yt.data]
        assert type(Y).__name__ == type(Yt).__name__ and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, torch.from_numpy(b).reshape(a.shape))
        dY = [torch.randn_like(y) for y in ours]
        if isinstance(Y, list):
            dX, dXt = backprop(dY), backprop_t(to_numpy(dY))
        elif isinstance(Y, tl.Ragged):
            dX, dXt = backprop(tl.Ragged(dY[0], Y.lengths)), backprop_t(ThincRagged(dY[0].numpy(), Yt.lengths))
        else:
            dX = backprop(tl.Padded(dY[0], Y.size_at_t, Y.lengths, Y.indices))
            dXt = backprop_t(ThincPadded(dY[0].numpy(), Yt.size_at_t, Yt.lengths, Yt.indices))
        ours = dX if isinstance(dX, list) else [dX.data]
        theirs = dXt if isinstance(dXt, list) else [dXt.data]
        for a, b, d in zip(ours, theirs, dY):
            torch.testing.assert_close(a, torch.from_numpy(b).reshape(a.shape))
            torch.testing.assert_close(a, 3 * d)


def test_padded_input_is_not_updated_in_place():
    X = list2padded([torch.randn(2, 3), torch.randn(1, 3)])
    before = X.data.clone()
    Y = residual(tl.noop())(X)
    assert torch.equal(X.data, before) and torch.equal(Y.data, 2 * before)
    Xt = to_numpy(X)
    ta.residual(ta.noop())(Xt, is_train=False)
    numpy.testing.assert_array_equal(Xt.data, 2 * before.numpy())  # thinc: Y.data += X.data with Y is X


def test_bad_inputs():
    with pytest.raises(TypeError, match="residual: layer 0 must be a torchlayers Model"):
        residual(None)
    with pytest.raises(ValueError, match=r"residual\(linear\): the layer must keep the input's shape: expected an output of shape \[2, 3\], got \[2, 5\]"):
        residual(tl.Linear(5, 3))(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"residual\(expand_window\): expected the layer's output\.data of shape \[3, 2\] like the input\.data, got \[3, 6\]"):
        residual(expand_window(1))(tl.Ragged(torch.randn(3, 2), torch.tensor([3])))
    with pytest.raises(ValueError, match=r"residual\(drop\): expected the layer's output to be a list of 2 items like the input, got 1"):
        residual(_Drop())([torch.randn(1, 2), torch.randn(1, 2)])


class _Drop(tl.Model):
    def __init__(self):
        super().__init__("drop")

    def forward(self, X):
        return X[:1]
