"""Thinc's ``Model.to_bytes`` / ``to_disk`` format read into a torchlayers model with the same node
tree: ``load_thinc_bytes`` / ``load_thinc_disk`` (strict by default), the message's structure check
(``_thinc_message``), a PyTorchShim's weights (``_load_pytorch_shim``), and the node paths and
tree differences its errors name (``node_paths``, ``_node_difference``).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, cast

import numpy

from ..errors import ModelFileError
from ..model import Model


def node_paths(model: Model) -> Dict[int, str]:
    """``id(node)`` -> where the node sits, e.g. ``"maxout>>layernorm>>dropout.layers[0].layers[1] (layernorm)"``
    (first occurrence of a shared node)."""
    paths: Dict[int, str] = {id(model): model.name}

    def visit(node: Model, path: str) -> None:
        for i, child in enumerate(cast(List[Model], list(node.layers))):
            if id(child) not in paths:
                paths[id(child)] = f"{path}.layers[{i}]"
                visit(child, paths[id(child)])

    visit(model, model.name)
    return {key: (value if key == id(model) else f"{value} ({_name_of(model, key)})") for key, value in paths.items()}


def _name_of(model: Model, node_id: int) -> str:
    return next(n.name for n in model.walk() if id(n) == node_id)


def _load_pytorch_shim(node: Any, where: str, shim_bytes: bytes) -> None:
    """Thinc's PyTorchShim bytes (msgpack ``{"config", "state"}``; state: ``torch.save(state_dict)``
    or the v3 wrapper's ``serialize_model`` output) into the wrapped module."""
    import io

    import srsly
    import torch

    state = srsly.msgpack_loads(shim_bytes)["state"]
    deserialize = getattr(node, "deserialize_model", None)
    if deserialize is not None:
        module = deserialize(node.module, state, node.device)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"{where}: deserialize_model must return a torch.nn.Module, got {type(module).__name__}")
        node.module = module
        return
    weights = torch.load(io.BytesIO(state), map_location=node.device, weights_only=True)
    try:
        node.module.load_state_dict(weights)
    except RuntimeError as e:
        raise ValueError(
            f"{where}: cannot load thinc bytes: the shim's weights do not fit the wrapped module: {e}"
        ) from None


def _thinc_message(model: Model, data: bytes) -> Dict[str, Any]:
    """The msgpack message of thinc's ``Model.to_bytes``, its structure checked: a map with
    ``nodes``/``attrs``/``params`` lists (``shims`` optional), each node a map with ``name`` and
    ``dims``. Anything else raises ModelFileError naming the part of the file."""
    import srsly

    if isinstance(data, (str, os.PathLike)):
        raise TypeError(f"{model.name}: load_thinc_bytes expects thinc's to_bytes() bytes, got a path "
                        f"{os.fspath(data)!r}; use load_thinc_disk(model, {os.fspath(data)!r})")
    try:
        msg = srsly.msgpack_loads(data)
    except Exception as error:  # msgpack raises several unrelated types for garbage
        raise ModelFileError(model.name, "thinc msgpack", f"not a thinc Model.to_bytes() message "
                             f"({type(error).__name__}: {error}); the bytes are truncated or not thinc's") from None
    if not isinstance(msg, dict):
        raise ModelFileError(model.name, "thinc msgpack", f"expected a map with 'nodes', 'attrs' and 'params', "
                             f"got a {type(msg).__name__}")
    for key in ("nodes", "attrs", "params", "shims"):
        if key not in msg and key != "shims":
            raise ModelFileError(model.name, "thinc msgpack", f"the message has no {key!r} list (keys: "
                                 f"{sorted(map(str, msg))}); it was not written by thinc's Model.to_bytes")
        if key in msg and not isinstance(msg[key], list):
            raise ModelFileError(
                model.name, f"thinc msgpack[{key!r}]", f"expected a list, got {type(msg[key]).__name__}"
            )
    for i, info in enumerate(msg["nodes"]):
        if (
            not isinstance(info, dict)
            or not isinstance(info.get("name"), str)
            or not isinstance(info.get("dims"), dict)
        ):
            raise ModelFileError(model.name, f"thinc msgpack['nodes'][{i}]", "expected a map with a 'name' string "
                                 f"and a 'dims' map, got {info!r:.80}")
    for key in ("attrs", "params"):
        for i, entry in enumerate(msg[key]):
            if not isinstance(entry, dict):
                raise ModelFileError(model.name, f"thinc msgpack[{key!r}][{i}]", f"expected a map, got "
                                     f"{type(entry).__name__}")
    return msg


def _short(name: str, width: int = 60) -> str:
    return name if len(name) <= width else name[: width - 3] + "..."


