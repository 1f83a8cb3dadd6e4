"""Test-matrix #31: the deployment matrix, for every case-table row and five end-to-end models.

Per case-table row (the compile/export/script/ONNX outcomes come from ``test_case_table.py`` and
``test_deploy_onnx.py``; ``tests/deployment_report.py`` prints them all in one table):

- ``compile_dyn``: ``torch.compile(fullgraph=True, dynamic=True)`` (Dynamo's capture with the eager backend:
  guards and recompiles are Dynamo's; AOT tracing is the harness's compile check) on the row's sample twice and
  three times over (two batch sizes >= 2), equal to eager, and the second size compiles nothing new;
- ``save_load``: ``torch.export`` (the harness's dynamic dims) -> ``torch.export.save`` -> ``load`` in process
  equals eager; then one fresh process (``fresh``) loads every saved row and runs it.

Five end-to-end models (``test_e2e``): the EWT tagger's tok2vec + Softmax over Ragged ids, spaCy's list
layout through ``deploy.export``'s Ragged form, the bag-of-ngrams textcat (``SparseLinear``), the CNN
textcat (``HashEmbed >> expand_window >> Maxout >> reduce_mean >> Softmax``) and a BiLSTM tagger over
Padded, through compile (aot_eager, dynamic, no recompile), export + save + load in a fresh process with
torchlayers, ``export(decompose=True)`` in a fresh process without it, ONNX (onnxruntime within 1e-5,
dynamic axes) and TorchScript.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, NamedTuple

import pytest
import torch
from torch._dynamo.testing import CompileCounterWithBackend
from torch.utils._pytree import tree_flatten

import torchlayers as tl
from torchlayers import Padded, Ragged
from torchlayers.deploy import export, ragged_form
from torchlayers.deploy.sequences import pack
from torchlayers.functional.sequences import list2padded, padded2list

from .cases import CASES
from .deploy_forms import _boundary_form, _has_list
from .harness import DEPLOY, assert_tree_equal, build, eval_output
from .xfail_table import XFAIL

pytest_plugins = ["tests.deployment_report"]

ROOT = Path(__file__).parents[1]


# ------------------------------------------------------------------------------ two batch sizes
def scaled(X: Any, k: int, fixed_list: bool = False) -> Any:
    """The batch ``k`` times: a Tensor's rows, a Ragged's sequences (or a ``(..., lengths)`` tuple's), a
    Padded's columns; a list's docs k times, each k times longer (``fixed_list``: only longer, for a layer
    that has no Ragged form and so sees a Python list, whose length a graph fixes); a list of lists: each
    inner list k times, k times over. None for another input (the row's ``Case.scale`` reads it)."""
    if isinstance(X, Ragged):
        return Ragged(torch.cat([X.data] * k), torch.cat([X.lengths] * k))
    if isinstance(X, Padded):
        return list2padded(padded2list(X) * k)
    if isinstance(X, torch.Tensor) and X.dim() >= 1:
        return torch.cat([X] * k)
    if isinstance(X, list) and X and all(isinstance(x, torch.Tensor) and x.dim() >= 1 for x in X):
        longer = [torch.cat([x] * k) for x in X]
        return longer if fixed_list else longer * k
    if isinstance(X, list) and X and all(isinstance(x, list) for x in X) and not fixed_list:
        return [list(x) * k for x in X] * k
    if _lengths_tuple(X):  # (..., lengths): SparseLinear's (keys, values, lengths), (data, lengths)
        return tuple(torch.cat([x] * k) for x in X)
    if type(X) is tuple and fixed_list and any(isinstance(x, list) for x in X):  # (docs, token_ids): item-wise
        items = [scaled(x, k, fixed_list=True) for x in X]
        return None if any(x is None for x in items) else tuple(items)
    return None


def _lengths_tuple(X: Any) -> bool:
    """A plain tuple of tensors ending in (B,) integer lengths that split every other item's rows."""
    if type(X) is not tuple or len(X) < 2 or not all(isinstance(x, torch.Tensor) and x.dim() >= 1 for x in X):
        return False
    *items, lengths = X
    if lengths.dim() != 1 or lengths.is_floating_point() or lengths.dtype == torch.bool:
        return False
    return all(x.shape[0] == int(lengths.sum()) for x in items)


def _leaf_shapes(X: Any) -> list:
    return [tuple(t.shape) for t in tree_flatten(X)[0] if isinstance(t, torch.Tensor)]


def _compiled_frames(module: Any, inputs: list, backend: str) -> list:
    """Outputs of ``torch.compile(module, fullgraph=True, dynamic=True)`` on each input, and the frames
    compiled after the first call (0: no recompile)."""
    torch._dynamo.reset()
    counter = CompileCounterWithBackend(backend)
    compiled = torch.compile(module, fullgraph=True, dynamic=True, backend=counter)
    outs = []
    # no duck sizing: a batch size that happens to equal a feature size must not become a guard
    with torch.no_grad(), torch.fx.experimental._config.patch(use_duck_shape=False):
        for i, X in enumerate(inputs):
            outs.append(compiled(X))
            if i == 0:
                first = counter.frame_count  # 0 when the graph holds no op (Dynamo skips the frame)
    return [outs, counter.frame_count - first]


COMPILE_ROWS = [c for c in CASES if "compile" in c.deploy and ("compile", c.id) not in XFAIL]
EXPORT_ROWS = [c for c in CASES if "export" in c.deploy and ("export", c.id) not in XFAIL]


@pytest.mark.parametrize("case", COMPILE_ROWS, ids=[c.id for c in COMPILE_ROWS])
def test_compile_dynamic_matches_eager(case):
    """Compiled == eager at two batch sizes, and the second size compiles nothing new (both asserted).

    A row whose input is a list (or list of lists), which returns one, or which converts to one inside
    (its own compile recompiles, and ``ragged_form`` applies a rule) is compiled through its boundary form, ``ragged_form(model, takes)``:
    the input packed once (``deploy.sequences.pack``), B and the docs' lengths both varied, compared with
    the eager output packed (matrix cell ``rf``). A list-taking layer without a Ragged form (``map_list``:
    its TypeError says why) is compiled on the list itself, whose length Dynamo fixes (a torch limitation):
    the docs' lengths vary, B does not (cell ``okB``). An empty list's row (``scale_empty_list``) also runs
    the compiled form on the empty batch (a size of 0, which torch specializes: that call may compile)."""
    from . import deployment_report  # the plugin pytest loaded (pytest_plugins above)

    sample = case.sample()
    model = build(case, sample).eval()
    scale = case.scale or scaled
    X, X2 = scale(sample, 2), scale(sample, 3)  # two sizes >= 2 (torch specializes a size of 0 or 1)
    inner_list = None
    if X is None and type(sample) is tuple and _has_list(sample):  # a list of docs inside a tuple input
        X, X2 = scaled(sample, 2, fixed_list=True), scaled(sample, 3, fixed_list=True)
        inner_list = (f"the {type(model).__name__} input's list of docs (inside a tuple, no Ragged form) is "
                      "compiled as a list, whose length Dynamo fixes (a torch limitation): the docs' lengths "
                      "and the other items' rows vary, B does not")
    assert X is not None, f"{case.id}: a {type(sample).__name__} input has no generic second batch size: " \
                          "give the row a Case.scale"
    def raw_recompiles() -> bool:
        return _compiled_frames(model, [X, X2], "eager")[1] > 0

    form, no_form = _boundary_form(model, sample, raw_recompiles)
    if form is not None:
        inputs = [pack(X), pack(X2)]
        (Y, Y2), recompiled = _compiled_frames(form, inputs, "eager")
        refs = [pack(eval_output(model, Xs)) for Xs in (X, X2)]
        outcome = "ragged_form"
    elif no_form is not None:
        X, X2 = scaled(sample, 2, fixed_list=True), scaled(sample, 3, fixed_list=True)
        (Y, Y2), recompiled = _compiled_frames(model, [X, X2], "eager")
        refs = [eval_output(model, X), eval_output(model, X2)]
        outcome = "fixed_B"
    else:
        (Y, Y2), recompiled = _compiled_frames(model, [X, X2], "eager")
        refs = [eval_output(model, X), eval_output(model, X2)]
        outcome = "fixed_B" if inner_list else "passed"
    assert_tree_equal(Y, refs[0], f"{case.id}: compiled vs eager", DEPLOY)
    assert_tree_equal(Y2, refs[1], f"{case.id}: compiled vs eager (second batch size)", DEPLOY)
    assert recompiled == 0, f"{case.id}: the second batch size compiled {recompiled} more frames" + \
        (f" ({no_form})" if no_form else "")
    if form is not None and isinstance(sample, list) and not sample:
        with torch.no_grad():
            Y0 = torch.compile(form, fullgraph=True, dynamic=True, backend="eager")(pack(sample))
        assert_tree_equal(Y0, pack(eval_output(model, sample)), f"{case.id}: compiled vs eager (empty batch)",
                          DEPLOY)
    note = f"{no_form}; compiled on the list itself, whose length Dynamo fixes (a torch limitation): " \
        "the docs' lengths vary, B does not" if no_form else (inner_list or "")
    deployment_report.record("compile_dyn", case.id, outcome, note)


@pytest.fixture(scope="module")
def saved_rows(tmp_path_factory):
    """Folder of ``<n>.pt2`` programs with ``<n>.io.pt`` (input, eager output), written by test_export_save_load."""
    return tmp_path_factory.mktemp("deploy-rows")


@pytest.mark.parametrize("case", EXPORT_ROWS, ids=[c.id for c in EXPORT_ROWS])
def test_export_save_load(case, saved_rows):
    X = case.sample()
    model = build(case, X).eval()
    ep = torch.export.export(model, (X,), dynamic_shapes=case.dynamic(X) if case.dynamic else None)
    buffer = io.BytesIO()
    torch.export.save(ep, buffer)
    buffer.seek(0)
    loaded = torch.export.load(buffer)
    with torch.no_grad():
        ref = model(X)
        assert_tree_equal(loaded.module()(X), ref, f"{case.id}: loaded program vs eager", DEPLOY)
    n = len(list(saved_rows.glob("*.pt2")))
    (saved_rows / f"{n}.pt2").write_bytes(buffer.getvalue())
    torch.save({"id": case.id, "X": X, "Y": ref}, saved_rows / f"{n}.io.pt")


FRESH_ROWS = """
import json, sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import torch
import torchlayers  # registers the ops and the Ragged / Padded pytree types
from torch.utils._pytree import tree_flatten
results = {}
for path in sorted(Path(sys.argv[1]).glob("*.pt2")):
    io = torch.load(path.with_suffix(".io.pt"), weights_only=False)
    try:
        with torch.no_grad():
            out = torch.export.load(str(path)).module()(io["X"])
        a = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        b = [t for t in tree_flatten(io["Y"])[0] if isinstance(t, torch.Tensor)]
        close = [torch.allclose(x.double(), y.double(), atol=1e-6, rtol=1e-6) if y.is_floating_point()
                 else torch.equal(x, y) for x, y in zip(a, b) if x.shape == y.shape]
        ok = len(a) == len(b) == len(close) and all(close)
        results[io["id"]] = "ok" if ok else "outputs differ from eager"
    except Exception as e:
        results[io["id"]] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
print(json.dumps(results))
"""


def _python(code: str, *args: str, block_torchlayers: bool = False) -> subprocess.CompletedProcess:
    """``python -I -c code args`` from the repository root; ``block_torchlayers``: ``import torchlayers``
    fails there as in an environment without it (ModuleNotFoundError), so nothing of it can load."""
    prelude = ""
    if block_torchlayers:
        prelude = (
            "import sys, importlib.abc\n"
            "class _NoTorchlayers(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] == 'torchlayers':\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, _NoTorchlayers())\n"
        )
    return subprocess.run([sys.executable, "-I", "-c", prelude + code, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_fresh_process_runs_every_saved_row(saved_rows):
    """One fresh process loads every program test_export_save_load saved and runs it on the row's input."""
    n = len(list(saved_rows.glob("*.pt2")))
    if n == 0:
        pytest.skip("no row was exported in this session (test_export_save_load deselected)")
    proc = _python(FRESH_ROWS, str(saved_rows))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == n
    from . import deployment_report  # the plugin pytest loaded (pytest_plugins above)

    for row, result in results.items():
        deployment_report.record("fresh", row, "passed" if result == "ok" else "failed")
    bad = {row: r for row, r in results.items() if r != "ok"}
    assert not bad, f"{len(bad)} of {n} rows failed in a fresh process: {bad}"


# ------------------------------------------------------------------------------ end-to-end models
W = 8


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _lengths(i: int):
    return [(3, 5, 2), (4, 1, 6, 2, 3)][i]


def ids_ragged(i: int, cols: int = 0) -> Ragged:
    L = _lengths(i)
    shape = (sum(L), cols) if cols else (sum(L),)
    return Ragged(torch.randint(0, 2**62, shape, generator=_gen(i)), torch.tensor(L, dtype=torch.int32))


class E2E(NamedTuple):
    build: Callable[[], Any]
    sample: Callable[[int], Any]  # 0: the example, 1: a second batch size
    notes: str = ""


def _tagger():
    from examples.tagger import build_tagger

    return build_tagger(tl, width=W, rows=(50, 20, 30, 30), depth=1, n_tags=5)


def _spacy_list():
    embed = tl.with_array(tl.HashEmbed(W, 100, seed=1))
    encode = tl.with_array(tl.residual(tl.chain(tl.expand_window(1), tl.Maxout(W, W * 3, nP=3))), pad=4)
    return tl.chain(tl.list2ragged(), embed, tl.ragged2list(), encode)


def _cnn_textcat():
    return tl.chain(tl.with_array(tl.HashEmbed(W, 100, seed=2)), tl.expand_window(1),
                    tl.with_array(tl.Maxout(W, W * 3, nP=2)), tl.reduce_mean(), tl.Softmax(5, W))


def _bilstm_tagger():
    return tl.chain(tl.with_array2d(tl.Relu(W, 6)), tl.LSTM(W, W, bi=True), tl.with_array2d(tl.Softmax(5, W)))


def _docs(i: int):
    gen = _gen(i)
    return [torch.randint(-2**62, 2**62, (n,), generator=gen) for n in [(3, 0, 5, 2), (1, 7, 4)][i]]


def _bow(i: int):
    L = _lengths(i)
    gen = _gen(i)
    n = sum(L)
    keys, values = torch.randint(0, 2**62, (n,), generator=gen), torch.rand(n, generator=gen)
    return keys, values, torch.tensor(L, dtype=torch.int32)


def _padded(i: int):
    gen = _gen(i)  # two longest lengths: T and B are both dynamic
    return list2padded([torch.randn(n, 6, generator=gen) for n in [(4, 2, 1), (7, 3, 3, 2)][i]])


E2E_MODELS: Dict[str, E2E] = {
    "tagger": E2E(_tagger, lambda i: ids_ragged(i, cols=4), "examples/tagger.py build_tagger (Tok2Vec + Softmax)"),
    "spacy_list": E2E(_spacy_list, _docs, "list2ragged >> with_array(embed) >> ragged2list >> with_array(..., pad=4)"),
    "textcat_bow": E2E(lambda: tl.SparseLinear(5, length=2**10), _bow, "SparseLinear over (keys, values, lengths)"),
    "textcat_cnn": E2E(_cnn_textcat, ids_ragged, "HashEmbed >> expand_window >> Maxout >> reduce_mean >> Softmax"),
    "bilstm_tagger": E2E(_bilstm_tagger, _padded, "LSTM(bi=True) over Padded; T and B dynamic"),
}


def _packed(X: Any) -> Any:
    """The program input: a list of docs is packed once (deploy.export's Ragged form)."""
    return tl.list2ragged()(X) if isinstance(X, list) else X


def _reference(model: Any, X: Any) -> Any:
    with torch.no_grad():
        Y = model(X)
    return tl.list2ragged()(Y) if isinstance(Y, list) else Y


def _tensors(tree: Any) -> list:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    """Each model initialized on its example, its two samples and eager outputs, and its programs saved:
    ``<name>.pt2`` (``deploy.export``) and ``<name>.flat.pt2`` (``decompose=True``)."""
    folder = tmp_path_factory.mktemp("deploy-e2e")
    built = {}
    for name, spec in E2E_MODELS.items():
        torch.manual_seed(0)
        model = spec.build()
        X = spec.sample(0)
        model.initialize(X=X)
        model.eval()
        samples = [spec.sample(0), spec.sample(1)]
        refs = [_reference(model, s) for s in samples]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.export.save(export(model, X), folder / f"{name}.pt2")
            torch.export.save(export(model, X, decompose=True), folder / f"{name}.flat.pt2")
        inputs = [_packed(s) for s in samples]
        torch.save({"X": inputs[1], "Y": refs[1]}, folder / f"{name}.io.pt")
        torch.save({"X": _tensors(inputs[1]), "Y": _tensors(refs[1])}, folder / f"{name}.flat.io.pt")
        built[name] = {"model": model, "samples": samples, "inputs": inputs, "refs": refs}
    return folder, built


FRESH_E2E = """
import json, sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import torch
from torch.utils._pytree import tree_flatten
folder, with_tl, suffixes = Path(sys.argv[1]), sys.argv[2] == "1", sys.argv[3:]
if with_tl:
    import torchlayers  # noqa: F401  (registers the ops and the Ragged / Padded pytree types)
results = {}
for suffix in suffixes:
    for path in sorted(folder.glob("*" + suffix + ".pt2")):
        name = path.name[: -len(suffix + ".pt2")]
        if "." in name:
            continue
        try:
            program = torch.export.load(str(path))
            io = torch.load(folder / (name + suffix + ".io.pt"), weights_only=not with_tl)
            with torch.no_grad():
                out = program.module()(*io["X"]) if suffix else program.module()(io["X"])
            a = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
            b = [t for t in tree_flatten(io["Y"])[0] if isinstance(t, torch.Tensor)]
            ok = len(a) == len(b) and all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(a, b))
            results[name + suffix] = "ok" if ok else "outputs differ from eager"
        except Exception as e:
            results[name + suffix] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
results["torchlayers modules loaded"] = sorted(m for m in sys.modules if m.split(".")[0] == "torchlayers")
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def fresh_e2e(e2e):
    """Two fresh processes: with torchlayers, the deploy.export programs; without it, the decomposed programs
    (``<name>.flat``, which must run) and the deploy.export ones (which must fail, naming torchlayers)."""
    folder, _ = e2e
    runs = {}
    for key, with_tl, suffixes in (("with", True, [""]), ("without", False, [".flat", ""])):
        proc = _python(FRESH_E2E, str(folder), "1" if with_tl else "0", *suffixes, block_torchlayers=not with_tl)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[key] = (json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr)
    return runs


def _e2e_compile(name, e2e):
    built = e2e[1][name]
    module = ragged_form(built["model"]) if isinstance(built["samples"][0], list) else built["model"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs, recompiled = _compiled_frames(module, built["inputs"], "aot_eager")
    for out, ref in zip(outs, built["refs"]):
        assert_tree_equal(out, ref, f"{name}: compiled vs eager", DEPLOY)
    assert recompiled == 0, f"{name}: the second batch size compiled {recompiled} more frames"


def _e2e_fresh(name, fresh_e2e):
    results, _stderr = fresh_e2e["with"]
    assert results[name] == "ok", f"{name} in a fresh process with torchlayers: {results[name]}"


def _e2e_no_torchlayers(name, fresh_e2e):
    results, stderr = fresh_e2e["without"]
    assert results["torchlayers modules loaded"] == [], results["torchlayers modules loaded"]
    flat = results[name + ".flat"]
    assert flat == "ok", f"{name} (decompose=True) in a fresh process without torchlayers: {flat}"
    # without decompose, the same process fails, and says torchlayers is what is missing
    assert results[name] != "ok", f"{name}: a program holding torchlayers ops loaded without torchlayers"
    assert "torchlayers" in results[name] + stderr, f"{name}: the failure does not name torchlayers: {results[name]}"


def _e2e_onnx(name, e2e, tmp_path):
    from torchlayers.deploy.sequences import _default_dims

    from .test_deploy_onnx import _assert_matches, _export, _run

    built = e2e[1][name]
    module = ragged_form(built["model"]) if isinstance(built["samples"][0], list) else built["model"]
    X = built["inputs"][0]
    session = _export(module, X, tmp_path / f"{name}.onnx", (_default_dims(X),))
    assert any(isinstance(d, str) for i in session.get_inputs() for d in i.shape), f"{name}: no dynamic axis"
    for Xs, ref in zip(built["inputs"], built["refs"]):
        _assert_matches(_run(session, Xs), ref, f"{name}: onnxruntime vs eager")


def _e2e_script(name, e2e):
    import torchlayers.deploy as deploy

    built = e2e[1][name]
    X = built["samples"][0]
    scripted = deploy.script(built["model"], X)
    with torch.no_grad():
        for Xs in built["samples"]:  # the refs are the ragged form's outputs: compare with the model itself
            assert_tree_equal(_tensors(scripted(Xs)), _tensors(built["model"](Xs)), f"{name}: scripted vs eager",
                              DEPLOY)


E2E_CHECKS = ("compile_dyn", "fresh", "no_tl", "onnx", "script")


@pytest.mark.parametrize("check,name", [(c, n) for c in E2E_CHECKS for n in E2E_MODELS],
                         ids=[f"{c}-{n}" for c in E2E_CHECKS for n in E2E_MODELS])
def test_e2e(check, name, request, tmp_path):
    if check == "compile_dyn":
        _e2e_compile(name, request.getfixturevalue("e2e"))
    elif check == "fresh":
        _e2e_fresh(name, request.getfixturevalue("fresh_e2e"))
    elif check == "no_tl":
        _e2e_no_torchlayers(name, request.getfixturevalue("fresh_e2e"))
    elif check == "onnx":
        _e2e_onnx(name, request.getfixturevalue("e2e"), tmp_path)
    else:
        _e2e_script(name, request.getfixturevalue("e2e"))


def test_export_save_load_round_trips_ragged_in_and_out(tmp_path):
    """A program with a Ragged input and a Ragged output: save -> load keeps both types (the pytree names
    ``torchlayers.Ragged``) and the values."""
    model = tl.with_array(tl.Maxout(4, 3, nP=2))
    X = Ragged(torch.randn(7, 3), torch.tensor([3, 0, 4], dtype=torch.int32))
    model.initialize(X=X)
    ep = export(model, X)
    torch.export.save(ep, tmp_path / "ragged.pt2")
    loaded = torch.export.load(tmp_path / "ragged.pt2")
    X2 = Ragged(torch.randn(9, 3), torch.tensor([2, 2, 5, 0], dtype=torch.int32))
    with torch.no_grad():
        Y = loaded.module()(X2)
        assert isinstance(Y, Ragged)
        assert_tree_equal(Y, model(X2), "loaded Ragged program vs eager")


def test_decompose_leaves_aten_only_and_refuses_what_it_cannot():
    from torchlayers.deploy.decompose import custom_ops_in

    model = tl.chain(tl.with_array(tl.HashEmbed(4, 50, seed=3)), tl.reduce_max())
    X = ids_ragged(0)
    model.initialize(X=X)
    raw = export(model, X)
    assert {"torchlayers.hash_embed.default", "torchlayers.ragged_max.default"} <= set(custom_ops_in(raw))
    flat = export(model, X, decompose=True)
    assert custom_ops_in(flat) == []
    with torch.no_grad():
        for i in (0, 1):
            assert_tree_equal(flat.module()(*_tensors(ids_ragged(i))), tuple(_tensors(model(ids_ragged(i)))),
                              "decomposed vs eager")
    # uniqued: its custom ops decompose through their torch bodies (torch.unique: U is an unbacked size)
    uniq = tl.uniqued(tl.Linear(3, 4))
    pool = torch.randn(3, 4)
    rows = pool[torch.tensor([0, 1, 0, 2, 1, 0])]
    uniq.initialize(X=rows)
    assert {"torchlayers.uniqued_keys.default", "torchlayers.uniqued_gather.default"} <= set(
        custom_ops_in(export(uniq, rows)))
    flat = export(uniq, rows, decompose=True)
    assert custom_ops_in(flat) == []
    with torch.no_grad():  # another batch size and another count of unique keys
        for X in (rows, torch.randn(5, 4)[torch.tensor([4, 4, 1, 0, 1, 3, 4, 0, 2])]):
            assert_tree_equal(flat.module()(X), (uniq(X),), "uniqued decomposed vs eager")
    # an op with no decomposition (here one the test registers) is refused, named
    if not hasattr(torch.ops.tl_refusal_test, "opaque"):
        @torch.library.custom_op("tl_refusal_test::opaque", mutates_args=())
        def opaque(x: torch.Tensor) -> torch.Tensor:
            return x * 2

        opaque.register_fake(lambda x: torch.empty_like(x))

    class Opaque(torch.nn.Module):
        def forward(self, x):
            return torch.ops.tl_refusal_test.opaque(x)

    left = r"\['tl_refusal_test.opaque.default'\] \(they have no ATen decomposition"
    with pytest.raises(ValueError, match=r"deploy.export: the decomposed program still holds " + left):
        export(Opaque(), torch.randn(3, 2), decompose=True)
    with pytest.raises(TypeError, match=r"deploy.export: decompose=True takes an example made of tensors only"):
        export(tl.noop(), (torch.zeros(2, 2), 3), decompose=True)
