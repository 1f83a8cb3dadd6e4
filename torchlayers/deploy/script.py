"""``script(model, example)``: ``torch.jit.script`` of a model over Ragged, Padded, lists and tuples.

TorchScript compiles one typed ``forward`` per module class, and reads an unannotated argument
as a Tensor: that is what ``torch.jit.script(model)`` gives every layer, so a model whose layers
pass Ragged, Padded or lists between them does not script as it is. ``script`` runs the model
once on ``example`` with forward hooks that record, for every module, the Python type of what
it receives and returns (Tensor, Ragged, Padded, ``List[...]``, ``Tuple[...]``, int, float,
bool, str), then scripts a copy of the tree in which each module that receives or returns
anything but a Tensor is an instance of a subclass whose ``forward`` is the class's own
``forward`` source with those types written into its signature. TorchScript then prunes the
``isinstance`` branches of the layer's dispatch statically: the code compiled for a
``with_array`` over a Ragged is its Ragged branch only.

- The copy shares the model's parameters and buffers (like ``torch.jit.script``); the model
  itself is left as it was.
- Outputs: tensors, lists and tuples as eager; a Ragged / Padded comes back as TorchScript's
  named tuple with the same fields (``data``, ``lengths`` / ``data``, ``size_at_t``, ``lengths``,
  ``indices``): ``torchlayers.Ragged(*out)`` makes it a Ragged again. Inputs may be Ragged /
  Padded or plain tuples of their fields.
- ``torch.jit.save`` writes the specialized code (the Ragged / Padded named tuple types
  included), so ``torch.jit.load`` needs neither torchlayers nor the model's classes.
- TorchScript matches named tuples structurally: a plain tuple of 2 (4) tensors takes a layer's
  Ragged (Padded) branch. Where that is not what the layer does eagerly (``with_array`` reads a
  tuple as a list of items), the check run on the example refuses the module: pass Ragged /
  Padded / lists. (``with_ragged`` / ``with_padded`` read such tuples as Ragged / Padded anyway.)
- Every module must see one type signature: a module called on a Ragged and then on a Tensor
  (one layer instance shared across input types) raises a ValueError naming it.
- A layer that needs TorchScript constants which depend on the input's type defines
  ``script_constants(arg_type) -> {name: value}``: the copy gets them as attributes listed in its
  ``__constants__`` (``with_getitem``: where the tuple is cut, as TorchScript slices tuples at
  constants only).
- A layer whose TorchScript ``forward`` is not its class's defines ``script_source() ->
  (source, globals)``, a ``def forward(self, X)`` for the instance (``forward_source`` reads it),
  which is then typed as above even where the types are Tensor -> Tensor: ``tuplify`` unrolls
  its layers into a fixed-length tuple (``(self.layers[0](X), self.layers[1](X), ...)``, typed
  ``Tuple[...]`` from the example), and the profiler-marked layers (``with_nvtx_range``,
  ``with_signpost_interval``) wrap their own class's forward in
  ``torch.autograd.profiler.record_function("<name> forward")`` (``combinators/phase_intervals.py``).
- ``with_flatten`` scripts over a list of lists of tensors (its items may be anything eagerly).
- ``floats_getitem`` / ``ints_getitem`` script ints, positive-step slices and one list of ints
  (a buffer read with ``index_select``); other numpy indices raise a clear RuntimeError there.

Shape: whatever ``model`` maps ``example`` to. Example::

    scripted = torchlayers.deploy.script(tagger, Ragged(ids, lengths))
    torch.jit.save(scripted, "tagger.pt")
"""
from __future__ import annotations

import ast
import inspect
import itertools
import linecache
import textwrap
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten

from ..types import Padded, Ragged

__all__ = ["forward_source", "script", "specialize", "type_of"]

_ids = itertools.count()
_CLASSES: Dict[Tuple[type, str, str, Tuple[str, ...], str], Type[nn.Module]] = {}


def type_of(x: Any, where: str = "script") -> Any:
    """The TorchScript annotation for a value: Tensor, Ragged, Padded, List[...], Tuple[...], scalars."""
    if isinstance(x, Tensor):
        return Tensor
    if isinstance(x, Ragged):
        return Ragged
    if isinstance(x, Padded):
        return Padded
    if isinstance(x, bool):
        return bool
    if isinstance(x, (int, float, str)):
        return type(x)
    if isinstance(x, list):
        kinds = {repr(t): t for t in (type_of(item, where) for item in x)}
        if len(kinds) > 1:
            raise ValueError(f"{where}: a list must hold items of one type for TorchScript, got {sorted(kinds)}")
        item: Any = next(iter(kinds.values())) if kinds else Tensor  # an empty list: List[Tensor]
        return List[item]  # type: ignore[valid-type]  # an annotation built at run time
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return Tuple[tuple(type_of(item, where) for item in x)] if x else Tuple[()]
    raise TypeError(
        f"{where}: TorchScript has no type for a {type(x).__name__} value; expected tensors, Ragged, Padded, "
        f"lists, tuples or int/float/bool/str"
    )


