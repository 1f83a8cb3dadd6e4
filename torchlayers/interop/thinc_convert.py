"""Convert between Thinc 8.3.14 models and torchlayers models, and load Thinc's bytes.

- ``from_thinc(thinc_model)``: rebuild the same node tree from torchlayers layers (names,
  dims, attrs) and copy every parameter through ``set_param``; outputs match Thinc's.
- ``to_thinc(model)``: the reverse, for the layers Thinc has.
- ``load_thinc_bytes(model, data)`` / ``load_thinc_disk(model, path)``: read what Thinc's
  ``to_bytes``/``to_disk`` wrote into a torchlayers model with the same node tree (strict).

Nothing here restates a constructor. The table is derived from the registry: every registered
name with a node class (``registry.layers.node_classes()``) is matched with Thinc's function of
the same name, and Thinc's unregistered layer functions (``map_list``, ``ints_getitem``...) with
the torchlayers class of the same name; a Thinc node is recognised by the identity of its
forward function, the one that function builds its node with (a module function named for a
forward that takes ``is_train``). A user's own Thinc layer is never mistaken for one of ours,
whatever its name or module. Each node is built by calling the constructor with its arguments
read from the node by name (``arguments``): a dim, an attr, a Thinc naming convention
(``_CONVENTIONS``), a child layer, or the default. A class with its own mapping defines
``from_thinc_node(node, children)`` (a classmethod) and ``thinc_arguments(thinc_fn, children)``
(resizable, with_cpu, ReluK). Thinc's callback wrappers (``with_debug``, ``with_nvtx_range``,
``with_signpost_interval``: the same layer, its forward swapped for a closure) convert to ours
around the converted layer, their arguments read from the closures, and back. Thinc is
imported lazily: only these functions need it.

This module walks the trees (``from_thinc``, ``to_thinc``, ``copy_thinc_state``); the rest is in
``thinc_kinds`` (the table, derived), ``thinc_arguments`` (arguments read by name, the values both
libraries share), ``thinc_callbacks`` (the callback wrappers) and ``thinc_bytes`` (Thinc's bytes),
and every name is importable from here as before.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy

from ..model import Model
from ..registry import registry
from .thinc_arguments import _CONVENTIONS as _CONVENTIONS
from .thinc_arguments import _EMPTY as _EMPTY
from .thinc_arguments import _plain, _same_value, _tree_options, arguments
from .thinc_arguments import _shim_model as _shim_model
from .thinc_arguments import _takes_model as _takes_model
from .thinc_arguments import same_named as same_named
from .thinc_bytes import _load_pytorch_shim as _load_pytorch_shim
from .thinc_bytes import _name_of as _name_of
from .thinc_bytes import _node_difference as _node_difference
from .thinc_bytes import _short as _short
from .thinc_bytes import _thinc_message as _thinc_message
from .thinc_bytes import load_thinc_bytes as load_thinc_bytes
from .thinc_bytes import load_thinc_disk as load_thinc_disk
from .thinc_bytes import node_paths as node_paths
from .thinc_callbacks import _callback_wrappers, _marks, _rewrap, _unwrap_callbacks
from .thinc_callbacks import _closure_cells as _closure_cells
from .thinc_kinds import _forwards as _forwards
from .thinc_kinds import _is_forward as _is_forward
from .thinc_kinds import _key, _node_kinds, _thinc_names_of, thinc_table
from .thinc_kinds import _spacy_kinds as _spacy_kinds
from .thinc_kinds import _thinc_api as _thinc_api
from .thinc_kinds import _thinc_layer_modules as _thinc_layer_modules
from .thinc_kinds import _unregistered_kinds as _unregistered_kinds
from .thinc_kinds import same_thinc_kind as same_thinc_kind

__all__ = [
    "from_thinc", "to_thinc", "load_thinc_bytes", "load_thinc_disk", "arguments", "thinc_table", "same_named",
    "same_thinc_kind", "node_paths",
]


# ------------------------------------------------------------------------------ from_thinc
def _disagreements(ours: Model, node: Any) -> List[str]:
    skip = _tree_options(type(ours))
    return [key for key in node.attrs
            if key in ours.attrs and key not in skip and not _same_value(ours.attrs[key], node.attrs[key])]


def _takes_name(cls: type) -> bool:
    try:
        return "name" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _build_from_node(cls: type, node: Any, children: List[Model]) -> Model:
    hook = getattr(cls, "from_thinc_node", None)
    if hook is not None:
        return hook(node, children)
    args, kwargs = arguments(cls, node, children)
    return cls(*args, **kwargs)


def _defined_by(forward: Any) -> Tuple[str, str]:
    """``(library label, where)`` of a node's forward: spaCy's nodes are labelled spaCy (their
    modules are ``spacy.*``), everything else a Thinc layer (Thinc's own or a user's)."""
    module = getattr(forward, "__module__", None) or "?"
    where = f"{module}.{getattr(forward, '__qualname__', forward)}"
    return ("spaCy" if module.split(".")[0] == "spacy" else "thinc"), where


def _unsupported(node: Any, forward: Any, path: str, table: Dict[Any, List[type]]) -> str:
    """One line of from_thinc's error: where the node sits, what it is, who defines it."""
    library, where = _defined_by(forward)
    names = _thinc_names_of(forward)
    registered = "Thinc" if library == "thinc" else "spaCy"
    if names:  # spaCy registers its layers in Thinc's registry too (spacy.extract_spans.v1)
        kind = f"that of {registered}'s registered {', '.join(names)}"
    else:
        kind = f"no registered {registered} layer's"
    if library == "spaCy":
        from .spacy.kinds import hint

        kind = f"{kind} (defined by spaCy, module {forward.__module__}){hint(forward)}"
    elif where.startswith("thinc."):
        kind = f"{kind} (defined by Thinc, module {forward.__module__})"
    return (f"{path}: no torchlayers equivalent for {library} layer {node.name!r}: its forward {where} is {kind}; "
            f"torchlayers converts the {len(table)} node kinds of the Thinc and spaCy layers it implements")


