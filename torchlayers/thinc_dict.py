"""Thinc's dict form of a model: ``to_dict`` / ``from_dict`` / ``can_from_dict``.

    {"nodes": [{"index", "name", "dims", "refs"}], "attrs": [{..}], "params": [{name: array}],
     "shims": [[bytes]]}

The lists are aligned with ``model.walk()``; refs are indices into it; params are copies as
arrays of the model's ops (numpy on the CPU); attrs keep only JSON-able values (Thinc keeps what
``serialize_attr`` accepts: msgpack-able values). ``to_bytes`` stays torchlayers' own safetensors
file (``serialize.py``); this is the in-memory form Thinc code passes around.

``serialize_attr`` / ``deserialize_attr``: Thinc's ``functools.singledispatch`` hooks for one attr
value (``(_, value, name, model) -> bytes`` and back), msgpack by default (srsly, as Thinc);
register a type's pair with ``@serialize_attr.register(MyType)``.
"""
from __future__ import annotations

import copy
import functools
import json
from typing import Any, Dict, List, Optional

from .arrays import param_array

__all__ = ["model_to_dict", "model_from_dict", "model_can_from_dict", "serialize_attr", "deserialize_attr"]


def _srsly(hook: str) -> Any:
    try:
        import srsly
    except ImportError:  # pragma: no cover - srsly comes with thinc, spaCy and confection's users
        raise ImportError(f"{hook}: the default (msgpack, as Thinc's) needs srsly: pip install srsly, or "
                          f"register a serializer for the type with @{hook}.register(MyType)") from None
    return srsly


@functools.singledispatch
def serialize_attr(_: Any, value: Any, name: str, model: Any) -> bytes:
    """Thinc's ``serialize_attr``: an attr value as bytes, msgpack unless a serializer is
    registered for the type of the first argument (``@serialize_attr.register(MyType)``)."""
    return _srsly("serialize_attr").msgpack_dumps(value)


@functools.singledispatch
def deserialize_attr(_: Any, value: bytes, name: str, model: Any) -> Any:
    """Thinc's ``deserialize_attr``: bytes back to an attr value, dispatched on the type of the
    attr's current (default) value given first; msgpack unless one is registered."""
    return _srsly("deserialize_attr").msgpack_loads(value)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def model_to_dict(model: Any) -> Dict[str, List[Any]]:
    nodes = list(model.walk())
    index = {id(node): i for i, node in enumerate(nodes)}
    msg: Dict[str, List[Any]] = {"nodes": [], "attrs": [], "params": [], "shims": []}
    for i, node in enumerate(nodes):
        refs: Dict[str, Optional[int]] = {}
        for name in node.ref_names:
            ref = node.maybe_get_ref(name)
            if ref is not None and id(ref) not in index:
                raise ValueError(f"{node.name}: cannot serialize ref {name!r}: {ref.name!r} is not a node of the model")
            refs[name] = None if ref is None else index[id(ref)]
        dims = {dim: node.maybe_get_dim(dim) for dim in node.dim_names}
        msg["nodes"].append({"index": i, "name": node.name, "dims": dims, "refs": refs})
        msg["attrs"].append({k: copy.deepcopy(v) for k, v in node.attrs.items() if _jsonable(v)})
        msg["params"].append({name: (param_array(node.get_param_tensor(name).clone()) if node.has_param(name) else None)
                              for name in node.param_names})
        msg["shims"].append([shim.to_bytes() for shim in getattr(node, "shims", [])])
    return msg


def _check_structure(model: Any, msg: Any) -> List[Any]:
    if not isinstance(msg, dict) or "nodes" not in msg:
        raise ValueError(f"{model.name}: from_dict expects Thinc's model dict (keys nodes, attrs, params, shims), "
                         f"got {type(msg).__name__}")
    nodes = list(model.walk())
    if len(msg["nodes"]) != len(nodes):
        raise ValueError(f"{model.name}: cannot deserialize model: mismatched structure (the dict has "
                         f"{len(msg['nodes'])} nodes, the model {len(nodes)})")
    return nodes


def model_from_dict(model: Any, msg: Dict[str, List[Any]]) -> Any:
    nodes = _check_structure(model, msg)
    for i, node in enumerate(nodes):
        info = msg["nodes"][i]
        node.name = info["name"]
        for dim, value in info["dims"].items():
            if value is not None:
                node.set_dim(dim, value)
        for ref, ref_index in info["refs"].items():
            node._refs[ref] = None if ref_index is None else nodes[ref_index]
        for attr, value in msg["attrs"][i].items():
            node.attrs[attr] = copy.deepcopy(value)
        for name, value in msg["params"][i].items():
            if value is not None:
                node.set_param(name, value)
        for shim, data in zip(getattr(node, "shims", []), msg["shims"][i]):
            shim.from_bytes(data)
    return model


def model_can_from_dict(model: Any, msg: Any, *, strict: bool = True) -> bool:
    if not isinstance(msg, dict) or "nodes" not in msg:
        return False
    nodes = list(model.walk())
    if len(msg["nodes"]) != len(nodes):
        return False
    for i, node in enumerate(nodes):
        info = msg["nodes"][i]
        if strict and info["name"] != node.name:
            return False
        if len(msg["shims"][i]) != len(getattr(node, "shims", [])):
            return False
        for dim, value in info["dims"].items():
            has = node.has_dim(dim)
            if has is False or (has and node.get_dim(dim) != value):
                return False
        for name, value in msg["params"][i].items():
            has = node.has_param(name)
            if has is False:
                return False
            if has and value is not None and tuple(node.get_param_tensor(name).shape) != tuple(value.shape):
                return False
        if strict:
            for attr, value in msg["attrs"][i].items():
                if attr in node.attrs and _jsonable(node.attrs[attr]) and node.attrs[attr] != value:
                    return False
    return True
