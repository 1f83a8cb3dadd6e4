"""Mark a layer's forward, backprop and init as named intervals for profilers (the mechanism
under ``with_nvtx_range`` and ``with_signpost_interval``).

Like ``with_debug`` (and Thinc), the layer itself is changed and returned: its class becomes a
subclass whose ``forward`` and ``_initialize`` run inside the intervals, so names, the node
tree and serialization are untouched.

- forward: ``"<name> forward"`` around ``forward``, on both faces.
- backprop: ``"<name> backprop"`` opens when the gradient reaches the layer's outputs (an
  identity autograd node on them) and closes when it has reached the layer's float inputs
  (an identity node on those). When no input takes a gradient (integer ids, torch-face inputs
  without ``requires_grad``) there is no end to observe, and the interval closes as it opens.
- init (only where the wrapper asks): ``"<name> init"`` around ``_initialize``.

Compiled, exported and traced runs skip the intervals (profiler calls are host side effects).
``torchlayers.deploy.script`` scripts the layer's own ``forward`` inside
``torch.autograd.profiler.record_function("<name> forward")`` (one per wrapper, nested as
eagerly): TorchScript can call neither ``torch.cuda.nvtx`` nor a signposter, so the scripted
form's forward range is a torch profiler range (in ``torch.profiler`` traces, and an NVTX range
under ``torch.autograd.profiler.emit_nvtx()``), and it marks no backprop interval
(COMPATIBILITY.md). Plain ``torch.jit.script`` cannot compile the wrapped ``forward``.
"""
from __future__ import annotations

import ast
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    ContextManager,
    Dict,
    List,
    NamedTuple,
    Optional,
    Tuple,
    Type,
    cast,
)

import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten, tree_unflatten

from ..kernels.triton_support import is_tracing
from ..model import Model
from .with_array import check_layer
from .with_debug import wrapping_subclass

#: label -> a context manager spanning the interval
Interval = Callable[[str], ContextManager[Any]]


class _Phases(NamedTuple):
    name: str
    forward: Interval
    backprop: Interval
    init: Optional[Interval]
    wrapper: str  # the wrapper's name and its Thinc arguments (to_thinc rebuilds Thinc's wrapper)
    options: Dict[str, Any]


if TYPE_CHECKING:

    class _Phased(Model):
        """A layer after ``mark_phases`` (its class built by ``with_debug.wrapping_subclass``), for type checkers."""

        _phase_base: ClassVar[Type[Model]]
        _phase_intervals: List[_Phases]


_CLASSES: Dict[type, type] = {}


def mark_phases(wrapper: str, layer: Model, name: Optional[str], *, forward: Interval, backprop: Interval,
                init: Optional[Interval] = None, options: Optional[Dict[str, Any]] = None) -> Model:
    """Make ``layer`` run its phases inside the given intervals and return it (wrapping twice nests
    the later wrapper outside the earlier one). ``options`` are the wrapper's other arguments
    under Thinc's names (kept with the resolved ``name`` for ``to_thinc``)."""
    check_layer(wrapper, layer)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{wrapper}: name must be a string or None, got {type(name).__name__}")
    label = layer.name if name is None else name
    phases = _Phases(label, forward, backprop, init, wrapper, {**(options or {}), "name": label})
    existing: List[_Phases] = list(getattr(layer, "_phase_intervals", []))
    layer.__class__ = wrapping_subclass(type(layer), "_phase_base", _phase_forward, _phase_initialize, _CLASSES)
    type(layer).script_source = _phase_script_source  # type: ignore[attr-defined]  # deploy.script's hook
    cast("_Phased", layer)._phase_intervals = [*existing, phases]
    return layer


def _phase_initialize(self: _Phased, X: Any, Y: Any) -> None:
    run = lambda: type(self)._phase_base._initialize(self, X, Y)
    for phases in self._phase_intervals:
        if phases.init is not None:
            run = _inside(phases.init(f"{phases.name} init"), run)
    run()


def _inside(interval: ContextManager[Any], fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with interval:
            return fn()

    return run


def _phase_script_source(self: _Phased) -> Tuple[str, Dict[str, Any]]:
    """``forward`` for ``torchlayers.deploy.script``: the base class's (or the source it generates),
    its body inside ``with record_function("<name> forward"):``, the first wrapper innermost."""
    from ..deploy.script import forward_source

    source, env = forward_source(self, type(self)._phase_base)
    tree = ast.parse(source)
    fdef = tree.body[0]
    if not isinstance(fdef, ast.FunctionDef):
        raise TypeError(f"{self.name}: expected the source of a def forward(self, X), got {source.splitlines()[0]!r}")
    for phases in self._phase_intervals:
        interval = ast.Call(ast.Name("_tl_record_function", ast.Load()), [ast.Constant(f"{phases.name} forward")], [])
        fdef.body = [ast.With([ast.withitem(interval)], fdef.body)]
    code = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    return code, dict(env, _tl_record_function=torch.autograd.profiler.record_function)


def _phase_forward(self: _Phased, X: Any) -> Any:
    base = type(self)._phase_base.forward
    if is_tracing(*[t for t in tree_flatten(X)[0] if isinstance(t, Tensor)]):
        return base(self, X)
    track = torch.is_grad_enabled()
    spans: List[_Span] = []
    if track:
        spans = [_Span(phases.backprop, f"{phases.name} backprop") for phases in self._phase_intervals]

        def close_spans() -> None:  # innermost wrapper closes first
            for span in spans:
                span.end()

        X, hooked = _mark(X, close_spans)
        if not hooked:  # no input takes a gradient: nothing marks the end
            for span in spans:
                span.instant = True
    run = lambda: base(self, X)
    for phases in self._phase_intervals:
        run = _inside(phases.forward(f"{phases.name} forward"), run)
    Y = run()
    if not track:
        return Y

    def open_spans() -> None:  # outermost opens first
        for span in reversed(spans):
            span.start()

    return _mark(Y, open_spans)[0]


class _Span:
    """One backprop interval, opened by the output node and closed by the input node."""

    def __init__(self, interval: Interval, label: str, instant: bool = False) -> None:
        self.interval, self.label, self.instant = interval, label, instant
        self.open: List[ContextManager[Any]] = []

    def start(self) -> None:
        cm = self.interval(self.label)
        cm.__enter__()
        if self.instant:
            cm.__exit__(None, None, None)
        else:
            self.open.append(cm)

    def end(self) -> None:
        if self.open:
            self.open.pop().__exit__(None, None, None)


class _Marker(torch.autograd.Function):
    """Identity on tensors; its backward calls ``on_backward`` (once per backward pass)."""

    @staticmethod
    def forward(ctx: Any, on_backward: Callable[[], None], *tensors: Tensor) -> Any:
        ctx.on_backward = on_backward
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> Any:
        ctx.on_backward()
        return (None, *grads)


def _mark(tree: Any, on_backward: Callable[[], None]) -> Any:
    leaves, spec = tree_flatten(tree)
    tracked = [i for i, t in enumerate(leaves) if isinstance(t, Tensor) and t.requires_grad]
    if not tracked:
        return tree, False
    outs = _Marker.apply(on_backward, *[leaves[i] for i in tracked])
    for i, out in zip(tracked, outs):
        leaves[i] = out
    return tree_unflatten(leaves, spec), True
