"""Hostile model files for every loader: (target models) x (hostile-file families) x (loaders).

A family turns a valid file (``to_bytes`` of a trained target) into a bad one, either by
editing its bytes (no fresh checksum: truncation, flipped bits, garbage) or by forging a file
whose checksum is recomputed (what a hand-edited or malicious file can do), so that the
checks behind the checksum are reached. Every ``from_bytes``/``from_disk`` case also checks
that the target model is bitwise unchanged afterwards.
"""
from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import struct
import tempfile
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

import torchlayers as tl
from torchlayers.errors import ModelFileError
from torchlayers.serialize import pack_file, read_header

from .core import Bad


@dataclass
class Target:
    id: str
    trained: Callable[[], tl.Model]  # initialized: the file's source, and a target with other weights
    fresh: Callable[[], tl.Model]  # the same architecture, dims unset where they can be


def _mlp(nI: Optional[int] = 4, nO: Optional[int] = 3) -> tl.Model:
    return tl.chain(tl.Relu(8, nI, normalize=True, dropout=0.1), tl.Softmax(nO))


TARGETS = [
    Target("Linear", lambda: tl.Linear(3, 4), lambda: tl.Linear()),
    Target("mlp", lambda: _mlp().initialize(X=torch.randn(2, 4)), lambda: _mlp(None, None)),
    Target("Embed", lambda: tl.Embed(3, 10), lambda: tl.Embed(3, 10)),
    Target("HashEmbed", lambda: tl.HashEmbed(3, 10, seed=7), lambda: tl.HashEmbed(3, 10, seed=1)),
]
BY_ID = {t.id: t for t in TARGETS}


@cache
def source(target_id: str) -> bytes:
    torch.manual_seed(0)
    return BY_ID[target_id].trained().to_bytes()


def split(data: bytes) -> Tuple[int, Dict[str, Any], Dict[str, Any], bytes]:
    """(header length, torchlayers meta, tensor entries, tensor bytes) of a valid file."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = json.loads(header.pop("__metadata__")["torchlayers"])
    return n, meta, header, data[8 + n :]


def raw(header: Dict[str, Any], body: bytes) -> bytes:
    """A file from a safetensors header dict and tensor bytes, checksum left as it is."""
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def forge(data: bytes, edit_meta: Callable[[Dict], Any] = lambda m: None,
          edit_entries: Callable[[Dict], Any] = lambda e: None, body: Optional[bytes] = None) -> bytes:
    """Edit a valid file's meta/entries in place and re-checksum it (a consistent hostile file)."""
    _, meta, entries, old_body = split(data)
    edit_meta(meta)
    edit_entries(entries)
    return pack_file(meta, entries, old_body if body is None else body)


def unforged(data: bytes, edit_meta: Callable[[Dict], Any]) -> bytes:
    """Edit a valid file's meta without recomputing its checksum."""
    _, meta, entries, body = split(data)
    edit_meta(meta)
    return raw({"__metadata__": {"torchlayers": json.dumps(meta)}, **entries}, body)


def flip(data: bytes, pos: int, bit: int) -> bytes:
    out = bytearray(data)
    out[pos] ^= 1 << bit
    return bytes(out)


def _retensor(name_of: Callable[[Dict], str], tensor: torch.Tensor) -> Callable[[bytes], bytes]:
    """Replace one stored tensor (re-laying out the body) and re-checksum."""
    def make(data: bytes) -> bytes:
        _, meta, entries, body = split(data)
        tensors = {}
        for key, e in entries.items():
            chunk = body[e["data_offsets"][0] : e["data_offsets"][1]]
            tensors[key] = (e["dtype"], e["shape"], chunk)
        key = name_of(entries)
        codes = {torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.float32: "F32"}
        tensors[key] = (codes[tensor.dtype], list(tensor.shape), tensor.contiguous().view(torch.uint8).numpy().tobytes())
        new_entries, chunks, offset = {}, [], 0
        for k in sorted(tensors):
            code, shape, chunk = tensors[k]
            new_entries[k] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + len(chunk)]}
            chunks.append(chunk)
            offset += len(chunk)
        return pack_file(meta, new_entries, b"".join(chunks))
    return make


def _first_float(entries: Dict) -> str:
    return next(k for k, e in entries.items() if e["dtype"] == "F32")


