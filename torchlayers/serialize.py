"""Model bytes and files: safetensors tensors + a JSON header of the node tree. No pickle.

Layout (a standard safetensors file): an 8-byte little-endian header length, the JSON header
(tensor entries ``{"dtype", "shape", "data_offsets"}`` and ``"__metadata__"``), then the
tensor bytes. ``__metadata__["torchlayers"]`` holds JSON:
``{"format": 2, "root", "nodes": [{"index", "name", "class", "dims", "attrs"}], "aliases",
"checksum": "sha256:<hex>"}``; the checksum covers the header's meaning and the tensor bytes.
Nodes are in ``walk()`` (BFS) order. Tied tensors are stored once; ``aliases`` maps every other name to the stored one.
A node may also hold (only when it has them, so other files are unchanged): ``"refs"``
(``{name: node index or null}``, Thinc's refs as indices into the nodes; a ref outside the tree
cannot be saved), ``"coded_attrs"`` (``{attr: blob}``: attrs that are not JSON values, as the
bytes of Thinc's ``serialize_attr`` hook, read back with ``deserialize_attr``) and ``"shims"``
(``[blob]``: the ``to_bytes()`` of a custom layer's shims, ``Model(name, forward, shims=[...])``).
A blob is the name of a 1-D U8 tensor of the file (under ``@blob/``), outside the state_dict.

Loading validates the whole file before touching the model: the byte layout (every tensor
inside the file, the sizes its dtype and shape need, no gaps), the checksum, the header's
fields and their types, then the header against the target tree (node names and classes,
declared attrs only with their types, dims against the model and against tensor shapes). Any
problem raises :class:`~torchlayers.errors.ModelFileError` naming the part of the file, and
the model stays bitwise unchanged (a failure while applying rolls back).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, NoReturn, Optional, Tuple

import torch
from torch import Tensor

from .errors import ModelFileError

if TYPE_CHECKING:
    from .model import Model

FORMAT = 2
MAX_HEADER_BYTES = 100_000_000
MAX_DIM = 2**62
_FILE = "torchlayers"  # the "model" named by errors from read_header (no model at hand)
_JSONABLE = (int, float, str, bool, type(None))
_DTYPES: Dict[str, torch.dtype] = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}
_CODES = {dtype: code for code, dtype in _DTYPES.items()}
_NODE_FIELDS = {"index": int, "name": str, "class": str, "dims": dict, "attrs": dict}
_BLOB = "@blob/"  # U8 tensors holding coded attrs and shim bytes; never a state_dict key of ours


def _jsonable(value: Any) -> bool:
    if isinstance(value, _JSONABLE):
        return True
    if isinstance(value, (list, tuple)):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False


# ---------------------------------------------------------------------------------- writing
def _own_shims(node: Model) -> List[Any]:
    """A custom layer's shims (``Model(name, forward, shims=[...])``, an instance attribute);
    a wrapper's shims are views of its own weights, which the state_dict already holds."""
    return list(node.__dict__.get("shims") or [])


def _blob(data: Any, owner: str, what: str) -> Tensor:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{owner}: cannot save {what}: expected bytes, got {type(data).__name__}")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8) if len(data) else torch.empty(0, dtype=torch.uint8)


