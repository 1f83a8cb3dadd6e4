"""``check_layer``: the shared checks every case-table row goes through.

Each ``check_*`` function takes a ``Case`` and asserts; ``CHECKS`` names them for the table.
"""
from __future__ import annotations

import sys
import warnings
from typing import Any, Callable, Dict, List, Sequence, Set, Tuple

import numpy
import torch
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten

from torchlayers import Model
from torchlayers.convert import to_numpy

from .cases import Case

ELEMENTWISE = dict(atol=1e-5, rtol=0.0)
MATMUL = dict(atol=1e-5, rtol=1e-4)
# Same program, different executor (Inductor/aot_eager/TorchScript/export): allow a few ulp.
DEPLOY = dict(atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------------------- helpers
def build(case: Case, X: Any = None) -> Model:
    """Build the case's model, initialize it on the sample, switch dropout off."""
    model = case.build()
    if X is None:
        X = case.sample()
    model.initialize(X=X, Y=case.Y() if case.Y else None)
    return model


def float_leaves(tree: Any) -> List[torch.Tensor]:
    return [x for x in tree_flatten(tree)[0] if isinstance(x, torch.Tensor) and x.is_floating_point()]


def random_like(tree: Any) -> Any:
    """A random cotangent with the structure of ``tree`` (ints are kept)."""
    return tree_map(lambda x: torch.randn_like(x) if isinstance(x, torch.Tensor) and x.is_floating_point() else x, tree)


def _thinc_leaves(x: Any) -> List[numpy.ndarray]:
    """Flatten a thinc/numpy output (Ragged, Padded, list, tuple, array) into arrays."""
    name = type(x).__name__
    if isinstance(x, numpy.ndarray):
        return [x]
    if name == "Ragged" and hasattr(x, "dataXd"):
        return [x.dataXd, x.lengths]
    if name == "Padded" and hasattr(x, "size_at_t"):
        return [x.data, x.size_at_t, x.lengths, x.indices]
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _thinc_leaves(item)]
    return [numpy.asarray(x)]


def assert_matches_thinc(ours: Any, theirs: Any, tol: Dict[str, float], what: str) -> None:
    ours_leaves = [torch.from_numpy(x) if isinstance(x, numpy.ndarray) and x.dtype.kind in "biuf" else x
                   for x in tree_flatten(ours)[0]]  # the Thinc face answers numpy for numpy
    ours_leaves = [x for x in ours_leaves if isinstance(x, torch.Tensor)]
    their_leaves = _thinc_leaves(theirs)
    assert len(ours_leaves) == len(their_leaves), f"{what}: {len(ours_leaves)} arrays vs thinc's {len(their_leaves)}"
    for i, (a, b) in enumerate(zip(ours_leaves, their_leaves)):
        a = a.detach().cpu()
        b = torch.from_numpy(numpy.ascontiguousarray(b))
        if not a.is_floating_point():
            assert torch.equal(a.long().reshape(b.shape) if a.numel() == b.numel() else a.long(), b.long()), f"{what}[{i}]: integer arrays differ"
            continue
        assert tuple(a.shape) == tuple(b.shape), f"{what}[{i}]: shape {tuple(a.shape)} vs thinc {tuple(b.shape)}"
        torch.testing.assert_close(a, b.to(a.dtype), **tol, msg=lambda m: f"{what}[{i}] vs thinc: {m}")


def assert_tree_equal(a: Any, b: Any, what: str, tol: Dict[str, float] | None = None) -> None:
    la, sa = tree_flatten(a)
    lb, sb = tree_flatten(b)
    assert len(la) == len(lb), f"{what}: structures differ: {sa} vs {sb}"
    for i, (x, y) in enumerate(zip(la, lb)):
        if isinstance(x, torch.Tensor):
            assert isinstance(y, torch.Tensor), f"{what}[{i}]: tensor vs {type(y).__name__}"
            assert x.shape == y.shape and x.dtype == y.dtype, f"{what}[{i}]: {x.shape}/{x.dtype} vs {y.shape}/{y.dtype}"
            if tol is None:
                assert torch.equal(x, y), f"{what}[{i}]: not bitwise equal (max diff {(x.float() - y.float()).abs().max()})"
            else:
                torch.testing.assert_close(x, y, **tol, msg=lambda m: f"{what}[{i}]: {m}")


