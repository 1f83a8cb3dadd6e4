"""to_bytes/from_bytes/to_disk/from_disk: safetensors + JSON header, no pickle, clear mismatch errors."""
from __future__ import annotations

import io
import json
import pathlib
import pickle
import resource
import struct

import pytest
import torch
from safetensors.torch import load as st_load

from torchlayers import Dropout, Embed, HashEmbed, LayerNorm, Linear, Relu, Softmax, chain
from torchlayers.errors import ModelFileError
from torchlayers.serialize import pack_file, read_header, write_file


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
    assert torch.equal(torch.as_tensor(fresh_shared.get_param("W")), torch.as_tensor(shared.get_param("W")))
    X = torch.randn(2, 3)
    assert torch.equal(model.predict(X), fresh.predict(X))


def test_mismatched_tree_is_named():
    data = _mlp().initialize(X=torch.randn(2, 4)).to_bytes()
    with pytest.raises(ModelFileError, match="expected a file with 3 nodes .* got 7 nodes"):
        chain(Linear(3, 2), Linear(2, 3)).from_bytes(data)
    other = chain(Relu(8, normalize=True, dropout=0.1), Linear(3))
    with pytest.raises(ModelFileError, match="node 0 expected name 'relu>>layernorm>>dropout>>linear', got 'relu>>layernorm>>dropout>>softmax'"):
        other.from_bytes(data)