def model_to_bytes(model: Model) -> bytes:
    from .thinc_dict import serialize_attr

    walk = model.walk()
    index = {id(node): i for i, node in enumerate(walk)}
    nodes = []
    blobs: Dict[str, Tensor] = {}
    for i, node in enumerate(walk):
        attrs, coded = {}, {}
        for k, v in node.attrs.items():
            if _jsonable(v):
                attrs[k] = v
                continue
            try:
                data = serialize_attr(v, v, k, node)
            except TypeError:  # as Thinc: an attr no serializer takes is not saved
                continue
            coded[k] = f"{_BLOB}{i}/attrs/{k}"
            blobs[coded[k]] = _blob(data, node.name, f"attr {k!r} (serialize_attr's result)")
        info: Dict[str, Any] = {
            "index": i, "name": node.name, "class": type(node).__name__, "dims": dict(node._dims), "attrs": attrs
        }
        if node._refs:
            invalid = [n for n, ref in node._refs.items() if ref is not None and id(ref) not in index]
            if invalid:
                raise ValueError(f"{node.name}: cannot serialize refs {invalid}: they point to models that are not "
                                 f"nodes of {model.name!r}'s tree (refs are saved as node indices); add the "
                                 "referenced model to the layers, or set the ref to None")
            info["refs"] = {n: None if ref is None else index[id(ref)] for n, ref in node._refs.items()}
        if coded:
            info["coded_attrs"] = coded
        shims = _own_shims(node)
        if shims:
            info["shims"] = [f"{_BLOB}{i}/shims/{j}" for j in range(len(shims))]
            for j, (name, shim) in enumerate(zip(info["shims"], shims)):
                blobs[name] = _blob(shim.to_bytes(), node.name, f"shim {j} (its to_bytes())")
        nodes.append(info)
    tensors: Dict[str, Tensor] = {}
    aliases: Dict[str, str] = {}
    seen_views: Dict[Tuple, str] = {}
    for key, t in model.state_dict(keep_vars=False).items():
        t = t.detach()
        view = (
            t.untyped_storage().data_ptr(),
            t.storage_offset(),
            tuple(t.shape),
            tuple(t.stride()),
            t.dtype,
            t.device,
        )
        if t.numel() and view in seen_views:
            aliases[key] = seen_views[view]
            continue
        seen_views[view] = key
        tensors[key] = t
    clash = sorted(set(blobs) & (set(tensors) | set(aliases)))
    if clash:
        raise ValueError(f"{model.name}: cannot save: state_dict keys {clash} use the file's reserved prefix "
                         f"{_BLOB!r}; rename those modules")
    tensors.update(blobs)
    return write_file(tensors, {"format": FORMAT, "root": model.name, "nodes": nodes, "aliases": aliases})