def _node(meta: Dict, name: str) -> Dict:
    return next(n for n in meta["nodes"] if n["name"] == name)


def _set(path: Callable[[Dict], Dict], key: str, value: Any) -> Callable[[Dict], None]:
    def edit(d: Dict) -> None:
        path(d)[key] = value
    return edit


def _delete(path: Callable[[Dict], Dict], key: str) -> Callable[[Dict], None]:
    def edit(d: Dict) -> None:
        del path(d)[key]
    return edit


@dataclass
class Hostile:
    family: str
    id: str
    make: Callable[[bytes], Any]  # valid file -> hostile input
    error: Any
    words: Tuple[Any, ...]
    targets: Tuple[str, ...] = ("Linear", "mlp", "Embed", "HashEmbed")
    loaders: Tuple[str, ...] = ("fresh", "trained", "disk")


ANY_PART = ("length prefix", "header", "tensor")


def _truncations() -> List[Hostile]:
    out = []
    cuts = {  # region: [(id, cut(data) -> length)], words
        "length-prefix": ([("0", lambda d: 0), ("3", lambda d: 3), ("7", lambda d: 7)], ("length prefix", "too short")),
        "header": ([("8", lambda d: 8), ("mid-header", lambda d: 8 + split(d)[0] // 2),
                    ("header-minus-1", lambda d: 8 + split(d)[0] - 1)], ("length prefix", "truncated")),
        "tensor-bytes": ([("no-tensor-bytes", lambda d: 8 + split(d)[0]), ("1-tensor-byte", lambda d: 8 + split(d)[0] + 1),
                          ("mid-tensors", lambda d: (8 + split(d)[0] + len(d)) // 2), ("minus-1", lambda d: len(d) - 1)],
                         ("tensor", "truncated")),
    }
    for region, (points, words) in cuts.items():
        for cid, cut in points:
            out.append(Hostile("truncated", f"{region}-{cid}", lambda d, cut=cut: d[: cut(d)], ModelFileError, words,
                               loaders=("fresh", "trained", "disk", "read_header")))
    return out


def _garbage() -> List[Hostile]:
    def same_length(payload: bytes) -> Callable[[bytes], bytes]:
        def make(d: bytes) -> bytes:
            n = split(d)[0]
            return d[:8] + (payload * n)[:n] + d[8 + n :]
        return make

    rows = [
        ("not-json", same_length(b"\x00\xffgarbage"), ("header", "not valid JSON")),
        ("brace-garbage", same_length(b"{{{{"), ("header", "not valid JSON")),
        ("json-array", lambda d: raw({}, b"")[:0] + struct.pack("<Q", 8) + b"[1,2]   ", ("header", "JSON object", "list")),
        ("json-string", lambda d: struct.pack("<Q", 8) + b'"abcde" ', ("header", "JSON object", "str")),
        ("random-bytes", lambda d: bytes(range(256)) * 4, ANY_PART),
        ("ff-bytes", lambda d: b"\xff" * 64, ("length prefix", "claims")),
        ("zero-header", lambda d: struct.pack("<Q", 0) + b"", ("header", "not valid JSON")),
        ("meta-not-json", lambda d: raw({"__metadata__": {"torchlayers": "{not json"}, **split(d)[2]}, split(d)[3]),
         ("header.__metadata__.torchlayers", "JSON")),
        ("meta-json-list", lambda d: raw({"__metadata__": {"torchlayers": "[1, 2]"}, **split(d)[2]}, split(d)[3]),
         ("header.__metadata__.torchlayers", "JSON object", "list")),
        ("foreign-safetensors", lambda d: raw({"__metadata__": {"format": "pt"}, **split(d)[2]}, split(d)[3]),
         ("__metadata__", "torchlayers")),
        ("no-metadata", lambda d: raw(split(d)[2], split(d)[3]), ("__metadata__", "torchlayers")),
    ]
    return [Hostile("garbage", rid, make, ModelFileError, words, loaders=("fresh", "trained", "read_header"))
            for rid, make, words in rows]


def _missing_fields() -> List[Hostile]:
    out = []
    for field in ("format", "root", "nodes", "aliases"):
        out.append(Hostile("missing-field", f"meta-{field}", lambda d, f=field: forge(d, _delete(lambda m: m, f)),
                           ModelFileError, (f"header.{field}", "missing"), loaders=("fresh", "read_header")))
    out.append(Hostile("missing-field", "meta-checksum", lambda d: unforged(d, _delete(lambda m: m, "checksum")),
                       ModelFileError, ("header.checksum", "missing"), loaders=("fresh", "read_header")))
    for field in ("index", "name", "class", "dims", "attrs"):
        out.append(Hostile("missing-field", f"node-{field}", lambda d, f=field: forge(d, _delete(lambda m: m["nodes"][0], f)),
                           ModelFileError, (f"header.nodes[0].{field}", "missing"), loaders=("fresh", "read_header")))
    for field in ("dtype", "shape", "data_offsets"):
        out.append(Hostile("missing-field", f"tensor-{field}",
                           lambda d, f=field: forge(d, edit_entries=lambda e, f=f: e[_first_float(e)].pop(f)),
                           ModelFileError, ("tensor", "dtype, shape and data_offsets"), loaders=("fresh", "read_header")))
    return out


def _wrong_types_in_header() -> List[Hostile]:
    rows = [
        ("format-str", _set(lambda m: m, "format", "2"), ("header.format", "int", "str")),
        ("format-1", _set(lambda m: m, "format", 1), ("header.format", "expected 2", "got 1")),
        ("format-3", _set(lambda m: m, "format", 3), ("header.format", "expected 2", "got 3")),
        ("nodes-dict", _set(lambda m: m, "nodes", {}), ("header.nodes", "list", "dict")),
        ("aliases-list", _set(lambda m: m, "aliases", []), ("header.aliases", "dict", "list")),
        ("root-int", _set(lambda m: m, "root", 3), ("header.root", "str", "int")),
        ("root-other", _set(lambda m: m, "root", "other"), ("header.root", "first node", "other")),
        ("node-not-object", lambda m: m["nodes"].__setitem__(0, 5), ("header.nodes[0]", "JSON object", "int")),
        ("index-wrong", _set(lambda m: m["nodes"][0], "index", 4), ("header.nodes[0].index", "expected 0", "got 4")),
        ("index-bool", _set(lambda m: m["nodes"][0], "index", True), ("header.nodes[0].index", "int", "bool")),
        ("dims-list", _set(lambda m: m["nodes"][0], "dims", []), ("header.nodes[0].dims", "dict", "list")),
        ("attrs-str", _set(lambda m: m["nodes"][0], "attrs", "x"), ("header.nodes[0].attrs", "dict", "str")),
        ("alias-to-missing", _set(lambda m: m, "aliases", {"ghost": "nowhere"}), ("aliases['ghost']", "stored tensor", "nowhere")),
        ("alias-non-str", _set(lambda m: m, "aliases", {"ghost": 3}), ("aliases['ghost']", "str", "int")),
    ]
    return [Hostile("header-types", rid, lambda d, e=edit: forge(d, e), ModelFileError, words, loaders=("fresh", "read_header"))
            for rid, edit, words in rows]


def _tree() -> List[Hostile]:
    rows = [
        ("extra-node", lambda m: m["nodes"].append(dict(m["nodes"][-1], index=len(m["nodes"]))), ("header.nodes", "nodes")),
        ("node-renamed", lambda m: m.update(root="renamed") or m["nodes"][0].update(name="renamed"),
         ("header.nodes[0].name", "renamed")),
        ("wrong-class", _set(lambda m: m["nodes"][0], "class", "Relu"), ("header.nodes[0].class", "expected class", "Relu")),
    ]
    out = [Hostile("tree", rid, lambda d, e=edit: forge(d, e), ModelFileError, words, loaders=("fresh", "trained"))
           for rid, edit, words in rows]
    # The case: Linear bytes whose node is named "relu" must not load into a Relu.
    out.append(Hostile("tree", "linear-named-relu-into-relu", lambda d: tl.Linear(3, 4, name="relu").to_bytes(),
                       ModelFileError, ("class", "Relu", "Linear"), targets=("Relu",), loaders=("fresh", "trained")))
    return out


def _attrs() -> List[Hostile]:
    unknown = [
        ("unknown", "foo", 1), ("private-dims", "_dims", {"nO": -7}), ("dunder-dict", "__dict__", {}),
        ("private-param-specs", "_param_specs", {}), ("private-attr-names", "_attr_names", []),
        ("training", "training", False), ("name", "name", "evil"), ("forward", "forward", None),
    ]
    out = [Hostile("attrs-unknown", rid, lambda d, k=key, v=value: forge(d, _set(lambda m: m["nodes"][0]["attrs"], k, v)),
                   ModelFileError, (f"attrs[{key!r}]", "no declared attr"), loaders=("fresh", "trained"))
           for rid, key, value in unknown]
    out.append(Hostile("attrs-unknown", "check_ids", lambda d: forge(d, _set(lambda m: m["nodes"][0]["attrs"], "check_ids", False)),
                       ModelFileError, ("attrs['check_ids']", "no declared attr"), targets=("Embed",), loaders=("fresh", "trained")))
    typed = [  # (target, node name, attr, bad value, words)
        ("mlp", "dropout", "dropout_rate", "abc", ("dropout_rate", "float", "str")),
        ("mlp", "dropout", "dropout_rate", None, ("dropout_rate", "float", "NoneType")),
        ("mlp", "dropout", "dropout_rate", [0.1], ("dropout_rate", "float", "list")),
        ("mlp", "dropout", "dropout_rate", True, ("dropout_rate", "float", "bool")),
        ("mlp", "dropout", "is_enabled", 1, ("is_enabled", "bool", "int")),
        ("mlp", "dropout", "is_enabled", "yes", ("is_enabled", "bool", "str")),
        ("mlp", "softmax", "softmax_temperature", "hot", ("softmax_temperature", "float", "str")),
        ("mlp", "softmax", "softmax_normalize", 0, ("softmax_normalize", "bool", "int")),
        ("HashEmbed", "hashembed", "seed", "x", ("seed", "int", "str")),
        ("HashEmbed", "hashembed", "seed", 1.5, ("seed", "int", "float")),
        ("HashEmbed", "hashembed", "seed", False, ("seed", "int", "bool")),
    ]
    for target, node, key, value, words in typed:
        out.append(Hostile("attrs-type", f"{node}-{key}-{type(value).__name__}",
                           lambda d, n=node, k=key, v=value: forge(d, _set(lambda m, n=n: _node(m, n)["attrs"], k, v)),
                           ModelFileError, (f"attrs[{key!r}]", *words[1:]), targets=(target,), loaders=("fresh", "trained")))
    return out


def _dims() -> List[Hostile]:
    rows = [  # (id, target, node, dim, value, error words)
        ("bigger-than-tensors", "Linear", "linear", "nO", 5, ("tensor 'weight'", "(5, 4)", "(3, 4)")),
        ("unset-with-tensors", "Linear", "linear", "nO", None, ("tensor '", "dims", "unset")),
        ("negative", "Linear", "linear", "nO", -7, ("dims['nO']", "non-negative", "-7")),
        ("string", "Linear", "linear", "nO", "3", ("dims['nO']", "non-negative int", "'3'")),
        ("float", "Linear", "linear", "nO", 3.0, ("dims['nO']", "non-negative int", "3.0")),
        ("bool", "Linear", "linear", "nO", True, ("dims['nO']", "non-negative int", "True")),
        ("unknown-dim", "Linear", "linear", "nQ", 3, ("dims['nQ']", "no dim", "nO")),
        ("embed-nV", "Embed", "embed", "nV", 11, ("dims['nV']", "expected 10", "got 11")),
        ("mlp-inner", "mlp", "relu", "nO", 9, ("dims['nO']", "expected 8", "got 9")),
    ]
    out = []
    for rid, target, node, dim, value, words in rows:
        out.append(Hostile("dims", rid, lambda d, n=node, k=dim, v=value: forge(d, _set(lambda m, n=n: _node(m, n)["dims"], k, v)),
                           ModelFileError, words, targets=(target,), loaders=("fresh",) if value is None or rid == "mlp-inner" or
                           rid == "bigger-than-tensors" else ("fresh", "trained")))
    out.append(Hostile("dims", "conflict-with-model", lambda d: tl.Linear(5, 4).to_bytes(), ModelFileError,
                       ("attempt to change dimension 'nO'", "expected 3", "got 5"), targets=("Linear",), loaders=("trained",)))
    return out


def _huge() -> List[Hostile]:
    def dims(d: bytes) -> bytes:
        return forge(d, _set(lambda m: m["nodes"][0], "dims", {"nO": 16384, "nI": 16384}))

    def entry_shape(d: bytes) -> bytes:
        return forge(d, edit_entries=lambda e: e[_first_float(e)].update(shape=[16384, 16384]))

    def entry_both(d: bytes) -> bytes:
        return forge(d, edit_entries=lambda e: e[_first_float(e)].update(shape=[16384, 16384], data_offsets=[0, 4 * 16384**2]))

    return [
        Hostile("huge", "dims-16384", dims, ModelFileError, ("tensor 'weight'", "(16384, 16384)", "(3, 4)"),
                targets=("Linear",), loaders=("fresh",)),
        Hostile("huge", "dims-2**70", lambda d: forge(d, _set(lambda m: m["nodes"][0]["dims"], "nO", 2**70)), ModelFileError,
                ("dims['nO']", "2**62", str(2**70)), targets=("Linear",), loaders=("fresh", "read_header")),
        Hostile("huge", "entry-shape", entry_shape, ModelFileError, ("tensor", "(16384, 16384)", "needs", "hold"),
                loaders=("fresh", "read_header")),
        Hostile("huge", "entry-shape-and-offsets", entry_both, ModelFileError, ("tensor", "1073741824", "truncated"),
                loaders=("fresh", "read_header")),
        Hostile("huge", "header-length", lambda d: struct.pack("<Q", 2**40) + d[8:], ModelFileError,
                ("length prefix", str(2**40)), loaders=("fresh", "read_header")),
    ]


def _layout() -> List[Hostile]:
    def offsets(fn: Callable[[Dict], None]) -> Callable[[bytes], bytes]:
        return lambda d: forge(d, edit_entries=fn)

    def overlap(e: Dict) -> None:
        first, second = sorted(e, key=lambda k: e[k]["data_offsets"][0])[:2]
        n = e[second]["data_offsets"][1] - e[second]["data_offsets"][0]
        e[second]["data_offsets"] = [0, n]

    rows = [
        ("overlap", offsets(overlap), ("tensor", "overlapping or gapped")),
        ("reversed", offsets(lambda e: e[_first_float(e)].update(data_offsets=[8, 0])), ("tensor", "data_offsets", "[8, 0]")),
        ("negative-offset", offsets(lambda e: e[_first_float(e)].update(data_offsets=[-4, 0])), ("tensor", "data_offsets", "-4")),
        ("negative-shape", offsets(lambda e: e[_first_float(e)].update(shape=[-1, 3])), ("tensor", "shape", "-1")),
        ("shape-not-list", offsets(lambda e: e[_first_float(e)].update(shape="3x4")), ("tensor", "shape", "3x4")),
        ("entry-not-object", offsets(lambda e: e.update({_first_float(e): [1, 2]})), ("tensor", "entry", "[1, 2]")),
        ("unknown-dtype", offsets(lambda e: e[_first_float(e)].update(dtype="F8")), ("tensor", "dtype", "F8")),
        ("trailing-bytes", lambda d: forge(d, body=split(d)[3] + b"\x00" * 8), ("tensor bytes", "expected", "got")),
    ]
    several = ("Linear", "mlp", "HashEmbed")  # overlapping needs two tensors
    return [Hostile("layout", rid, make, ModelFileError, words, targets=several if rid == "overlap" else Hostile.targets,
                    loaders=("fresh", "read_header")) for rid, make, words in rows]


def _tensors() -> List[Hostile]:
    def drop(d: bytes) -> bytes:
        _, meta, entries, body = split(d)
        key = _first_float(entries)
        lo, hi = entries.pop(key)["data_offsets"]
        for e in entries.values():
            if e["data_offsets"][0] >= hi:
                e["data_offsets"] = [e["data_offsets"][0] - (hi - lo), e["data_offsets"][1] - (hi - lo)]
        return pack_file(meta, entries, body[:lo] + body[hi:])

    def extra(d: bytes) -> bytes:
        _, meta, entries, body = split(d)
        entries["zzz_extra"] = {"dtype": "F32", "shape": [1], "data_offsets": [len(body), len(body) + 4]}
        return pack_file(meta, entries, body + b"\x00" * 4)

    out = [
        Hostile("tensors", "missing-tensor", drop, ModelFileError, ("missing in file",)),
        Hostile("tensors", "extra-tensor", extra, ModelFileError, ("unexpected in file", "zzz_extra")),
        Hostile("tensors", "wrong-shape", _retensor(_first_float, torch.zeros(2, 2)), ModelFileError,
                ("cannot load parameter", "expected shape", "(2, 2)")),
    ]
    for dtype in (torch.float64, torch.float16, torch.bfloat16, torch.int64):
        out.append(Hostile("wrong-dtype", str(dtype).split(".")[1],
                           lambda d, dt=dtype: _retensor(_first_float, _like_first(d).to(dt))(d), ModelFileError,
                           ("expected shape", "torch.float32", str(dtype))))
    return out


def _like_first(d: bytes) -> torch.Tensor:
    _, _, entries, _ = split(d)
    return torch.zeros(entries[_first_float(entries)]["shape"])


def _flips() -> List[Hostile]:
    out = []
    for pos, bit in [(0, 0), (0, 7), (3, 2), (7, 7)]:
        out.append(Hostile("flipped-bit", f"prefix-{pos}-{bit}", lambda d, p=pos, b=bit: flip(d, p, b), ModelFileError,
                           ("cannot load model file", ANY_PART), loaders=("fresh", "trained", "read_header")))
    for frac in (0.02, 0.2, 0.4, 0.6, 0.8, 0.98):
        for bit in (0, 5):
            out.append(Hostile("flipped-bit", f"header-{frac}-{bit}",
                               lambda d, f=frac, b=bit: flip(d, 8 + int(split(d)[0] * f), b), ModelFileError,
                               ("cannot load model file", ANY_PART), loaders=("fresh", "trained")))
    for frac in (0.0, 0.5, 0.999):
        for bit in (0, 7):
            out.append(Hostile("flipped-bit", f"tensor-bytes-{frac}-{bit}",
                               lambda d, f=frac, b=bit: flip(d, 8 + split(d)[0] + int(len(split(d)[3]) * f), b),
                               ModelFileError, ("header.checksum", "checksum mismatch", "corrupted"),
                               loaders=("fresh", "trained", "disk")))
    return out


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pickle-executed > /dev/null",))


def _pickles() -> List[Hostile]:
    def torch_save(d: bytes) -> bytes:
        buffer = io.BytesIO()
        torch.save({"weight": torch.zeros(2, 2)}, buffer)
        return buffer.getvalue()

    out = [Hostile("pickle", f"protocol-{p}", lambda d, p=p: pickle.dumps({"weight": [1.0, 2.0]}, protocol=p), ModelFileError,
                   ("not a torchlayers model file",), loaders=("fresh", "read_header")) for p in range(0, 6)]
    out += [
        Hostile("pickle", "reduce-payload", lambda d: pickle.dumps(_Boom(), protocol=4), ModelFileError,
                ("not a torchlayers model file", "pickle", "never loaded"), loaders=("fresh", "read_header")),
        Hostile("pickle", "torch-save", torch_save, ModelFileError, ("not a torchlayers model file", "zip", "never loaded"),
                loaders=("fresh", "read_header")),
        Hostile("pickle", "npy", lambda d: b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'}" + b" " * 64, ModelFileError,
                ("not a torchlayers model file",), loaders=("fresh", "read_header")),
    ]
    return out


def _not_bytes() -> List[Hostile]:
    return [
        Hostile("path", "str-path", lambda d: "model.bin", TypeError, ("from_bytes", "path", "from_disk('model.bin')"),
                loaders=("fresh", "trained", "read_header")),
        Hostile("path", "pathlib-path", lambda d: pathlib.Path("model.bin"), TypeError, ("from_disk('model.bin')",),
                loaders=("fresh", "trained", "read_header")),
        Hostile("path", "none", lambda d: None, TypeError, ("bytes", "NoneType"), loaders=("fresh", "read_header")),
        Hostile("path", "int", lambda d: 3, TypeError, ("bytes", "int"), loaders=("fresh", "read_header")),
        Hostile("path", "list", lambda d: [1, 2], TypeError, ("bytes", "list"), loaders=("fresh", "read_header")),
    ]


HOSTILE: List[Hostile] = [
    *_truncations(), *_garbage(), *_missing_fields(), *_wrong_types_in_header(), *_tree(), *_attrs(), *_dims(),
    *_huge(), *_layout(), *_tensors(), *_flips(), *_pickles(), *_not_bytes(),
]


def fingerprint(model: tl.Model) -> Any:
    """Everything a load could change: every node's non-module attributes, the tensors' bytes,
    and the identity of each parameter object."""
    nodes = []
    for node in model.walk():
        state = {k: repr(v) for k, v in vars(node).items() if k not in ("_parameters", "_buffers", "_modules")}
        nodes.append(state)
    tensors = [(k, t.dtype, tuple(t.shape), t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
                if t.numel() else b"") for k, t in model.state_dict(keep_vars=True).items() if isinstance(t, torch.Tensor)]
    identity = [(k, id(p)) for k, p in model.named_parameters()]
    return nodes, tensors, identity


_TMP = tempfile.mkdtemp(prefix="torchlayers-bad-files-")
_RELU = Target("Relu", lambda: tl.Relu(3, 4), lambda: tl.Relu())


def _target(target_id: str) -> Target:
    return _RELU if target_id == "Relu" else BY_ID[target_id]


def _source_for(target_id: str) -> bytes:
    return source("Linear" if target_id == "Relu" else target_id)


def file_cases() -> List[Bad]:
    cases = []
    for h in HOSTILE:
        for target_id in h.targets:
            for loader in h.loaders:
                if loader == "read_header" and target_id != h.targets[0]:
                    continue  # read_header needs no model: once per family row
                cases.append(_case(h, target_id, loader))
    return cases


def _case(h: Hostile, target_id: str, loader: str) -> Bad:
    target = _target(target_id)
    holder: Dict[str, Any] = {}

    def data() -> Any:
        if "data" not in holder:
            holder["data"] = h.make(_source_for(target_id))
        return holder["data"]

    def model() -> tl.Model:
        if "model" not in holder:
            torch.manual_seed(1)
            holder["model"] = target.fresh() if loader in ("fresh", "disk") else target.trained()
        return holder["model"]

    if loader == "read_header":
        return Bad(f"file:{h.family}", f"{h.id}-read_header", lambda: read_header(data()), h.error, h.words)

    def call() -> Any:
        if loader == "disk":
            path = os.path.join(_TMP, f"{h.family}-{h.id}-{target_id}.bin")
            pathlib.Path(path).write_bytes(data())
            return model().from_disk(path)
        return model().from_bytes(data())

    name = model().name
    words = (name, *h.words) if h.error is ModelFileError else h.words
    return Bad(f"file:{h.family}", f"{h.id}-{target_id}-{loader}", call, h.error, words, state=lambda: fingerprint(model()))


def thinc_cases() -> List[Bad]:
    """load_thinc_bytes (helper "facade" owns it) on garbage and truncated Thinc msgpack."""
    from torchlayers.interop.thinc_convert import load_thinc_bytes

    def thinc_bytes() -> bytes:
        from thinc.api import Linear as ThincLinear

        return ThincLinear(3, 4).initialize().to_bytes()

    import srsly

    rows = [
        ("garbage", lambda: b"\xc1\xc1\xc1 not msgpack"),
        ("empty", lambda: b""),
        ("truncated-half", lambda: thinc_bytes()[: len(thinc_bytes()) // 2]),
        ("truncated-minus-1", lambda: thinc_bytes()[:-1]),
        ("msgpack-list", lambda: srsly.msgpack_dumps([1, 2, 3])),
        ("msgpack-no-nodes", lambda: srsly.msgpack_dumps({"attrs": [], "params": []})),
        ("msgpack-nodes-int", lambda: srsly.msgpack_dumps({"nodes": 3, "attrs": [], "params": []})),
        ("torchlayers-file", lambda: tl.Linear(3, 4).to_bytes()),
    ]
    cases = []
    for rid, make in rows:
        holder: Dict[str, Any] = {}

        def model(holder=holder) -> tl.Model:
            if "m" not in holder:
                holder["m"] = tl.Linear()
            return holder["m"]

        cases.append(Bad("file:thinc-msgpack", rid, lambda make=make, model=model: load_thinc_bytes(model(), make()),
                         ValueError, ("linear", "thinc"), state=lambda model=model: fingerprint(model())))
    return cases