def thinc_input(case: Case, X: Any) -> Any:
    return case.thinc_input(X) if case.thinc_input else to_numpy(X)


def torch_grads(model: Model, X: Any, dY: Any) -> Tuple[Any, Any, Dict[str, torch.Tensor]]:
    """Torch face: Y, dX (structure of X) and parameter grads for cotangent dY."""
    leaves, spec = tree_flatten(X)
    tracked = [x.detach().requires_grad_(True) if isinstance(x, torch.Tensor) and x.is_floating_point() else x for x in leaves]
    model.train()
    Y = model(tree_unflatten(tracked, spec))
    y_leaves = [y for y in tree_flatten(Y)[0] if isinstance(y, torch.Tensor) and y.requires_grad]
    dy_leaves = [d for d, y in zip(tree_flatten(dY)[0], tree_flatten(Y)[0]) if isinstance(y, torch.Tensor) and y.requires_grad]
    params = dict(model.named_parameters())
    inputs = [t for t in tracked if isinstance(t, torch.Tensor) and t.requires_grad]
    grads = torch.autograd.grad(y_leaves, inputs + list(params.values()), dy_leaves, allow_unused=True) if y_leaves else [None] * (len(inputs) + len(params))
    return Y, grads[: len(inputs)], dict(zip(params, grads[len(inputs):]))


def eval_output(model: Model, X: Any) -> Any:
    model.eval()
    with torch.no_grad():
        return model(X)


# ---------------------------------------------------------------------------------- checks
def check_forward(case: Case) -> None:
    """#1: construct, initialize from samples, forward structure/shape/dtype; #10 repr dims."""
    fresh = case.build()
    assert isinstance(fresh, Model) and isinstance(fresh, torch.nn.Module)
    assert "name=" in repr(fresh)
    X = case.sample()
    model = build(case, X)
    Y = eval_output(model, X)
    for y in float_leaves(Y):
        assert y.dtype == torch.float32, f"{case.id}: output dtype {y.dtype}"
        assert torch.isfinite(y).all(), f"{case.id}: non-finite output"
    if model.has_dim("nO") and isinstance(Y, torch.Tensor) and Y.dim() >= 2:
        assert Y.shape[-1] == model.get_dim("nO"), f"{case.id}: output width {Y.shape[-1]} != nO {model.get_dim('nO')}"
    Y2 = eval_output(model, X)
    assert_tree_equal(Y, Y2, f"{case.id}: eval is not deterministic")


def check_thinc_face(case: Case) -> None:
    """#3: Thinc-face backprop == torch autograd, and grads accumulate like inc_grad."""
    X = case.sample()
    model = build(case, X)
    Y, backprop = model(X, is_train=True)
    dY = random_like(Y)
    if case.convention:
        # The convention differs from autograd by design; it is pinned against thinc in parity.
        dX = backprop(dY)
        assert_tree_equal(tree_map(lambda t: t.shape if isinstance(t, torch.Tensor) else t, dX),
                          tree_map(lambda t: t.shape if isinstance(t, torch.Tensor) else t, X), "dX structure")
        return
    dX = backprop(dY)
    first = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    Y_t, dX_t, pgrads = torch_grads(model, X, dY)
    assert_tree_equal(Y, tree_map(lambda t: t.detach() if isinstance(t, torch.Tensor) else t, Y_t), f"{case.id}: Y thinc face vs torch face")
    ours = list(float_leaves(dX))
    assert len(ours) == len(dX_t)
    for a, b in zip(ours, dX_t):
        assert torch.equal(a, torch.zeros_like(a) if b is None else b), f"{case.id}: dX differs from autograd"
    for name, g in pgrads.items():
        if g is None:
            assert name not in first
        else:
            assert torch.equal(first[name], g), f"{case.id}: grad of {name} differs from autograd"
    # inc_grad semantics: a second backprop adds to .grad
    model.zero_grad(set_to_none=True)
    for _ in range(2):
        _, bp = model(X, is_train=True)
        bp(dY)
    for name, p in model.named_parameters():
        if name in first:
            torch.testing.assert_close(p.grad, 2 * first[name], atol=1e-6, rtol=1e-6)


