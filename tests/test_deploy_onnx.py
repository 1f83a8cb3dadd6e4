"""Test-matrix #17: ONNX export (``torchlayers.deploy.onnx_export``: dynamo + the custom-op
translations) and onnxruntime == eager (1e-5), for every case-table row that exports (the matrix's
``onnx`` column, ``tests/deployment_report.py``):

- a Tensor, Ragged or Padded input: the model on it, every dim ``Dim.AUTO`` (or the row's dynamic dims),
  at the sample and at the sample's batch twice over where the program's axes allow; a model that
  returns a list, or holds one inside and is not dynamic in the batch, through its boundary form
  ``ragged_form(model, "value")`` (cell ``rf``, below);
- a tuple of tensors: its items flattened into the ONNX inputs, exported at twice the sample's batch
  (torch specializes sizes 0 and 1), run there, at three times and at the sample; dynamic axes required;
- a list of docs (or list of lists): the boundary form ``ragged_form(model, takes)``, whose program takes the
  packed list (``deploy.sequences.pack``: data, lengths[, counts]) and returns packed outputs, compared with
  the eager output packed at two batch sizes (B and lengths varied; cell ``rf``); dynamic axes required;
- a list of docs with no Ragged form (``map_list``: its TypeError) or inside a tuple (spaCy's
  TransitionModel): the list itself, one ONNX input per doc, B fixed by the graph (a torch limitation) and
  the docs' lengths varied (cell ``okB``, the reason in the matrix notes).

Plus bit-exact hashing and ragged_max's argmax."""
from __future__ import annotations

import warnings
from typing import Any

import numpy
import pytest
import torch
from torch.utils._pytree import tree_flatten, tree_map

from torchlayers import Padded, Ragged
from torchlayers.deploy import custom_translation_table, onnx_export, ragged_form
from torchlayers.deploy.sequences import _default_dims, pack

from .cases import CASES
from .deploy_forms import _boundary_form, _has_list, _takes
from .harness import build, eval_output
from .test_deployment_matrix import scaled
from .xfail_table import XFAIL

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

pytest_plugins = ["tests.deployment_report"]

ONNX_TOL = dict(atol=1e-5, rtol=1e-5)


def _input_kind(case) -> str:
    return type(case.sample()).__name__


def _auto_dims(X):
    """Every dim of every tensor leaf AUTO (export keeps dynamic what the program allows)."""
    return (tree_map(lambda t: dict.fromkeys(range(t.dim()), torch.export.Dim.AUTO) if isinstance(t, torch.Tensor) else None, X),)


def _export(model, X, path, dynamic):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = onnx_export(model, (X,), dynamic_shapes=dynamic, verbose=False)
    program.save(str(path))
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _leaves(X: Any) -> list:
    return [t for t in tree_flatten(X)[0] if isinstance(t, torch.Tensor)]


def _run(session, X):
    leaves = _leaves(X)
    names = [i.name for i in session.get_inputs()]
    assert len(names) == len(leaves), f"ONNX inputs {names} vs {len(leaves)} tensor leaves"
    return [torch.from_numpy(numpy.asarray(o)) for o in session.run(None, {n: t.numpy() for n, t in zip(names, leaves)})]


def _assert_matches(outs, ref, what):
    ref_leaves = [t for t in tree_flatten(ref)[0] if isinstance(t, torch.Tensor)]
    assert len(outs) == len(ref_leaves), f"{what}: {len(outs)} ONNX outputs vs {len(ref_leaves)} eager tensors"
    for i, (a, b) in enumerate(zip(outs, ref_leaves)):
        b = b.detach()
        assert tuple(a.shape) == tuple(b.shape), f"{what}[{i}]: shape {tuple(a.shape)} vs eager {tuple(b.shape)}"
        if b.is_floating_point():
            torch.testing.assert_close(a, b, **ONNX_TOL, msg=lambda m: f"{what}[{i}]: {m}")
        else:
            assert torch.equal(a.to(b.dtype), b), f"{what}[{i}]: integer outputs differ"


def _is_dynamic(session) -> bool:
    return any(isinstance(d, str) for i in session.get_inputs() for d in i.shape)


def _fits(session, X) -> bool:
    leaves = _leaves(X)
    for i, t in zip(session.get_inputs(), leaves):
        if len(i.shape) != t.dim() or any(isinstance(d, int) and d != n for d, n in zip(i.shape, t.shape)):
            return False
    return True


def _input_axes(session) -> str:
    return ", ".join(f"{i.name}{list(i.shape)}" for i in session.get_inputs())


def _assert_runs_at(session, X, what):
    """The program's axes take ``X`` (dynamic where ``X`` differs from the export example)."""
    shapes = [tuple(t.shape) for t in _leaves(X)]
    assert _fits(session, X), f"{what}: the ONNX program's input axes ({_input_axes(session)}) do not take {shapes}"