def _label(ann: Any) -> str:
    """A short identifier for an annotation (class names of the specialized subclasses)."""
    text = getattr(ann, "__name__", None) if not hasattr(ann, "__origin__") else repr(ann)
    text = text or repr(ann)
    return "".join(c if c.isalnum() else "_" for c in text.replace("typing.", "").replace("torch.", ""))


def _record(model: nn.Module, example: Any) -> Dict[int, Tuple[Any, Any]]:
    """Run ``model(example)`` once; module id -> (input type, output type) of its calls."""
    seen: Dict[int, Tuple[Any, Any]] = {}
    names = {id(m): name or type(model).__name__ for name, m in model.named_modules()}

    def hook(module: nn.Module, args: Tuple[Any, ...], output: Any) -> None:
        where = f"torchlayers.deploy.script: {getattr(module, 'name', names.get(id(module)))}"
        if len(args) != 1:
            return  # modules called with several arguments keep their own signatures
        sig = (type_of(args[0], where), type_of(output, where))
        old = seen.setdefault(id(module), sig)
        if old != sig:
            raise ValueError(
                f"{where} (at {names.get(id(module))!r}) is called with {old[0]} -> {old[1]} and with "
                f"{sig[0]} -> {sig[1]}; TorchScript types one forward per module: use one layer instance "
                f"per input type"
            )

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return seen


def forward_source(module: nn.Module, cls: Optional[Type[nn.Module]] = None) -> Tuple[str, Dict[str, Any]]:
    """The source of the ``def forward(self, X)`` to specialize for ``module`` (read as an instance of
    ``cls``, default its class) and the globals it runs in: the class's ``script_source(module)``
    where it defines one (a forward generated for the instance), else the class's own ``forward``."""
    cls = type(module) if cls is None else cls
    hook = getattr(cls, "script_source", None)
    if callable(hook):
        return hook(module)
    fn = cls.forward
    try:
        return textwrap.dedent(inspect.getsource(fn)), fn.__globals__
    except (OSError, TypeError) as e:
        raise TypeError(f"torchlayers.deploy.script: {cls.__name__}.forward has no source to specialize ({e})") from e


def _typed_forward(cls: Type[nn.Module], source: str, env: Dict[str, Any], arg: Any, ret: Any) -> Callable[..., Any]:
    """``source`` (a ``def forward(self, X)``) compiled in ``env`` with ``arg`` / ``ret`` as its
    annotations (None: its own)."""
    tree = ast.parse(source)
    fdef = tree.body[0]
    if not isinstance(fdef, ast.FunctionDef) or len(fdef.args.args) != 2 or fdef.args.vararg or fdef.args.kwarg:
        raise TypeError(
            f"torchlayers.deploy.script: {cls.__name__}.forward must be a plain def forward(self, X) to be "
            f"specialized, got {source.splitlines()[0].strip()!r}"
        )
    fdef.decorator_list = []
    if arg is not None:
        fdef.args.args[1].annotation = ast.Name("_tl_arg_type", ast.Load())
        fdef.returns = ast.Name("_tl_return_type", ast.Load())
    code = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    key = f"<torchlayers.deploy.script {cls.__module__}.{cls.__qualname__}.forward #{next(_ids)}>"
    # TorchScript reads a function's source through linecache (as for torch.fx's generated code)
    linecache.cache[key] = (len(code), None, code.splitlines(True), key)
    namespace = dict(env, _tl_arg_type=arg, _tl_return_type=ret)
    exec(compile(code, key, "exec"), namespace)  # the class's own source, re-annotated
    return namespace[fdef.name]


def _specialized_class(module: nn.Module, arg: Any, ret: Any, constants: Tuple[str, ...]) -> Type[nn.Module]:
    cls = type(module)
    source, env = forward_source(module)
    key = (cls, repr(arg), repr(ret), constants, source)
    if key not in _CLASSES:
        name = f"{cls.__name__}__{_label(arg)}__to__{_label(ret)}"
        _CLASSES[key] = type(name, (cls,), {
            "forward": _typed_forward(cls, source, env, arg, ret), "__module__": cls.__module__,
            "__qualname__": name, "__constants__": [*getattr(cls, "__constants__", []), *constants],
        })
    return _CLASSES[key]


