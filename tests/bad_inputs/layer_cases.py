"""Bad inputs for every public layer: (layer table) x (input families), both faces.

A layer row names its constructor, the node name its errors must carry, and its input kind.
An input family gives, per kind, the bad input, the expected error type and the words the
message must hold. The cross product (where a family applies to a kind) is the case list.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Tuple

import numpy
import torch

import torchlayers as tl
from torchlayers import Padded, Ragged

from .core import Bad

NI, NO = 4, 3


@dataclass
class Layer:
    id: str
    make: Callable[[], tl.Model]
    name: str  # the node name the error must carry
    kind: str  # floats | floats_free | ids | ids_column | ragged | padded | list | pair | sparse
    params: bool = True  # has float parameters (dtype families apply)
    width: bool = True  # checks the input width


def _vectors() -> torch.Tensor:
    return torch.randn(9, NI)


LAYERS: List[Layer] = [
    Layer("Linear", lambda: tl.Linear(NO, NI), "linear", "floats"),
    Layer("Relu", lambda: tl.Relu(NO, NI), "relu", "floats"),
    Layer("Relu-normalize-dropout", lambda: tl.Relu(NO, NI, normalize=True, dropout=0.1), "relu", "floats"),
    Layer("Softmax", lambda: tl.Softmax(NO, NI), "softmax", "floats"),
    Layer("Softmax_v2", lambda: tl.Softmax_v2(NO, NI), "softmax", "floats"),
    Layer("Maxout", lambda: tl.Maxout(NO, NI, nP=2), "maxout", "floats"),
    Layer("Maxout-normalize", lambda: tl.Maxout(NO, NI, nP=2, normalize=True), "maxout", "floats"),
    Layer("Mish", lambda: tl.Mish(NO, NI), "mish", "floats"),
    Layer("LayerNorm", lambda: tl.LayerNorm(NI), "layernorm", "floats"),
    Layer("MultiSoftmax", lambda: tl.MultiSoftmax((1, 2), NI), "multisoftmax", "floats"),
    Layer("chain-Linear-Relu", lambda: tl.chain(tl.Linear(NO, NI), tl.Relu(2, NO)), "linear", "floats"),
    Layer("Logistic", lambda: tl.Logistic(), "logistic", "floats_free", params=False, width=False),
    Layer("expand_window", lambda: tl.expand_window(1), "expand_window", "floats_free", params=False, width=False),
    Layer("Embed", lambda: tl.Embed(NO, 10), "embed", "ids"),
    Layer("HashEmbed", lambda: tl.HashEmbed(NO, 10), "hashembed", "ids"),
    Layer("StaticVectors", lambda: tl.StaticVectors(NO, _vectors()), "static_vectors", "ids"),
    Layer("Embed-column", lambda: tl.Embed(NO, 10, column=1), "embed", "ids_column"),
    Layer("HashEmbed-column", lambda: tl.HashEmbed(NO, 10, column=1), "hashembed", "ids_column"),
    Layer("StaticVectors-column", lambda: tl.StaticVectors(NO, _vectors(), column=1), "static_vectors", "ids_column"),
    Layer("reduce_sum", lambda: tl.reduce_sum(), "reduce_sum", "ragged", params=False),
    Layer("reduce_mean", lambda: tl.reduce_mean(), "reduce_mean", "ragged", params=False),
    Layer("reduce_max", lambda: tl.reduce_max(), "reduce_max", "ragged", params=False),
    Layer("reduce_first", lambda: tl.reduce_first(), "reduce_first", "ragged", params=False),
    Layer("reduce_last", lambda: tl.reduce_last(), "reduce_last", "ragged", params=False),
    Layer("ParametricAttention", lambda: tl.ParametricAttention(NI), "para-attn", "ragged"),
    Layer("LSTM", lambda: tl.LSTM(NO, NI), "lstm", "padded"),
    Layer("BiLSTM", lambda: tl.BiLSTM(NO * 2, NI), "lstm", "padded"),
    Layer("list2ragged", lambda: tl.list2ragged(), "list2ragged", "list", params=False),
    Layer("list2padded", lambda: tl.list2padded(), "list2padded", "list", params=False),
    Layer("list2array", lambda: tl.list2array(), "list2array", "list", params=False),
    Layer("CauchySimilarity", lambda: tl.CauchySimilarity(NI), "cauchy_similarity", "pair"),
    Layer("ragged2list", lambda: tl.ragged2list(), "ragged2list", "ragged", params=False),
    Layer("padded2list", lambda: tl.padded2list(), "padded2list", "padded", params=False),
    Layer("SparseLinear", lambda: tl.SparseLinear(NO, length=16), "sparse_linear", "sparse"),
    Layer("SparseLinear_v2", lambda: tl.SparseLinear_v2(NO, length=16), "sparse_linear", "sparse"),
]


def _f(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape).to(dtype)


def _ragged(width: int = NI, dtype: torch.dtype = torch.float32) -> Ragged:
    return Ragged(_f(5, width, dtype=dtype), torch.tensor([2, 3]))


def _padded(width: int = NI, dtype: torch.dtype = torch.float32) -> Padded:
    return Padded(_f(3, 2, width, dtype=dtype), torch.tensor([2, 2, 1]), torch.tensor([3, 2]), torch.tensor([0, 1]))


TYPE_WORDS = ("tensor", "Ragged", "Padded", "list", "tuple", "pair")


@dataclass
class Family:
    id: str
    kinds: Tuple[str, ...]
    make_x: Callable[[Layer], Any]
    error: Any
    words: Callable[[Layer], Tuple[Any, ...]]
    faces: Tuple[str, ...] = ("torch", "thinc")
    needs: Callable[[Layer], bool] = lambda layer: True


def _dtype_family(dtype: torch.dtype, tag: str) -> List[Family]:
    words = lambda L: (L.name, "torch.float32", str(dtype), ("model.to(", "cast"))
    return [
        Family(f"dtype:{tag}", ("floats",), lambda L: _f(2, NI, dtype=dtype), TypeError, words, needs=lambda L: L.params),
        Family(f"dtype:{tag}-ragged", ("ragged",), lambda L: _ragged(dtype=dtype), TypeError, words, needs=lambda L: L.params),
        Family(f"dtype:{tag}-padded", ("padded",), lambda L: _padded(dtype=dtype), TypeError, words, needs=lambda L: L.params),
    ]


def _numpy_thinc_words(L: Layer) -> Tuple[Any, ...]:
    return (L.name, "torch.float32", "torch.float64")


FAMILIES: List[Family] = [
    *_dtype_family(torch.float64, "float64"),
    *_dtype_family(torch.float16, "float16"),
    *_dtype_family(torch.bfloat16, "bfloat16"),
    # numpy float64 through the Thinc face: converted, then the dtype is named
    Family("dtype:numpy-float64", ("floats",), lambda L: numpy.zeros((2, NI)), TypeError, _numpy_thinc_words,
           faces=("thinc",), needs=lambda L: L.params),
    Family("dtype:int-features", ("floats", "floats_free"), lambda L: torch.ones(2, NI, dtype=torch.long), TypeError,
           lambda L: (L.name, "floating point", "torch.int64")),
    Family("dtype:bool-features", ("floats", "floats_free"), lambda L: torch.ones(2, NI, dtype=torch.bool), TypeError,
           lambda L: (L.name, "floating point", "torch.bool")),
    Family("type:numpy", ("floats", "floats_free"), lambda L: numpy.zeros((2, NI), dtype="float32"), TypeError,
           lambda L: (L.name, "torch.Tensor", "numpy", "from_numpy"), faces=("torch",)),
    Family("type:list-of-tensors", ("floats", "floats_free"), lambda L: [_f(NI), _f(NI)], TypeError,
           lambda L: (L.name, "tensor", "list")),
    Family("type:nested-list", ("floats", "floats_free"), lambda L: [[0.0] * NI, [1.0] * NI], TypeError,
           lambda L: (L.name, "tensor", "list")),
    Family("type:none", ("floats", "floats_free", "ids", "ragged", "padded", "list", "pair", "sparse"), lambda L: None, TypeError,
           lambda L: (L.name, TYPE_WORDS, "NoneType")),
    Family("type:string", ("floats", "floats_free", "ids", "ragged", "padded", "list", "pair", "sparse"), lambda L: "abc", TypeError,
           lambda L: (L.name, TYPE_WORDS, "str")),
    Family("type:ragged-into-dense", ("floats",), lambda L: _ragged(), TypeError, lambda L: (L.name, "torch.Tensor", "Ragged")),
    Family("shape:width", ("floats",), lambda L: _f(2, NI + 1), ValueError,
           lambda L: (L.name, f"nI={NI}", f"[2, {NI + 1}]")),
    Family("shape:1d", ("floats", "floats_free"), lambda L: _f(NI), ValueError, lambda L: (L.name, "1-D", f"[{NI}]"),
           needs=lambda L: L.width or L.id == "expand_window"),
    Family("shape:3d", ("floats",), lambda L: _f(2, NI, 1), ValueError, lambda L: (L.name, "3-D", f"[2, {NI}, 1]")),
    Family("shape:0d", ("floats",), lambda L: torch.tensor(1.0), ValueError, lambda L: (L.name, "0-D", "[]")),
    # ids layers
    Family("dtype:float-ids", ("ids",), lambda L: torch.tensor([1.0, 2.0]), TypeError,
           lambda L: (L.name, "integer ids", "torch.float32")),
    Family("dtype:float64-ids", ("ids",), lambda L: torch.tensor([1.0, 2.0], dtype=torch.float64), TypeError,
           lambda L: (L.name, "integer ids", "torch.float64")),
    Family("dtype:bool-ids", ("ids",), lambda L: torch.tensor([True, False]), TypeError,
           lambda L: (L.name, "integer ids", "torch.bool")),
    Family("dtype:float-ids-column", ("ids_column",), lambda L: torch.zeros(2, 2), TypeError,
           lambda L: (L.name, "integer ids", "torch.float32")),
    Family("type:numpy-ids", ("ids",), lambda L: numpy.array([1, 2]), TypeError,
           lambda L: (L.name, "torch.Tensor", "numpy", "from_numpy"), faces=("torch",)),
    Family("type:list-ids", ("ids",), lambda L: [1, 2], TypeError, lambda L: (L.name, "torch.Tensor", "list")),
    # the column= tree's first node (ints-getitem) receives the input and names itself
    Family("type:list-ids-column", ("ids_column",), lambda L: [[1, 2]], TypeError, lambda L: ("ints-getitem", "tensor", "list")),
    Family("shape:2d-ids", ("ids",), lambda L: torch.zeros(2, 2, dtype=torch.long), ValueError,
           lambda L: (L.name, "(N,)", "[2, 2]", "column=")),
    Family("shape:0d-ids", ("ids",), lambda L: torch.tensor(3), ValueError, lambda L: (L.name, "(N,)", "0-D")),
    Family("shape:1d-ids-into-column", ("ids_column",), lambda L: torch.tensor([1, 2]), IndexError,
           lambda L: ("ints-getitem", "2 axes", "1 dims")),
    Family("shape:column-out-of-range", ("ids_column",), lambda L: torch.zeros(2, 1, dtype=torch.long), IndexError,
           lambda L: ("ints-getitem", "index 1", "size 1")),
    Family("range:too-large", ("ids",), lambda L: torch.tensor([3, 10]), IndexError, lambda L: (L.name, "nV=10", "10"),
           needs=lambda L: L.id == "Embed"),
    Family("range:negative", ("ids",), lambda L: torch.tensor([3, -1]), IndexError, lambda L: (L.name, "-1", "negative"),
           needs=lambda L: L.id in ("Embed", "StaticVectors")),
    # sequence layers
    Family("type:tensor-for-ragged", ("ragged",), lambda L: _f(5, NI), TypeError, lambda L: (L.name, "Ragged", "Tensor")),
    Family("type:list-for-ragged", ("ragged",), lambda L: [_f(2, NI), _f(3, NI)], TypeError, lambda L: (L.name, "Ragged", "list")),
    Family("type:padded-for-ragged", ("ragged",), lambda L: _padded(), TypeError, lambda L: (L.name, "Ragged", "Padded")),
    Family("dtype:int-ragged", ("ragged",), lambda L: Ragged(torch.ones(5, NI, dtype=torch.long), torch.tensor([2, 3])),
           TypeError, lambda L: (L.name, "float", "torch.int64"), needs=lambda L: L.id != "ragged2list"),
    Family("shape:ragged-width", ("ragged",), lambda L: _ragged(width=NI + 1), ValueError,
           lambda L: (L.name, f"{NI}", f"{NI + 1}"), needs=lambda L: L.params),
    Family("type:tensor-for-padded", ("padded",), lambda L: _f(3, 2, NI), TypeError, lambda L: (L.name, "Padded", "Tensor")),
    Family("type:ragged-for-padded", ("padded",), lambda L: _ragged(), TypeError, lambda L: (L.name, "Padded", "Ragged")),
    Family("shape:padded-width", ("padded",), lambda L: _padded(width=NI + 1), ValueError, lambda L: (L.name, f"{NI}", f"{NI + 1}"),
           needs=lambda L: L.params),
    Family("type:tensor-for-list", ("list",), lambda L: _f(5, NI), TypeError, lambda L: (L.name, "list", "Tensor")),
    Family("type:numpy-items", ("list",), lambda L: [numpy.zeros((2, NI), "f"), numpy.zeros((3, NI), "f")], TypeError,
           lambda L: (L.name, "tensor", ("numpy", "ndarray")), faces=("torch",)),
    Family("shape:1d-items", ("list",), lambda L: [_f(2), _f(3)], ValueError, lambda L: (L.name, "2-D", "[2]"),
           needs=lambda L: L.id == "list2padded"),  # list2ragged/list2array take 1-D items, like Thinc
    Family("shape:mixed-widths", ("list",), lambda L: [_f(2, NI), _f(3, NI + 1)], ValueError,
           lambda L: (L.name, f"{NI}", f"{NI + 1}")),
    Family("type:tensor-for-sparse", ("sparse",), lambda L: _f(2, NI), TypeError, lambda L: (L.name, "tuple", "Tensor")),
    Family("dtype:float-keys", ("sparse",), lambda L: (torch.tensor([1.0, 2.0]), torch.ones(2), torch.tensor([2])), TypeError,
           lambda L: (L.name, "integer keys", "torch.float32")),
    Family("dtype:int-values", ("sparse",), lambda L: (torch.tensor([1, 2]), torch.ones(2, dtype=torch.long), torch.tensor([2])),
           TypeError, lambda L: (L.name, "floating point values", "torch.int64")),
    Family("shape:lengths-sum", ("sparse",), lambda L: (torch.tensor([1, 2]), torch.ones(2), torch.tensor([3])), ValueError,
           lambda L: (L.name, "N=2", "sum(lengths)=3")),
    Family("type:single-for-pair", ("pair",), lambda L: _f(2, NI), TypeError, lambda L: (L.name, ("tuple", "pair"), "Tensor")),
    Family("shape:pair-mismatch", ("pair",), lambda L: (_f(2, NI), _f(3, NI)), ValueError, lambda L: (L.name, "[2, 4]", "[3, 4]")),
]


def _call(layer: tl.Model, X: Any, face: str) -> Any:
    if face == "torch":
        return layer(X)
    return layer.predict(X)


def layer_cases() -> List[Bad]:
    cases = []
    for L in LAYERS:
        for fam in FAMILIES:
            if L.kind not in fam.kinds or not fam.needs(L):
                continue
            for face in fam.faces:
                def call(L=L, fam=fam, face=face):
                    layer = L.make()
                    if L.kind in ("ragged", "padded", "pair") and L.params and not all(
                            n.has_param(p) for n in layer.walk() for p in n.param_names):
                        layer.initialize()
                    return _call(layer, fam.make_x(L), face)

                cases.append(Bad(f"layer:{fam.id.split(':')[0]}", f"{L.id}-{fam.id}-{face}", call, fam.error, fam.words(L)))
    return cases


def extra_layer_cases() -> List[Bad]:
    """Bad constructor arguments, dims, params and calls (one row each, the old #24 table)."""
    rows: List[Tuple[str, Callable[[], Any], Any, Tuple[str, ...]]] = [
        ("Linear-uninitialized", lambda: tl.Linear(NO)(_f(2, NI)), ValueError, ("linear", "W", "not been allocated", "initialize")),
        ("Softmax_v2-temperature", lambda: tl.Softmax_v2(NO, NI, temperature=0.0), ValueError, ("temperature", "> 0", "0.0")),
        ("set_dim-conflict", lambda: tl.Linear(NO, NI).set_dim("nO", 5), ValueError, ("linear", "nO", "expected 3", "got 5")),
        ("set_dim-negative", lambda: tl.Linear().set_dim("nO", -7), ValueError, ("linear", "nO", "non-negative int", "-7")),
        ("set_dim-unknown", lambda: tl.Linear().set_dim("nQ", 2), KeyError, ("linear", "nQ", "nO")),
        ("set_param-shape", lambda: tl.Linear(NO, NI).set_param("W", torch.zeros(NI, NO)), ValueError,
         ("linear", "W", f"({NO}, {NI})", f"({NI}, {NO})")),
        ("set_param-int", lambda: tl.Linear(NO, NI).set_param("W", torch.zeros(NO, NI, dtype=torch.long)), TypeError,
         ("linear", "W", "floating point", "int64")),
        ("get_param-unknown", lambda: torch.as_tensor(tl.Linear(NO, NI).get_param("Q")), KeyError, ("linear", "Q", "params")),
        ("get_dim-unset", lambda: tl.Linear().get_dim("nO"), ValueError, ("linear", "nO", "unset")),
        ("backprop-wrong-dY", lambda: tl.Linear(NO, NI)(_f(2, NI), is_train=True)[1](torch.zeros(2, NI)), ValueError,
         ("linear", "dY", f"(2, {NO})", f"(2, {NI})")),
        ("backprop-twice", lambda: _twice(), RuntimeError, ("linear", "already called")),
        ("chain-one-layer", lambda: tl.chain(tl.Linear(2, 2)), TypeError, ("layer2",)),
        ("chain-non-model", lambda: tl.chain(tl.Linear(2, 2), torch.nn.ReLU()), TypeError, ("chain", "layer 1", "Model", "ReLU")),
        ("reduce_max-empty-sequence", lambda: tl.reduce_max()(Ragged(_f(2, 3), torch.tensor([2, 0]))), ValueError,
         ("reduce_max", "empty")),
        ("Ragged-short-lengths", lambda: Ragged(_f(5, 2), torch.tensor([2, 2])), ValueError, ("Ragged", "sum(lengths) == 5", "4")),
        ("Ragged-negative-length", lambda: Ragged(_f(1, 2), torch.tensor([2, -1])), ValueError, ("Ragged", "non-negative", "-1")),
        ("Ragged-float-lengths", lambda: Ragged(_f(1, 2), torch.tensor([1.0])), TypeError, ("Ragged", "integer dtype", "float32")),
        ("thinc-face-extra-args", lambda: tl.Linear(NO, NI)(_f(2, NI), _f(2, NI), is_train=True), TypeError,
         ("linear", "model(X, is_train=", "2 args")),
        ("walk-order", lambda: tl.Linear().walk(order="zigzag"), ValueError, ("linear", "order", "zigzag", "bfs")),
        ("with_array-float64-list", lambda: tl.with_array(tl.Linear(NO, NI))([_f(2, NI, dtype=torch.float64)]), TypeError,
         ("linear", "torch.float32", "torch.float64", "model.to(")),
        ("with_array-width-list", lambda: tl.with_array(tl.Linear(NO, NI))([_f(2, NI + 1)]), ValueError,
         ("linear", f"nI={NI}", f"[2, {NI + 1}]")),
        ("with_array-none", lambda: tl.with_array(tl.Linear(NO, NI))(None), TypeError, ("linear", "torch.Tensor", "NoneType")),
        ("with_padded-2d-tensor", lambda: tl.with_padded(tl.LSTM(NO, NI))(_f(2, NI)), ValueError,
         ("with_padded(lstm)", "(T, B, F)", "[2, 4]")),
        ("chain-thinc-face-numpy-float64", lambda: tl.chain(tl.Relu(NO, NI), tl.Softmax(2, NO)).predict(numpy.zeros((2, NI))),
         TypeError, ("relu", "torch.float32", "torch.float64")),
        ("Dropout-training-str", lambda: tl.Dropout(0.5).train()("abc"), TypeError, ("dropout", "tensor", "str")),
        ("Dropout-training-none", lambda: tl.Dropout(0.5).train()(None), TypeError, ("dropout", "tensor", "NoneType")),
        ("ints_getitem-none", lambda: tl.ints_getitem((slice(0, None), 1))(None), TypeError, ("ints-getitem", "tensor", "NoneType")),
        ("remap_ids-float", lambda: tl.remap_ids({1: 0})(torch.tensor([1.5])), TypeError, ("remap_ids", "integer ids", "float32")),
        ("remap_ids-none", lambda: tl.remap_ids({1: 0})(None), TypeError, ("remap_ids", "sequence of keys", "NoneType")),
        ("strings2arrays-ints", lambda: tl.strings2arrays()([[1, 2]]), TypeError, ("strings2arrays", "strings", "int")),
        ("strings2arrays-none", lambda: tl.strings2arrays()(None), TypeError, ("strings2arrays", "strings", "NoneType")),
        ("finish_update-not-optimizer", lambda: tl.Linear(NO, NI).finish_update(3), TypeError,
         ("linear", "finish_update", "Optimizer", "int")),
    ]
    return [Bad("layer:api", rid, fn, err, words) for rid, fn, err, words in rows]


def _twice() -> Any:
    Y, backprop = tl.Linear(NO, NI)(_f(2, NI), is_train=True)
    backprop(torch.zeros_like(Y))
    return backprop(torch.zeros_like(Y))


def empty_batch_cases() -> List[Tuple[str, Callable[[], tl.Model], Any]]:
    """Valid edge input (not part of the bad-input count): empty batches give (0, nO)."""
    return [
        (L.id, L.make, torch.zeros((0, 2), dtype=torch.long) if L.kind == "ids_column" else torch.zeros(0, dtype=torch.long))
        for L in LAYERS if L.kind in ("ids", "ids_column")
    ]


