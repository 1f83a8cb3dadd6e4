"""The Ragged form of a list-of-docs model: lists as a boundary type, symbolic sizes inside.

A model such as spaCy's ``list2ragged >> with_array(embed) >> ragged2list >>
with_array(residual(expand_window >> Maxout), pad=4)`` passes Python lists between layers; a
list of B tensors has B fixed in a traced graph, and ``ragged2list`` reads the lengths on the
host. ``ragged_form(model, takes="list")`` returns a module computing the same thing on the packed
form of every list: a list of docs is ``Ragged(data, int32 lengths)`` (what ``list2ragged`` gives), a
list of lists of docs ``(Ragged(rows, item lengths), (B,) int32 items per list)``. ``takes`` is what
the model's input is: ``"list"`` (docs, given packed), ``"lists"`` (lists of docs, given packed) or
``"value"`` (a Ragged, Padded or tensor, given as it is; only the lists inside the model and a
returned list are packed). The rules, by what flows into the layer:

| layer | on a packed list | on a value (Ragged / Padded / tensor) |
|---|---|---|
| ``chain`` | its layers, each rewritten | its layers, each rewritten |
| ``list2ragged`` | identity (the packed list is the Ragged) | TypeError (it takes a list) |
| ``list2array`` | the data (empty docs add no rows either way) | itself |
| ``list2padded`` | ``packed_to_padded`` (T = max(lengths)) | itself |
| ``ragged2list`` | TypeError (it takes a Ragged) | the Ragged, int32 lengths: the packed list |
| ``padded2list`` | TypeError (it takes a Padded) | ``padded_to_packed`` (N = sum(lengths)) |
| ``with_array(layer, pad=p)`` | Thinc's list layout (below) around the layer | itself |
| ``residual(layer)`` | the layer's form, plus the input's data | itself |
| ``with_list(layer)`` | the layer's form (a list passes through) | Ragged: the layer's form, the input's lengths; |
| | | Padded: ``padded_to_packed``, the layer's form, ``packed_to_padded`` |
| ``with_padded(layer)`` | ``packed_to_padded``, layer, ``padded_to_packed`` | Ragged: the same, the input's lengths |
| ``with_ragged(layer)`` | the layer on it, the input's lengths | Padded: ``padded_to_packed``, layer, back |
| ``with_flatten(layer)`` | TypeError (it takes lists of docs) | itself |
| ``concatenate(layers)`` | each layer's form, the outputs joined by the concatenate | itself |
| ``with_cpu(layer)`` | the layer's form on the inputs moved to the CPU, back | itself |
| ``map_list(layer)`` | TypeError: B calls of the layer, one per doc | itself |
| any other layer | TypeError (no rule) | itself |

(A value of another type than the one a rule names goes to the layer itself.)

Other packages add rules with ``register_rules(key, rule, names)``; they are tried after ``chain`` and
before this table, and recurse through the same ``Rewriter`` (``interop/spacy/export.py`` registers
spaCy's Doc-reading nodes). Such a rule may take kind ``"tuple"``, a tuple of inputs whose slots' kinds
the ``Rewriter`` holds: ``chain``, ``concatenate`` and ``with_cpu`` pass it on; any other layer without
a registered rule for it is a TypeError.

On packed lists of docs (``takes="lists"``) the rules are ``chain`` and ``with_flatten(layer)`` /
``with_flatten_v2(layer)``: the layer's form on the packed items (a list of docs); ``with_flatten``'s
gives one row per item, packed by the counts into a list of docs; ``with_flatten_v2``'s a list of
docs, nested again by the counts; any other layer is a TypeError.

``with_array(pad=p)`` on a packed list builds the layout by one ``index_copy`` at positions
``row + p * (rank + 1)`` (rank: non-empty sequences before this one, by ``cumsum``; sequence ids by
``repeat_interleave(output_size=N)``), then one ``index_select`` back. ``padded_to_packed`` reads N
and ``packed_to_padded`` reads T from the lengths with ``.item()``: unbacked sizes in a traced graph
(no recompile when they change), as ``ragged2list``'s split sizes are. Layers over the Padded keep T
symbolic where they loop over time in the graph: ``LSTM`` and ``PyTorchLSTM`` (``nn.LSTM``) export
through ``torchlayers::lstm``, a ``while_loop`` over T (``functional/rnn_loop.py``). A layer that
branches on T in Python (unbinding the time steps, as torch's own RNN decompositions do) cannot be traced
over an unbacked T, a torch limitation (``GuardOnDataDependentSymNode``): ``with_padded``'s rule then
raises a TypeError saying so (under ``torch.export``; eagerly T is an int).

Shapes: input as ``takes`` says; output the model's output, a list being returned packed. N and B
are sizes of tensors the graph holds (or unbacked sizes read from them): no ``.tolist()``, no Python
list whose length is B, so ``torch.compile(fullgraph=True, dynamic=True)`` and ``torch.export`` with
dynamic N and B work on it. Difference from the list form: the padded buffer of ``with_array(pad=p)``
holds ``p * (B - K)`` trailing zero rows when K < B sequences are non-empty (its size must not depend
on data); only layers that mix rows farther apart than ``p`` (none of Thinc's sequence layers) could
see them.

``export(model, example)`` converts a list example to the Ragged once at the boundary and
exports the Ragged form with dynamic N and B: the program takes ``Ragged(data, lengths)``. Other
examples (Tensor, Ragged, Padded, tuples) export the model as it is; ``decompose=True`` gives a
program of ATen ops over plain tensors that loads without torchlayers (``deploy/decompose.py``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

import torch
from torch import Tensor, nn
from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode
from torch.utils._pytree import tree_map

from ..types import Padded, Ragged

if TYPE_CHECKING:
    from ..combinators.with_array import with_array

__all__ = ["ragged_form", "export", "pack", "packed_list_layout", "packed_to_padded", "padded_to_packed", "RaggedForm",
           "Rewriter", "register_rules"]


def packed_list_layout(lengths: Tensor, n_rows: int, pad: int) -> Tuple[Tensor, int]:
    """(B,) lengths, N -> ((N,) int64 row positions in Thinc's padded list layout, its row count).

    Row r of sequence b goes to ``starts[b] + r + pad * (rank[b] + 1)``; the buffer has
    ``N + pad * (B + 1)`` rows (``N`` with ``pad=0``)."""
    L = lengths.to(torch.int64)
    rows = torch.arange(n_rows, device=L.device)
    if pad == 0:
        return rows, n_rows
    B = L.shape[0]
    seg = torch.repeat_interleave(torch.arange(B, device=L.device), L, output_size=n_rows)
    nonempty = (L > 0).to(torch.int64)
    rank = torch.cumsum(nonempty, 0) - nonempty
    return rows + pad * (rank.index_select(0, seg) + 1), n_rows + pad * (B + 1)


class PackedWithArray(nn.Module):
    """``with_array(layer, pad)`` applied to a list given packed as a Ragged: Ragged -> Ragged."""

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        wrapper: with_array

    def __init__(self, wrapper: with_array) -> None:
        super().__init__()
        self.wrapper = wrapper  # the original with_array (its layer and live pad)

    def forward(self, X: Ragged) -> Ragged:
        layer = self.wrapper.layers[0]
        pad = int(self.wrapper.pad)
        data = X.data
        N = data.shape[0]
        if X.lengths.shape[0] == 0:  # with_array gives [] for [] without calling the layer
            return X
        if pad == 0:
            return Ragged(self.wrapper._rows(layer(data), N), X.lengths)
        pos, total = packed_list_layout(X.lengths, N, pad)
        buf = data.new_zeros((total, *data.shape[1:])).index_copy(0, pos, data)
        Y = layer(buf)
        if not isinstance(Y, Tensor) or Y.dim() == 0 or Y.shape[0] != total:
            got = f"shape {list(Y.shape)}" if isinstance(Y, Tensor) else type(Y).__name__
            raise ValueError(
                f"{self.wrapper.name}: the wrapped layer must return one row per input row ({total} with padding), "
                f"got {got}"
            )
        return Ragged(Y.index_select(0, pos), X.lengths)


def as_packed(X: Ragged) -> Ragged:
    """A Ragged read as the list of docs it splits into, packed as ``list2ragged`` packs it (int32 lengths)."""
    return Ragged(X.data, X.lengths.to(torch.int32))


def padded_to_packed(Xp: Padded, n_rows: Optional[int] = None) -> Ragged:
    """Padded data (T, B, *F) -> the packed list ``padded2list`` returns: Ragged (N, *F), (B,) int32 lengths
    in the original order. N = sum(lengths): ``n_rows`` where the caller knows it (the lengths are those of a
    list of ``n_rows`` rows), else read with ``.item()`` (an unbacked size when traced); rows are gathered by
    one advanced index at (t, column) from ``repeat_interleave(output_size=N)``."""
    data = Xp.data
    B = data.shape[1] if data.dim() >= 2 else 0
    if B == 0:  # padded2list gives [], packed as list2ragged([]) packs it
        return Ragged(torch.zeros((0, 0), device=data.device), torch.zeros((0,), dtype=torch.int32, device=data.device))
    inverse = torch.argsort(Xp.indices.to(torch.int64))
    lens = Xp.lengths.to(torch.int64).index_select(0, inverse)
    N = cast(int, lens.sum().item()) if n_rows is None else n_rows  # traced: a SymInt, no int() (specializes)
    torch._check(N >= 0)
    item = torch.repeat_interleave(torch.arange(B, device=data.device), lens, output_size=N)
    starts = torch.cumsum(lens, 0) - lens
    t = torch.arange(N, device=data.device) - starts.index_select(0, item)
    return Ragged(data[t, inverse.index_select(0, item)], lens.to(torch.int32))


def packed_to_padded(X: Ragged) -> Padded:
    """A packed list Ragged (N, *F) with (B,) lengths -> the Padded ``list2padded`` returns for that list:
    data (T, B, *F) with T = max(lengths) read with ``.item()`` (an unbacked size when traced), columns by
    (length, index) descending, int32 fields (``modules/list2padded.pad_rows``, as ``list2padded_traced``)."""
    from ..modules.list2padded import pad_rows

    data = X.data
    lens = X.lengths.to(torch.int64)
    if lens.shape[0] == 0:  # list2padded([])
        z = torch.zeros((0,), dtype=torch.int32, device=data.device)
        return Padded(torch.zeros((0, 0, 0), device=data.device), z, z.clone(), z.clone())
    T = cast(int, lens.max().item())
    torch._check(T >= 0)
    torch._check(T <= data.shape[0])
    return pad_rows(data, lens, T)


def _same_rows(where: str, what: str, expected: Any, got: Any) -> None:
    """The packed form of an eager check that a wrapped layer kept its rows / items."""
    if expected != got:
        raise ValueError(f"{where}: the wrapped layer must keep {what} ({expected}), got {got}")


class _Rule(nn.Module):
    """A rule's step: the original layer (``wrapper``, its live attrs and children) and, for a wrapper of a
    list layer, that layer's Ragged form (``inner``). With an ``inner`` the wrapper is held outside the module
    tree (its layers are the inner form's already; a combinator of those has no parameters of its own): a
    module reached twice makes torch.export proxy every submodule, and type checks such as
    ``type(m) is nn.LSTM`` (``PyTorchRNNWrapper``'s export path) then see the proxy's class."""

    if TYPE_CHECKING:  # for type checkers only
        inner: Any

    #: keep the wrapper in the module tree even with an inner form (it has state of its own that ``.to()`` moves)
    wrapper_in_tree = False

    def __init__(self, wrapper: nn.Module, inner: Optional[nn.Module] = None) -> None:
        super().__init__()
        if inner is None or self.wrapper_in_tree:
            self.layer = wrapper
        else:
            self.outside: Tuple[Any] = (wrapper,)
        self.inner = inner if inner is not None else nn.Identity()

    @property
    def wrapper(self) -> Any:
        return self.outside[0] if "layer" not in self._modules else self._modules["layer"]


class ListData(_Rule):
    """``list2array`` on a packed list: its data."""

    def forward(self, X: Ragged) -> Tensor:
        return X.data


class RaggedAsList(_Rule):
    """``ragged2list`` on a Ragged: the Ragged is the packed list."""

    def forward(self, X: Ragged) -> Ragged:
        return as_packed(X)


class PaddedAsList(_Rule):
    """``padded2list`` on a Padded: ``padded_to_packed``."""

    def forward(self, X: Padded) -> Ragged:
        return padded_to_packed(X)


class ListAsPadded(_Rule):
    """``list2padded`` on a packed list: ``packed_to_padded``."""

    def forward(self, X: Ragged) -> Padded:
        return packed_to_padded(X)


class PackedResidual(_Rule):
    """``residual(layer)`` on a packed list: the layer's form, plus the input (item by item = row by row)."""

    def forward(self, X: Ragged) -> Ragged:
        from ..combinators.add import add_ragged

        return add_ragged(self.wrapper.name, X, self.inner(X), "the input", "the layer's output")


class ValueWithList(_Rule):
    """``with_list(layer)`` on a value: a Ragged or Padded goes through the layer's form on its packed list."""

    def forward(self, X: Any) -> Any:
        if isinstance(X, Padded):
            return packed_to_padded(self.inner(padded_to_packed(X)))
        if isinstance(X, Ragged):
            Y = self.inner(as_packed(X))
            _same_rows(self.wrapper.name, "each item's rows, total", X.data.shape[0], Y.data.shape[0])
            return Ragged(Y.data, X.lengths)
        return self.wrapper(X)


class WithPadded(_Rule):
    """``with_padded(layer)`` on a packed list (the packed output list) or a Ragged (the input's lengths)."""

    def __init__(self, wrapper: nn.Module, on_value: bool) -> None:
        super().__init__(wrapper)
        self.on_value = on_value

    def forward(self, X: Any) -> Any:
        if not isinstance(X, Ragged):
            return self.wrapper(X)
        P = packed_to_padded(X)
        try:
            Yp = self.wrapper._call(P)
        except GuardOnDataDependentSymNode as e:  # torch.export (non-strict) runs the layer in Python
            raise TypeError(_unbacked_t(self.wrapper.name, self.on_value, e)) from e
        # lengths passed through (the LSTMs'): the output has the input's N rows, a size the graph already has
        Y = padded_to_packed(Yp, X.data.shape[0] if Yp.lengths is P.lengths else None)
        return Ragged(Y.data, X.lengths) if self.on_value else Y


def _unbacked_t(name: str, on_value: bool, e: Exception) -> str:
    what = "a Ragged" if on_value else "a list"
    return (f"ragged_form: {name} takes {what}, whose Padded here has T = max(lengths), a size read from the "
            f"data (unbacked), and its layer branches on T in Python, which torch cannot trace for an unbacked "
            f"size (GuardOnDataDependentSymNode: {str(e).splitlines()[0]}); loop over T in the graph (as LSTM and "
            f"PyTorchLSTM do: torchlayers::lstm), call the model eagerly, or give the layer a Padded input")


class WithRagged(_Rule):
    """``with_ragged(layer)`` on a packed list (the layer on it; the input's lengths) or a Padded."""

    def __init__(self, wrapper: nn.Module, on_list: bool) -> None:
        super().__init__(wrapper)
        self.on_list = on_list

    def forward(self, X: Any) -> Any:
        if isinstance(X, Padded):
            return packed_to_padded(self.wrapper._call(padded_to_packed(X)))
        if isinstance(X, Ragged) and self.on_list:
            Y = self.wrapper._call(as_packed(X))
            _same_rows(self.wrapper.name, "the rows, total", X.data.shape[0], Y.data.shape[0])
            return Ragged(Y.data, X.lengths)
        return self.wrapper(X)


class WithFlatten(_Rule):
    """``with_flatten(layer)`` / ``with_flatten_v2(layer)`` on packed lists ``(items, counts)``: the layer's form
    on the packed items; v1: one row per item, packed by the counts; v2: a packed list, nested by the counts."""

    def __init__(self, wrapper: nn.Module, inner: nn.Module, nested: bool) -> None:
        super().__init__(wrapper, inner)
        self.nested = nested

    def forward(self, X: Tuple[Ragged, Tensor]) -> Any:
        items, counts = X
        Y = self.inner(items)
        if self.nested:
            _same_rows(self.wrapper.name, "one item per flattened item", items.lengths.shape[0], Y.lengths.shape[0])
            return (Y, counts.to(torch.int32))
        _same_rows(self.wrapper.name, "one row per flattened item", items.lengths.shape[0], Y.shape[0])
        return Ragged(Y, counts.to(torch.int32))


class RaggedForm(nn.Module):
    """The rewritten steps of a model (see the module docstring): its input packed as ``takes`` says ->
    the model's output, a returned list packed. ``rules``: the rules applied, by layer name."""

    def __init__(self, steps: List[nn.Module], source: nn.Module, takes: str = "list",
                 rules: Optional[List[str]] = None) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)
        self.source_name = getattr(source, "name", type(source).__name__)
        self.takes = takes
        self.rules = list(rules or [])

    def forward(self, X: Any) -> Any:
        if self.takes == "list" and not isinstance(X, Ragged):
            raise TypeError(
                f"ragged_form({self.source_name}): expected a Ragged(data, lengths) (the packed list of docs), "
                f"got {type(X).__name__}; convert a list once with torchlayers.list2ragged()(docs)"
            )
        if self.takes == "lists" and not (isinstance(X, tuple) and len(X) == 2 and isinstance(X[0], Ragged)):
            raise TypeError(
                f"ragged_form({self.source_name}): expected (Ragged(rows, item lengths), items per list) (the "
                f"packed lists of docs), got {type(X).__name__}; convert lists once with "
                f"torchlayers.deploy.sequences.pack(lists)"
            )
        for step in self.steps:
            X = step(X)
        return X


def pack(X: Any) -> Any:
    """The packed form of a list of docs (``list2ragged``), of a list of lists of docs (``(Ragged(rows, item
    lengths), (B,) int32 items per list)``); anything else as it is."""
    from ..modules.list2ragged import list2ragged

    if isinstance(X, list) and X and all(isinstance(x, (list, tuple)) for x in X):
        items = [item for group in X for item in group]
        counts = torch.tensor([len(group) for group in X], dtype=torch.int32)
        return (list2ragged()(items), counts.to(items[0].device) if items else counts)
    if isinstance(X, list):
        return list2ragged()(X)
    return X


class Branches(nn.Module):
    """``concatenate``'s layers, each rewritten (one module a layer), on the same input; the concatenate's
    own join of their outputs (tensors by columns, Ragged / Padded data by columns)."""

    def __init__(self, node: Any, branches: List[nn.Module]) -> None:
        super().__init__()
        # the concatenate, held outside the module tree: its layers are the branches' already, and a module
        # reached twice makes torch.export proxy every submodule (``type(m) is nn.LSTM`` then sees the proxy)
        self.node: Tuple[Any] = (node,)
        self.branches = nn.ModuleList(branches)

    def forward(self, X: Any) -> Any:
        outs = [branch(X) for branch in self.branches]
        if isinstance(outs[0], Tensor):
            return self.node[0]._cat_tensors(outs)
        return self.node[0]._cat_any(outs)


class OnCPU(_Rule):
    """``with_cpu(layer)``: its layer's form (``inner``) on the inputs moved to the CPU, the output moved back."""

    wrapper_in_tree = True  # ``.to(device)`` of the form sets the with_cpu's output device

    def forward(self, X: Any) -> Any:
        return _moved(self.inner(_moved(X, torch.device("cpu"))), torch.device(self.wrapper.output_device))


def _moved(X: Any, device: torch.device) -> Any:
    """Tensors, Ragged, Padded and tuples of them on ``device`` (a new Ragged / Padded built field by field:
    Dynamo cannot rebuild a NamedTuple that ``tree_map`` made)."""
    if isinstance(X, Tensor):
        return X.to(device)
    if isinstance(X, Ragged):
        return Ragged(X.data.to(device), X.lengths.to(device))
    if isinstance(X, Padded):
        return Padded(X.data.to(device), X.size_at_t.to(device), X.lengths.to(device), X.indices.to(device))
    if isinstance(X, tuple):
        return tuple(_moved(x, device) for x in X)
    return X


_TAKES = {"list": "list", "lists": "lists", "value": "value"}
_KIND = {"list": "list", "lists": "list of lists", "value": "Ragged, Padded or tensor", "tuple": "tuple of inputs"}

#: a registered rule: (model, kind, rewriter, steps) -> what flows out, having appended model's steps; or None
RuleFn = Callable[[nn.Module, str, "Rewriter", List[nn.Module]], Optional[str]]

#: rules other packages add (``register_rules``): key -> (rule, the layers it rewrites, named for errors)
_REGISTERED: Dict[str, Tuple[RuleFn, str]] = {}


def register_rules(key: str, rule: RuleFn, names: str) -> None:
    """Add rules to the Ragged form's table (``interop/spacy/export.py`` adds spaCy's Doc-reading nodes):
    ``rule(model, kind, rewriter, steps)`` appends ``model``'s steps to ``steps`` and returns what flows out
    (``"list"``, ``"lists"``, ``"value"`` or a slot's kind), or returns None where it has no rule for
    (model, kind). ``rewriter.rewrite`` / ``rewriter.form`` rewrite its children with every rule. Registered
    rules are tried after ``chain`` and before the table's; ``names`` lists the layers in the refusals' rule
    lists. Registering a key again replaces its rule."""
    _REGISTERED[key] = (rule, names)


class Rewriter:
    """One rewrite of a model (the module docstring's rules plus the registered ones). ``applied``: the name
    of each layer a rule rewrote; ``slots``: for kind ``"tuple"`` (a tuple of inputs, only registered rules
    read one: spaCy's ``FeatureInput``), each slot's kind."""

    def __init__(self, slots: Sequence[str] = ()) -> None:
        self.applied: List[str] = []
        self.slots = tuple(slots)

    def rewrite(self, model: nn.Module, kind: str, steps: List[nn.Module]) -> str:
        """Append ``model``'s Ragged-form steps; ``kind`` is what flows in: 'list' (a packed list of docs),
        'lists' (packed lists of docs), 'value' or 'tuple'; returns what flows out."""
        return _rewrite(model, kind, steps, self)

    def form(self, layer: nn.Module, kind: str) -> Tuple[nn.Module, str]:
        """(``layer``'s steps as one module, what flows out of it)."""
        steps: List[nn.Module] = []
        out = self.rewrite(layer, kind, steps)
        return nn.Sequential(*steps), out

    def sub_form(self, layer: nn.Module, kind: str, expect: str, where: str) -> nn.Module:
        """The Ragged form of a wrapped layer (its steps as one module), checked to return ``expect``."""
        module, out = self.form(layer, kind)
        if out != expect:
            raise TypeError(f"ragged_form: {where} needs its layer to return a {_KIND[expect]}, "
                            f"but {getattr(layer, 'name', type(layer).__name__)} returns a {_KIND.get(out, out)}")
        return module


def _rule_names(table: str) -> str:
    return ", ".join([table, *(names for _, names in _REGISTERED.values()), "chain"])


def _rewrite(model: nn.Module, kind: str, steps: List[nn.Module], rw: Rewriter) -> str:
    """``Rewriter.rewrite``: chain, the registered rules, then the table's by what flows in."""
    from ..combinators.chain import chain
    from ..combinators.concatenate import concatenate
    from ..combinators.map_list import map_list
    from ..combinators.residual import residual
    from ..combinators.with_array import with_array
    from ..combinators.with_cpu import with_cpu
    from ..combinators.with_flatten import with_flatten, with_flatten_v2
    from ..combinators.with_list import with_list
    from ..combinators.with_padded import with_padded
    from ..combinators.with_ragged import with_ragged
    from ..modules.list2array import list2array
    from ..modules.list2padded import list2padded
    from ..modules.list2ragged import list2ragged
    from ..modules.padded2list import padded2list
    from ..modules.ragged2list import ragged2list

    name = getattr(model, "name", type(model).__name__)
    if isinstance(model, chain):
        for layer in model.layers:
            kind = rw.rewrite(layer, kind, steps)
        return kind
    for registered, _ in list(_REGISTERED.values()):
        out = registered(model, kind, rw, steps)
        if out is not None:
            rw.applied.append(name)
            return out

    def rule(step: Optional[nn.Module], out: str) -> str:
        rw.applied.append(name)
        if step is not None:
            steps.append(step)
        return out

    if kind in ("list", "tuple"):
        if isinstance(model, concatenate):
            branches, kinds = zip(*(rw.form(layer, kind) for layer in model.layers))
            if len(set(kinds)) != 1:
                raise TypeError(f"ragged_form: {name}: its layers give {list(kinds)}; concatenate joins outputs of "
                                "one kind")
            return rule(Branches(model, list(branches)), kinds[0])
        if isinstance(model, with_cpu):
            inner, out = rw.form(model.layers[0], kind)
            return rule(OnCPU(model, inner), out)
    if kind == "tuple":
        raise TypeError(f"ragged_form: {name} takes a tuple of inputs, which the Ragged form has no rule for "
                        f"(rules: {_rule_names('concatenate, with_cpu')})")
    if kind == "lists":
        if isinstance(model, with_flatten):
            nested = isinstance(model, with_flatten_v2)
            inner = rw.sub_form(model.layers[0], "list", "list" if nested else "value", name)
            return rule(WithFlatten(model, inner, nested), "lists" if nested else "list")
        raise TypeError(f"ragged_form: {name} takes lists of lists, which the Ragged form has no rule for "
                        f"(rules: {_rule_names('with_flatten, with_flatten_v2')}); call the model eagerly on the "
                        "lists instead")
    if kind == "list":
        if isinstance(model, list2ragged):
            return rule(None, "value")
        if isinstance(model, list2array):
            return rule(ListData(model), "value")
        if isinstance(model, list2padded):
            return rule(ListAsPadded(model), "value")
        if isinstance(model, with_array):
            return rule(PackedWithArray(model), "list")
        if isinstance(model, residual):
            return rule(PackedResidual(model, rw.sub_form(model.layers[0], "list", "list", name)), "list")
        if isinstance(model, with_list):
            return rule(rw.sub_form(model.layers[0], "list", "list", name), "list")
        if isinstance(model, with_padded):
            return rule(WithPadded(model, on_value=False), "list")
        if isinstance(model, with_ragged):
            return rule(WithRagged(model, on_list=True), "list")
        if isinstance(model, map_list):
            raise TypeError(f"ragged_form: {name} calls its layer once per doc: B calls, which a graph with a "
                            "symbolic B cannot hold; for a row-wise layer use with_array(layer) instead")
        if isinstance(model, (ragged2list, padded2list)):
            raise TypeError(f"ragged_form: {name} expects a {'Ragged' if isinstance(model, ragged2list) else 'Padded'}"
                            ", but it follows a layer that returns a list")
        table = ("list2ragged, list2array, list2padded, with_array, residual, with_list, with_padded, with_ragged, "
                 "concatenate, with_cpu")
        raise TypeError(f"ragged_form: {name} takes a list, which the Ragged form has no rule for (rules: "
                        f"{_rule_names(table)}); call the model eagerly on the list instead")
    if isinstance(model, list2ragged):
        raise TypeError(f"ragged_form: {name} expects a list, but it follows a layer that returns a {kind}")
    if isinstance(model, ragged2list):
        return rule(RaggedAsList(model), "list")
    if isinstance(model, padded2list):
        return rule(PaddedAsList(model), "list")
    if isinstance(model, with_list):
        return rule(ValueWithList(model, rw.sub_form(model.layers[0], "list", "list", name)), "value")
    if isinstance(model, with_padded):
        return rule(WithPadded(model, on_value=True), "value")
    if isinstance(model, with_ragged):
        return rule(WithRagged(model, on_list=False), "value")
    steps.append(model)
    return "value"


def ragged_form(model: nn.Module, takes: str = "list") -> RaggedForm:
    """A module equal to ``model`` with every list packed (the module docstring's rules): ``takes`` is the
    model's input, ``"list"`` (docs: give ``list2ragged()(docs)``), ``"lists"`` (lists of docs: give
    ``pack(lists)``) or ``"value"`` (a Ragged, Padded or tensor, as it is); a returned list comes back packed."""
    if takes not in _TAKES:
        raise ValueError(f"ragged_form: takes must be one of {sorted(_TAKES)}, got {takes!r}")
    steps: List[nn.Module] = []
    rw = Rewriter()
    rw.rewrite(model, _TAKES[takes], steps)
    return RaggedForm(steps, model, takes, rw.applied)


def _takes_lists(model: nn.Module) -> bool:
    """The model's first layer (down the chains) is ``list2ragged``: its input is a list of docs."""
    from ..combinators.chain import chain
    from ..modules.list2ragged import list2ragged

    while isinstance(model, chain) and len(model.layers):
        model = model.layers[0]
    return isinstance(model, list2ragged)


def _program_input(model: nn.Module, example: Any) -> Tuple[nn.Module, Any]:
    """(the module to export, its one input). A list of docs, or a Ragged for a model starting with
    ``list2ragged`` (the packed list): (``ragged_form(model)``, the Ragged); else (model, example)."""
    from ..modules.list2ragged import list2ragged

    where = "torchlayers.deploy.export"
    if isinstance(example, list):
        bad = sorted({type(x).__name__ for x in example if not isinstance(x, Tensor)})
        if bad:
            raise TypeError(f"{where}: expected a list of tensors (docs) as the example, got items of type {bad}")
        return ragged_form(model), list2ragged()(example)
    if _takes_lists(model):
        if not isinstance(example, Ragged):
            raise TypeError(f"{where}: expected a list of tensors or a Ragged example for "
                            f"{getattr(model, 'name', type(model).__name__)}, which takes lists of docs, "
                            f"got {type(example).__name__}")
        return ragged_form(model), example
    if isinstance(example, (Tensor, tuple)):  # Tensor, Ragged, Padded (NamedTuples), tuples of tensors
        return model, example
    raise TypeError(f"{where}: expected a list of tensors, a Tensor, a Ragged, a Padded or a tuple of tensors "
                    f"as the example, got {type(example).__name__}")


def _default_dims(X: Any) -> Any:
    """Ragged: N and B ``Dim.DYNAMIC`` (export refuses to specialize them; their ranges may narrow); anything
    else: every dim of every tensor ``Dim.AUTO`` (kept dynamic where the program allows, else specialized)."""
    if isinstance(X, Ragged):
        N = B = torch.export.Dim.DYNAMIC
        static = torch.export.Dim.STATIC
        return Ragged({0: N, **dict.fromkeys(range(1, X.data.dim()), static)}, {0: B})  # type: ignore[arg-type]
    return tree_map(lambda t: dict.fromkeys(range(t.dim()), torch.export.Dim.AUTO) if isinstance(t, Tensor) else None,
                    X)


def export(model: nn.Module, example: Any, *, dynamic_shapes: Any = None, decompose: bool = False,
           strict: bool = False) -> torch.export.ExportedProgram:
    """``torch.export`` of a model for deployment; ``model`` is switched to eval mode.

    - ``example`` a list of docs (tensors), or a Ragged (the packed list) for a model starting with
      ``list2ragged``: the program is ``ragged_form(model)`` with dynamic N and B; it takes
      ``Ragged(data, lengths)`` and returns packed lists as Ragged (a list is converted once here);
    - any other example (Tensor, Ragged, Padded, tuple of tensors): the model itself on that input, with
      dynamic N and B for a Ragged, ``Dim.AUTO`` on every dim otherwise;
    - ``dynamic_shapes``: a spec in the example's structure (``{dim: Dim}`` or None per tensor, e.g.
      ``Ragged({0: N}, {0: B})``) replacing those defaults;
    - ``decompose=True``: a program that loads and runs without torchlayers (``torchlayers/deploy/decompose.py``):
      it takes the example's tensors as separate arguments (a Ragged: ``data, lengths``), returns the output's
      tensors as a tuple, and its graph holds ATen ops only (HashEmbed's hashing, SparseLinear and the ragged
      reductions traced through their torch references).

    Loading: ``torch.export.load`` of a program exported without ``decompose`` needs ``import torchlayers``
    first (it registers the ``torch.ops.torchlayers.*`` ops and the Ragged/Padded pytree types); without it
    torch raises ``RuntimeError: We ran into an error when deserializing the saved file`` (its log names the
    unresolved ``torch.ops.torchlayers`` op) or ``ModuleNotFoundError: No module named 'torchlayers'``.
    Export with ``decompose=True`` for a consumer without torchlayers (another process, AOTInductor)."""
    from .decompose import export_decomposed

    module, X = _program_input(model, example)
    spec = _default_dims(X) if dynamic_shapes is None else dynamic_shapes
    module = module.eval()
    kept = _container_attributes(model)
    try:
        if not decompose:
            return torch.export.export(module, (X,), dynamic_shapes=(spec,), strict=strict)
        return export_decomposed(module, X, spec, strict=strict, where="torchlayers.deploy.export")
    finally:
        for node, attributes in kept:
            node.__dict__.update(attributes)


def _container_attributes(model: nn.Module) -> List[Tuple[nn.Module, dict]]:
    """Every node's dict / list / tuple attributes (attrs such as remap_ids' table), to put back after an
    export: torch.export restores module attributes from a pytree copy, so without this a user's own
    ``mapping_table`` dict would be replaced by an equal copy and their later edits to it not seen."""
    return [(node, {k: v for k, v in vars(node).items() if type(v) in (dict, list, tuple)})
            for node in model.modules()]
