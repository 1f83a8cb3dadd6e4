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
"""
from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import inspect
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy

from ..errors import ModelFileError
from ..model import Model
from ..registry import registry

__all__ = ["from_thinc", "to_thinc", "load_thinc_bytes", "load_thinc_disk", "arguments", "thinc_table", "same_named"]

_EMPTY = inspect.Parameter.empty


def _thinc_api() -> Any:
    try:
        import thinc.api as thinc_api
    except ImportError as e:  # pragma: no cover - thinc is a test dependency
        raise ImportError("to_thinc/from_thinc need thinc: pip install thinc==8.3.14") from e
    return thinc_api


# ------------------------------------------------------------------------------ reading arguments
def _shim_model(node: Any) -> Any:
    shims = list(getattr(node, "shims", []) or [])
    if len(shims) != 1:
        raise ValueError(f"{node.name}: expected one shim holding the wrapped model, got {len(shims)}")
    return copy.deepcopy(shims[0]._model)


#: Constructor arguments Thinc stores on the node under another name (same in both libraries).
_CONVENTIONS: Dict[str, Callable[[Any], Any]] = {
    "dropout": lambda n: n.attrs["dropout_rate"] if "dropout_rate" in n.attrs else None,
    "rate": lambda n: n.attrs["dropout_rate"],
    "normalize_outputs": lambda n: n.attrs["softmax_normalize"],
    "temperature": lambda n: n.attrs["softmax_temperature"],
    "bi": lambda n: n.get_dim("dirs") == 2,
    "name": lambda n: n.name,
    "pytorch_model": _shim_model,
    "tensorflow_model": _shim_model,
    "mxnet_model": _shim_model,
}


def _takes_model(param: inspect.Parameter) -> bool:
    return "Model" in str(param.annotation)


def arguments(
    fn: Callable[..., Any], node: Any, children: Sequence[Any], skip: Sequence[str] = ()
) -> Tuple[list, dict]:
    """``(args, kwargs)`` for ``fn`` read from ``node`` (either library's): each parameter is the
    node's dim of that name, else its attr (callables excepted: converters belong to their
    library), else a ``_CONVENTIONS`` entry, else the next child (parameters typed Model; ``*layers``
    takes the rest), else its default. ``skip`` parameters keep their defaults."""
    args: list = []
    kwargs: dict = {}
    rest = list(children)
    for param in inspect.signature(fn).parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            args.extend(rest)
            rest = []
            continue
        if param.kind is param.VAR_KEYWORD or param.name in skip:
            continue
        name = param.name
        if name in node.dim_names:
            value = node.get_dim(name) if node.has_dim(name) else None
        elif name in node.attrs and not callable(node.attrs[name]):
            value = node.attrs[name]
        elif name in _CONVENTIONS:
            value = _CONVENTIONS[name](node)
        elif _takes_model(param) and rest:
            value = rest.pop(0)
        elif param.default is not _EMPTY:
            continue
        else:
            raise ValueError(
                f"{node.name}: cannot read argument {name!r} of {getattr(fn, '__qualname__', fn)} from the node "
                f"(no dim, attr or child of that name); give the class a from_thinc_node/thinc_arguments hook"
            )
        if param.kind is param.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            if kwargs:  # an earlier positional parameter was left to its default
                kwargs[name] = value
            else:
                args.append(value)
    if rest:
        raise ValueError(
            f"{node.name}: {len(rest)} child layer(s) left over after filling {getattr(fn, '__qualname__', fn)}"
        )
    return args, kwargs


def same_named(fn: Any, source: str, target: str, where: str) -> Any:
    """The function of module ``target`` named like ``fn``, a function of module ``source``
    (Thinc's ``resize_linear_weighted`` <-> ours); a ``functools.partial`` keeps its arguments."""
    if isinstance(fn, functools.partial):
        return functools.partial(same_named(fn.func, source, target, where), *fn.args, **fn.keywords)
    name = getattr(fn, "__name__", None)
    src, dst = importlib.import_module(source), importlib.import_module(target)
    if name is None or getattr(src, name, None) is not fn or not callable(getattr(dst, name, None)):
        raise ValueError(
            f"{where}: {fn!r} is no function of {source} with a counterpart in {target}, so it cannot be converted "
            f"(it works on the other library's layers); rebuild the layer with a function of {target}"
        )
    return getattr(dst, name)


# ------------------------------------------------------------------------------ the table, derived
def _thinc_layer_modules() -> List[Any]:
    """The modules of ``thinc.layers`` that define its public layer functions."""
    thinc_layers = importlib.import_module("thinc.layers")
    names = {getattr(getattr(thinc_layers, n), "__module__", None) for n in thinc_layers.__all__}
    return [sys.modules[n] for n in sorted(n for n in names if n and n.startswith("thinc.layers."))]


def _unregistered_kinds() -> List[Tuple[type, Callable[..., Any]]]:
    """Thinc's node-building functions outside its registry (``map_list``, ``array_getitem``,
    ``ints_getitem``...): every public function of a ``thinc.layers`` module that is not registered
    and has a torchlayers node class of the same name (``torchlayers.map_list``)."""
    import torchlayers

    registered = {id(fn) for fn in _thinc_api().registry.layers.get_all().values()}
    kinds = []
    for module in _thinc_layer_modules():
        for name, fn in vars(module).items():
            if name.startswith("_") or id(fn) in registered or isinstance(fn, type) or not callable(fn):
                continue
            ours = getattr(torchlayers, name, None)
            same_module = getattr(fn, "__module__", None) == module.__name__
            if same_module and isinstance(ours, type) and issubclass(ours, Model):
                kinds.append((ours, fn))
    return kinds


def _spacy_kinds(load: bool = False) -> List[Tuple[type, Callable[..., Any]]]:
    """(our node class, spaCy's function building that node kind or its forward): the rows of
    ``torchlayers/interop/spacy/kinds.py``, consulted only when spaCy is imported (a spaCy node
    exists only then) or, with ``load``, installed (to_thinc of a spaCy node kind)."""
    if "spacy" not in sys.modules and not (load and importlib.util.find_spec("spacy") is not None):
        return []
    from .spacy.kinds import spacy_kinds

    return [(cls, fn) for fn, cls in spacy_kinds()]


def _node_kinds(load_spacy: bool = False) -> List[Tuple[type, Callable[..., Any]]]:
    """(our node class, Thinc's function building that node kind): the registered names in
    registry order, then Thinc's unregistered layer functions (``_unregistered_kinds``), then
    spaCy's node kinds (``_spacy_kinds``) when spaCy is imported."""
    ta = _thinc_api()
    kinds = []
    for name, cls in registry.layers.node_classes().items():
        if name in ta.registry.layers:
            kinds.append((cls, ta.registry.layers.get(name)))
    return kinds + _unregistered_kinds() + _spacy_kinds(load_spacy)


def _key(forward: Any) -> Any:
    """A forward function's identity: its code object (closures share it), else the function."""
    return getattr(forward, "__code__", None) or forward


def _is_forward(obj: Any) -> bool:
    """Whether ``obj`` is a Thinc forward function: ``(model, X, is_train)`` (init takes ``Y``)."""
    if not callable(obj) or isinstance(obj, type):
        return False
    try:
        return "is_train" in inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return False


def _forwards(fn: Callable[..., Any]) -> List[Any]:
    """Keys of the forward functions a Thinc creation function builds its node with: the module
    functions its code names that are named for a forward and take ``is_train``
    (``Model("maxout", forward, ...)``, ``Model(..., tuplify_forward, ...)``; converters such as
    ``convert_pytorch_default_inputs`` take ``is_train`` too), else its module's ``forward``
    (cython layers, chain.v1's untyped wrapper). A forward itself (a spaCy row may name one) is
    its own key."""
    if _is_forward(fn):
        return [_key(fn)]
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    if module is None:
        return []
    code = getattr(fn, "__code__", None)
    names = code.co_names if code is not None else ()
    found = [module.__dict__[n] for n in names if "forward" in n and _is_forward(module.__dict__.get(n))]
    if not found and callable(getattr(module, "forward", None)):
        found = [module.forward]
    return [_key(f) for f in found]


def thinc_table() -> Dict[Any, List[type]]:
    """Thinc forward (``_key``) -> our node classes that build that node kind (first match wins)."""
    table: Dict[Any, List[type]] = {}
    for cls, fn in _node_kinds():
        for forward in _forwards(fn):
            classes = table.setdefault(forward, [])
            if cls not in classes:
                classes.append(cls)
    return table


def same_thinc_kind(a: type, b: type) -> bool:
    """Whether two of our node classes build the same Thinc node kind (Thinc's PyTorchWrapper
    v1/v2/v3 nodes are indistinguishable: one forward, the same attrs and shim)."""
    return any(a in classes and b in classes for classes in thinc_table().values())


def _thinc_names_of(forward: Any) -> List[str]:
    ta = _thinc_api()
    return sorted(name for name, fn in ta.registry.layers.get_all().items() if _key(forward) in _forwards(fn))


# ------------------------------------------------------------------------------ callback wrappers
def _callback_wrappers() -> Dict[Any, str]:
    """Thinc's functions that return the same layer with its forward and init swapped for closures
    over the originals (``with_debug``, ``with_nvtx_range``, ``with_signpost_interval``: those
    calling ``replace_callbacks``): the code of the forward closure each installs -> its name.
    Our function of the same name marks our layer the same way."""
    thinc_layers = importlib.import_module("thinc.layers")
    wrappers = {}
    for name in thinc_layers.__all__:
        code = getattr(getattr(thinc_layers, name), "__code__", None)
        if code is not None and "replace_callbacks" in code.co_names:
            for const in code.co_consts:
                if inspect.iscode(const) and const.co_name == "forward":
                    wrappers[const] = name
    return wrappers


def _closure_cells(*fns: Any) -> Dict[str, Any]:
    cells: Dict[str, Any] = {}
    for fn in fns:
        if fn is not None and getattr(fn, "__closure__", None):
            cells.update(zip(fn.__code__.co_freevars, (cell.cell_contents for cell in fn.__closure__)))
    return cells


def _unwrap_callbacks(node: Any, wrappers: Dict[Any, str]) -> Tuple[Any, List[Tuple[str, Dict[str, Any]]]]:
    """``(the layer's own forward, the callback wrappers around it, innermost first)``; each
    wrapper is its Thinc name and the values its closures hold (``name``, ``forward_color``,
    ``on_forward``, ``signposter``...); ``wrappers`` is ``_callback_wrappers()``."""
    forward, init = getattr(node, "_func", None), getattr(node, "init", None)
    found = []
    while (code := getattr(forward, "__code__", None)) in wrappers:
        cells = _closure_cells(forward, init)
        found.append((wrappers[code], cells))
        forward, init = cells["orig_forward"], cells.get("orig_init")
    return forward, found[::-1]


def _rewrap(layer: Model, name: str, cells: Dict[str, Any]) -> Model:
    """Our ``name`` (``torchlayers.with_nvtx_range``...) around ``layer``, its arguments read by
    name from a Thinc wrapper's closure cells."""
    import torchlayers

    fn = getattr(torchlayers, name, None)
    if fn is None:
        raise ValueError(f"from_thinc: {layer.name!r} is wrapped by thinc's {name}, which torchlayers lacks; "
                         f"convert the layer before wrapping it")
    params = list(inspect.signature(fn).parameters.values())[1:]
    missing = [p.name for p in params if p.name not in cells and p.default is _EMPTY]
    if missing:
        raise ValueError(
            f"from_thinc: {layer.name!r}: thinc's {name} closure holds no {missing}; rebuild it with torchlayers.{name}"
        )
    kwargs = {p.name: cells[p.name] for p in params if p.name in cells}
    return fn(layer, **kwargs)


def _marks(node: Model) -> Tuple[type, List[Tuple[str, Dict[str, Any]]]]:
    """Our with_debug / with_nvtx_range / with_signpost_interval mark a layer by swapping its
    class for a subclass: ``(the layer's own class, the marks as Thinc wrapper names and
    arguments, innermost first)``."""
    cls, marks = type(node), []
    while "_debug_base" in vars(cls) or "_phase_base" in vars(cls):
        if "_debug_base" in vars(cls):
            marks += [("with_debug", hooks._asdict()) for hooks in vars(node)["_debug_hooks"]]  # latest first
            cls = vars(cls)["_debug_base"]
        else:
            marks += [(phases.wrapper, dict(phases.options)) for phases in reversed(vars(node)["_phase_intervals"])]
            cls = vars(cls)["_phase_base"]
    return cls, marks[::-1]


def _same_value(a: Any, b: Any) -> bool:
    if callable(getattr(a, "items", None)) and callable(getattr(b, "items", None)):
        return dict(a.items()) == dict(b.items())  # mappings (premap_ids' table is a PreshMap in Thinc)
    if callable(a) and callable(b):
        return getattr(a, "__name__", None) == getattr(b, "__name__", None)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # arrays and other values without a plain ==
        return False


def _plain(value: Any) -> bool:
    """Attr values that mean the same in both libraries (not converters, arrays or models)."""
    return isinstance(value, (int, float, str, bool, tuple, type(None)))


def _tree_options(cls: type) -> Tuple[str, ...]:
    """The options the facade function of ``cls`` applies around the node (HashEmbed's column):
    copied with the node's state, never passed to a constructor."""
    name = getattr(cls, "registry_name", None)
    if not isinstance(name, str) or name not in registry.layers:
        return ()
    return tuple(getattr(registry.layers.get(name), "tree_options", ()))


def _disagreements(ours: Model, node: Any) -> List[str]:
    skip = _tree_options(type(ours))
    return [key for key in node.attrs
            if key in ours.attrs and key not in skip and not _same_value(ours.attrs[key], node.attrs[key])]


# ------------------------------------------------------------------------------ from_thinc
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