def write_file(tensors: Dict[str, Tensor], meta: Dict[str, Any]) -> bytes:
    """A safetensors file of ``tensors`` whose metadata is ``meta`` plus the tensor bytes' checksum."""
    entries: Dict[str, Any] = {}
    chunks: List[bytes] = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        if t.dtype not in _CODES:
            raise TypeError(f"cannot save tensor {name!r}: dtype {t.dtype} is not one of {sorted(map(str, _CODES))}")
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        entries[name] = {"dtype": _CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    return pack_file(meta, entries, b"".join(chunks))


def pack_file(meta: Dict[str, Any], entries: Dict[str, Any], body: bytes) -> bytes:
    """Assemble a file from its torchlayers ``meta`` (a ``checksum`` field is replaced), its
    safetensors tensor ``entries`` and the tensor bytes; nothing is validated."""
    meta = {k: v for k, v in meta.items() if k != "checksum"}
    meta["checksum"] = checksum(meta, entries, body)
    header = json.dumps({"__metadata__": {"torchlayers": json.dumps(meta)}, **entries}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + body


def checksum(meta: Dict[str, Any], entries: Dict[str, Any], body: Any) -> str:
    """``"sha256:<hex>"`` over the header's meaning (the torchlayers meta without its checksum,
    the tensor entries) and the tensor bytes: a flipped bit anywhere is detected."""
    h = hashlib.sha256()
    h.update(
        json.dumps({k: v for k, v in meta.items() if k != "checksum"}, sort_keys=True, separators=(",", ":")).encode()
    )
    h.update(json.dumps(entries, sort_keys=True, separators=(",", ":")).encode())
    h.update(body)
    return "sha256:" + h.hexdigest()


# ---------------------------------------------------------------------------------- reading
@dataclass
class ParsedFile:
    """A model file whose layout, checksum and header fields passed validation."""

    meta: Dict[str, Any]
    entries: Dict[str, Tuple[torch.dtype, Tuple[int, ...], int, int]]  # name -> dtype, shape, begin, end
    body: memoryview

    def tensor(self, name: str) -> Tensor:
        dtype, shape, begin, end = self.entries[name]
        if begin == end:
            return torch.empty(shape, dtype=dtype)
        return torch.frombuffer(bytearray(self.body[begin:end]), dtype=dtype).reshape(shape)

    def blob(self, name: str) -> bytes:
        """The bytes of a blob tensor (a coded attr or a shim's ``to_bytes()``)."""
        _, _, begin, end = self.entries[name]
        return bytes(self.body[begin:end])


def _fail(model: str, part: str, problem: str) -> NoReturn:
    raise ModelFileError(model, part, problem)


def _check_fields(model: str, obj: Dict[str, Any], part: str, fields: Dict[str, type], missing_hint: str = "") -> None:
    """Every ``fields`` key is in the JSON object ``obj`` with that type (a bool is no int): else a
    ModelFileError naming ``part.field``."""
    for field, kind in fields.items():
        if field not in obj:
            _fail(model, f"{part}.{field}", f"missing; expected a {kind.__name__}{missing_hint}")
        if not isinstance(obj[field], kind) or isinstance(obj[field], bool):
            _fail(model, f"{part}.{field}", f"expected a {kind.__name__}, got {type(obj[field]).__name__} "
                  f"{obj[field]!r:.60}")


def _check_bytes(model: str, data: Any) -> memoryview:
    if isinstance(data, (str, os.PathLike)):
        raise TypeError(
            f"{model}: from_bytes expects the model file's bytes, got a path {os.fspath(data)!r}; "
            f"use from_disk({os.fspath(data)!r}) to read a file"
        )
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{model}: from_bytes expects bytes (from to_bytes), got {type(data).__name__}")
    return memoryview(data).cast("B")


def _foreign_kind(data: memoryview) -> Optional[str]:
    head = bytes(data[:4])
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a Python pickle (pickled files are never loaded: they can run code); re-save with model.to_bytes()"
    if head == b"PK\x03\x04":
        return "a zip archive (torch.save output?); pickled files are never loaded, re-save with model.to_bytes()"
    return None


def parse_file(data: Any, model: str = _FILE) -> ParsedFile:
    """Validate the byte layout, the header fields and the checksum (no model needed)."""
    view = _check_bytes(model, data)
    foreign = _foreign_kind(view)
    if len(view) < 8:
        _fail(model, "length prefix", f"not a torchlayers model file: {len(view)} bytes, too short to hold the "
              "8-byte header length (truncated file?)")
    (n,) = struct.unpack("<Q", bytes(view[:8]))
    if foreign and (n > len(view) - 8 or bytes(view[8:9]) != b"{"):  # a valid prefix can look like a pickle's
        _fail(model, "length prefix", f"not a torchlayers model file: this is {foreign}")
    if n > MAX_HEADER_BYTES:
        _fail(model, "length prefix", f"not a torchlayers model file: claims a {n}-byte header, expected at most "
              f"{MAX_HEADER_BYTES} (no safetensors header; pickled or foreign files are never loaded)")
    if n > len(view) - 8:
        _fail(model, "length prefix", f"claims a {n}-byte header, but only {len(view) - 8} bytes follow "
              "(truncated file, or not a torchlayers model file)")
    try:
        header = json.loads(bytes(view[8 : 8 + n]))
    except (ValueError, UnicodeDecodeError) as e:
        _fail(model, "header", f"not a torchlayers model file: the {n}-byte header is not valid JSON ({e}); "
              "truncated or corrupted file?")
    if not isinstance(header, dict):
        _fail(model, "header", f"expected a JSON object, got {type(header).__name__}")
    body = view[8 + n :]
    entries = _parse_entries(model, header, len(body))
    meta = _parse_meta(model, header)
    digest = checksum(meta, {k: v for k, v in header.items() if k != "__metadata__"}, body)
    if meta["checksum"] != digest:
        _fail(model, "header.checksum", f"checksum mismatch: expected {meta['checksum'][:23]}... (written by "
              f"to_bytes), got {digest[:23]}... for this header and its {len(body)} tensor bytes; the file is "
              "corrupted (a flipped bit or a bad copy)")
    for alias, target in meta["aliases"].items():
        if target not in entries:
            _fail(model, f"header.aliases[{alias!r}]", f"expected the name of a stored tensor, got {target!r}")
        if alias in entries:
            _fail(
                model,
                f"header.aliases[{alias!r}]",
                "expected a name not stored in the file, got a stored tensor's name",
            )
    _check_blobs(model, meta, entries)
    return ParsedFile(meta, entries, body)


def _parse_entries(
    model: str, header: Dict[str, Any], size: int
) -> Dict[str, Tuple[torch.dtype, Tuple[int, ...], int, int]]:
    entries = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        part = f"tensor {name!r}"
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            _fail(model, part, f"expected an entry with dtype, shape and data_offsets, got {info!r:.80}")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if code not in _DTYPES:
            _fail(model, part, f"expected a dtype in {sorted(_DTYPES)}, got {code!r}")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            _fail(model, part, f"expected a shape of non-negative ints, got {shape!r:.80}")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(_is_count(o) for o in offsets)
            and offsets[0] <= offsets[1]
        ):
            _fail(model, part, f"expected data_offsets [begin, end] with 0 <= begin <= end, got {offsets!r:.80}")
        begin, end = offsets
        need = math.prod(shape) * _DTYPES[code].itemsize
        if end - begin != need:
            _fail(model, part, f"shape {tuple(shape)} {code} needs {need} bytes, data_offsets hold {end - begin}")
        if end > size:
            _fail(model, part, f"claims tensor bytes [{begin}, {end}), but the file's tensor bytes end at {size} "
                  "(truncated file)")
        entries[name] = (_DTYPES[code], tuple(shape), begin, end)
    cursor = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda e: (e[1][2], e[1][3])):
        if begin != cursor:
            _fail(model, f"tensor {name!r}", f"expected its bytes to start at {cursor}, got {begin} (overlapping or "
                  "gapped tensor bytes)")
        cursor = end
    if cursor != size:
        _fail(model, "tensor bytes", f"expected {cursor} bytes (the tensors' sizes), got {size}")
    return entries


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= MAX_DIM


