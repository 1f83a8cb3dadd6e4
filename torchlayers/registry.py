"""``torchlayers.registry``: Thinc's function registry and config system, building torchlayers layers.

Use ``torchlayers.registry`` (never ``thinc.registry``) to build torchlayers models from a config::

    from torchlayers import registry   # not thinc.registry
    CONFIG = '''
    [model]
    @layers = "chain.v1"

    [model.*.hidden]
    @layers = "Relu.v1"
    nO = ${vars.width}

    [model.*.hidden.init_W]
    @initializers = "glorot_uniform_init.v1"

    [model.*.out]
    @layers = "Softmax.v2"

    [vars]
    width = 32
    '''
    model = registry.resolve(CONFIG)["model"]

It is built like Thinc's (``thinc/config.py``): a class whose namespaces are ``catalogue`` registries,
here under the ``"torchlayers"`` catalogue namespace so no name collides with Thinc's entries, resolved
by a subclass of ``confection.registry``. Namespaces: ``layers``, ``initializers``, ``losses``,
``optimizers`` (factories of ``torch.optim`` optimizers, ``torchlayers.optimizers``), ``schedules`` and
``architectures`` (spaCy's ``spacy.*`` model architectures, ``torchlayers.architectures``);
``registry.create(name)`` adds one.
Third-party packages register through the entry-point groups ``torchlayers_layers``,
``torchlayers_initializers``, ``torchlayers_losses``, ``torchlayers_optimizers``,
``torchlayers_schedules`` and ``torchlayers_architectures`` (catalogue's ``<namespace>_<registry>``).

``resolve`` takes a ``Config``, a dict, a config string or a path to a ``.cfg`` file: ``${...}``
interpolation, ``*`` variadic blocks and sections work as in Thinc. ``fill`` adds the defaults of
every function's signature; both validate argument types against the signatures (pydantic) and raise
``ConfigValidationError`` naming the function, the block's path and argument
(``model -> * -> hidden -> nO``) and the problem. A
single block (``{"@layers": "Linear.v1", "nO": 3}``) resolves to its object.

Which library builds the model. Thinc's and torchlayers' layer names are the same on purpose
(``"chain.v1"``, ``"Relu.v1"``), so a config does not say which library it means. What happens on a
mix-up:

- ``thinc.registry.resolve`` on a torchlayers config builds Thinc layers; nothing in Thinc can tell.
  To make a config refuse Thinc, write names with the ``torchlayers.`` prefix
  (``@layers = "torchlayers.chain.v1"``): torchlayers accepts both spellings, Thinc raises
  ``RegistryError: Can't find 'torchlayers.chain.v1'``. ``registry.qualify(config)`` rewrites every
  name torchlayers registers into that spelling. spaCy architectures (``@architectures``) need no
  prefix: ``thinc.registry`` has no such namespace and raises.
- ``torchlayers.registry.resolve`` never returns or builds with a Thinc model: a Thinc model given as
  a config value raises ``TypeError`` naming where it sits (convert it with ``torchlayers.from_thinc``);
  a name only Thinc registers raises ``KeyError`` saying it is Thinc's.
- A user's own function registered with ``@thinc.registry.layers(...)`` (defined outside the thinc
  package) is usable in a torchlayers config: torchlayers arguments are given to it as Thinc models
  (``torchlayers.to_thinc``) and the Thinc model it returns comes back converted
  (``torchlayers.from_thinc``), weights included. Registering it with ``@torchlayers.registry.layers``
  instead builds torchlayers layers directly.

Registering is the one place a layer gets its ``registry_name``: a class registered directly
(``@registry.layers("Linear.v1") class Linear``), or the node class a facade function builds
(``registry.layers("Maxout.v1", node=Maxout)`` on ``torchlayers.api.Maxout``), gets
``cls.registry_name = name``; ``registry.layers.node_classes()`` is what ``thinc_convert`` derives its
table from. Importing this module imports ``catalogue`` only; ``confection`` (and pydantic) load on
the first ``resolve``/``fill``.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Type

import catalogue

if TYPE_CHECKING:
    import confection

__all__ = ["PREFIX", "Catalog", "registry"]

#: The explicit spelling of a torchlayers name in a config: ``"torchlayers.chain.v1"``.
PREFIX = "torchlayers."


#: The module whose import registers a namespace's built-in names (imported on the first lookup).
_PROVIDERS = {"layers": "torchlayers", "initializers": "torchlayers.initializers", "losses": "torchlayers.losses",
              "optimizers": "torchlayers.optimizers", "schedules": "torchlayers.schedules",
              "architectures": "torchlayers.architectures"}


def _load_builtins(namespace: str) -> None:
    provider = _PROVIDERS.get(namespace)
    if provider is not None and provider not in sys.modules:
        importlib.import_module(provider)


def _bare(name: str) -> str:
    return name[len(PREFIX):] if isinstance(name, str) and name.startswith(PREFIX) else name


class Catalog(catalogue.Registry):
    """One namespace of the registry (``registry.layers``): a ``catalogue`` registry under
    ``("torchlayers", namespace)`` with entry points, names also accepted as ``"torchlayers.<name>"``."""

    def __init__(self, namespace: str, entry_points: bool = True) -> None:
        if catalogue.check_exists("torchlayers", namespace):
            raise ValueError(f"torchlayers.registry: namespace {namespace!r} already exists")
        super().__init__(("torchlayers", namespace), entry_points=entry_points)
        self.name = namespace
        self._nodes: Dict[str, type] = {}

    def __call__(self, name: str, func: Optional[Any] = None, *, node: Optional[type] = None) -> Any:
        if func is not None:
            return self.register(name, func, node=node)
        return lambda fn: self.register(name, fn, node=node)

    def register(self, name: str, func: Optional[Any] = None, *, node: Optional[type] = None) -> Any:
        """Register ``func`` as ``name``; ``node`` (default: ``func`` itself when it is a class) is the
        class of the node ``func`` builds, which gets ``registry_name = name``."""
        if func is None:
            return lambda fn: self.register(name, fn, node=node)
        name = _bare(name)
        key = (*self.namespace, name)
        if key in catalogue.REGISTRY and catalogue.REGISTRY[key] is not func:
            raise ValueError(f"registry.{self.name}: {name!r} is already registered to {catalogue.REGISTRY[key]!r}")
        if node is None and isinstance(func, type):
            node = func
        if node is not None:
            owner = next((n for n, c in self._nodes.items() if c is node and n != name), None)
            if owner is not None:
                raise ValueError(
                    f"registry.{self.name}: cannot register {name!r} for {node.__name__}: that class is "
                    f"already registered as {owner!r}; one class is one Thinc node kind"
                )
            node.registry_name = name  # type: ignore[attr-defined]
            self._nodes[name] = node
        try:
            func.registry_name = name  # type: ignore[union-attr]  # the facade function says its name too
        except (AttributeError, TypeError):
            pass
        catalogue._set(list(key), func)
        return func

    def node_class(self, name: str) -> Optional[type]:
        """The class of the node ``name`` builds (None for functions that build trees, like clone)."""
        return self._nodes.get(_bare(name))

    def node_classes(self) -> Dict[str, type]:
        return dict(self._nodes)

    def get_all(self) -> Dict[str, Any]:
        _load_builtins(self.name)
        return super().get_all()

    def __contains__(self, name: str) -> bool:
        _load_builtins(self.name)
        name = _bare(name)
        if (*self.namespace, name) in catalogue.REGISTRY:
            return True
        return bool(self.entry_points and any(ep.name == name for ep in self._get_entry_points()))

    def get(self, name: str) -> Any:
        _load_builtins(self.name)
        bare = _bare(name)
        key = (*self.namespace, bare)
        if key in catalogue.REGISTRY:
            return catalogue.REGISTRY[key]
        if self.entry_points:
            found = self.get_entry_point(bare)
            if found is not None:
                return found
        own = [n for n in self.get_all() if n.split(".")[0].lower() == str(bare).split(".")[0].lower()]
        hint = f"; did you mean {sorted(own)}?" if own else f"; registered: {len(self.get_all())} names"
        thinc = _thinc_registry()
        if thinc is not None and thinc.has(self.name, bare):
            hint += (f" ({bare!r} is in thinc.registry.{self.name}: torchlayers does not provide it, and "
                     "resolving it through thinc.registry would build a Thinc model)")
        raise KeyError(f"registry.{self.name}: no function registered as {name!r}{hint}")


def _thinc_registry() -> Any:
    """thinc.registry when thinc is already imported (never imports it)."""
    config = sys.modules.get("thinc.config")
    return getattr(config, "registry", None)


def _is_thinc_model(obj: Any) -> bool:
    module = sys.modules.get("thinc.model")
    return module is not None and isinstance(obj, module.Model)


def _find_thinc_models(obj: Any, path: str, found: List[str]) -> List[str]:
    if _is_thinc_model(obj):
        found.append(f"{path or '<top>'} ({type(obj).__module__}.{type(obj).__name__} {obj.name!r})")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _find_thinc_models(value, f"{path}.{key}" if path else str(key), found)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _find_thinc_models(value, f"{path}[{i}]", found)
    return found


def _refuse_thinc_models(obj: Any, where: str) -> None:
    found = _find_thinc_models(obj, "", [])
    if found:
        raise TypeError(
            f"torchlayers.registry.{where}: the config holds Thinc models at {', '.join(found)}; torchlayers "
            "builds torchlayers layers only. Convert them with torchlayers.from_thinc(model), or resolve "
            "this config with thinc.registry if you meant a Thinc model."
        )


def _thinc_user_function(registry_name: str, func_name: str) -> Optional[Callable[..., Any]]:
    """A function a user registered with ``@thinc.registry.<registry_name>`` (not Thinc's own)."""
    thinc = _thinc_registry()
    if thinc is None or not thinc.has(registry_name, func_name):
        return None
    fn = thinc.get(registry_name, func_name)
    return None if str(getattr(fn, "__module__", "")).split(".")[0] == "thinc" else fn


_ADAPTED: Dict[int, Callable[..., Any]] = {}


def _from_thinc_user_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A user's ``@thinc.registry`` function, run on Thinc models, its result converted back."""

    if id(fn) in _ADAPTED:
        return _ADAPTED[id(fn)]

    @functools.wraps(fn)
    def adapted(*args: Any, **kwargs: Any) -> Any:
        from .interop.thinc_convert import from_thinc, to_thinc
        from .model import Model

        def down(value: Any) -> Any:
            if isinstance(value, Model):
                return to_thinc(value)
            if isinstance(value, (list, tuple)):
                return type(value)(down(v) for v in value)
            return value

        result = fn(*(down(a) for a in args), **{k: down(v) for k, v in kwargs.items()})
        return from_thinc(result) if _is_thinc_model(result) else result

    _ADAPTED[id(fn)] = adapted
    return adapted


def _parse(config: Any) -> Any:
    """A config given as a string (config text, or a path) or a Path, as a ``Config``."""
    from confection import Config

    if isinstance(config, Path):
        return Config().from_disk(config)
    if isinstance(config, str):
        if "[" not in config and "\n" not in config:
            if os.path.isfile(config):
                return Config().from_disk(config)
            raise ValueError(
                f"torchlayers.registry: got the string {config[:60]!r}, which is neither config text (it "
                "has no [section]) nor an existing file; pass config text, a path to a .cfg file or a dict"
            )
        return Config().from_str(config)
    return config


_TYPING_NAMES = {n: getattr(typing, n) for n in ("Any", "Callable", "Dict", "List", "Optional", "Sequence", "Tuple",
                                                 "Union", "Iterable", "Iterator")}


def _annotation(value: Any, module: Optional[str]) -> Any:
    if not isinstance(value, str):
        return Any if value is inspect.Parameter.empty else value
    namespace = dict(_TYPING_NAMES)
    namespace.update(vars(sys.modules[module]) if module in sys.modules else {})
    try:
        return eval(value, namespace)  # an annotation string of our own code, e.g. "Optional[int]"
    except Exception:
        return Any


_TYPED: Dict[int, Callable[..., Any]] = {}
_UNTYPED: Dict[int, Callable[..., Any]] = {}


def _typed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its signature's annotations as types, so confection validates arguments.

    Our layers are classes (whose ``__init__`` confection cannot read) and facade functions with a
    built ``__signature__`` whose annotations are strings (``from __future__ import annotations``)."""
    if id(fn) in _TYPED:
        return _TYPED[id(fn)]
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn
    origin = fn if not isinstance(fn, type) else fn.__init__  # type: ignore[misc]  # a class: read its __init__
    module = getattr(getattr(origin, "__wrapped__", origin), "__module__", None) or getattr(fn, "__module__", None)
    params = [p.replace(annotation=_annotation(p.annotation, module)) for p in signature.parameters.values()]
    typed_signature = signature.replace(parameters=params, return_annotation=inspect.Signature.empty)

    @functools.wraps(fn, assigned=("__module__", "__name__", "__qualname__", "__doc__"), updated=())
    def build(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    build.__signature__ = typed_signature  # type: ignore[attr-defined]
    build.__annotations__ = {p.name: p.annotation for p in params}
    build.__module__ = __name__  # annotations are objects now: read them here, not in fn's module
    _TYPED[id(fn)] = build
    _UNTYPED[id(build)] = fn
    return build


def _promise_paths(config: Any, path: Tuple[str, ...] = ()) -> List[Tuple[Tuple[str, ...], Dict[str, Any]]]:
    """(full path, block) of every block naming a function, depth first."""
    found: List[Tuple[Tuple[str, ...], Dict[str, Any]]] = []
    if isinstance(config, dict):
        if any(isinstance(k, str) and k.startswith("@") for k in config) and path:
            found.append((path, config))
        for key, value in config.items():
            found += _promise_paths(value, (*path, str(key)))
    return found


def _located(err: Any, config: Any) -> Any:
    """confection's error with each location made the block's full path (``model -> * -> maxout -> nP``:
    confection names only the block's own key inside ``*`` blocks)."""
    refs = {k: v for k, v in (err.config or {}).items() if isinstance(k, str) and k.startswith("@")} \
        if isinstance(err.config, dict) else {}
    if not refs or not err.errors:
        return err
    errors = []
    for error in err.errors:
        loc = [str(p) for p in error.get("loc", [])]
        head = tuple(loc[0].split(".")) if loc else ()
        paths = [p for p, block in _promise_paths(dict(config))
                 if p[-len(head):] == head and all(block.get(k) == v for k, v in refs.items())] if head else []
        if len(paths) == 1:
            loc = [*paths[0], *loc[1:]]
        if loc[:1] == ["__block__"]:  # a config that is one block: locations start inside it
            loc = loc[1:]
        errors.append({**error, "loc": loc})
    return type(err)(config=err.config, errors=errors, title=err.title, desc=err.desc, parent=err.parent,
                     show_config=err.show_config)


def _run(config: Any, call: Callable[[], Any]) -> Any:
    from confection import ConfigValidationError

    try:
        return call()
    except ConfigValidationError as err:
        raise _located(err, config) from None


def _through_confection(action: str, config: Any, schema: Any, overrides: Optional[Dict[str, Any]],
                        validate: bool) -> Any:
    """``confection.registry.<action>`` (resolve or fill) on the parsed config, Thinc models refused;
    a config that is one block is wrapped as ``{"__block__": ...}`` and unwrapped again."""
    config = _parse(config)
    _refuse_thinc_models(config, action)
    resolver = _confection()
    method = getattr(resolver, action)
    kwargs = {"overrides": overrides or {}, "validate": validate}
    if resolver.is_promise(config):
        block = {"__block__": config}
        return _run(block, lambda: method(block, **kwargs))["__block__"]
    return _run(config, lambda: method(config, schema=schema, **kwargs))


@functools.cache
def _confection() -> Type[confection.registry]:
    """confection's registry, looking names up in ours (built on first use: imports pydantic)."""
    import confection

    class _Resolver(confection.registry):
        @classmethod
        def has(cls, registry_name: str, func_name: str) -> bool:
            catalog = getattr(registry, registry_name, None)
            if not isinstance(catalog, Catalog):
                return False
            return func_name in catalog or _thinc_user_function(registry_name, func_name) is not None

        @classmethod
        def get(cls, registry_name: str, func_name: str) -> Callable[..., Any]:
            catalog = getattr(registry, registry_name, None)
            if not isinstance(catalog, Catalog):
                known = ", ".join(f"@{n}" for n in registry.namespaces())
                raise ValueError(f"torchlayers.registry: unknown namespace '@{registry_name}'; known: {known}")
            if func_name in catalog:
                return _typed(catalog.get(func_name))
            user = _thinc_user_function(registry_name, func_name)
            if user is not None:
                return _from_thinc_user_function(user)
            return catalog.get(func_name)  # raises, naming Thinc when Thinc has it

    return _Resolver


class registry:
    """The torchlayers registry (a class, like ``thinc.registry``); see the module docstring."""

    layers = Catalog("layers")
    initializers = Catalog("initializers")
    losses = Catalog("losses")
    optimizers = Catalog("optimizers")
    schedules = Catalog("schedules")
    architectures = Catalog("architectures")

    @classmethod
    def namespaces(cls) -> Tuple[str, ...]:
        """The registry's namespaces (``layers``, ``initializers``, ``losses``, ...), each a Catalog."""
        return tuple(n for n in dir(cls) if isinstance(getattr(cls, n, None), Catalog))

    @classmethod
    def create(cls, registry_name: str, entry_points: bool = False) -> None:
        """Create a new custom namespace (``registry.create("readers")``)."""
        if hasattr(cls, registry_name):
            raise ValueError(f"torchlayers.registry: namespace {registry_name!r} already exists")
        setattr(cls, registry_name, Catalog(registry_name, entry_points=entry_points))

    @classmethod
    def has(cls, registry_name: str, func_name: str) -> bool:
        """Whether namespace ``registry_name`` has a function registered as ``func_name``."""
        return _confection().has(registry_name, func_name)

    @classmethod
    def get(cls, registry_name: str, func_name: str) -> Callable[..., Any]:
        """The registered function (a user's ``@thinc.registry`` function comes adapted, see above)."""
        built = _confection().get(registry_name, func_name)
        return _UNTYPED.get(id(built), built)

    @classmethod
    def resolve(cls, config: Any, *, schema: Any = None, overrides: Dict[str, Any] | None = None,
                validate: bool = True) -> Any:
        """Build the objects a config describes (depth first). A config that is one block returns its
        object; otherwise the dict of sections with every block replaced by its object."""
        built = _through_confection("resolve", config, schema, overrides, validate)
        _refuse_thinc_models(built, "resolve")
        return built

    @classmethod
    def fill(cls, config: Any, *, schema: Any = None, overrides: Dict[str, Any] | None = None,
             validate: bool = True) -> Any:
        """The config with every block's missing arguments filled from its function's defaults,
        validated; ``${...}`` variables are kept. A config that is one block returns that block."""
        return _through_confection("fill", config, schema, overrides, validate)

    @classmethod
    def qualify(cls, config: Any) -> Any:
        """A copy of the config whose names torchlayers registers are spelled ``"torchlayers.<name>"``,
        so that ``thinc.registry`` refuses it instead of building Thinc layers."""
        from confection import Config

        config = _parse(config)

        def rewrite(node: Any) -> Any:
            if not isinstance(node, dict):
                return node
            out = {}
            for key, value in node.items():
                catalog = getattr(cls, key[1:], None) if key.startswith("@") else None
                if isinstance(catalog, Catalog) and isinstance(value, str) and value in catalog:
                    value = PREFIX + _bare(value)
                out[key] = rewrite(value)
            return out

        qualified = rewrite(dict(config))
        if isinstance(config, Config):
            return Config(qualified, section_order=config.section_order)
        return qualified
