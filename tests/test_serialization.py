"""to_bytes/from_bytes/to_disk/from_disk: safetensors + JSON header, no pickle, clear mismatch errors."""
from __future__ import annotations

import io
import pickle

import pytest
import torch

from torchlayers import Dropout, LayerNorm, Linear, Relu, Softmax, chain
from torchlayers.serialize import read_header


def _mlp(nI=4):
    return chain(Relu(8, nI, normalize=True, dropout=0.1), Softmax(3))


def test_round_trip_bitwise_into_uninitialized_model(tmp_path):
    model = _mlp().initialize(X=torch.randn(2, 4), Y=torch.randn(2, 3))
    data = model.to_bytes()
    fresh = chain(Relu(8, normalize=True, dropout=0.1), Softmax())
    fresh.from_bytes(data)
    for (k, a), (k2, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    X = torch.randn(5, 4)
    assert torch.equal(model.predict(X), fresh.predict(X))
    assert fresh.to_bytes() == data
    path = tmp_path / "model.safetensors"
    model.to_disk(path)
    again = _mlp().from_disk(path)
    assert torch.equal(again.predict(X), model.predict(X))


def test_header_records_tree_dims_and_attrs():
    model = _mlp().initialize(X=torch.randn(2, 4))
    meta = read_header(model.to_bytes())
    assert [n["name"] for n in meta["nodes"]] == [n.name for n in model.walk()]
    dropout = next(n for n in meta["nodes"] if n["name"] == "dropout")
    assert dropout["attrs"] == {"dropout_rate": 0.1, "is_enabled": True}
    model.layers[0].layers[1].attrs["dropout_rate"] = 0.4
    loaded = _mlp().from_bytes(model.to_bytes())
    assert loaded.layers[0].layers[1].attrs["dropout_rate"] == 0.4


def test_tied_weights_round_trip():
    shared = Linear(3, 3)
    model = chain(shared, Relu(3, 3), shared)
    data = model.to_bytes()
    fresh_shared = Linear(3, 3)
    fresh = chain(fresh_shared, Relu(3, 3), fresh_shared).from_bytes(data)
    assert fresh.layers[0] is fresh.layers[2]
    assert torch.equal(fresh_shared.get_param("W"), shared.get_param("W"))
    X = torch.randn(2, 3)
    assert torch.equal(model.predict(X), fresh.predict(X))


def test_mismatched_tree_is_named():
    data = _mlp().initialize(X=torch.randn(2, 4)).to_bytes()
    with pytest.raises(ValueError, match="expected a file with 3 nodes .* got 7 nodes"):
        chain(Linear(3, 2), Linear(2, 3)).from_bytes(data)
    other = chain(Relu(8, normalize=True, dropout=0.1), Linear(3))
    with pytest.raises(ValueError, match="node 0 expected name 'relu>>layernorm>>dropout>>linear', got 'relu>>layernorm>>dropout>>softmax'"):
        other.from_bytes(data)


def test_mismatched_dims_and_shapes_are_named():
    data = Linear(3, 2).to_bytes()
    with pytest.raises(ValueError, match="attempt to change dimension 'nO': expected 5 .already set., got 3"):
        Linear(5, 2).from_bytes(data)
    # A hand-edited file whose tensor shape disagrees with its own header.
    from safetensors.torch import save

    from torchlayers.serialize import read_header as rh

    meta = rh(data)
    import json

    bad = save({"weight": torch.zeros(3, 7), "bias": torch.zeros(3)}, metadata={"torchlayers": json.dumps(meta)})
    with pytest.raises(ValueError, match=r"cannot load parameter 'weight': expected shape \(3, 2\) torch.float32, got \(3, 7\)"):
        Linear().from_bytes(bad)
    missing = save({"weight": torch.zeros(3, 2)}, metadata={"torchlayers": json.dumps(meta)})
    with pytest.raises(ValueError, match=r"missing in file \['bias'\]"):
        Linear().from_bytes(missing)
    extra = save({"weight": torch.zeros(3, 2), "bias": torch.zeros(3), "scale": torch.zeros(1)},
                 metadata={"torchlayers": json.dumps(meta)})
    with pytest.raises(ValueError, match=r"unexpected in file \['scale'\]"):
        Linear().from_bytes(extra)
    wrong_dtype = save({"weight": torch.zeros(3, 2, dtype=torch.float64), "bias": torch.zeros(3)},
                       metadata={"torchlayers": json.dumps(meta)})
    with pytest.raises(ValueError, match="expected shape .* torch.float32, got .* torch.float64"):
        Linear().from_bytes(wrong_dtype)


class _Boom:
    def __reduce__(self):
        return (print, ("pickle executed",))


def test_hostile_files_are_rejected(capsys):
    payload = pickle.dumps({"weight": _Boom()})
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2, 2)}, buffer)
    for blob in (payload, buffer.getvalue(), b"", b"\x00" * 4, b"\xff" * 64):
        with pytest.raises(ValueError, match="not a torchlayers model file"):
            Linear(2, 2).from_bytes(blob)
    assert "pickle executed" not in capsys.readouterr().out


def test_state_dict_uses_torch_names():
    model = chain(Linear(3, 2), LayerNorm(3), Dropout(0.1))
    assert list(model.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