def _check_all(session, samples, reference, what):
    """onnxruntime == ``reference(X)`` at each sample, each of which the program's axes must take."""
    with torch.no_grad():
        for n, X in enumerate(samples):
            _assert_runs_at(session, X, f"{what} (sample {n})")
            _assert_matches(_run(session, X), reference(X), f"{what} (sample {n})")


# ------------------------------------------------------------------------------ the case table, by input
def _runs_right(session, X, ref) -> bool:
    """onnxruntime at ``X`` == ``ref``. (Input axes are no proof: torch.onnx exports with runtime asserts in
    place of export's guards and drops the asserts, so an axis export specialized can be named dynamic.)"""
    if not _fits(session, X):
        return False
    try:
        _assert_matches(_run(session, X), ref, "")
    except Exception:
        return False
    return True


def _on_value(case, model, X, path):
    """A Tensor, Ragged or Padded: the model itself, unless it returns a list, or holds one and its program
    does not run at twice the batch (then its boundary form; as ``compile_dyn`` decides on a recompile)."""
    dynamic = case.dynamic(X) if case.dynamic else _auto_dims(X)
    X2 = (case.scale or scaled)(X, 2)
    raw = {}

    def raw_not_dynamic() -> bool:
        raw["session"] = _export(model, X, path, dynamic)
        return X2 is not None and not _runs_right(raw["session"], X2, eval_output(model, X2))

    form, _ = _boundary_form(model, X, raw_not_dynamic)
    if form is not None:
        return _on_form(case, model, form, X, path, takes="value")
    session = raw.get("session") or _export(model, X, path, dynamic)
    assert X2 is not None, f"{case.id}: a {type(X).__name__} input with no generic second batch size: give the row " \
                           "a Case.scale"
    second = case.sample()  # a row that declares dynamic dims must run it; another one where its axes allow
    samples = [X, X2] + ([second] if case.dynamic is not None or _fits(session, second) else [])
    _check_all(session, samples, lambda Xs: eval_output(model, Xs), f"{case.id}: onnxruntime vs eager")
    return "passed", ""


def _on_tuple(case, model, X, path):
    """A tuple of tensors: flattened into the ONNX inputs; exported at twice the batch, dynamic axes."""
    scale = case.scale or scaled
    X2, X3 = scale(X, 2), scale(X, 3)
    assert X2 is not None, f"{case.id}: a tuple input with no generic second batch size: give the row a Case.scale"
    session = _export(model, X2, path, case.dynamic(X2) if case.dynamic else _auto_dims(X2))
    assert _is_dynamic(session), f"{case.id}: the ONNX program has no dynamic axis ({_input_axes(session)})"
    samples = [X2, X3] + ([X] if _fits(session, X) else [])
    _check_all(session, samples, lambda Xs: eval_output(model, Xs), f"{case.id}: onnxruntime vs eager")
    return "passed", "" if len(samples) == 3 else f"the sample's sizes are not the program's ({_input_axes(session)})"


def _on_form(case, model, form, X, path, takes):
    """The boundary form: the program takes the packed input and returns packed outputs; two batch sizes
    (B and the docs' lengths varied), compared with the eager output packed; dynamic axes required."""
    scale = case.scale or scaled
    X2, X3 = scale(X, 2), scale(X, 3)
    assert X2 is not None, f"{case.id}: a {type(X).__name__} input has no generic second batch size: give the row " \
                           "a Case.scale"
    P2 = pack(X2)
    session = _export(form.eval(), P2, path, (_default_dims(P2),))
    assert _is_dynamic(session), f"{case.id}: the ONNX program has no dynamic axis ({_input_axes(session)})"
    samples = [X2, X3] + ([X] if _fits(session, pack(X)) else [])
    with torch.no_grad():
        for n, Xs in enumerate(samples):
            what = f"{case.id}: onnxruntime of ragged_form(model, {takes!r}) vs eager, packed (sample {n})"
            _assert_runs_at(session, pack(Xs), what)
            _assert_matches(_run(session, pack(Xs)), pack(eval_output(model, Xs)), what)
    if len(samples) == 3:
        return "ragged_form", ""
    shapes = [tuple(t.shape) for t in _leaves(pack(X))]
    return "ragged_form", f"the sample itself packs to {shapes}, which the program ({_input_axes(session)}) " \
        "does not take (an empty batch has no feature axis); its two non-empty batches ran"


