"""Reading a node's constructor arguments by name, in either library (``arguments``), and the values
both libraries share: Thinc's naming conventions (``_CONVENTIONS``), attr values that mean the same on
both sides (``_plain``, ``_same_value``), the facade's tree options (``_tree_options``) and functions
paired by name across the two (``same_named``). Used by ``thinc_convert`` in both directions.
"""
from __future__ import annotations

import copy
import functools
import importlib
import inspect
from typing import Any, Callable, Dict, Sequence, Tuple

from ..registry import registry

_EMPTY = inspect.Parameter.empty


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