def _parse_meta(model: str, header: Dict[str, Any]) -> Dict[str, Any]:
    st_meta = header.get("__metadata__")
    if not isinstance(st_meta, dict) or not isinstance(st_meta.get("torchlayers"), str):
        _fail(model, "header.__metadata__", "not a torchlayers model file: no 'torchlayers' metadata string (a "
              "safetensors file from another tool?)")
    try:
        meta = json.loads(st_meta["torchlayers"])
    except ValueError as e:
        _fail(model, "header.__metadata__.torchlayers", f"expected JSON, got a broken string ({e})")
    if not isinstance(meta, dict):
        _fail(model, "header.__metadata__.torchlayers", f"expected a JSON object, got {type(meta).__name__}")
    fields = {"format": int, "root": str, "nodes": list, "aliases": dict, "checksum": str}
    _check_fields(model, meta, "header", fields, " (written by to_bytes)")
    if meta["format"] != FORMAT:
        _fail(model, "header.format", f"unsupported file format: expected {FORMAT}, got {meta['format']}; "
              "re-save the model with this torchlayers version")
    if not meta["checksum"].startswith("sha256:"):
        _fail(model, "header.checksum", f"expected 'sha256:<hex>', got {meta['checksum']!r:.60}")
    for alias, target in meta["aliases"].items():
        if not isinstance(target, str):
            _fail(model, f"header.aliases[{alias!r}]", f"expected a tensor name (str), got {type(target).__name__}")
    for i, node in enumerate(meta["nodes"]):
        part = f"header.nodes[{i}]"
        if not isinstance(node, dict):
            _fail(model, part, f"expected a JSON object, got {type(node).__name__}")
        _check_fields(model, node, part, _NODE_FIELDS)
        if node["index"] != i:
            _fail(model, f"{part}.index", f"expected {i}, got {node['index']}")
        for dim, value in node["dims"].items():
            if value is not None and not _is_count(value):
                _fail(
                    model,
                    f"{part}.dims[{dim!r}]",
                    f"expected a non-negative int (at most 2**62) or null, got {value!r:.60}",
                )
        _check_optional(model, node, part, len(meta["nodes"]))
    if meta["nodes"] and meta["nodes"][0]["name"] != meta["root"]:
        _fail(
            model,
            "header.root",
            f"expected the first node's name {meta['nodes'][0]['name']!r:.60}, got {meta['root']!r:.60}",
        )
    return meta


def _check_optional(model: str, node: Dict[str, Any], part: str, n_nodes: int) -> None:
    """A node's optional fields (refs, coded_attrs, shims): their JSON types and index range."""
    kinds = {"refs": dict, "coded_attrs": dict, "shims": list}
    _check_fields(model, {k: node[k] for k in kinds if k in node}, part, {k: v for k, v in kinds.items() if k in node})
    for ref, value in node.get("refs", {}).items():
        if value is not None and not (_is_count(value) and value < n_nodes):
            _fail(model, f"{part}.refs[{ref!r}]", f"expected a node index in [0, {n_nodes}) or null, got {value!r:.60}")
    blobs = list(node.get("coded_attrs", {}).items()) + [(j, name) for j, name in enumerate(node.get("shims", []))]
    for key, name in blobs:
        field = "coded_attrs" if isinstance(key, str) else "shims"
        if not isinstance(name, str) or not name.startswith(_BLOB):
            _fail(model, f"{part}.{field}[{key!r}]", f"expected the name of a {_BLOB}... tensor, got {name!r:.60}")


