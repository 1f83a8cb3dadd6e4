"""Test-matrix #31, ``no_tl``: every exporting case-table row, decomposed, loads and runs where torchlayers is not.

Per row of ``EXPORT_ROWS`` (``tests/test_deployment_matrix.py``: the rows with ``"export"`` in ``deploy`` and
no ``("export", id)`` xfail), in this process: the model on the row's sample through
``torchlayers.deploy.export(model, X, dynamic_shapes=<the row's dims>, decompose=True)`` (static dims where
the row declares none); a list of docs (tensors, or lists of tensors) through
``deploy.decompose.export_decomposed``, the model on the list itself (the row's own program: ``deploy.export``
would pack the docs into its Ragged form, which only chains of ``list2ragged`` / ``with_array`` /
``ragged2list`` have). ``torch.export.save`` writes ``<n>.pt2``, ``torch.save`` ``<n>.io.pt``: the input
leaves and the eager output leaves, and where the row has dynamic dims a second batch (a new sample with
every dynamic dim doubled) and its eager outputs, all plain tensors (``torch.load(weights_only=True)``).

Then ONE fresh process in which ``import torchlayers`` fails (``_python(..., block_torchlayers=True)``)
loads every program, runs it on each saved batch and compares with eager **bitwise** (``torch.equal``,
shapes and dtypes too; the LSTM rows within DEPLOY, see ``_runs_fused_lstm``): the decomposed program computes eager's ATen ops (``deploy/decompose.py`` keeps
them, with no core-ATen lowering), and the torchlayers ops are traced through the CPU references eager
runs. Each row is recorded in the deployment matrix's ``no_tl`` column.
"""
from __future__ import annotations

import json
import warnings
from typing import Any, List, Optional

import pytest
import torch
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten

from torchlayers.deploy import export
from torchlayers.deploy.decompose import export_decomposed, flat_dynamic_shapes

from .harness import DEPLOY, build
from .test_deployment_matrix import EXPORT_ROWS, _python

pytest_plugins = ["tests.deployment_report"]

WHERE = "tests/test_deploy_without_torchlayers.py"

LOAD_ROWS = """
import json, sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import torch
results = {}
for path in sorted(Path(sys.argv[1]).glob("*.pt2")):
    io = torch.load(path.with_suffix(".io.pt"), weights_only=True)
    try:
        program = torch.export.load(str(path)).module()
        differ = []
        for what, X, Y in (("sample", io["X"], io["Y"]), ("second batch", io["X2"], io["Y2"])):
            if X is None:
                continue
            with torch.no_grad():
                out = program(*X)
            tol = io["tol"]
            if not (len(out) == len(Y) and all(a.shape == b.shape and a.dtype == b.dtype and (
                    torch.allclose(a, b, atol=tol, rtol=tol) if tol and b.is_floating_point() else torch.equal(a, b))
                    for a, b in zip(out, Y))):
                differ.append(what)
        results[io["id"]] = "ok" if not differ else "outputs differ from eager on the " + " and ".join(differ)
    except Exception as e:
        results[io["id"]] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
modules = sorted(m for m in sys.modules if m.split(".")[0] == "torchlayers")
print(json.dumps({"rows": results, "torchlayers modules": modules}))
"""


def _runs_fused_lstm(model: torch.nn.Module) -> bool:
    """The model holds an LSTM: eager float32 CPU inference runs torch's fused (oneDNN) LSTM kernel, while the
    decomposed program runs the LSTM cell's ATen ops in a ``while_loop`` over time (``functional/rnn_loop.py``:
    torch's own ``aten.lstm`` trace would fix T); the two round differently (~1e-7), so these rows compare
    within the DEPLOY tolerance. GRU and RNN have no oneDNN path and stay bitwise."""
    from torchlayers.modules.lstm import LSTM

    return any(isinstance(m, (torch.nn.LSTM, LSTM)) for m in model.modules())


