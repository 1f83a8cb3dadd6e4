"""from_thinc / to_thinc / load_thinc_bytes: same outputs as thinc, params round trip exactly."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

from torchlayers.interop.thinc_convert import from_thinc, load_thinc_bytes, to_thinc


def _thinc_mlp():
    return ta.chain(ta.Relu(16, 8, normalize=True, dropout=0.0), ta.Maxout(12, nP=3), ta.Softmax(5))


def _params(model):
    return [(n.name, p, numpy.asarray(torch.as_tensor(n.get_param(p)))) for n in model.walk() for p in n.param_names if n.has_param(p)]


def test_from_thinc_mlp_matches_outputs_and_deploys():
    X = numpy.random.uniform(-1, 1, (6, 8)).astype("f")
    theirs = _thinc_mlp().initialize(X=X)
    ours = from_thinc(theirs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    numpy.testing.assert_allclose(numpy.asarray(ours.predict(X)), theirs.predict(X), atol=1e-5, rtol=1e-4)
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(X, is_train=True)
    dY = numpy.random.uniform(-1, 1, Yt.shape).astype("f")
    numpy.testing.assert_allclose(numpy.asarray(backprop(dY)), backprop_t(dY), atol=1e-5, rtol=1e-4)
    ours.eval()
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(torch.from_numpy(X)), ours(torch.from_numpy(X)), atol=1e-6, rtol=1e-6)
    exported = torch.export.export(ours, (torch.from_numpy(X),))
    torch.testing.assert_close(exported.module()(torch.from_numpy(X)), ours(torch.from_numpy(X)), atol=1e-6, rtol=1e-6)


def test_round_trip_thinc_torchlayers_thinc_reproduces_params_bitwise():
    X = numpy.random.uniform(-1, 1, (3, 8)).astype("f")
    theirs = _thinc_mlp().initialize(X=X)
    back = to_thinc(from_thinc(theirs))
    before, after = _params(theirs), _params(back)
    assert [(n, p) for n, p, _ in before] == [(n, p) for n, p, _ in after]
    for (_, _, a), (_, _, b) in zip(before, after):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    import srsly

    msg_a, msg_b = srsly.msgpack_loads(theirs.to_bytes()), srsly.msgpack_loads(back.to_bytes())
    assert len(msg_a["params"]) == len(msg_b["params"])
    for a, b in zip(msg_a["params"], msg_b["params"]):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key


def test_load_thinc_bytes_into_same_tree():
    X = numpy.random.uniform(-1, 1, (3, 8)).astype("f")
    theirs = _thinc_mlp().initialize(X=X)
    import torchlayers as tl
    from torchlayers.modules.maxout import Maxout

    ours = tl.chain(tl.Relu(16, normalize=True, dropout=0.0), Maxout(12, nP=3), tl.Softmax(5))
    load_thinc_bytes(ours, theirs.to_bytes())
    numpy.testing.assert_allclose(numpy.asarray(ours.predict(X)), theirs.predict(X), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="expected 3 nodes .* got 8"):
        load_thinc_bytes(tl.chain(tl.Linear(2, 2), tl.Linear(2, 2)), theirs.to_bytes())


def test_unsupported_thinc_layer_is_named():
    """Thinc's TensorFlowWrapper has no torchlayers node kind (it is unregistered in both)."""
    import importlib

    forward = importlib.import_module("thinc.layers.tensorflowwrapper").forward
    theirs = ta.chain(ta.Linear(2, 2), ta.Model("tensorflow", forward))
    with pytest.raises(ValueError, match=r"no torchlayers equivalent for thinc layer 'tensorflow': its forward "
                                         r"thinc.layers.tensorflowwrapper.forward is no registered Thinc layer's"):
        from_thinc(theirs)


