"""A function registry that accepts Thinc's versioned names (``"Linear.v1"`` ...).

``registry.layers("Linear.v1")(fn)`` registers; ``registry.resolve(config)`` builds objects
from a Thinc/spaCy-style config dict whose nodes carry ``"@layers"``/``"@initializers"`` keys.

Registering is the one place a layer gets its ``registry_name``: a class registered directly
(``@registry.layers("Linear.v1") class Linear``), or the node class a facade function builds
(``registry.layers("Maxout.v1", node=Maxout)`` on ``torchlayers.api.Maxout``), gets
``cls.registry_name = name``; ``node_classes()`` is what ``thinc_convert`` derives its table from.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional


class Catalog:
    """One namespace of the registry (``layers``, ``initializers``)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._entries: Dict[str, Callable[..., Any]] = {}
        self._nodes: Dict[str, type] = {}

    def __call__(self, name: str, *, node: Optional[type] = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            return self.register(name, fn, node=node)

        return register

    def register(self, name: str, fn: Callable[..., Any], *, node: Optional[type] = None) -> Callable[..., Any]:
        """Register ``fn`` as ``name``; ``node`` (default: ``fn`` itself when it is a class) is the
        class of the node ``fn`` builds, which gets ``registry_name = name``."""
        if name in self._entries and self._entries[name] is not fn:
            raise ValueError(f"registry.{self.namespace}: {name!r} is already registered to {self._entries[name]!r}")
        if node is None and isinstance(fn, type):
            node = fn
        if node is not None:
            owner = next((n for n, c in self._nodes.items() if c is node and n != name), None)
            if owner is not None:
                raise ValueError(
                    f"registry.{self.namespace}: cannot register {name!r} for {node.__name__}: that class is "
                    f"already registered as {owner!r}; one class is one Thinc node kind"
                )
            node.registry_name = name  # type: ignore[attr-defined]
            self._nodes[name] = node
        try:
            fn.registry_name = name  # type: ignore[attr-defined]  # the facade function says its name too
        except (AttributeError, TypeError):
            pass
        self._entries[name] = fn
        return fn

    def node_class(self, name: str) -> Optional[type]:
        """The class of the node ``name`` builds (None for functions that build trees, like clone)."""
        return self._nodes.get(name)

    def node_classes(self) -> Dict[str, type]:
        return dict(self._nodes)

    def get(self, name: str) -> Callable[..., Any]:
        if name not in self._entries:
            close = sorted(n for n in self._entries if n.split(".")[0].lower() == name.split(".")[0].lower())
            hint = f"; did you mean {close}?" if close else f"; registered: {len(self._entries)} names"
            raise KeyError(f"registry.{self.namespace}: no function registered as {name!r}{hint}")
        return self._entries[name]

    def get_all(self) -> Dict[str, Callable[..., Any]]:
        return dict(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries


class Registry:
    def __init__(self) -> None:
        self.layers = Catalog("layers")
        self.initializers = Catalog("initializers")
        self.losses = Catalog("losses")

    def resolve(self, config: Any) -> Any:
        """Build the objects a nested config describes (depth first, like confection)."""
        if isinstance(config, dict):
            refs = [k for k in config if k.startswith("@")]
            if len(refs) > 1:
                raise ValueError(f"registry.resolve: a block may name one function, got {refs}")
            args = {k: self.resolve(v) for k, v in config.items() if not k.startswith("@")}
            if not refs:
                return args
            namespace = refs[0][1:]
            catalog = getattr(self, namespace, None)
            if not isinstance(catalog, Catalog):
                raise KeyError(f"registry.resolve: unknown namespace {refs[0]!r}; known: @layers, @initializers, @losses")
            fn = catalog.get(config[refs[0]])
            variadic = args.pop("*", None)  # confection's variadic block: {"*": {"1": ..., "2": ...}}
            positional = list(variadic.values()) if isinstance(variadic, dict) else list(variadic or [])
            return fn(*positional, **args)
        if isinstance(config, list):
            return [self.resolve(v) for v in config]
        return config


registry = Registry()