def from_thinc(thinc_model: Any, *, replace: Optional[Dict[int, Any]] = None, root: Optional[str] = None,
               record: Optional[List[Tuple[Model, Any]]] = None) -> Model:
    """A torchlayers model with the node tree, dims, attrs and parameters of ``thinc_model``.

    ``replace`` maps ``id(node)`` of nodes of the tree to the node converted in their place
    (spaCy's listeners: the upstream tok2vec); ``root`` names the root in error paths (default
    its name); ``record``, a list, receives (our node, the Thinc node it came from) per node.
    Every node without a torchlayers kind is listed in one ValueError, each with its path in the
    tree, its forward and the library defining it."""
    table = thinc_table()
    callback_wrappers = _callback_wrappers()
    replace = dict(replace or {})
    built: Dict[int, Optional[Model]] = {}
    pairs: List[Tuple[Model, Any]] = []
    problems: List[str] = []

    def convert(node: Any, path: str) -> Optional[Model]:
        if id(node) in replace:
            spliced = replace[id(node)]
            path = f"{path} [{node.name!r} spliced: {spliced.name}]"
            node = spliced
        if id(node) in built:  # shared nodes stay shared
            return built[id(node)]
        forward, wrappers = _unwrap_callbacks(node, callback_wrappers)
        candidates = table.get(_key(forward), [])
        children = [convert(child, f"{path}.layers[{i}]") for i, child in enumerate(node.layers)]
        if not candidates:
            problems.append(_unsupported(node, forward, f"{path} ({node.name})" if path != node.name else path, table))
            built[id(node)] = None
            return None
        if any(child is None for child in children):
            built[id(node)] = None
            return None  # a node below has no kind: listed once, there
        # classes that name themselves first: a node they build under its name is theirs
        # (ints-getitem is ints_getitem, not an array_getitem given that name)
        candidates = sorted(candidates, key=_takes_name)
        tried = []
        agreeing: List[Model] = []
        for cls in candidates:
            try:
                ours = _build_from_node(cls, node, cast(List[Model], children))
            except (TypeError, ValueError) as e:
                tried.append(f"{cls.__name__} ({e})")
                continue
            bad = _disagreements(ours, node)
            if not bad and len(ours.layers) == len(children):
                agreeing.append(ours)
                if ours.name == node.name:
                    break
            tried.append(
                f"{cls.__name__} (attrs {bad} differ)" if bad else f"{cls.__name__} ({len(ours.layers)} children)"
            )
        if not agreeing:
            problems.append(f"{path}: from_thinc: {_defined_by(forward)[0]} layer {node.name!r} matches none of its "
                            f"torchlayers kinds: {tried}")
            built[id(node)] = None
            return None
        # the first that agrees on attrs and children, by name when several do (ints-getitem vs array-getitem)
        chosen = next((m for m in agreeing if m.name == node.name), agreeing[0])
        chosen.name = node.name
        for key in _tree_options(type(chosen)):
            if key in chosen.attrs and key not in node.attrs:
                del chosen.attrs[key]  # where the facade moved it (Embed's column, on the chain)
        pairs.append((chosen, node))
        for name, cells in wrappers:  # Thinc's with_debug / with_nvtx_range...: the same layer, marked
            chosen = _rewrap(chosen, name, cells)
        built[id(node)] = chosen
        return chosen

    ours = convert(thinc_model, root or thinc_model.name)
    if problems:
        if len(problems) == 1:
            raise ValueError(f"from_thinc: {problems[0]}. Rebuild it with torchlayers layers and copy its weights "
                             "with set_param")
        listed = "\n".join(f"  - {line}" for line in problems)
        raise ValueError(f"from_thinc: {len(problems)} nodes cannot be converted:\n{listed}\nRebuild them with "
                         "torchlayers layers and copy their weights with set_param")
    for mine, theirs in reversed(pairs):  # parents first, as the walk
        _copy_node_state(mine, theirs)
    if record is not None:
        record.extend(pairs)
    return cast(Model, ours)