def test_a_user_layer_named_like_ours_is_refused():
    """Matching is by the forward function's identity: a user's layer whose forward lives in a
    module named ``linear`` (and whose node is named ``linear``) is not Linear."""
    import types

    module = types.ModuleType("mylayers.linear")
    exec("def forward(model, X, is_train):\n    return X * 3.0, lambda dY: dY * 3.0\n", module.__dict__)
    theirs = ta.Model("linear", module.forward, dims={"nO": None, "nI": None})
    with pytest.raises(ValueError, match=r"thinc layer 'linear': its forward mylayers.linear.forward is no registered Thinc layer's"):
        from_thinc(theirs)


@pytest.mark.parametrize("make,name", [
    (lambda: ta.with_flatten(ta.Linear(2, 2)), "with_flatten.v1"),
    (lambda: ta.with_flatten_v2(ta.with_array(ta.Linear(2, 2))), "with_flatten.v2"),
    (lambda: ta.remap_ids({1: 0, 5: 1}, default=2), "remap_ids.v1"),
    (lambda: ta.remap_ids_v2({1: 0, 5: 1}, column=1), "remap_ids.v2"),
    (lambda: ta.strings2arrays(), "strings2arrays.v1"),
    (lambda: ta.bidirectional(ta.LSTM(3, 2)), "bidirectional.v1"),
], ids=["with_flatten", "with_flatten_v2", "remap_ids", "remap_ids_v2", "strings2arrays", "bidirectional"])
def test_layers_the_old_table_missed_convert(make, name):
    theirs = make()
    ours = from_thinc(theirs)
    assert type(ours).registry_name == name
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    plain = [{k: v for k, v in n.attrs.items() if not callable(v)} for n in theirs.walk()]
    assert [{k: v for k, v in n.attrs.items() if not callable(v)} for n in ours.walk()] == plain


def test_thinc_registered_names_resolve_to_the_facade():
    import torchlayers as tl
    from torchlayers.combinators.concatenate import concatenate as concatenate_class
    from torchlayers.modules.maxout import Maxout

    assert tl.registry.layers.get("Maxout.v1") is tl.Maxout and tl.registry.layers.get("chain.v1") is tl.chain
    assert tl.registry.layers.get("concatenate.v1") is tl.concatenate
    assert Maxout.registry_name == "Maxout.v1" and concatenate_class.registry_name == "concatenate.v1"
    built = tl.registry.resolve({"@layers": "Maxout.v1", "nO": 4, "nI": 3, "normalize": True, "dropout": 0.1})
    assert [n.name for n in built.walk()] == [n.name for n in ta.Maxout(4, 3, normalize=True, dropout=0.1).walk()]
    assert type(Maxout(4, 3)) is Maxout


def test_no_layer_class_defines_new():
    """A class call returns that class: no Model subclass in torchlayers overrides __new__."""
    import importlib
    import pkgutil

    import torchlayers
    from torchlayers import Model

    for info in pkgutil.walk_packages(torchlayers.__path__, "torchlayers."):
        if ".kernels" in info.name:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Model):
                assert "__new__" not in value.__dict__, f"{value.__module__}.{value.__qualname__} defines __new__"


# ------------------------------------------------------------------------------ load_thinc_bytes is strict
def _loaded_pair():
    import torchlayers as tl

    X = numpy.random.uniform(-1, 1, (3, 8)).astype("f")
    theirs = _thinc_mlp().initialize(X=X)
    ours = tl.chain(tl.Relu(16, normalize=True, dropout=0.0), tl.Maxout(12, nP=3), tl.Softmax(5))
    return theirs, ours


def _edit(data, fn):
    import srsly

    msg = srsly.msgpack_loads(data)
    fn(msg)
    return srsly.msgpack_dumps(msg)


def test_load_thinc_bytes_refuses_a_truncated_params_list():
    theirs, ours = _loaded_pair()
    data = _edit(theirs.to_bytes(), lambda msg: msg["params"].pop())
    with pytest.raises(ValueError, match=r"the file's 'params' list has 7 entries for 8 nodes"):
        load_thinc_bytes(ours, data)