def check_param_grads(case: Case) -> None:
    """#4: every parameter receives a gradient."""
    X = case.sample()
    model = build(case, X)
    Y, _, pgrads = torch_grads(model, X, random_like(eval_output(model, X)))
    missing = [n for n, g in pgrads.items() if g is None]
    assert not missing, f"{case.id}: params without grad: {missing}"
    if case.has_params:
        assert pgrads, f"{case.id}: expected parameters"


def _inject(ours: Model, theirs: Any) -> None:
    ours_nodes, their_nodes = ours.walk(), list(theirs.walk())  # thinc walk() is a generator
    assert [n.name for n in ours_nodes] == [n.name for n in their_nodes], "walk() names differ from thinc"
    for a, b in zip(ours_nodes, their_nodes):
        assert list(a.param_names) == list(b.param_names), f"{a.name}: params {a.param_names} vs thinc {b.param_names}"
        for dim in b.dim_names:
            if b.has_dim(dim) and a.has_dim(dim):
                assert a.get_dim(dim) == b.get_dim(dim), f"{a.name}: dim {dim} {a.get_dim(dim)} vs thinc {b.get_dim(dim)}"
        for name in b.param_names:
            value = torch.as_tensor(a.get_param(name)).cpu().numpy().copy()
            assert tuple(value.shape) == tuple(b.get_param(name).shape), f"{a.name}.{name}: shape vs thinc"
            b.set_param(name, value)


def check_thinc_parity(case: Case) -> None:
    """#2: forward, dX and param grads equal thinc 8.3.14 with weights injected via set_param."""
    X = case.sample()
    model = build(case, X)
    theirs = case.thinc()
    Xn = thinc_input(case, X)
    theirs.initialize(X=Xn, Y=to_numpy(case.Y()) if case.Y else None)
    _inject(model, theirs)
    tol = MATMUL if case.matmul else ELEMENTWISE
    Y, backprop = model(X, is_train=True)
    Yt, backprop_t = theirs(Xn, is_train=True)
    assert_matches_thinc(Y, Yt, tol, f"{case.id}: Y")
    if not case.differentiable:
        return
    dY = random_like(Y)
    dX = backprop(dY)
    dXt = backprop_t(to_numpy(dY) if not isinstance(Yt, list) else [to_numpy(d) for d in dY])
    if dXt is not None and not (isinstance(dXt, list) and len(dXt) == 0 and not isinstance(X, list)):
        assert_matches_thinc(list(float_leaves(dX)), [d for d in _thinc_leaves(dXt) if d.dtype.kind == "f"], tol, f"{case.id}: dX")
    if case.thinc_param_grads:
        for a, b in zip(model.walk(), list(theirs.walk())):
            for name in b.param_names:
                if b.has_grad(name):
                    assert a.has_grad(name), f"{case.id}: {a.name}.{name} has no grad (thinc has one)"
                    assert_matches_thinc(torch.as_tensor(a.get_grad(name)), torch.as_tensor(b.get_grad(name)), tol, f"{case.id}: grad {a.name}.{name}")