def copy_thinc_state(thinc_model: Any, ours: Model) -> None:
    """Copy dims, JSON-able attrs and params node by node (walk order must match)."""
    theirs = list(thinc_model.walk())
    mine = ours.walk()
    if [n.name for n in theirs] != [n.name for n in mine]:
        raise ValueError(
            f"from_thinc: node trees differ: thinc {[n.name for n in theirs]} vs torchlayers {[n.name for n in mine]}"
        )
    for a, b in zip(mine, theirs):
        _copy_node_state(a, b)


def _copy_node_state(a: Model, b: Any) -> None:
    """Thinc node ``b``'s dims, JSON-able attrs and params into our node ``a``."""
    for dim in b.dim_names:
        if b.has_dim(dim) and a.has_dim(dim) is not False:
            a.set_dim(dim, b.get_dim(dim))
    for key, value in b.attrs.items():
        if _plain(value):
            a.attrs[key] = value  # attrs Thinc keeps on the node (column on an Embed chain...) come along
    for name in b.param_names:
        if b.has_param(name):
            a.set_param(name, numpy.ascontiguousarray(b.get_param(name)))


# ------------------------------------------------------------------------------ to_thinc
def _thinc_function(node: Model, cls: type, kinds: Sequence[Tuple[type, Callable[..., Any]]]) -> Callable[..., Any]:
    """Thinc's function building the node kind of our class ``cls`` (from ``_node_kinds()``; a
    subclass inherits the name, not the kind)."""
    fn = next((fn for ours, fn in kinds if ours is cls), None)
    if fn is not None:
        return fn
    name = getattr(cls, "registry_name", None)
    if name is not None and registry.layers.node_class(name) is cls:
        raise ValueError(f"to_thinc: {node.name!r} ({cls.__name__}, {name!r}) has no counterpart in thinc's registry")
    raise ValueError(f"to_thinc: {node.name!r} ({cls.__name__}) is no registered layer: thinc has no counterpart")


def to_thinc(model: Model) -> Any:
    """A thinc model with the same node tree and parameters (for layers thinc has)."""
    built: Dict[int, Any] = {}
    kinds = _node_kinds()

    def convert(node: Model) -> Any:
        if id(node) in built:
            return built[id(node)]
        children = [convert(child) for child in cast(List[Model], list(node.layers))]
        cls, marks = _marks(node)
        fn = _thinc_function(node, cls, kinds)
        hook = getattr(node, "thinc_arguments", None)
        if hook is not None:
            args, kwargs = hook(fn, children)
        else:
            # the facade's tree options (Embed's column...) would make thinc build a tree around the node
            args, kwargs = arguments(fn, node, children, skip=_tree_options(type(node)))
        theirs = fn(*args, **kwargs)
        theirs.name = node.name
        for name, options in marks:  # our with_debug / with_nvtx_range...: Thinc's, around the same layer
            try:
                theirs = getattr(importlib.import_module("thinc.layers"), name)(theirs, **options)
            except ValueError as e:  # with_signpost_interval off macOS
                raise ValueError(f"to_thinc: {node.name!r}: thinc's {name} refuses it: {e}") from None
        built[id(node)] = theirs
        return theirs

    theirs = convert(model)
    for a, b in zip(model.walk(), list(theirs.walk())):
        for key in [k for k, v in b.attrs.items() if k not in a.attrs and _plain(v)]:
            del b.attrs[key]  # attrs the facade moved (Embed's column on its chain)
        for key, value in a.attrs.items():
            if _plain(value):
                b.attrs[key] = value
        for dim in a.dim_names:
            if a.has_dim(dim) and b.has_dim(dim) is not False and b.has_dim(dim) is None:
                b.set_dim(dim, a.get_dim(dim))
        if all(a.has_param(p) for p in a.param_names):
            for name in a.param_names:
                b.set_param(name, a.get_param_tensor(name).detach().cpu().numpy().copy())
    return theirs