def test_load_thinc_bytes_refuses_missing_params_and_names_the_node():
    theirs, ours = _loaded_pair()
    uninitialized = _thinc_mlp().to_bytes()  # thinc writes None for every param
    # walk() is breadth first: maxout (the root's second layer) is the first node with a param
    with pytest.raises(ValueError, match=r"^relu>>layernorm>>dropout>>maxout>>softmax\.layers\[1\] \(maxout\): "
                                         r"cannot load thinc bytes: no value for param 'W'"):
        load_thinc_bytes(ours, uninitialized)
    softmax = next(i for i, node in enumerate(srsly_nodes(theirs)) if node["name"] == "softmax")
    dropped = _edit(theirs.to_bytes(), lambda msg: msg["params"][softmax].pop("b"))
    with pytest.raises(ValueError, match=r"\.layers\[2\] \(softmax\): cannot load thinc bytes: no value for param 'b'"):
        load_thinc_bytes(ours, dropped)
    ours.layers[2].set_param("b", torch.full((5,), 7.0))
    load_thinc_bytes(ours, dropped, strict=False)  # loads what is there; b keeps its value
    assert torch.equal(torch.as_tensor(ours.layers[2].get_param("W")), torch.from_numpy(theirs.layers[2].get_param("W")))
    assert torch.equal(torch.as_tensor(ours.layers[2].get_param("b")), torch.full((5,), 7.0))


def srsly_nodes(model):
    import srsly

    return srsly.msgpack_loads(model.to_bytes())["nodes"]


def test_load_thinc_bytes_loads_pytorch_shim_weights():
    import copy

    from torch import nn

    import torchlayers as tl

    module = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
    theirs = ta.PyTorchWrapper(copy.deepcopy(module))
    ours = tl.PyTorchWrapper(module)
    with torch.no_grad():
        for p in theirs.shims[0]._model.parameters():
            p.add_(1.0)
    load_thinc_bytes(ours, theirs.to_bytes())
    for a, b in zip(ours.module.parameters(), theirs.shims[0]._model.parameters()):
        assert torch.equal(a, b)
    no_shim = _edit(theirs.to_bytes(), lambda msg: msg["shims"][0].clear())
    with pytest.raises(ValueError, match=r"pytorch: cannot load thinc bytes: the file has 0 shim\(s\) for this node, the layer has 1"):
        load_thinc_bytes(ours, no_shim)


# ------------------------------------------------------------------------------ the spaCy-style models
def _tagger_pair():
    from examples.ewt import featurize, load_split
    from examples.tagger import build_tagger, to_ragged, to_thinc_ragged

    sentences = load_split("dev")[:12]
    feats = featurize(sentences)
    X, _ = to_ragged(feats, [torch.zeros(len(f), dtype=torch.long) for f in feats])
    theirs = build_tagger(ta, width=16, rows=(50, 20, 30, 30), depth=2).initialize(X=to_thinc_ragged(X))
    return theirs, X, to_thinc_ragged(X), lambda Y: Y.data


def _bow_pair():
    gen = torch.Generator().manual_seed(3)
    lengths = torch.tensor([3, 0, 5, 2], dtype=torch.int32)
    keys = torch.randint(-(2**62), 2**62, (10,), generator=gen)
    values = torch.rand(10, generator=gen)
    X = (keys, values, lengths)
    thinc_X = (keys.numpy().view(numpy.uint64), values.numpy(), lengths.numpy())
    theirs = ta.SparseLinear(4, length=64)
    theirs.initialize(X=thinc_X, Y=numpy.zeros((4, 4), dtype="f"))
    theirs.set_param("W", numpy.random.uniform(-1, 1, theirs.get_param("W").shape).astype("f"))
    theirs.set_param("b", numpy.random.uniform(-1, 1, theirs.get_param("b").shape).astype("f"))
    return theirs, X, thinc_X, lambda Y: Y


