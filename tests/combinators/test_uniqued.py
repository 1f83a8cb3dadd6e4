"""uniqued: the layer sees unique rows only; output == plain layer; Thinc's averaged dX;
the custom ops behind it (compile/export see data-dependent sizes)."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.uniqued import uniqued, uniqued_gather, uniqued_keys


class CountRows(tl.Model):
    """Test helper: identity on a (N, C) float input that records N."""

    def __init__(self):
        super().__init__("count_rows")
        self.seen = []

    def forward(self, X):
        self.seen.append(X.shape[0])
        return X * 2.0


def test_name_dims_attrs():
    m = uniqued(tl.Linear(3, 4), column=1)
    theirs = ta.uniqued(ta.Linear(3, 4), column=1)
    assert m.name == theirs.name == "uniqued(linear)" and m.dim_names == theirs.dim_names == ("nO", "nI")
    assert dict(m.attrs) == dict(theirs.attrs) == {"column": 1}
    m.initialize(X=torch.randn(5, 4))
    assert (m.get_dim("nO"), m.get_dim("nI")) == (3, 4)


@pytest.mark.parametrize("column", [0, 1, -1])
def test_layer_runs_on_unique_rows_only(column):
    keys = torch.tensor([5, 3, 5, 5, 9, 3])
    X = torch.stack([keys, keys * 10, keys * 100], dim=1).float()
    child = CountRows()
    Y = uniqued(child, column=column)(X)
    assert child.seen == [3] and torch.equal(Y, 2 * X)


def test_output_equals_plain_layer_and_dX_is_thinc_average():
    pool = torch.randn(3, 4)
    X = pool[torch.tensor([0, 1, 0, 2, 0, 1])]
    ours = uniqued(tl.Linear(3, 4))
    plain = ours.layers[0]
    theirs = ta.uniqued(ta.Linear(3, 4)).initialize(X=X.numpy())
    for name in ("W", "b"):
        theirs.layers[0].set_param(name, torch.as_tensor(plain.get_param(name)).numpy().copy())
    Y, backprop = ours(X, is_train=True)
    torch.testing.assert_close(Y, plain(X), rtol=1e-4, atol=1e-5)
    dY = torch.randn_like(Y)
    dX = backprop(dY)
    Yt, backprop_t = theirs(X.numpy(), is_train=True)
    dXt = backprop_t(dY.numpy())
    torch.testing.assert_close(Y, torch.from_numpy(Yt), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(dX, torch.from_numpy(dXt).float(), rtol=1e-4, atol=1e-5)
    # rows 0, 2, 4 share a key: each gets the mean of their true gradients
    true = dY @ torch.as_tensor(plain.get_param("W"))
    torch.testing.assert_close(dX[0], true[[0, 2, 4]].mean(0))
    torch.testing.assert_close(dX[2], dX[0])
    # param grads are those of the plain layer (dY summed per key)
    torch.testing.assert_close(torch.as_tensor(plain.get_grad("W")), dY.t() @ X, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.as_tensor(plain.get_grad("b")), dY.sum(0), rtol=1e-4, atol=1e-5)


def test_integer_ids_and_tiny_inputs_pass_through():
    child = CountRows()
    m = uniqued(child)
    ids = torch.tensor([[7]])
    assert torch.equal(m(ids), 2 * ids) and child.seen == [1]  # numel < 2: straight to the layer
    ids = torch.tensor([[4, 1], [4, 1], [2, 0]])
    assert torch.equal(m(ids), 2 * ids) and child.seen == [1, 2]
    assert m(torch.zeros((0, 2), dtype=torch.int64)).shape == (0, 2)


def test_custom_ops():
    keys = torch.tensor([3, 1, 3, 2, 1, 3])
    first, inverse, counts = uniqued_keys(keys)
    assert first.tolist() == [1, 3, 0] and inverse.tolist() == [2, 0, 2, 1, 0, 2] and counts.tolist() == [2, 1, 3]
    _, np_first, np_inverse, np_counts = numpy.unique(keys.numpy(), return_index=True, return_inverse=True, return_counts=True)
    assert first.tolist() == np_first.tolist() and inverse.tolist() == np_inverse.tolist() and counts.tolist() == np_counts.tolist()
    X = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    out = uniqued_gather(X, first, inverse, counts)
    assert torch.equal(out, X.detach()[first])
    g = torch.randn_like(out)
    (dX,) = torch.autograd.grad(out, X, g)
    torch.testing.assert_close(dX, (g / counts[:, None])[inverse])
    torch.library.opcheck(uniqued_gather, (X, first, inverse, counts),
                          test_utils=("test_schema", "test_faketensor", "test_autograd_registration"))
    torch.library.opcheck(uniqued_keys, (keys,), test_utils=("test_schema", "test_autograd_registration"))


def test_compiled_and_exported_with_duplicates():
    m = uniqued(tl.Linear(3, 4)).eval()
    pool = torch.randn(3, 4)
    X = pool[torch.tensor([0, 1, 0, 2, 2, 1, 0])]
    ref = m(X)
    torch._dynamo.reset()
    compiled = torch.compile(m, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(X), ref)
    ep = torch.export.export(m, (X,), dynamic_shapes=({0: torch.export.Dim("B", min=2, max=4096)},))
    X2 = pool[torch.tensor([2, 2, 1])]
    torch.testing.assert_close(ep.module()(X2), m(X2))


def test_bad_inputs():
    m = uniqued(tl.Linear(3, 4), column=4)
    with pytest.raises(ValueError, match=r"uniqued\(linear\): attr column=4 is out of range for X of shape \[2, 4\]; expected -4 <= column < 4"):
        m(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"uniqued\(linear\): expected X of shape \(N, C\), got a 3-D tensor"):
        m(torch.randn(2, 4, 1))
    with pytest.raises(TypeError, match="uniqued: column must be an int, got '0'"):
        uniqued(tl.Linear(3, 4), column="0")