def _assert_same_layers(case: Case, mine: List[Model], back: List[Model], what: str) -> None:
    """``back`` (converted from Thinc) is ``mine``: node classes, names, dims, plain attrs and params bitwise."""
    from torchlayers.interop.thinc_convert import _plain, same_thinc_kind

    assert len(back) == len(mine), f"{case.id}: {what}: {len(back)} nodes vs our {len(mine)}"
    for a, b in zip(mine, back):
        # the same class, or one building the same Thinc node kind (PyTorchWrapper_v2 -> PyTorchWrapper)
        assert type(b) is type(a) or same_thinc_kind(type(a), type(b)), (
            f"{case.id}: {what}: {type(b)} for our {type(a)}")
        assert b.name == a.name and list(b.dim_names) == list(a.dim_names), f"{case.id}: {what}: {a.name} vs {b.name}"
        assert [b.maybe_get_dim(d) for d in b.dim_names] == [a.maybe_get_dim(d) for d in a.dim_names], (
            f"{case.id}: {what}: {a.name} dims")
        plain = {k: v for k, v in a.attrs.items() if _plain(v)}
        assert {k: b.attrs[k] for k in plain if k in b.attrs} == plain, f"{case.id}: {what}: {a.name} attrs"
        assert list(b.param_names) == list(a.param_names), f"{case.id}: {what}: {a.name} params"
        for name in a.param_names:
            assert torch.equal(torch.as_tensor(b.get_param(name)), torch.as_tensor(a.get_param(name))), f"{case.id}: {what}: {a.name}.{name} differs"


def check_from_thinc(case: Case) -> None:
    """#2b: from_thinc(the row's thinc model) is our layer: node classes, names, dims, attrs and
    params in walk() order, and (with our weights injected into thinc's) bitwise our output."""
    from torchlayers.interop.thinc_convert import from_thinc

    X = case.sample()
    model = build(case, X)
    theirs = case.thinc()
    theirs.initialize(X=thinc_input(case, X), Y=to_numpy(case.Y()) if case.Y else None)
    _inject(model, theirs)
    converted = from_thinc(theirs)
    _assert_same_layers(case, model.walk(), converted.walk(), "from_thinc")
    assert_tree_equal(eval_output(converted, X), eval_output(model, X), f"{case.id}: from_thinc output vs ours")


def check_to_thinc(case: Case) -> None:
    """#2c: to_thinc(our layer) is a Thinc model: walk() names, dims, plain attrs and params
    bitwise; for a row with a Thinc counterpart it predicts bitwise what the row's Thinc model
    with our weights injected predicts (so settings such as ReluK's k come along; parity with us
    is #2's). from_thinc of it round trips to our layer: node classes, dims, attrs, params and
    output bitwise. A row without a Thinc counterpart may instead be refused with a ValueError
    naming the node."""
    from torchlayers.interop.thinc_convert import _plain, from_thinc, to_thinc

    X = case.sample()
    model = build(case, X)
    try:
        theirs = to_thinc(model)
    except ValueError as e:
        if case.thinc is not None:
            raise
        assert any(str(e).startswith(f"to_thinc: {n.name!r}") for n in model.walk()), f"{case.id}: unnamed refusal: {e}"
        return
    mine, their_nodes = model.walk(), list(theirs.walk())
    assert [n.name for n in their_nodes] == [n.name for n in mine], f"{case.id}: to_thinc walk() names differ"
    for a, b in zip(mine, their_nodes):
        for dim in a.dim_names:
            if a.has_dim(dim):
                assert b.has_dim(dim) and b.get_dim(dim) == a.get_dim(dim), f"{case.id}: to_thinc {a.name} dim {dim}"
        plain = {k: v for k, v in a.attrs.items() if _plain(v)}
        assert {k: b.attrs.get(k) for k in plain} == plain, f"{case.id}: to_thinc {a.name} attrs {b.attrs}"
        assert list(b.param_names) == list(a.param_names), f"{case.id}: to_thinc {a.name} params"
        for name in a.param_names:
            ours = torch.as_tensor(a.get_param(name)).detach().cpu().numpy()
            got = numpy.asarray(torch.as_tensor(b.get_param(name)))
            assert got.dtype == ours.dtype and got.tobytes() == ours.tobytes(), (
                f"{case.id}: to_thinc {a.name}.{name} not bitwise")
    if case.thinc is not None:
        Xn = thinc_input(case, X)
        reference = case.thinc()
        reference.initialize(X=Xn, Y=to_numpy(case.Y()) if case.Y else None)
        _inject(model, reference)
        got, expected = _thinc_leaves(theirs.predict(Xn)), _thinc_leaves(reference.predict(Xn))
        assert len(got) == len(expected), (
            f"{case.id}: to_thinc prediction has {len(got)} arrays, the row's thinc model {len(expected)}")
        for i, (a, b) in enumerate(zip(got, expected)):
            a, b = numpy.asarray(a), numpy.asarray(b)
            assert a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes(), (
                f"{case.id}: to_thinc prediction[{i}] is not bitwise the row's thinc model's")
    Y = eval_output(model, X)
    back = from_thinc(theirs)
    _assert_same_layers(case, mine, back.walk(), "to_thinc then from_thinc")
    assert_tree_equal(eval_output(back, X), Y, f"{case.id}: to_thinc then from_thinc output vs ours")