def _cnn_textcat_pair():
    from examples.tagger import to_ragged, to_thinc_ragged
    from examples.textcat import build_cnn

    gen = torch.Generator().manual_seed(4)
    feats = [torch.randint(0, 2**62, (n, 4), generator=gen) for n in (4, 1, 6)]
    X, _ = to_ragged(feats, [torch.zeros(len(f), dtype=torch.long) for f in feats])
    theirs = build_cnn(ta, n_classes=5, width=8, depth=1)
    theirs.initialize(X=to_thinc_ragged(X), Y=numpy.zeros((3, 5), dtype="f"))
    return theirs, X, to_thinc_ragged(X), lambda Y: Y


def _lstm_pair():
    from torchlayers import Padded

    arrays = [numpy.random.uniform(-1, 1, (n, 5)).astype("f") for n in (4, 2, 3)]
    thinc_X = ta.get_current_ops().list2padded(arrays)
    X = Padded(*(torch.from_numpy(numpy.ascontiguousarray(a)) for a in (thinc_X.data, thinc_X.size_at_t, thinc_X.lengths, thinc_X.indices)))
    theirs = ta.LSTM(6, 5, bi=True, depth=2).initialize(X=thinc_X)
    return theirs, X, thinc_X, lambda Y: Y.data


SPACY_STYLE = {"tok2vec_tagger": _tagger_pair, "sparse_linear_bow": _bow_pair, "cnn_reduce_mean_textcat": _cnn_textcat_pair,
               "bilstm_padded": _lstm_pair}