def _on_fixed_list(case, model, X, path, why):
    """A list of docs the graph takes as a list (one ONNX input per doc): B fixed, the docs' lengths varied."""
    X2, X3 = scaled(X, 2, fixed_list=True), scaled(X, 3, fixed_list=True)
    session = _export(model, X2, path, _auto_dims(X2))
    assert _is_dynamic(session), f"{case.id}: the ONNX program has no dynamic axis ({_input_axes(session)})"
    _check_all(session, [X2, X3], lambda Xs: eval_output(model, Xs), f"{case.id}: onnxruntime vs eager (B fixed)")
    return "fixed_B", f"{why}: exported on the list itself, one ONNX input per doc ({_input_axes(session)}): " \
        "B is fixed by the graph (a torch limitation), the docs' lengths vary"


def _onnx_outcome(case, model, X, path):
    if isinstance(X, (torch.Tensor, Ragged, Padded)):
        return _on_value(case, model, X, path)
    if isinstance(X, list):
        takes = _takes(X)
        try:
            form = ragged_form(model, takes)
        except TypeError as e:
            return _on_fixed_list(case, model, X, path, f"no Ragged form ({e})")
        return _on_form(case, model, form, X, path, takes)
    if type(X) is tuple and _has_list(X):
        return _on_fixed_list(case, model, X, path, f"the {type(model).__name__} input's list of docs is inside a "
                              "tuple (no Ragged form)")
    if type(X) is tuple:
        return _on_tuple(case, model, X, path)
    raise AssertionError(f"{case.id}: a {type(X).__name__} input: the ONNX check has no rule for it")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_onnx_matches_eager(case, tmp_path):
    from . import deployment_report  # the plugin pytest loaded (pytest_plugins above)

    # ONNX export starts with torch.export: rows that do not export (eager-only rows, the export
    # xfails) have no ONNX program either
    reason = None
    if "export" not in case.deploy:
        reason = f"eager-only (deploy={case.deploy}): {case.notes}"
    elif ("export", case.id) in XFAIL:
        reason = f"does not torch.export: {XFAIL[('export', case.id)]}"
    if reason is not None:
        deployment_report.record("onnx", case.id, "skipped", reason)
        pytest.skip(f"{case.id} {reason}")
    X = case.sample()
    model = build(case, X).eval()
    outcome, note = _onnx_outcome(case, model, X, tmp_path / "model.onnx")
    deployment_report.record("onnx", case.id, outcome, note)


def test_onnx_covers_the_table():
    """Every exporting row's input is one the ONNX check has a route for, and every route has rows."""
    kinds = {_input_kind(c) for c in CASES if "export" in c.deploy}
    assert kinds == {"Tensor", "Ragged", "Padded", "tuple", "list"}, kinds
    assert len(CASES) >= 200, len(CASES)


def test_translation_table_names_every_inference_op():
    names = {str(k) for k in custom_translation_table()}
    for op in ("hash_embed", "sparse_linear", "ragged_sum", "ragged_mean", "ragged_max"):
        assert f"torchlayers.{op}.default" in names, names


# ------------------------------------------------------------------------------ hashing, bit-exact
def _edge_ids(n: int, dtype=torch.int64) -> torch.Tensor:
    info = torch.iinfo(dtype)
    x = torch.randint(info.min, info.max, (n,), dtype=dtype, generator=torch.Generator().manual_seed(n))
    x[:6] = torch.tensor([0, -1, 1, info.max, info.min, info.min + 1], dtype=dtype)
    return x


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
@pytest.mark.parametrize("seed", [0, 3, 8, 2**32 - 1])
def test_murmur3_x64_keys_bit_exact(dtype, seed):
    from onnxscript import opset18

    from torchlayers.deploy.onnx import murmur3_x64_128_keys_onnx
    from torchlayers.kernels.murmur3_x64 import murmur3_x64_128_keys

    ids = _edge_ids(20000, dtype)
    keys = murmur3_x64_128_keys_onnx(opset18, ids.numpy(), seed).value
    assert keys.dtype == numpy.uint64
    assert torch.equal(torch.from_numpy(keys.astype(numpy.int64)), murmur3_x64_128_keys(ids, seed))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1])
def test_murmur3_x86_keys_bit_exact(dtype, seed):
    from onnxscript import opset18

    from torchlayers.deploy.onnx import murmur3_x86_32_keys_onnx
    from torchlayers.kernels.murmur3_x86 import murmur3_x86_32_keys

    ids = _edge_ids(20000, dtype)
    h = murmur3_x86_32_keys_onnx(opset18, ids.numpy(), seed).value
    assert h.dtype == numpy.uint32
    assert torch.equal(torch.from_numpy(h.astype(numpy.int64)), murmur3_x86_32_keys(ids, seed))


def test_hash_embed_onnx_rows_exact_on_huge_ids(tmp_path):
    """Every hashed row is right: a table whose rows are powers of two makes the 4-row sum exact."""
    from torchlayers import HashEmbed

    model = HashEmbed(1, 24, seed=5)
    model.initialize(X=_edge_ids(8))
    with torch.no_grad():
        model.get_param_tensor("E").copy_((2.0 ** torch.arange(24, dtype=torch.float64)).to(torch.float32)[:, None])
    model.eval()
    session = _export(model, _edge_ids(8), tmp_path / "he.onnx", ({0: torch.export.Dim("N", min=2)},))
    for n in (8, 5000):
        X = _edge_ids(n)
        (out,) = _run(session, X)
        assert torch.equal(out, model(X).detach())