def _blob_names(meta: Dict[str, Any]) -> List[str]:
    """The tensors of the file that hold coded attrs and shim bytes (not state_dict entries)."""
    return [
        name for node in meta["nodes"] for name in [*node.get("coded_attrs", {}).values(), *node.get("shims", [])]
    ]


def _check_blobs(model: str, meta: Dict[str, Any], entries: Dict[str, Tuple[torch.dtype, Tuple[int, ...], int, int]]
                 ) -> None:
    names = _blob_names(meta)
    for name in names:
        if name not in entries:
            _fail(model, f"tensor {name!r}", "named by the header (a coded attr or shim), but not stored in the file")
        dtype, shape, _, _ = entries[name]
        if dtype != torch.uint8 or len(shape) != 1:
            _fail(model, f"tensor {name!r}", f"expected a 1-D U8 tensor of bytes, got shape {shape} {dtype}")
        if names.count(name) > 1:
            _fail(model, f"tensor {name!r}", "expected each blob to be named once, got it named twice by the header")
    for alias in meta["aliases"]:
        if alias.startswith(_BLOB) or meta["aliases"][alias] in names:
            _fail(model, f"header.aliases[{alias!r}]", f"expected a state_dict name, got a blob's ({_BLOB}...)")


def read_header(data: Any) -> Dict[str, Any]:
    """The validated torchlayers header of a model file (layout, fields and checksum checked)."""
    return parse_file(data).meta


# ---------------------------------------------------------------------------------- loading
@dataclass
class _Plan:
    dims: List[Tuple[Model, Dict[str, int]]]
    attrs: List[Tuple[Model, Dict[str, Any]]]
    allocate: List[Tuple[Model, str, Tuple[int, ...], torch.dtype]]
    refs: List[Tuple[Model, Dict[str, Optional[Model]]]]
    shims: List[Tuple[Any, bytes]]


def model_from_bytes(model: Model, data: Any) -> Model:
    """Load a file written by ``to_bytes`` into ``model`` (same node tree); all-or-nothing."""
    parsed = parse_file(data, model.name)
    plan = _plan(model, parsed)
    blobs = set(_blob_names(parsed.meta))
    tensors = {name: parsed.tensor(name) for name in parsed.entries if name not in blobs}
    for alias, target in parsed.meta["aliases"].items():
        tensors[alias] = tensors[target]
    _apply(model, plan, tensors)
    return model


def _plan(model: Model, parsed: ParsedFile) -> _Plan:
    """Check the header against ``model`` and list the changes; the model is not touched."""
    meta, name = parsed.meta, model.name
    nodes, saved = model.walk(), meta["nodes"]
    if len(saved) != len(nodes):
        _fail(name, "header.nodes", f"expected a file with {len(nodes)} nodes (this model's walk()), got "
              f"{len(saved)} nodes (root {meta['root']!r}); build the same architecture first")
    plan = _Plan([], [], [], [], [])
    planned_dims: Dict[int, Dict[str, Optional[int]]] = {}
    for i, (node, info) in enumerate(zip(nodes, saved)):
        part = f"header.nodes[{i}]"
        if info["name"] != node.name:
            _fail(name, f"{part}.name", f"node {i} expected name {node.name!r}, got {info['name']!r}")
        cls = type(node).__name__
        if info["class"] != cls:
            _fail(name, f"{part}.class", f"node {i} ({node.name!r}) expected class {cls}, got {info['class']}; "
                  "the file was written by a different layer type")
        dims: Dict[str, int] = {}
        for dim, value in info["dims"].items():
            if dim not in node._dims:
                _fail(
                    name, f"{part}.dims[{dim!r}]", f"{node.name} has no dim {dim!r}; expected one of {list(node._dims)}"
                )
            current = node._dims[dim]
            if value is None:
                continue
            if current is not None and current != value:
                _fail(
                    name,
                    f"{part}.dims[{dim!r}]",
                    f"{node.name}: attempt to change dimension {dim!r}: expected "
                    f"{current} (already set), got {value}; build the layer with {dim}={value} or load a matching file",
                )
            if current is None:
                dims[dim] = value
        attrs = {
            key: _coerce_attr(name, f"{part}.attrs[{key!r}]", node, key, value) for key, value in info["attrs"].items()
        }
        for key, blob in info.get("coded_attrs", {}).items():
            if key in attrs:
                _fail(name, f"{part}.coded_attrs[{key!r}]", f"expected each attr stored once, got {key!r} in both "
                      "attrs and coded_attrs")
            attrs[key] = _decode_attr(name, f"{part}.coded_attrs[{key!r}]", node, key, parsed.blob(blob))
        if "refs" in info:
            plan.refs.append((node, {ref: None if j is None else nodes[j] for ref, j in info["refs"].items()}))
        shims, blobs = _own_shims(node), info.get("shims", [])
        if len(blobs) != len(shims):
            _fail(name, f"{part}.shims", f"node {i} ({node.name!r}) has {len(shims)} shims, the file {len(blobs)}; "
                  "build the same architecture first")
        plan.shims.extend((shim, parsed.blob(blob)) for shim, blob in zip(shims, blobs))
        plan.dims.append((node, dims))
        plan.attrs.append((node, attrs))
        planned_dims[id(node)] = {**node._dims, **dims}
    _check_tensors(model, parsed, planned_dims, plan)
    return plan


