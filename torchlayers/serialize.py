"""Model bytes and files: safetensors tensors + a JSON header of the node tree. No pickle.

Layout: one safetensors blob whose metadata key ``"torchlayers"`` holds JSON:
``{"format": 1, "nodes": [{"index", "name", "class", "dims", "attrs"}], "aliases": {...}}``.
Nodes are in ``walk()`` (BFS) order. Tied tensors are stored once; ``aliases`` maps every
other name to the stored one. Loading checks the node tree, then every tensor's name, shape
and dtype, and names the first thing that differs.
"""
from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any, Dict, Tuple

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

if TYPE_CHECKING:
    from .model import Model

FORMAT = 1
_JSONABLE = (int, float, str, bool, type(None))


def _jsonable(value: Any) -> bool:
    if isinstance(value, _JSONABLE):
        return True
    if isinstance(value, (list, tuple)):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False


def model_to_bytes(model: "Model") -> bytes:
    nodes = []
    for i, node in enumerate(model.walk()):
        attrs = {k: v for k, v in node.attrs.items() if _jsonable(v)}
        nodes.append({"index": i, "name": node.name, "class": type(node).__name__, "dims": dict(node._dims), "attrs": attrs})
    tensors: Dict[str, torch.Tensor] = {}
    aliases: Dict[str, str] = {}
    seen_views: Dict[Tuple, str] = {}
    seen_storage = set()
    for key, t in model.state_dict(keep_vars=False).items():
        t = t.detach()
        view = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype, t.device)
        if t.numel() and view in seen_views:
            aliases[key] = seen_views[view]
            continue
        seen_views[view] = key
        storage = (t.untyped_storage().data_ptr(), t.device)
        cpu = t.to("cpu")
        if storage in seen_storage or cpu.untyped_storage().data_ptr() == t.untyped_storage().data_ptr():
            cpu = cpu.clone()  # safetensors refuses tensors sharing memory
        seen_storage.add(storage)
        tensors[key] = cpu.contiguous()
    header = {"format": FORMAT, "root": model.name, "nodes": nodes, "aliases": aliases}
    return st_save(tensors, metadata={"torchlayers": json.dumps(header)})


def read_header(data: bytes) -> Dict[str, Any]:
    """Parse the JSON header of a torchlayers file without touching its tensors."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < 8:
        raise ValueError("torchlayers: not a torchlayers model file (too short to hold a safetensors header)")
    (n,) = struct.unpack("<Q", bytes(data[:8]))
    if n > len(data) - 8 or n > 100_000_000:
        raise ValueError(
            "torchlayers: not a torchlayers model file (no safetensors header; pickled or foreign files are never loaded)"
        )
    try:
        st_header = json.loads(bytes(data[8 : 8 + n]))
        meta = json.loads(st_header["__metadata__"]["torchlayers"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"torchlayers: not a torchlayers model file (missing or broken header: {e})") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"torchlayers: unsupported file format {meta.get('format')!r}, expected {FORMAT}")
    return meta


def model_from_bytes(model: "Model", data: bytes) -> "Model":
    meta = read_header(data)
    nodes = model.walk()
    saved = meta["nodes"]
    if len(saved) != len(nodes):
        raise ValueError(
            f"{model.name}: cannot load: expected a file with {len(nodes)} nodes (this model's walk()), "
            f"got {len(saved)} nodes (root {meta.get('root')!r}); build the same architecture first"
        )
    for node, info in zip(nodes, saved):
        if info["name"] != node.name:
            raise ValueError(
                f"{model.name}: cannot load: node {info['index']} expected name {node.name!r}, got {info['name']!r}"
            )
        for dim, value in info["dims"].items():
            if dim not in node._dims:
                raise ValueError(f"{node.name}: cannot load: the file has dim {dim!r}, the layer has dims {list(node._dims)}")
            if value is not None:
                node.set_dim(dim, value)
        for key, value in info["attrs"].items():
            current = node.attrs.get(key) if key in node._attr_names else None
            node.set_attr(key, type(current)(value) if isinstance(current, tuple) else value)
    tensors = st_load(bytes(data))
    for alias, target in meta.get("aliases", {}).items():
        tensors[alias] = tensors[target]
    _allocate_for_load(model)
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    extra = [k for k in tensors if k not in expected]
    if missing or extra:
        raise ValueError(
            f"{model.name}: cannot load: parameters differ from this model: "
            + (f"missing in file {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unexpected in file {extra}" if extra else "")
        )
    for key, want in expected.items():
        got = tensors[key]
        if tuple(got.shape) != tuple(want.shape) or got.dtype != want.dtype:
            raise ValueError(
                f"{model.name}: cannot load parameter {key!r}: expected shape {tuple(want.shape)} {want.dtype}, "
                f"got {tuple(got.shape)} {got.dtype}"
            )
    model.load_state_dict(tensors, strict=True)
    return model


def _allocate_for_load(model: "Model") -> None:
    """Allocate params whose dims the header just set, so load_state_dict has targets."""
    with torch.no_grad():
        for node in model.walk():
            for name, spec in node._param_specs.items():
                if not node.has_param(name) and node._param_shape(name, spec, strict=False) is not None:
                    shape = node._param_shape(name, spec)
                    node._store_param(spec.attr, torch.zeros(shape))