@pytest.mark.parametrize("kind", sorted(SPACY_STYLE))
def test_from_thinc_spacy_style_models_match_round_trip_and_deploy(kind):
    theirs, X, thinc_X, data = SPACY_STYLE[kind]()
    ours = from_thinc(theirs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    expected = numpy.asarray(data(theirs.predict(thinc_X)))
    got = data(ours.predict(X))
    numpy.testing.assert_allclose(got.numpy(), expected, atol=1e-5, rtol=1e-4)
    back = to_thinc(ours)
    for (na, pa, a), (nb, pb, b) in zip(_params(theirs), _params(back)):
        assert (na, pa) == (nb, pb) and a.dtype == b.dtype and a.tobytes() == b.tobytes(), (na, pa)
    ours.eval()
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(data(compiled(X)), got, atol=1e-6, rtol=1e-6)
    exported = torch.export.export(ours, (X,))
    torch.testing.assert_close(data(exported.module()(X)), got, atol=1e-6, rtol=1e-6)


def test_a_class_hook_overrides_reading_arguments_by_name(monkeypatch):
    """A class whose constructor cannot be filled by argument name says how it maps itself."""
    import torchlayers as tl
    from torchlayers.modules.dropout import Dropout

    seen = []

    def from_thinc_node(cls, node, children):
        seen.append(("from", node.name))
        return cls(node.attrs["dropout_rate"])

    def thinc_arguments(self, thinc_fn, children):
        seen.append(("to", thinc_fn.__name__))
        return [self.attrs["dropout_rate"]], {}

    monkeypatch.setattr(Dropout, "from_thinc_node", classmethod(from_thinc_node), raising=False)
    monkeypatch.setattr(Dropout, "thinc_arguments", thinc_arguments, raising=False)
    ours = from_thinc(ta.chain(ta.Linear(2, 2), ta.Dropout(0.4)))
    assert isinstance(ours.layers[1], Dropout) and ours.layers[1].attrs["dropout_rate"] == 0.4
    back = to_thinc(tl.chain(tl.Linear(2, 2), Dropout(0.1)))
    assert back.layers[1].attrs["dropout_rate"] == 0.1
    assert seen == [("from", "dropout"), ("to", "Dropout")]


def test_every_registered_node_class_says_its_registry_key():
    """The registry sets ``registry_name`` when it registers a class (directly or as ``node=``):
    no class restates it, and none carries another's."""
    import torchlayers  # noqa: F401  (registers everything)
    from torchlayers.registry import registry

    nodes = registry.layers.node_classes()
    assert len(nodes) > 60
    for name, cls in nodes.items():
        assert cls.registry_name == name, (
            f"{cls.__module__}.{cls.__name__}.registry_name is {cls.registry_name!r}, registered as {name!r}")
        assert "registry_name" not in _class_body_names(cls), (
            f"{cls.__name__} restates registry_name; the registry sets it")


def _class_body_names(cls):
    """Names assigned in the class statement's body (not the ones set on the class later)."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    return {t.id for node in body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}


def test_thinc_unregistered_layers_convert_both_ways():
    """map_list and the getitem layers are no registry entries in Thinc: found by name in thinc.layers."""
    from thinc.layers.array_getitem import ints_getitem

    import torchlayers as tl

    theirs = ta.chain(ints_getitem((slice(0, None), 1)), ta.map_list(ta.Linear(2, 3)))
    ours = from_thinc(theirs)
    assert [type(n).__name__ for n in ours.walk()] == ["chain", "ints_getitem", "map_list", "Linear"]
    back = to_thinc(tl.map_list(tl.Linear(2, 3)))
    assert back._func is importlib_module("thinc.layers.map_list").forward and back.layers[0].name == "linear"


def importlib_module(name):
    import importlib

    return importlib.import_module(name)


def test_with_cpu_ops_become_the_output_device_and_back():
    from torchlayers.combinators.with_cpu import with_cpu

    ours = from_thinc(ta.with_cpu(ta.Linear(2, 2), ta.NumpyOps()))
    assert type(ours) is with_cpu and ours.device == torch.device("cpu") and ours.name == "with_cpu(linear)"
    back = to_thinc(ours)
    assert isinstance(back.ops, ta.NumpyOps) and back.name == "with_cpu(linear)"


def test_resizable_resize_function_converts_by_name_and_a_users_own_is_refused():
    from functools import partial

    from thinc.layers.resizable import resize_linear_weighted as thinc_resize

    from torchlayers.combinators.resizable import resizable, resize_linear_weighted

    ours = from_thinc(ta.resizable(ta.Linear(3, 2), partial(thinc_resize, fill_defaults={"b": -1.0})))
    assert type(ours) is resizable
    assert ours.resize_layer.func is resize_linear_weighted
    assert ours.resize_layer.keywords == {"fill_defaults": {"b": -1.0}}
    back = to_thinc(ours)
    assert back.attrs["resize_layer"].func is thinc_resize
    assert back.attrs["resize_layer"].keywords == {"fill_defaults": {"b": -1.0}}

    def my_resize(layer, new_nO):
        return layer

    refused = (r"from_thinc: 'resizable\(linear\)': resize_layer: .*my_resize.* is no function of "
               r"thinc.layers.resizable with a counterpart in torchlayers.combinators.resizable")
    with pytest.raises(ValueError, match=refused):
        from_thinc(ta.resizable(ta.Linear(3, 2), my_resize))


@pytest.mark.parametrize("make,settings", [
    (lambda tl: tl.ReluK(3, 2, k=2.0), {"slope": 1.0, "offset": 0.0, "min_val": 0.0, "max_val": 2.0}),
    (lambda tl: tl.HardSigmoid(3, 2), {"slope": 0.2, "offset": 0.5, "min_val": 0.0, "max_val": 1.0}),
    (lambda tl: tl.HardTanh(3, 2), {"slope": 1.0, "offset": 0.0, "min_val": -1.0, "max_val": 1.0}),
    (lambda tl: tl.ClippedLinear(3, 2, slope=0.5, offset=0.1, min_val=-0.5, max_val=1.5),
     {"slope": 0.5, "offset": 0.1, "min_val": -0.5, "max_val": 1.5}),
], ids=["ReluK", "HardSigmoid", "HardTanh", "ClippedLinear"])
def test_to_thinc_builds_thincs_clipped_linear_with_our_settings(make, settings, monkeypatch):
    """Thinc's own function gets the settings (ReluK's bound as k), not just attrs patched on afterwards."""
    import functools

    import torchlayers as tl
    from torchlayers.interop import thinc_convert

    built = []
    real = thinc_convert._thinc_function

    def recording(node, cls, kinds):
        fn = real(node, cls, kinds)

        @functools.wraps(fn)  # the same signature: to_thinc reads the arguments from it
        def call(*args, **kwargs):
            model = fn(*args, **kwargs)
            built.append(dict(model.attrs))
            return model

        return call

    monkeypatch.setattr(thinc_convert, "_thinc_function", recording)
    ours = make(tl)
    theirs = to_thinc(ours)
    assert built == [settings] and dict(theirs.attrs) == settings
    X = numpy.random.uniform(-4, 4, (5, 2)).astype("f")
    numpy.testing.assert_allclose(theirs.predict(X), numpy.asarray(ours.predict(X)), atol=1e-6, rtol=1e-6)


def test_thinc_nvtx_range_and_debug_wrappers_convert_to_ours_and_back():
    """Thinc's with_nvtx_range / with_debug return the layer with its forward swapped for a
    closure: from_thinc marks our converted layer the same way (name, colours, callbacks kept),
    to_thinc puts Thinc's wrappers back in the same order."""
    import importlib

    calls = []
    theirs = ta.with_nvtx_range(ta.with_debug(ta.Relu(3, 2), on_forward=lambda m, X, t: calls.append("fwd")),
                                "block", forward_color=3, backprop_color=5)
    ours = from_thinc(theirs)
    assert ours.name == "relu" and [p.options for p in ours._phase_intervals] == [
        {"forward_color": 3, "backprop_color": 5, "name": "block"}]
    ours.predict(numpy.zeros((1, 2), dtype="f"))
    assert calls == ["fwd"]
    back = to_thinc(ours)
    nvtx = importlib.import_module("thinc.layers.with_nvtx_range").with_nvtx_range
    debug = importlib.import_module("thinc.layers.with_debug").with_debug
    assert back._func.__code__ in nvtx.__code__.co_consts and back.name == "relu"
    cells = dict(zip(back._func.__code__.co_freevars, (c.cell_contents for c in back._func.__closure__)))
    assert (cells["name"], cells["forward_color"], cells["backprop_color"]) == ("block", 3, 5)
    assert cells["orig_forward"].__code__ in debug.__code__.co_consts
    back.predict(numpy.zeros((1, 2), dtype="f"))
    assert calls == ["fwd", "fwd"]


