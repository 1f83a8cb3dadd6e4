"""map_list: one layer over every list item, initialization on the first items, bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.map_list import map_list


def test_maps_every_item_and_keeps_empty_lists():
    layer = tl.Linear(3, 2)
    model = map_list(layer)
    Xs = [torch.randn(2, 2), torch.randn(0, 2), torch.randn(4, 2)]
    Ys = model(Xs)
    assert [tuple(Y.shape) for Y in Ys] == [(2, 3), (0, 3), (4, 3)]
    assert all(torch.equal(Y, layer(X)) for X, Y in zip(Xs, Ys))
    assert model([]) == []
    assert model.name == ta.map_list(ta.Linear()).name == "map_list"


def test_initialize_uses_the_first_items():
    model = map_list(tl.Linear())
    model.initialize(X=[torch.randn(2, 6), torch.randn(1, 6)], Y=[torch.randn(2, 4), torch.randn(1, 4)])
    assert (model.layers[0].get_dim("nO"), model.layers[0].get_dim("nI")) == (4, 6)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="map_list: expected a list of inputs, got Tensor; wrap one input as"):
        map_list(tl.Linear(2, 2))(torch.randn(2, 2))
    with pytest.raises(TypeError, match="map_list: expected a torchlayers Model to wrap"):
        map_list(torch.nn.Linear(2, 2))