def check_gradcheck(case: Case) -> None:
    """#5: float64 gradcheck w.r.t. float inputs and every parameter."""
    X = case.sample()
    model = build(case, X).double()
    model.train()  # dropout rates in cases are 0, so train mode is deterministic
    Xd = tree_map(lambda t: t.double() if isinstance(t, torch.Tensor) and t.is_floating_point() else t, X)
    leaves, spec = tree_flatten(Xd)
    float_idx = [i for i, t in enumerate(leaves) if isinstance(t, torch.Tensor) and t.is_floating_point()]
    names = [n for n, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in model.named_parameters()]

    def fn(*args: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        xs, ps = args[: len(float_idx)], args[len(float_idx):]
        full = list(leaves)
        for i, x in zip(float_idx, xs):
            full[i] = x
        out = torch.func.functional_call(model, dict(zip(names, ps)), (tree_unflatten(full, spec),))
        return tuple(float_leaves(out))

    inputs = [leaves[i].detach().clone().requires_grad_(True) for i in float_idx] + params
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def check_state_dict_roundtrip(case: Case) -> None:
    """#11: state_dict into a fresh model gives bitwise-equal outputs."""
    X = case.sample()
    model = build(case, X)
    fresh = build(case, X)
    fresh.load_state_dict(model.state_dict())
    assert_tree_equal(eval_output(model, X), eval_output(fresh, X), f"{case.id}: state_dict round trip")


def check_bytes_roundtrip(case: Case) -> None:
    """#11: to_bytes -> from_bytes into an uninitialized model: params and outputs bitwise."""
    X = case.sample()
    model = build(case, X)
    data = model.to_bytes()
    fresh = case.build().from_bytes(data)
    for (k, a), (k2, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and torch.equal(a, b), f"{case.id}: {k} differs after from_bytes"
    assert_tree_equal(eval_output(model, X), eval_output(fresh, X), f"{case.id}: bytes round trip")
    assert fresh.to_bytes() == data, f"{case.id}: re-serialized bytes differ"


def check_compile(case: Case) -> None:
    """#14: torch.compile(fullgraph=True) == eager."""
    X = case.sample()
    model = build(case, X).eval()
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        assert_tree_equal(compiled(X), model(X), f"{case.id}: compiled vs eager", DEPLOY)


def check_export(case: Case) -> None:
    """#15: torch.export (dynamic batch dim where the row declares one) .module() == eager."""
    X = case.sample()
    model = build(case, X).eval()
    dynamic = case.dynamic(X) if case.dynamic else None
    ep = torch.export.export(model, (X,), dynamic_shapes=dynamic)
    with torch.no_grad():
        assert_tree_equal(ep.module()(X), model(X), f"{case.id}: exported vs eager", DEPLOY)
        if dynamic is not None:
            X2 = case.sample()
            assert_tree_equal(ep.module()(X2), model(X2), f"{case.id}: exported vs eager (second sample)", DEPLOY)


def check_script(case: Case) -> None:
    """#16: torch.jit.script == eager (deprecation warning filtered). A row whose input is not a
    plain tensor goes through ``torchlayers.deploy.script(model, X)``, which types every layer's
    forward for what the example passes it (TorchScript reads an unannotated argument as a Tensor)."""
    from torchlayers.deploy import script
    from torchlayers.deploy.script import specialize

    X = case.sample()
    model = build(case, X).eval()
    # plain torch.jit.script wherever it reads every layer's types right (tensors throughout)
    plain = all(type(a) is type(b) for a, b in zip(model.modules(), specialize(model, X).modules()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(model) if plain else script(model, X)
    with torch.no_grad():
        out = scripted(X)
        ref = model(X)
    assert_tree_equal(list(tree_flatten(out)[0]), list(tree_flatten(ref)[0]), f"{case.id}: scripted vs eager", DEPLOY)


def check_dtype_device(case: Case) -> None:
    """#9: .double() converts float params only; meta-device build allocates nothing."""
    X = case.sample()
    model = build(case, X)
    int_buffers = {n: b.dtype for n, b in model.named_buffers() if not b.is_floating_point()}
    model.double()
    for n, p in model.named_parameters():
        assert p.dtype == torch.float64, f"{case.id}: {n} stayed {p.dtype}"
    for n, b in model.named_buffers():
        if n in int_buffers:
            assert b.dtype == int_buffers[n], f"{case.id}: integer buffer {n} became {b.dtype}"
    Xd = tree_map(lambda t: t.double() if isinstance(t, torch.Tensor) and t.is_floating_point() else t, X)
    for y in float_leaves(eval_output(model, Xd)):
        assert y.dtype == torch.float64


CHECKS: Dict[str, Callable[[Case], None]] = {
    "forward": check_forward,
    "thinc_face": check_thinc_face,
    "param_grads": check_param_grads,
    "thinc_parity": check_thinc_parity,
    "from_thinc": check_from_thinc,
    "to_thinc": check_to_thinc,
    "gradcheck": check_gradcheck,
    "state_dict": check_state_dict_roundtrip,
    "bytes": check_bytes_roundtrip,
    "dtype": check_dtype_device,
    "compile": check_compile,
    "export": check_export,
    "script": check_script,
}


def applies(check: str, case: Case) -> bool:
    if check in ("compile", "export", "script"):
        return check in case.deploy
    if check in ("thinc_parity", "from_thinc"):
        return case.thinc is not None
    if check == "gradcheck":
        return case.differentiable
    if check == "param_grads":
        return case.has_params
    return True


def check_layer(case: Case) -> None:
    """Run every applicable check on one case (for ad-hoc use in per-layer tests)."""
    for name, fn in CHECKS.items():
        if applies(name, case):
            fn(case)


def registered_layers() -> Dict[str, Any]:
    """The package's own ``registry.layers`` entries (name -> class or facade; third-party entry points left out)."""
    from torchlayers import registry

    return {name: fn for name, fn in registry.layers.get_all().items()
            if getattr(fn, "__module__", "").split(".")[0] == "torchlayers"}


def rows_by_registered_name(cases: Sequence[Case]) -> Dict[str, List[str]]:
    """Registry name -> ids of the rows whose ``build`` makes it.

    A row makes a name when a node of its built model (``walk()``) is exactly that name's node
    class, or, for the facades that build a tree and have no node class of their own (``clone``,
    ``PyTorchLSTM``), when the facade's code runs while the row builds (traced with
    ``sys.setprofile``; the facades made by ``torchlayers.api``'s factory share one code object
    and all have node classes, so only the walk counts for them).
    """
    from torchlayers import registry

    node_names = {cls: name for name, cls in registry.layers.node_classes().items()}
    registered = registered_layers()
    facades = {fn.__code__: name for name, fn in registered.items() if name not in registry.layers.node_classes()}
    shared = [name for name, fn in registered.items() if getattr(fn, "__code__", None) in facades
              and facades[fn.__code__] != name]
    assert not shared, f"tree-building facades must have code of their own to be traced: {shared}"
    rows: Dict[str, List[str]] = {}
    for case in cases:
        called: Set[str] = set()

        def profile(frame: Any, event: str, arg: Any, called: Set[str] = called) -> None:
            if event == "call" and frame.f_code in facades:
                called.add(facades[frame.f_code])

        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            model = case.build()
        finally:
            sys.setprofile(previous)
        names = called | {node_names[type(node)] for node in model.walk() if type(node) in node_names}
        for name in names:
            rows.setdefault(name, []).append(case.id)
    return rows