def _coerce_attr(model: str, part: str, node: Model, key: str, value: Any) -> Any:
    """The file's attr value, checked against the declared attr's current value and type."""
    if key not in node._attr_names:
        private = " (private names are never loaded)" if key.startswith("_") else ""
        _fail(
            model,
            part,
            f"{node.name} ({type(node).__name__}) has no declared attr "
            f"{key!r}{private}; expected one of {list(node._attr_names)}",
        )
    current = getattr(node, key)

    def wrong(want: str) -> NoReturn:
        _fail(model, part, f"{node.name}: expected {want} (like the model's {current!r:.40}), got "
              f"{type(value).__name__} {value!r:.40}")

    if current is None or (value is None and not isinstance(current, (bool, int, float))):
        return value
    if isinstance(current, bool):
        if not isinstance(value, bool):
            wrong("a bool")
        return value
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int):
            wrong("an int")
        return value
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            wrong("a float")
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            wrong("a str")
        return value
    if isinstance(current, (list, tuple)):
        if not isinstance(value, list):
            wrong("a list")
        return type(current)(value) if isinstance(current, tuple) and not hasattr(current, "_fields") else value
    if isinstance(current, dict):
        if not isinstance(value, dict):
            wrong("a dict")
        return value
    _fail(model, part, f"{node.name}: attr {key!r} holds a {type(current).__name__}, which files never store; "
          f"expected no value for it, got {value!r:.40}")


def _decode_attr(model: str, part: str, node: Model, key: str, data: bytes) -> Any:
    """Thinc's ``deserialize_attr(current value, bytes, key, node)`` for a declared attr."""
    from .thinc_dict import deserialize_attr

    if key not in node._attr_names:
        _fail(model, part, f"{node.name} ({type(node).__name__}) has no declared attr {key!r}; expected one of "
              f"{list(node._attr_names)}")
    current = getattr(node, key)
    try:
        value = deserialize_attr(current, data, key, node)
    except Exception as e:
        _fail(model, part, f"{node.name}: deserialize_attr for a {type(current).__name__} failed on the "
              f"{len(data)} stored bytes: {type(e).__name__}: {e}")
    if current is not None and not isinstance(value, type(current)):
        _fail(model, part, f"{node.name}: expected a {type(current).__name__} (like the model's attr), got "
              f"{type(value).__name__} {value!r:.40} from deserialize_attr")
    return value