def _needs_types(module: nn.Module, sig: Optional[Tuple[Any, Any]]) -> bool:
    cls: Any = type(module)
    if callable(getattr(cls, "script_source", None)):
        return True  # a forward generated for the instance (tuplify's arity, a profiler range)
    if sig is None or sig == (Tensor, Tensor):
        return False  # never called, or what TorchScript reads anyway
    return not cls.forward.__module__.startswith("torch.")  # torch's own modules keep theirs


def specialize(model: nn.Module, example: Any) -> nn.Module:
    """A copy of ``model``'s tree (parameters and buffers shared) whose modules' ``forward``
    signatures carry the types ``model(example)`` passes them (see the module docstring)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"torchlayers.deploy.script: expected a torch nn.Module, got {type(model).__name__}")
    types = _record(model, example)
    memo: Dict[int, nn.Module] = {}

    def clone(m: nn.Module) -> nn.Module:
        if id(m) in memo:
            return memo[id(m)]
        sig = types.get(id(m))
        constants: Dict[str, Any] = {}
        cls: Type[nn.Module] = type(m)
        if _needs_types(m, sig):
            hook = getattr(m, "script_constants", None)  # a layer's per-instance TorchScript constants
            constants = hook(sig[0]) if callable(hook) and sig is not None else {}
            arg, ret = (None, None) if sig is None else sig  # never called: the source's own annotations
            cls = _specialized_class(m, arg, ret, tuple(sorted(constants)))
        new: nn.Module = object.__new__(cls)
        new.__dict__.update(m.__dict__)
        new.__dict__.update(constants)
        memo[id(m)] = new
        new.__dict__["_modules"] = {k: None if c is None else clone(c) for k, c in m._modules.items()}
        return new

    return clone(model)


def script(model: nn.Module, example: Any) -> torch.jit.ScriptModule:
    """``torch.jit.script`` of ``model`` specialized to the types of ``example``.

    ``example``: one input the model is deployed on (a Tensor, Ragged, Padded, list of tensors or
    tuple); the model runs on it, without gradients, in its current train/eval mode. Returns a
    ScriptModule computing ``model(X)`` for inputs of the example's types (any sizes). The
    scripted module is checked on the example, both in eval mode (modes restored after): the
    eager outputs' shapes, dtypes and values (within 1e-5 + 1e-4 relative), so a branch TorchScript cannot run (an
    ``@torch.jit.unused`` stub) or reads differently (a plain tuple of 2 / 4 tensors matches
    Ragged / Padded structurally there) fails at ``script`` time, not in deployment."""
    name = getattr(model, "name", type(model).__name__)
    spec = specialize(model, example)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in favour of export
            scripted = torch.jit.script(spec)
    except Exception as e:  # TorchScript's frontend raises several kinds; name the model and the types
        raise RuntimeError(
            f"torchlayers.deploy.script: TorchScript could not compile {name} specialized to {type_of(example)}: {e}"
        ) from e
    modes = [m.training for m in model.modules()], [m.training for m in scripted.modules()]
    model.eval()  # the check runs without dropout; each module's mode is restored after
    scripted.eval()
    try:
        with torch.no_grad():
            expected = _leaves(model(example))
            try:
                got = _leaves(scripted(example))
            except Exception as e:  # the TorchScript interpreter's error, with the model and the input type
                raise RuntimeError(
                    f"torchlayers.deploy.script: {name} compiled for {type_of(example)} but fails on the example: {e}"
                ) from e
    finally:
        for tree, flags in zip((model, scripted), modes):
            for m, flag in zip(tree.modules(), flags):
                m.training = flag
    problem = _differ(got, expected)
    if problem:
        raise RuntimeError(
            f"torchlayers.deploy.script: {name} scripted for {type_of(example)} does not compute the eager model on "
            f"the example ({problem}); TorchScript matches a plain tuple of 2 (4) tensors as a Ragged (Padded), so "
            f"pass sequences as Ragged / Padded / lists, not plain tuples"
        )
    return scripted


def _leaves(tree: Any) -> List[Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, Tensor)]


def _differ(got: List[Tensor], expected: List[Tensor]) -> str:
    """'' when the scripted outputs are the eager ones (floats within a few ulp: another executor)."""
    if len(got) != len(expected):
        return f"{len(got)} output tensors, eager {len(expected)}"
    for i, (a, b) in enumerate(zip(got, expected)):
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"output {i}: {tuple(a.shape)} {a.dtype}, eager {tuple(b.shape)} {b.dtype}"
        if not b.is_floating_point():
            if not torch.equal(a, b):
                return f"output {i}: integers differ from eager"
        elif not torch.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True):
            return f"output {i}: max difference {(a - b).abs().max().item():.3g} from eager"
    return ""
