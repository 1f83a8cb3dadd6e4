"""Thinc's callback wrappers (``with_debug``, ``with_nvtx_range``, ``with_signpost_interval``: the
same layer, its forward and init swapped for closures over the originals) and ours (the same layer,
its class swapped for a marking subclass): unwrapping Thinc's into their names and closure values
(``_unwrap_callbacks``), rebuilding ours from those (``_rewrap``), and reading ours back
(``_marks``) for ``to_thinc``.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Dict, List, Tuple

from ..model import Model
from .thinc_arguments import _EMPTY


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