def _leaves(tree: Any) -> List[torch.Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


def _spec(case: Any, X: Any) -> Optional[Any]:
    """The row's dynamic_shapes for its one input (``case.dynamic`` gives export's 1-tuple), else None."""
    if case.dynamic is None:
        return None
    spec = case.dynamic(X)
    assert isinstance(spec, tuple) and len(spec) == 1, f"{case.id}: dynamic gives {spec!r}, expected a 1-tuple"
    return spec[0]


def _second_batch(case: Any, X: Any, spec: Any) -> Any:
    """A new sample (``case.sample()`` again: new values, but the rows' samples keep their sizes) with every
    dynamic dim doubled: each tensor repeated along dim 0 where its spec names dim 0 (a Ragged's data and
    lengths, a (keys, values, lengths) triple stay consistent); asserted to differ from ``X``'s sizes."""
    leaves, structure = tree_flatten(case.sample())
    dims = flat_dynamic_shapes(spec, len(leaves), WHERE)
    out = []
    for leaf, d in zip(leaves, dims):
        named = sorted(d) if d else []
        assert named in ([], [0]), f"{case.id}: dynamic dims {named}; only a dynamic dim 0 is doubled here"
        out.append(torch.cat([leaf, leaf]) if named else leaf)
    assert [x.shape for x in out] != [x.shape for x in _leaves(X)], f"{case.id}: the second batch has X's sizes"
    return tree_unflatten(out, structure)


def _program(model: Any, X: Any, spec: Any) -> torch.export.ExportedProgram:
    """The row's decomposed program (see the module docstring); static dims where ``spec`` is None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(X, list):
            return export_decomposed(model, X, spec, where=WHERE)
        static = tree_map(lambda t: {}, X)  # {} per tensor: no dynamic dim (None would ask for deploy's defaults)
        return export(model, X, dynamic_shapes=static if spec is None else spec, decompose=True)


@pytest.fixture(scope="module")
def without_torchlayers(request, tmp_path_factory):
    """({row id: "ok" or what failed}, the torchlayers modules the fresh process imported) for the rows
    selected in this session: each exported here, then all loaded in one process without torchlayers."""
    selected = {item.callspec.params["case"].id for item in request.session.items
                if getattr(item, "originalname", None) == "test_row_runs_without_torchlayers"}
    folder = tmp_path_factory.mktemp("deploy-no-tl")
    failed = {}
    for n, case in enumerate(c for c in EXPORT_ROWS if c.id in selected):
        X = case.sample()
        model = build(case, X).eval()
        spec = _spec(case, X)
        try:
            program = _program(model, X, spec)
        except Exception as e:
            failed[case.id] = f"export: {type(e).__name__}: {str(e).splitlines()[0][:300]}"
            continue
        X2 = _second_batch(case, X, spec) if spec is not None else None
        with torch.no_grad():
            Y, Y2 = _leaves(model(X)), None if X2 is None else _leaves(model(X2))
        torch.export.save(program, folder / f"{n}.pt2")
        io = {"id": case.id, "X": _leaves(X), "Y": Y, "X2": None if X2 is None else _leaves(X2), "Y2": Y2,
              "tol": DEPLOY["atol"] if _runs_fused_lstm(model) else None}
        torch.save(io, folder / f"{n}.io.pt")
    proc = _python(LOAD_ROWS, str(folder), block_torchlayers=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**out["rows"], **failed}, out["torchlayers modules"]


@pytest.mark.parametrize("case", EXPORT_ROWS, ids=[c.id for c in EXPORT_ROWS])
def test_row_runs_without_torchlayers(case, without_torchlayers):
    """The row's decomposed program, loaded where torchlayers cannot be imported, equals eager bitwise on
    its sample and (dynamic rows) on a second batch size."""
    results, modules = without_torchlayers
    assert modules == [], f"the process without torchlayers imported {modules}"
    result = results.get(case.id, "not run: the program was saved but the fresh process reported nothing")
    from . import deployment_report  # the plugin pytest loaded (pytest_plugins above)

    deployment_report.record("no_tl", case.id, "passed" if result == "ok" else "failed")
    assert result == "ok", f"{case.id} (decompose=True) in a fresh process without torchlayers: {result}"
