"""The Ragged form of a list-of-docs model: lists as a boundary type, symbolic sizes inside.

A model such as spaCy's ``list2ragged >> with_array(embed) >> ragged2list >>
with_array(residual(expand_window >> Maxout), pad=4)`` passes Python lists between layers; a
list of B tensors has B fixed in a traced graph, and ``ragged2list`` reads the lengths on the
host. ``ragged_form(model)`` returns a module computing the same thing on the packed form of
every list, ``Ragged(data, lengths)``:

| layer, on a list (packed) | Ragged form |
|---|---|
| ``list2ragged`` | identity (the packed list is the Ragged) |
| ``ragged2list`` (on a Ragged) | identity (the Ragged is the packed list) |
| ``with_array(layer, pad=p)`` | Thinc's list layout ``[p zeros, x0, p zeros, x1, ..., p zeros]`` built by
  one ``index_copy`` at positions ``row + p * (rank + 1)`` (rank: non-empty sequences before this one, by
  ``cumsum``; sequence ids by ``repeat_interleave(output_size=N)``), then one ``index_select`` back |
| ``chain`` | its layers, each rewritten |
| any other layer (on a Ragged / tensor) | itself |

Shapes: input Ragged (N, *F) data with (B,) lengths (the list it packs); output the model's
output, a list being returned packed as a Ragged. N and B are sizes of tensors the graph holds:
no ``.tolist()``, no data-dependent shape, so ``torch.compile(fullgraph=True, dynamic=True)``
and ``torch.export`` with dynamic N and B work on it. Difference from the list form: the padded
buffer of ``with_array(pad=p)`` holds ``p * (B - K)`` trailing zero rows when K < B sequences
are non-empty (its size must not depend on data); only layers that mix rows farther apart than
``p`` (none of Thinc's sequence layers) could see them.

``export(model, example)`` converts a list example to the Ragged once at the boundary and
exports the Ragged form with dynamic N and B: the program takes ``Ragged(data, lengths)``. Other
examples (Tensor, Ragged, Padded, tuples) export the model as it is; ``decompose=True`` gives a
program of ATen ops over plain tensors that loads without torchlayers (``deploy/decompose.py``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Tuple

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_map

from ..types import Ragged

if TYPE_CHECKING:
    from ..combinators.with_array import with_array

__all__ = ["ragged_form", "export", "packed_list_layout", "RaggedForm"]


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


class RaggedForm(nn.Module):
    """The rewritten steps of a model (see the module docstring): Ragged -> the model's output."""

    def __init__(self, steps: List[nn.Module], source: nn.Module) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)
        self.source_name = getattr(source, "name", type(source).__name__)

    def forward(self, X: Any) -> Any:
        if not isinstance(X, Ragged):
            raise TypeError(
                f"ragged_form({self.source_name}): expected a Ragged(data, lengths) (the packed list of docs), "
                f"got {type(X).__name__}; convert a list once with torchlayers.list2ragged()(docs)"
            )
        for step in self.steps:
            X = step(X)
        return X


def _rewrite(model: nn.Module, kind: str, steps: List[nn.Module]) -> str:
    """Append ``model``'s Ragged-form steps; ``kind`` is what flows in ('list' packed, or 'value')."""
    from ..combinators.chain import chain
    from ..combinators.with_array import with_array
    from ..modules.list2ragged import list2ragged
    from ..modules.ragged2list import ragged2list

    if isinstance(model, chain):
        for layer in model.layers:
            kind = _rewrite(layer, kind, steps)
        return kind
    if isinstance(model, list2ragged):
        if kind != "list":
            raise TypeError(f"ragged_form: {model.name} expects a list, but it follows a layer that returns a {kind}")
        return "value"
    if isinstance(model, ragged2list):
        return "list"
    if isinstance(model, with_array) and kind == "list":
        steps.append(PackedWithArray(model))
        return "list"
    if kind == "list":
        raise TypeError(
            f"ragged_form: {model.name} takes a list, which the Ragged form has no rule for "
            "(rules: list2ragged, ragged2list, with_array, chain); call the model eagerly on the list instead"
        )
    steps.append(model)
    return "value"


def ragged_form(model: nn.Module) -> RaggedForm:
    """A module equal to ``model`` on lists of docs, taking and returning their packed Ragged form."""
    steps: List[nn.Module] = []
    _rewrite(model, "list", steps)
    return RaggedForm(steps, model)


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
    from .decompose import FlatForm, decompose_program, flat_dynamic_shapes

    module, X = _program_input(model, example)
    spec = _default_dims(X) if dynamic_shapes is None else dynamic_shapes
    module = module.eval()
    if not decompose:
        return torch.export.export(module, (X,), dynamic_shapes=(spec,), strict=strict)
    where = "torchlayers.deploy.export"
    flat = FlatForm(module, X, where)
    leaves = tree_flatten(X)[0]
    leaf_dims = flat_dynamic_shapes(spec, len(leaves), where)
    ep = torch.export.export(flat, tuple(leaves), dynamic_shapes=(leaf_dims,), strict=strict)  # (the *leaves)
    return decompose_program(ep, where)
