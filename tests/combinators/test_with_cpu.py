"""with_cpu: the layer stays on the CPU while outputs go to the ops' device (the meta device stands
in for an accelerator here), .to() moves the outputs only, dtype casts reach the layer, ops kinds."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.with_cpu import ops_device, with_cpu
from torchlayers.ops import TorchOps
from torchlayers.registry import registry


def test_outputs_go_to_the_ops_device_and_the_layer_stays_on_cpu():
    model = with_cpu(tl.Linear(3, 2), "meta")
    X = torch.randn(4, 2)
    Y = model(X)
    assert Y.device.type == "meta" and Y.shape == (4, 3)
    assert model.layers[0].weight.device.type == "cpu" and model.ops.device.type == "meta"
    assert model.device.type == "meta"
    ragged = with_cpu(tl.reduce_sum(), "meta")(tl.Ragged(torch.randn(3, 2), torch.tensor([1, 2])))
    assert ragged.device.type == "meta" and ragged.shape == (2, 2)


def test_to_moves_outputs_only_and_dtype_casts_reach_the_layer():
    model = with_cpu(tl.Linear(3, 2), ta.NumpyOps())
    model.to("meta")
    assert model.output_device == "meta" and model.layers[0].weight.device.type == "cpu"
    model.double()
    assert model.layers[0].weight.dtype == torch.float64 and model.output_device == "meta"
    model.to("cpu")
    assert model(torch.randn(1, 2, dtype=torch.float64)).device.type == "cpu"


def test_gradients_flow_through_the_copies():
    layer = tl.Linear(3, 2)
    model = with_cpu(layer, TorchOps("cpu"))
    X = torch.randn(4, 2, requires_grad=True)
    model(X).sum().backward()
    assert X.grad is not None and layer.weight.grad is not None


def test_name_dims_and_registry_match_thinc():
    ours, theirs = with_cpu(tl.Linear(3, 2), ta.NumpyOps()), ta.with_cpu(ta.Linear(3, 2), ta.NumpyOps())
    assert ours.name == theirs.name == "with_cpu(linear)"
    assert {d: ours.get_dim(d) for d in ours.dim_names} == {d: theirs.get_dim(d) for d in theirs.dim_names}
    assert registry.layers.get("with_cpu.v1") is with_cpu


@pytest.mark.parametrize("ops, device", [(ta.NumpyOps(), "cpu"), (TorchOps("meta"), "meta"), ("cpu", "cpu"),
                                         (torch.device("meta"), "meta")])
def test_ops_kinds(ops, device):
    assert ops_device(ops).type == device


def test_bad_ops_are_named():
    with pytest.raises(TypeError, match="with_cpu: ops must be a TorchOps, a Thinc Ops.*got int"):
        with_cpu(tl.Linear(2, 2), 3)