def test_thinc_signpost_interval_converts_with_its_signposter(monkeypatch):
    """Thinc's with_signpost_interval needs macOS's os_signpost: with it, the signposter comes
    along both ways; without it, to_thinc says so."""
    import importlib

    import torchlayers as tl
    from tests.cases.case_combinators_more import RecordingSignposter
    from torchlayers.combinators.with_signpost_interval import with_signpost_interval

    refused = r"to_thinc: 'linear': thinc's with_signpost_interval refuses it: .*os_signpost"
    with pytest.raises(ValueError, match=refused):
        to_thinc(with_signpost_interval(tl.Linear(2, 2), RecordingSignposter()))
    monkeypatch.setattr(importlib.import_module("thinc.layers.with_signpost_interval"), "has_os_signpost", True)
    signposter = RecordingSignposter()
    theirs = ta.with_signpost_interval(ta.Linear(2, 2), signposter, "lin")
    ours = from_thinc(theirs)
    ours.predict(numpy.zeros((1, 2), dtype="f"))
    assert signposter.log == [("begin", "lin forward"), ("end", "lin forward")]
    back = to_thinc(ours)
    back.predict(numpy.zeros((1, 2), dtype="f"))
    assert signposter.log[2:] == [("begin", "lin forward"), ("end", "lin forward")]
