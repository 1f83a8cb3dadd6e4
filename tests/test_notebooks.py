"""Test-matrix #30: every notebook executes top to bottom (small settings), the committed notebooks are what
notebooks/make_notebooks.py writes, and they are stored executed: with outputs, and with an inline image
wherever a cell shows a plot. Outputs vary from run to run (timings, training noise), so sources are
compared, and outputs are checked for presence, not equality."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

HERE = Path(__file__).parents[1] / "notebooks"
NOTEBOOKS = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
# The notebooks a reader looks at rather than reads: training curves (01, 02), benchmark charts (03).
PLOTTED = {"01_tagger_ewt.ipynb", "02_textcat_ewt.ipynb", "03_kernels_and_benchmarks.ipynb"}


def generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", HERE / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shows_plot(cell) -> bool:
    return cell.cell_type == "code" and "plt.show()" in cell.source


def images(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def check_executed(nb, name: str) -> None:
    """Every code cell ran, none raised, the notebook printed something, and each plt.show() cell holds an
    inline PNG (``%matplotlib inline``; an Agg backend or a savefig to a file would leave none)."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    not_run = [c.id for c in code if c.get("execution_count") is None]
    assert not not_run, f"{name}: cells {not_run} were not executed; run python notebooks/make_notebooks.py"
    errors = [(c.id, o.get("ename"), o.get("evalue")) for c in code for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{name}: {errors}"
    assert any(c.get("outputs") for c in code), f"{name}: stored without any output"
    no_image = [c.id for c in code if shows_plot(c) and images(c) == 0]
    assert not no_image, f"{name}: plot cells {no_image} hold no image/png output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # start from the sources alone: nothing stored can make this pass
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    generator().execute(nb)
    check_executed(nb, path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_notebook_has_outputs_and_plots(path):
    nb = nbformat.read(path, as_version=4)
    check_executed(nb, path.name)
    plots = [c for c in nb.cells if shows_plot(c)]
    if path.name in PLOTTED:
        assert plots, f"{path.name}: expected inline plots (training curves / benchmark charts)"
        assert sum(images(c) for c in plots) >= len(plots)


def test_notebooks_are_numbered_like_thincs():
    assert [p.name[:2] for p in NOTEBOOKS] == sorted(p.name[:2] for p in NOTEBOOKS)
    assert len(NOTEBOOKS) >= 2
    assert PLOTTED <= {p.name for p in NOTEBOOKS}


def test_notebooks_match_their_generator():
    """The committed notebooks are what notebooks/make_notebooks.py writes (edit the generator, not the .ipynb)."""
    module = generator()
    assert sorted(module.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    for p in NOTEBOOKS:
        committed = [(c.cell_type, c.source) for c in nbformat.read(p, as_version=4).cells]
        generated = [(c.cell_type, c.source) for c in module.build(p.name).cells]
        assert committed == generated, f"{p.name} differs from its generator: run python notebooks/make_notebooks.py"