def _node_difference(model: Model, nodes: List[Model], names: List[str]) -> str:
    """Which nodes (walk index and name) the file has that the model lacks and the reverse (the
    file lists Thinc's walk, as the model's), e.g. ``the file has node(s) 1 'tok2vec-listener'
    where this model has 1 'extract_features>>list2ragged>>...'``."""
    import difflib

    mine = [n.name for n in nodes]

    def listed(seq: List[str], lo: int, hi: int) -> str:
        shown = ", ".join(f"{i} {_short(seq[i])!r}" for i in range(lo, min(hi, lo + 3)))
        return shown + (f" and {hi - lo - 3} more" if hi - lo > 3 else "")

    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=mine, b=names, autojunk=False).get_opcodes():
        if op == "insert":
            parts.append(f"the file has node(s) {listed(names, j1, j2)} that this model lacks")
        elif op == "delete":
            parts.append(f"this model has node(s) {listed(mine, i1, i2)} that the file lacks")
        elif op == "replace":
            parts.append(f"the file has node(s) {listed(names, j1, j2)} where this model has {listed(mine, i1, i2)}")
        if len(parts) == 3:
            break
    return "; ".join(parts) or "the same names, in another count"


def load_thinc_bytes(model: Model, data: bytes, *, strict: bool = True) -> Model:
    """Load bytes written by thinc's ``Model.to_bytes`` into ``model`` (same node tree).

    Strict (the default): the file has one entry per node of ``model.walk()`` in each of its
    lists, a value for every param each node declares (a Thinc model saved before ``initialize``
    has none), and each node's shims (a PyTorchWrapper's module weights); otherwise a ValueError
    names the node path of the first mismatch. ``strict=False`` loads what the file has: params
    it lacks keep their current values, shims it lacks are skipped.
    """
    import srsly

    msg = _thinc_message(model, data)
    nodes = model.walk()
    if len(msg["nodes"]) != len(nodes):
        raise ValueError(
            f"{model.name}: cannot load thinc bytes: expected {len(nodes)} nodes (this model's walk()), "
            f"got {len(msg['nodes'])}: {_node_difference(model, nodes, [info['name'] for info in msg['nodes']])}; "
            "build the same architecture"
        )
    for key in ("attrs", "params", "shims"):
        if len(msg.get(key, [])) != len(nodes) and (strict or key != "shims"):
            raise ValueError(
                f"{model.name}: cannot load thinc bytes: the file's {key!r} list has {len(msg.get(key, []))} entries "
                f"for {len(nodes)} nodes; the file is truncated or was not written by thinc's Model.to_bytes"
            )
    paths = node_paths(model)
    shims = msg.get("shims") or [[] for _ in nodes]
    for node, info, attrs, params, node_shims in zip(nodes, msg["nodes"], msg["attrs"], msg["params"], shims):
        where = paths[id(node)]
        if info["name"] != node.name:
            raise ValueError(
                f"{where}: cannot load thinc bytes: node {info['index']} "
                f"expected name {node.name!r}, got {info['name']!r}"
            )
        for dim, value in info["dims"].items():
            if node.has_dim(dim) is False:
                raise ValueError(
                    f"{where}: cannot load thinc bytes: unknown dim {dim!r}; the layer has {list(node.dim_names)}"
                )
            if value is not None:
                node.set_dim(dim, value)
        for key, packed in attrs.items():
            if key in node.attrs:
                value = srsly.msgpack_loads(packed)
                node.attrs[key] = tuple(value) if isinstance(node.attrs[key], tuple) else value
        for name in params:
            if node.has_param(name) is False:
                raise ValueError(
                    f"{where}: cannot load thinc bytes: unknown param {name!r}; the layer has {list(node.param_names)}"
                )
        if strict:
            missing = [name for name in node.param_names if params.get(name) is None]
            if missing:
                raise ValueError(
                    f"{where}: cannot load thinc bytes: no value for param {missing[0]!r} in the file (thinc saves "
                    "None for params it has not allocated: initialize the thinc model before to_bytes); "
                    f"load_thinc_bytes(..., strict=False) keeps the current values"
                )
        for name, value in params.items():
            if value is not None:
                node.set_param(name, numpy.ascontiguousarray(value))
        ours = list(getattr(node, "shims", []) or [])
        if strict and len(node_shims) != len(ours):
            raise ValueError(
                f"{where}: cannot load thinc bytes: the file has {len(node_shims)} "
                f"shim(s) for this node, the layer has {len(ours)}"
            )
        for shim_bytes in node_shims[: len(ours)]:
            from .pytorch_wrapper import PyTorchWrapper

            if not isinstance(node, PyTorchWrapper):
                if strict:
                    raise ValueError(
                        f"{where}: cannot load thinc bytes: thinc's {type(node).__name__} shim format is not "
                        "supported; load the weights into the framework "
                        "model and wrap it, or pass strict=False to skip it"
                    )
                continue
            _load_pytorch_shim(node, where, shim_bytes)
    return model


def load_thinc_disk(model: Model, path: Any) -> Model:
    """``load_thinc_bytes`` of the file at ``path`` (written by Thinc's ``Model.to_disk``); strict, returns
    ``model``.
    """
    from pathlib import Path

    return load_thinc_bytes(model, Path(path).read_bytes())