def _forge(data, edit_meta=lambda m: None, edit_entries=lambda e: None, tensors=None):
    """A hand-edited file with a valid checksum: what a tool (or an attacker) can write."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = json.loads(header.pop("__metadata__")["torchlayers"])
    edit_meta(meta)
    if tensors is not None:
        return write_file(tensors, meta)
    edit_entries(header)
    return pack_file(meta, header, data[8 + n :])


def test_mismatched_dims_and_shapes_are_named():
    data = Linear(3, 2).to_bytes()
    with pytest.raises(ModelFileError, match="attempt to change dimension 'nO': expected 5 .already set., got 3"):
        Linear(5, 2).from_bytes(data)
    bad = _forge(data, tensors={"weight": torch.zeros(3, 7), "bias": torch.zeros(3)})
    with pytest.raises(ModelFileError, match=r"tensor 'weight': cannot load parameter 'weight': expected shape \(3, 2\) "
                       r"torch.float32 \(from the header's dims of linear\), got \(3, 7\)"):
        Linear().from_bytes(bad)
    with pytest.raises(ModelFileError, match=r"missing in file \['bias'\]"):
        Linear().from_bytes(_forge(data, tensors={"weight": torch.zeros(3, 2)}))
    extra = _forge(data, tensors={"weight": torch.zeros(3, 2), "bias": torch.zeros(3), "scale": torch.zeros(1)})
    with pytest.raises(ModelFileError, match=r"unexpected in file \['scale'\]"):
        Linear().from_bytes(extra)
    wrong_dtype = _forge(data, tensors={"weight": torch.zeros(3, 2, dtype=torch.float64), "bias": torch.zeros(3)})
    with pytest.raises(ModelFileError, match="expected shape .* torch.float32.*, got .* torch.float64"):
        Linear().from_bytes(wrong_dtype)


class _Boom:
    def __reduce__(self):
        return (print, ("pickle executed",))


def test_hostile_files_are_rejected(capsys):
    payload = pickle.dumps({"weight": _Boom()})
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2, 2)}, buffer)
    for blob in (payload, buffer.getvalue(), b"", b"\x00" * 4, b"\xff" * 64):
        with pytest.raises(ModelFileError, match="not a torchlayers model file"):
            Linear(2, 2).from_bytes(blob)
    assert "pickle executed" not in capsys.readouterr().out


def _snapshot(model):
    return [(dict(n._dims), {k: repr(v) for k, v in vars(n).items() if not k.startswith("_modules")}) for n in model.walk()], \
        [(k, t.clone()) for k, t in model.state_dict().items()], [id(p) for p in model.parameters()]


def _same(a, b):
    return a[0] == b[0] and a[2] == b[2] and all(k1 == k2 and torch.equal(t1, t2) for (k1, t1), (k2, t2) in zip(a[1], b[1]))


@pytest.mark.parametrize("key,value,words", [
    ("check_ids", False, "no declared attr 'check_ids'"),
    ("_dims", {"nV": -7}, r"no declared attr '_dims' \(private names are never loaded\)"),
    ("__dict__", {}, "no declared attr '__dict__'"),
    ("dropout_rate", "abc", "expected a float .*got str 'abc'"),
])
def test_header_attrs_are_declared_and_typed(key, value, words):
    """The issue's cases: a header cannot switch off Embed's id check, rewrite _dims or
    __dict__, or load a string dropout rate; the model stays as it was."""
    source = Embed(3, 10, dropout=0.1)
    data = _forge(source.to_bytes(), lambda m: m["nodes"][0]["attrs"].update({key: value}))
    target = Embed(3, 10, dropout=0.2)
    before = _snapshot(target)
    with pytest.raises(ModelFileError, match=r"header.nodes\[0\].attrs\[" + repr(key) + r"\]: .*" + words):
        target.from_bytes(data)
    assert _same(before, _snapshot(target)) and target.check_ids is True


def test_linear_bytes_do_not_load_into_a_relu_of_the_same_name():
    data = Linear(3, 4, name="relu").to_bytes()
    target = Relu()
    with pytest.raises(ModelFileError, match=r"header.nodes\[0\].class: node 0 \('relu'\) expected class Relu, got Linear"):
        target.from_bytes(data)
    assert target.maybe_get_dim("nO") is None and not target.has_param("W")


def test_huge_dims_claim_is_rejected_before_allocating():
    """A small file claiming nO = nI = 16384 (1 GiB of weights) is rejected from its tensor
    shapes; nothing near that size is allocated and the model keeps its unset dims."""
    data = _forge(Linear(2, 2).to_bytes(), lambda m: m["nodes"][0]["dims"].update(nO=16384, nI=16384))
    assert len(data) < 500
    target = Linear()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ModelFileError, match=r"expected shape \(16384, 16384\).*got \(2, 2\)"):
        target.from_bytes(data)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200_000  # KiB
    assert target.maybe_get_dim("nO") is None and not target.has_param("W")


def test_every_single_bit_flip_is_detected():
    """Any one flipped bit (length prefix, header or tensor bytes) raises ModelFileError."""
    data = Linear(2, 2).to_bytes()
    target = Linear(2, 2)
    before = _snapshot(target)
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 1 << (pos % 8)
        with pytest.raises(ModelFileError, match="cannot load model file: (length prefix|header|tensor)"):
            target.from_bytes(bytes(bad))
    assert _same(before, _snapshot(target))
    body = bytearray(data)
    body[-3] ^= 0x10
    with pytest.raises(ModelFileError, match="header.checksum: checksum mismatch.*corrupted"):
        target.from_bytes(bytes(body))


def test_a_failure_while_loading_rolls_everything_back():
    """A seed out of range in HashEmbed's _extra_state fails inside load_state_dict, after the
    weights were copied: the model is restored bitwise (weights, seed, dims, param objects)."""
    source = HashEmbed(3, 10, seed=7)
    data = source.to_bytes()
    bad = _forge(data, tensors={"weight": torch.as_tensor(source.get_param("E")).clone(), "_extra_state": torch.tensor([2**40])})
    target = HashEmbed(3, 10, seed=1)
    before = _snapshot(target)
    with pytest.raises(ModelFileError, match="hashembed: cannot load model file: tensors: loading failed and was rolled back"):
        target.from_bytes(bad)
    assert _same(before, _snapshot(target)) and target.seed == 1


def test_a_failed_load_into_an_uninitialized_model_allocates_nothing():
    source = chain(Relu(8, 4, normalize=True, dropout=0.1), Softmax(3)).initialize(X=torch.randn(2, 4))
    data = _forge(source.to_bytes(), lambda m: next(n for n in m["nodes"] if n["name"] == "dropout")["attrs"].update(
        dropout_rate="abc"))
    fresh = chain(Relu(8, normalize=True, dropout=0.1), Softmax())
    before = _snapshot(fresh)
    with pytest.raises(ModelFileError, match=r"attrs\['dropout_rate'\]"):
        fresh.from_bytes(data)
    assert _same(before, _snapshot(fresh))
    assert [n.maybe_get_dim("nI") for n in fresh.walk() if n.name == "relu"] == [None]


@pytest.mark.parametrize("path", ["model.bin", pathlib.Path("model.bin")])
def test_a_path_given_to_from_bytes_points_to_from_disk(path):
    with pytest.raises(TypeError, match=r"linear: from_bytes expects the model file's bytes, got a path 'model.bin'; "
                       r"use from_disk\('model.bin'\)"):
        Linear().from_bytes(path)


def test_files_are_standard_safetensors():
    """Other tools read the tensors: the layout is safetensors (8-byte length, JSON, bytes)."""
    model = chain(Linear(3, 2), LayerNorm(3))
    tensors = st_load(model.to_bytes())
    assert sorted(tensors) == sorted(model.state_dict())
    for key, value in model.state_dict().items():
        assert torch.equal(tensors[key], value)


def test_state_dict_uses_torch_names():
    model = chain(Linear(3, 2), LayerNorm(3), Dropout(0.1))
    assert list(model.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]


def test_a_valid_file_whose_length_prefix_looks_like_a_pickle_loads():
    """A header length of 0x0280 starts the file with 80 02, a pickle's protocol-2 opcode:
    only a prefix that does not lead to a JSON header is called a pickle."""
    model = Linear(3, 2)
    data = model.to_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = json.loads(header.pop("__metadata__")["torchlayers"])
    for pad in range(0, 640):
        forged = pack_file(dict(meta, note="x" * pad), header, data[8 + n :])
        if forged[:2] == b"\x80\x02":
            break
    assert forged[:2] == b"\x80\x02"
    assert read_header(forged)["note"] == "x" * pad
    fresh = Linear().from_bytes(forged)
    assert torch.equal(torch.as_tensor(fresh.get_param("W")), torch.as_tensor(model.get_param("W")))


# ------------------------------------------------ Thinc's coded attrs, custom shims and refs
class _Tag:
    """An attr type with its own serializer pair (Thinc's serialize_attr/deserialize_attr API)."""

    def __init__(self, text):
        self.text = text


def _identity(model, X, is_train):
    return X, lambda dY: dY


class _BytesShim:
    """A shim as Thinc's custom layers hold one: to_bytes/from_bytes only."""

    def __init__(self, data=b""):
        self.data = data

    def to_bytes(self):
        return self.data

    def from_bytes(self, data):
        if data == b"refuse":
            raise ValueError("shim refuses these bytes")
        self.data = data
        return self


def test_non_json_attrs_go_through_serialize_attr_and_back():
    from torchlayers.model import Model
    from torchlayers.thinc_dict import deserialize_attr, serialize_attr

    serialize_attr.register(_Tag)(lambda _, value, name, model: value.text.encode())
    deserialize_attr.register(_Tag)(lambda current, data, name, model: _Tag(data.decode() + " loaded"))
    model = Model("tagged", _identity, attrs={"tag": _Tag("abc"), "plain": 3, "fn": print})
    data = model.to_bytes()
    node = read_header(data)["nodes"][0]
    assert node["attrs"] == {"plain": 3} and list(node["coded_attrs"]) == ["tag"]  # fn: no serializer, skipped
    assert st_load(data)[node["coded_attrs"]["tag"]].numpy().tobytes() == b"abc"
    fresh = Model("tagged", _identity, attrs={"tag": _Tag(""), "plain": 0, "fn": len})
    fresh.from_bytes(data)
    assert fresh.attrs["tag"].text == "abc loaded" and fresh.attrs["plain"] == 3 and fresh.attrs["fn"] is len
    mapping = Model("mapped", _identity, attrs={"table": {1: 2}})  # int keys: msgpack, not JSON
    loaded = Model("mapped", _identity, attrs={"table": {}}).from_bytes(mapping.to_bytes())
    assert loaded.attrs["table"] == {1: 2} and loaded.to_bytes() == mapping.to_bytes()
    with pytest.raises(ModelFileError, match=r"coded_attrs\['table'\]: mapped: expected a set .*got dict"):
        Model("mapped", _identity, attrs={"table": {3}}).from_bytes(mapping.to_bytes())
    twice = _forge(mapping.to_bytes(), lambda m: m["nodes"][0]["attrs"].update(table={}))
    with pytest.raises(ModelFileError, match=r"coded_attrs\['table'\]: expected each attr stored once"):
        Model("mapped", _identity, attrs={"table": {}}).from_bytes(twice)


def test_custom_layer_shims_round_trip_bitwise_and_roll_back():
    from torchlayers.model import Model

    model = chain(Linear(2, 3), Model("shimmed", _identity, shims=[_BytesShim(b"\x00abc"), _BytesShim()]))
    model.initialize()
    data = model.to_bytes()
    fresh = chain(Linear(2, 3), Model("shimmed", _identity, shims=[_BytesShim(), _BytesShim(b"x")]))
    fresh.from_bytes(data)
    assert [s.data for s in fresh.layers[1].shims] == [b"\x00abc", b""]
    assert fresh.to_bytes() == data
    with pytest.raises(ModelFileError, match=r"header.nodes\[2\].shims: node 2 \('shimmed'\) has 1 shims, the file 2"):
        chain(Linear(2, 3), Model("shimmed", _identity, shims=[_BytesShim()])).from_bytes(data)
    bad = chain(Linear(2, 3), Model("shimmed", _identity, shims=[_BytesShim(b"keep"), _BytesShim(b"refuse")]))
    target = chain(Linear(2, 3), Model("shimmed", _identity, shims=[_BytesShim(b"old0"), _BytesShim(b"old1")]))
    target.initialize()
    with pytest.raises(ModelFileError, match="rolled back"):
        target.from_bytes(bad.initialize().to_bytes())
    assert [s.data for s in target.layers[1].shims] == [b"old0", b"old1"]


def test_refs_are_saved_as_node_indices():
    from torchlayers.model import Model

    inner = Model("inner", _identity)
    with pytest.raises(ValueError, match=r"cannot serialize refs \['a'\]"):
        Model("outer", _identity, refs={"a": inner, "b": None}).to_bytes()
    data = Model("outer", _identity, refs={"a": inner, "b": None}, layers=[inner]).to_bytes()
    assert read_header(data)["nodes"][0]["refs"] == {"a": 1, "b": None}
    other = Model("inner", _identity)
    fresh = Model("outer", _identity, layers=[other])
    fresh.from_bytes(data)
    assert fresh.ref_names == ("a", "b") and fresh.get_ref("a") is other and fresh.has_ref("b") is None
    assert fresh.to_bytes() == data
    forged = _forge(data, lambda m: m["nodes"][0]["refs"].update(a=7))
    with pytest.raises(ModelFileError, match=r"header.nodes\[0\].refs\['a'\]: expected a node index in \[0, 2\)"):
        Model("outer", _identity, layers=[Model("inner", _identity)]).from_bytes(forged)


def test_forged_blob_fields_are_rejected():
    from torchlayers.model import Model

    data = Model("shimmed", _identity, shims=[_BytesShim(b"abc")]).to_bytes()
    name = read_header(data)["nodes"][0]["shims"][0]
    cases = [
        (lambda m: m["nodes"][0].update(shims=["@blob/missing"]), "tensor '@blob/missing': named by the header"),
        (lambda m: m["nodes"][0].update(shims=["weight"]), r"shims\[0\]: expected the name of a @blob/"),
        (lambda m: m["nodes"][0].update(shims=[name, name]), "named twice"),
        (lambda m: m["nodes"][0].update(coded_attrs=[]), r"coded_attrs: expected a dict, got list"),
        (lambda m: m["nodes"][0].update(shims=[]), r"shims: node 0 \('shimmed'\) has 2 shims, the file 0"),
    ]
    for edit, words in cases:
        with pytest.raises(ModelFileError, match=words):
            Model("shimmed", _identity, shims=[_BytesShim(), _BytesShim()]).from_bytes(_forge(data, edit))