# ------------------------------------------------------------------------------ ragged_max
def test_onnx_reduce_max_with_argmax_nan_ties_and_empty(tmp_path):
    """ragged_max's full output (with argmax): NaN propagates with its first row, ties go to the
    first row, empty sequences give 0 and -1."""
    import torchlayers  # noqa: F401  (registers the ops)

    class MaxWithArgmax(torch.nn.Module):
        def forward(self, data, lengths):
            return torch.ops.torchlayers.ragged_max(data, lengths, True)

    data = torch.tensor([[1.0, 2.0], [1.0, float("nan")], [3.0, 0.5], [-1.0, -2.0], [0.0, -2.0], [4.0, 4.0]])
    lengths = torch.tensor([3, 0, 2, 1], dtype=torch.int32)
    N, B = torch.export.Dim("N", min=2), torch.export.Dim("B", min=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = onnx_export(MaxWithArgmax(), (data, lengths), dynamic_shapes=({0: N}, {0: B}), verbose=False)
    program.save(str(tmp_path / "max.onnx"))
    session = onnxruntime.InferenceSession(str(tmp_path / "max.onnx"), providers=["CPUExecutionProvider"])
    for d, L in ((data, lengths), (torch.randn(40, 2), torch.tensor([0, 7, 13, 0, 20], dtype=torch.int32))):
        Y, which = session.run(None, {"data": d.numpy(), "lengths": L.numpy()})
        refY, refw = torch.ops.torchlayers.ragged_max(d, L, True)
        torch.testing.assert_close(torch.from_numpy(Y), refY, equal_nan=True, atol=0, rtol=0)
        assert torch.equal(torch.from_numpy(which), refw)


def test_onnx_export_pins_the_axes_export_specialized(tmp_path):
    """``with_list`` over a Ragged splits it into a list, whose length B the export specializes (a runtime
    assert torch.onnx drops): the ONNX program's lengths and width axes are static, so onnxruntime refuses
    another B with a shape error instead of computing a wrong result; N stays dynamic."""
    import torchlayers as tl

    model = tl.with_list(tl.with_array(tl.Linear(4, 3)))
    X = Ragged(torch.randn(5, 3), torch.tensor([2, 0, 3], dtype=torch.int32))
    model.initialize(X=X)
    session = _export(model.eval(), X, tmp_path / "pinned.onnx", _auto_dims(X))
    (data, lengths) = session.get_inputs()
    assert isinstance(data.shape[0], str) and data.shape[1:] == [3] and lengths.shape == [3], _input_axes(session)
    with torch.no_grad():
        X_longer = Ragged(torch.randn(9, 3), torch.tensor([4, 1, 4], dtype=torch.int32))  # same B, other N
        _assert_matches(_run(session, X_longer), model(X_longer), "with_list over a Ragged, N varied")
        with pytest.raises(Exception, match="(?i)dimension|shape"):
            _run(session, Ragged(torch.randn(10, 3), torch.tensor([2, 0, 3, 2, 0, 3], dtype=torch.int32)))


@pytest.mark.parametrize("bi,depth", [(False, 1), (True, 2)])
def test_onnx_lstm_over_padded_matches_eager(bi, depth, tmp_path):
    """LSTM takes a Padded (4 tensors): ONNX gets one input per field, T and B dynamic axes
    (``torchlayers::lstm`` decomposes into an ONNX ``Loop`` over time); onnxruntime at three T."""
    import onnx

    from torchlayers import LSTM
    from torchlayers.functional.sequences import list2padded

    gen = torch.Generator().manual_seed(0)

    def sample(lengths):
        return list2padded([torch.randn(n, 5, generator=gen) for n in lengths])

    X = sample((4, 2, 3))
    assert isinstance(X, Padded)
    model = LSTM(6, 5, bi=bi, depth=depth).eval()
    session = _export(model, X, tmp_path / "lstm.onnx", _auto_dims(X))
    T, B = session.get_inputs()[0].shape[:2]
    assert isinstance(T, str) and isinstance(B, str), f"data axes {session.get_inputs()[0].shape}: T and B not dynamic"
    assert "Loop" in {n.op_type for n in onnx.load(str(tmp_path / "lstm.onnx")).graph.node}
    for lengths in ((4, 2, 3), (7, 3, 3, 1), (1,)):
        Xs = sample(lengths)
        out = _run(session, Xs)[0]
        torch.testing.assert_close(out, model(Xs).data, **ONNX_TOL)
