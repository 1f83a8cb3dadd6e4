"""The conversion table, derived: which Thinc node kinds (recognised by the identity of their forward
function) each torchlayers node class builds.

Every registered name with a node class (``registry.layers.node_classes()``) is matched with Thinc's
function of the same name, Thinc's unregistered layer functions (``map_list``, ``ints_getitem``...)
with the torchlayers class of the same name, and spaCy's node kinds (``spacy/kinds.py``) while spaCy
is imported; a Thinc function's node kind is the forward it builds its node with (``_forwards``).
Thinc is imported lazily (``_thinc_api``).
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from typing import Any, Callable, Dict, List, Tuple

from ..model import Model
from ..registry import registry


def _thinc_api() -> Any:
    try:
        import thinc.api as thinc_api
    except ImportError as e:  # pragma: no cover - thinc is a test dependency
        raise ImportError("to_thinc/from_thinc need thinc: pip install thinc==8.3.14") from e
    return thinc_api


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