def _check_tensors(
    model: Model, parsed: ParsedFile, planned_dims: Dict[int, Dict[str, Optional[int]]], plan: _Plan
) -> None:
    """Every state_dict slot the loaded model will have must come from the file with its shape and dtype."""
    name = model.name
    prefixes: Dict[int, List[str]] = {}
    for prefix, module in model.named_modules(remove_duplicate=False):
        prefixes.setdefault(id(module), []).append(prefix + "." if prefix else "")
    expected: Dict[str, Tuple[Tuple[int, ...], torch.dtype, str]] = {}
    for key, t in model.state_dict().items():
        expected[key] = (tuple(t.shape), t.dtype, "")
    unslotted: Dict[str, str] = {}
    for node in model.walk():
        dims = planned_dims[id(node)]
        for pname, spec in node._param_specs.items():
            if getattr(node, spec.attr) is not None:
                continue
            shape = _planned_shape(node, pname, spec, dims)
            for prefix in prefixes.get(id(node), []):
                if shape is None:
                    unset = [d for d in spec.dims if isinstance(d, str) and dims.get(d) is None]
                    unslotted[prefix + spec.attr] = f"the header leaves {node.name}'s dims {unset} unset"
                else:
                    expected[prefix + spec.attr] = (
                        shape,
                        torch.get_default_dtype(),
                        f" (from the header's dims of {node.name})",
                    )
            if shape is not None:
                plan.allocate.append((node, spec.attr, shape, torch.get_default_dtype()))
    stored = dict(parsed.entries)
    for blob in _blob_names(parsed.meta):
        del stored[blob]
    for alias, target in parsed.meta["aliases"].items():
        stored[alias] = parsed.entries[target]
    for key in stored:
        if key in unslotted:
            _fail(name, f"tensor {key!r}", f"the dims disagree with the tensors: the file has this tensor but "
                  f"{unslotted[key]}")
    missing = [k for k in expected if k not in stored]
    extra = [k for k in stored if k not in expected]
    if missing or extra:
        _fail(name, "tensors", "parameters differ from this model: "
              + (f"missing in file {missing}" if missing else "")
              + ("; " if missing and extra else "")
              + (f"unexpected in file {extra}" if extra else ""))
    for key, (shape, dtype, why) in expected.items():
        got_dtype, got_shape, _, _ = stored[key]
        if got_shape != shape or got_dtype != dtype:
            _fail(name, f"tensor {key!r}", f"cannot load parameter {key!r}: expected shape {shape} {dtype}{why}, "
                  f"got {got_shape} {got_dtype}")


def _planned_shape(node: Model, name: str, spec: Any, dims: Dict[str, Optional[int]]) -> Optional[Tuple[int, ...]]:
    """The layer's ``param_shape(name)`` (its ParamSpec's shape function) under the planned dims;
    the node's dims dict is swapped for the call and put back, never edited."""
    current = node._dims
    node._dims = dims
    try:
        return node.param_shape(name)
    finally:
        node._dims = current


def _apply(model: Model, plan: _Plan, tensors: Dict[str, Tensor]) -> None:
    """Set dims and attrs, allocate new params, copy the tensors in; roll everything back on failure."""
    old_dims = [(node, dict(node._dims)) for node, _ in plan.dims]
    old_attrs = [(node, {k: getattr(node, k) for k in attrs}) for node, attrs in plan.attrs]
    old_refs = [(node, dict(node._refs)) for node, _ in plan.refs]
    old_shims = [(shim, shim.to_bytes()) for shim, _ in plan.shims]
    live = {
        k: t
        for k, t in model.state_dict(keep_vars=True).items()
        if isinstance(t, Tensor) and not k.endswith("_extra_state")
    }
    with torch.no_grad():
        backup = {k: t.detach().clone() for k, t in live.items()}
    try:
        for node, dims in plan.dims:
            for dim, value in dims.items():
                node.set_dim(dim, value)
        for node, attrs in plan.attrs:
            for key, value in attrs.items():
                node.set_attr(key, value)
        with torch.no_grad():
            for node, attr, shape, dtype in plan.allocate:
                node._store_param(attr, torch.empty(shape, dtype=dtype))
        model.load_state_dict(tensors, strict=True)
        for node, refs in plan.refs:
            node._refs.update(refs)
        for shim, data in plan.shims:
            shim.from_bytes(data)
    except BaseException as e:
        for shim, data in old_shims:
            shim.from_bytes(data)
        for node, refs in old_refs:
            node._refs.clear()
            node._refs.update(refs)
        for node, attr, _, _ in plan.allocate:
            setattr(node, attr, None)
        with torch.no_grad():
            for key, t in live.items():
                t.copy_(backup[key])
        for node, attrs in old_attrs:
            for key, value in attrs.items():
                node.set_attr(key, value)
        for node, saved_dims in old_dims:
            node._dims.clear()
            node._dims.update(saved_dims)
        if isinstance(e, Exception):
            raise ModelFileError(model.name, "tensors", f"loading failed and was rolled back (the model is unchanged): "
                                 f"{type(e).__name__}: {e}") from e
        raise
