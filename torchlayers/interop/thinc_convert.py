"""Convert between Thinc 8.3.14 models and torchlayers models, and load Thinc's bytes.

- ``from_thinc(thinc_model)``: rebuild the same node tree from torchlayers layers (names,
  dims, attrs) and copy every parameter through ``set_param``; outputs match Thinc's.
- ``to_thinc(model)``: the reverse, for the layers Thinc has.
- ``load_thinc_bytes(model, data)`` / ``load_thinc_disk(model, path)``: read what Thinc's
  ``to_bytes``/``to_disk`` wrote into a torchlayers model with the same node tree.

Thinc nodes are recognised by the module of their forward function (``thinc.layers.linear``
...), which survives renaming. Thinc is imported lazily: only these functions need it.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List

import numpy

from ..model import Model

__all__ = ["from_thinc", "to_thinc", "load_thinc_bytes", "load_thinc_disk"]


def _tl(path: str, name: str) -> Any:
    return getattr(importlib.import_module(f"torchlayers.{path}"), name)


def _dims(node: Any, *names: str) -> List[Any]:
    return [node.maybe_get_dim(n) if node.has_dim(n) is not False else None for n in names]


def _softmax(node: Any, children: List[Model]) -> Model:
    nO, nI = _dims(node, "nO", "nI")
    normalize, temperature = node.attrs.get("softmax_normalize", True), node.attrs.get("softmax_temperature", 1.0)
    if normalize and temperature == 1.0:
        return _tl("modules.softmax", "Softmax")(nO, nI)
    return _tl("modules.softmax", "Softmax_v2")(nO, nI, normalize_outputs=normalize, temperature=temperature)


def _sparse_linear(node: Any, children: List[Model]) -> Model:
    cls = "SparseLinear" if node.attrs.get("v1_indexing", True) else "SparseLinear_v2"
    return _tl("modules.sparse_linear", cls)(node.maybe_get_dim("nO"), length=node.get_dim("length"))


def _lstm(node: Any, children: List[Model]) -> Model:
    nO, nI, depth, dirs = _dims(node, "nO", "nI", "depth", "dirs")
    return _tl("modules.lstm", "LSTM")(nO, nI, bi=dirs == 2, depth=depth, dropout=node.attrs.get("dropout_rate", 0.0))


# thinc module (of the node's forward function) -> builder(node, converted children)
_FROM_THINC: Dict[str, Callable[[Any, List[Model]], Model]] = {
    "linear": lambda n, c: _tl("modules.linear", "Linear")(*_dims(n, "nO", "nI")),
    "relu": lambda n, c: _tl("modules.relu", "Relu")(*_dims(n, "nO", "nI")),
    "mish": lambda n, c: _tl("modules.mish", "Mish")(*_dims(n, "nO", "nI")),
    "maxout": lambda n, c: _tl("modules.maxout", "Maxout")(*_dims(n, "nO", "nI", "nP")),
    "softmax": _softmax,
    "layernorm": lambda n, c: _tl("modules.layernorm", "LayerNorm")(n.maybe_get_dim("nI")),
    "dropout": lambda n, c: _tl("modules.dropout", "Dropout")(n.attrs["dropout_rate"]),
    "logistic": lambda n, c: _tl("modules.logistic", "Logistic")(),
    "multisoftmax": lambda n, c: _tl("modules.multi_softmax", "MultiSoftmax")(tuple(n.attrs["nOs"]), n.maybe_get_dim("nI")),
    "cauchysimilarity": lambda n, c: _tl("modules.cauchy_similarity", "CauchySimilarity")(n.maybe_get_dim("nI")),
    "parametricattention": lambda n, c: _tl("modules.parametric_attention", "ParametricAttention")(n.maybe_get_dim("nO")),
    "embed": lambda n, c: _tl("modules.embed", "Embed")(*_dims(n, "nO", "nV"), dropout=n.attrs.get("dropout_rate")),
    "hashembed": lambda n, c: _tl("modules.hash_embed", "HashEmbed")(
        n.get_dim("nO"), n.get_dim("nV"), seed=n.attrs["seed"], dropout=n.attrs.get("dropout_rate")),
    "sparselinear": _sparse_linear,
    "lstm": _lstm,
    "reduce_sum": lambda n, c: _tl("modules.reduce_sum", "reduce_sum")(),
    "reduce_mean": lambda n, c: _tl("modules.reduce_mean", "reduce_mean")(),
    "reduce_max": lambda n, c: _tl("modules.reduce_max", "reduce_max")(),
    "reduce_first": lambda n, c: _tl("modules.reduce_first", "reduce_first")(),
    "reduce_last": lambda n, c: _tl("modules.reduce_last", "reduce_last")(),
    "expand_window": lambda n, c: _tl("modules.expand_window", "expand_window")(n.attrs["window_size"]),
    "list2array": lambda n, c: _tl("modules.list2array", "list2array")(),
    "list2ragged": lambda n, c: _tl("modules.list2ragged", "list2ragged")(),
    "ragged2list": lambda n, c: _tl("modules.ragged2list", "ragged2list")(),
    "list2padded": lambda n, c: _tl("modules.list2padded", "list2padded")(),
    "padded2list": lambda n, c: _tl("modules.padded2list", "padded2list")(),
    "array_getitem": lambda n, c: _tl("modules.array_getitem", {
        "ints-getitem": "ints_getitem", "floats-getitem": "floats_getitem"}.get(n.name, "array_getitem"))(n.attrs["index"]),
    "chain": lambda n, c: _tl("combinators.chain", "chain")(*c),
    "noop": lambda n, c: _tl("combinators.noop", "noop")(*c),
    "concatenate": lambda n, c: _tl("combinators.concatenate", "concatenate")(*c),
    "add": lambda n, c: _tl("combinators.add", "add")(*c),
    "residual": lambda n, c: _tl("combinators.residual", "residual")(*c),
    "siamese": lambda n, c: _tl("combinators.siamese", "siamese")(*c),
    "uniqued": lambda n, c: _tl("combinators.uniqued", "uniqued")(*c, column=n.attrs["column"]),
    "with_array": lambda n, c: _tl("combinators.with_array", "with_array")(*c, pad=n.attrs.get("pad", 0)),
    "with_array2d": lambda n, c: _tl("combinators.with_array", "with_array2d")(*c, pad=n.attrs.get("pad", 0)),
    "with_padded": lambda n, c: _tl("combinators.with_padded", "with_padded")(*c),
    "with_ragged": lambda n, c: _tl("combinators.with_ragged", "with_ragged")(*c),
    "with_list": lambda n, c: _tl("combinators.with_list", "with_list")(*c),
    "with_getitem": lambda n, c: _tl("combinators.with_getitem", "with_getitem")(n.attrs["idx"], *c),
    "with_reshape": lambda n, c: _tl("combinators.with_reshape", "with_reshape")(*c),
}


def _thinc_kind(node: Any) -> str:
    module = getattr(getattr(node, "_func", None), "__module__", "") or ""
    return module.rsplit(".", 1)[-1]


def from_thinc(thinc_model: Any) -> Model:
    """A torchlayers model with the node tree, dims, attrs and parameters of ``thinc_model``."""
    built: Dict[int, Model] = {}

    def convert(node: Any) -> Model:
        if id(node) in built:  # shared nodes stay shared
            return built[id(node)]
        kind = _thinc_kind(node)
        if kind not in _FROM_THINC:
            raise ValueError(
                f"from_thinc: no torchlayers equivalent for thinc layer {node.name!r} (thinc.layers.{kind}); "
                f"supported: {sorted(_FROM_THINC)}"
            )
        children = [convert(child) for child in node.layers]
        ours = _FROM_THINC[kind](node, children)
        if len(ours.layers) != len(children) and kind not in ("chain",):
            raise ValueError(f"from_thinc: {node.name!r} converted to {len(ours.layers)} children, thinc has {len(children)}")
        ours.name = node.name
        built[id(node)] = ours
        return ours

    ours = convert(thinc_model)
    copy_thinc_state(thinc_model, ours)
    return ours


def copy_thinc_state(thinc_model: Any, ours: Model) -> None:
    """Copy dims, JSON-able attrs and params node by node (walk order must match)."""
    theirs = list(thinc_model.walk())
    mine = ours.walk()
    if [n.name for n in theirs] != [n.name for n in mine]:
        raise ValueError(
            f"from_thinc: node trees differ: thinc {[n.name for n in theirs]} vs torchlayers {[n.name for n in mine]}"
        )
    for a, b in zip(mine, theirs):
        for dim in b.dim_names:
            if b.has_dim(dim) and a.has_dim(dim) is not False:
                a.set_dim(dim, b.get_dim(dim))
        for key, value in b.attrs.items():
            if key in a.attrs and isinstance(value, (int, float, str, bool, tuple, type(None))):
                a.attrs[key] = value
        for name in b.param_names:
            if b.has_param(name):
                a.set_param(name, numpy.ascontiguousarray(b.get_param(name)))


def _thinc_api() -> Any:
    try:
        import thinc.api as thinc_api
    except ImportError as e:  # pragma: no cover - thinc is a test dependency
        raise ImportError("to_thinc/from_thinc need thinc: pip install thinc==8.3.14") from e
    return thinc_api


def to_thinc(model: Model) -> Any:
    """A thinc model with the same node tree and parameters (for layers thinc has)."""
    ta = _thinc_api()
    built: Dict[int, Any] = {}

    def convert(node: Model) -> Any:
        if id(node) in built:
            return built[id(node)]
        children = [convert(child) for child in node.layers]
        if type(node).__name__ in _GETITEM:  # thinc has these as functions, not registered layers
            thinc_getitem = importlib.import_module("thinc.layers.array_getitem")
            theirs = getattr(thinc_getitem, type(node).__name__)(node.attrs["index"])
        else:
            name = node.registry_name
            if name is None:
                raise ValueError(f"to_thinc: {node.name!r} ({type(node).__name__}) has no thinc registry name")
            fn = ta.registry.layers.get(name)
            kwargs = {d: node.maybe_get_dim(d) for d in ("nO", "nI") if d in node.dim_names}
            theirs = _TO_THINC.get(type(node).__name__, lambda n, c, f, k: f(*c) if c else f(**k))(node, children, fn, kwargs)
        theirs.name = node.name
        built[id(node)] = theirs
        return theirs

    theirs = convert(model)
    for a, b in zip(model.walk(), list(theirs.walk())):
        for dim in a.dim_names:
            if a.has_dim(dim) and b.has_dim(dim) is not False and b.has_dim(dim) is None:
                b.set_dim(dim, a.get_dim(dim))
        if all(a.has_param(p) for p in a.param_names):
            for name in a.param_names:
                b.set_param(name, a.get_param(name).detach().cpu().numpy().copy())
    return theirs


_GETITEM = ("array_getitem", "ints_getitem", "floats_getitem")

_TO_THINC: Dict[str, Callable[..., Any]] = {
    "Dropout": lambda n, c, f, k: f(n.attrs["dropout_rate"]),
    "Maxout": lambda n, c, f, k: f(k.get("nO"), k.get("nI"), n.maybe_get_dim("nP")),
    "LayerNorm": lambda n, c, f, k: f(n.maybe_get_dim("nI")),
    "Softmax_v2": lambda n, c, f, k: f(**k, normalize_outputs=n.attrs["softmax_normalize"], temperature=n.attrs["softmax_temperature"]),
    "HashEmbed": lambda n, c, f, k: f(n.get_dim("nO"), n.get_dim("nV"), seed=n.attrs["seed"]),
    "Embed": lambda n, c, f, k: f(n.maybe_get_dim("nO"), n.maybe_get_dim("nV")),
    "SparseLinear": lambda n, c, f, k: f(n.maybe_get_dim("nO"), n.get_dim("length")),
    "SparseLinear_v2": lambda n, c, f, k: f(n.maybe_get_dim("nO"), n.get_dim("length")),
    "MultiSoftmax": lambda n, c, f, k: f(tuple(n.attrs["nOs"]), n.maybe_get_dim("nI")),
    "LSTM": lambda n, c, f, k: f(k.get("nO"), k.get("nI"), bi=n.get_dim("dirs") == 2, depth=n.get_dim("depth"),
                                 dropout=n.attrs["dropout_rate"]),
    "expand_window": lambda n, c, f, k: f(n.attrs["window_size"]),
    "with_array": lambda n, c, f, k: f(*c, pad=n.attrs.get("pad", 0)),
    "uniqued": lambda n, c, f, k: f(*c, column=n.attrs["column"]),
    "with_getitem": lambda n, c, f, k: f(n.attrs["idx"], *c),
    "chain": lambda n, c, f, k: f(*c),
}


def load_thinc_bytes(model: Model, data: bytes) -> Model:
    """Load bytes written by thinc's ``Model.to_bytes`` into ``model`` (same node tree)."""
    import srsly

    msg = srsly.msgpack_loads(data)
    nodes = model.walk()
    if len(msg["nodes"]) != len(nodes):
        raise ValueError(
            f"{model.name}: cannot load thinc bytes: expected {len(nodes)} nodes (this model's walk()), "
            f"got {len(msg['nodes'])}; build the same architecture"
        )
    for node, info, attrs, params in zip(nodes, msg["nodes"], msg["attrs"], msg["params"]):
        if info["name"] != node.name:
            raise ValueError(
                f"{model.name}: cannot load thinc bytes: node {info['index']} expected name {node.name!r}, got {info['name']!r}"
            )
        for dim, value in info["dims"].items():
            if node.has_dim(dim) is False:
                raise ValueError(f"{node.name}: cannot load thinc bytes: unknown dim {dim!r}; the layer has {list(node.dim_names)}")
            if value is not None:
                node.set_dim(dim, value)
        for key, packed in attrs.items():
            if key in node.attrs:
                value = srsly.msgpack_loads(packed)
                node.attrs[key] = tuple(value) if isinstance(node.attrs[key], tuple) else value
        for name, value in params.items():
            if node.has_param(name) is False:
                raise ValueError(f"{node.name}: cannot load thinc bytes: unknown param {name!r}; the layer has {list(node.param_names)}")
            if value is not None:
                node.set_param(name, numpy.ascontiguousarray(value))
    return model


def load_thinc_disk(model: Model, path: Any) -> Model:
    from pathlib import Path

    return load_thinc_bytes(model, Path(path).read_bytes())
