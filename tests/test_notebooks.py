"""Test-matrix #30: every notebook executes top to bottom (small settings)."""
from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("TORCHLAYERS_SMALL", "1")
    nb = nbformat.read(path, as_version=4)
    resources = {"metadata": {"path": str(path.parent)}}
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", resources=resources)
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors


def test_notebooks_are_numbered_like_thincs():
    assert [p.name[:2] for p in NOTEBOOKS] == sorted(p.name[:2] for p in NOTEBOOKS)
    assert len(NOTEBOOKS) >= 2


def test_notebooks_match_their_generator():
    """The committed notebooks are what notebooks/make_notebooks.py writes (edit the generator, not the .ipynb)."""
    import importlib.util

    path = Path(__file__).parents[1] / "notebooks" / "make_notebooks.py"
    spec = importlib.util.spec_from_file_location("make_notebooks", path)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert sorted(generator.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    for p in NOTEBOOKS:
        committed = [(c.cell_type, c.source) for c in nbformat.read(p, as_version=4).cells]
        generated = [(c.cell_type, c.source) for c in generator.NOTEBOOKS[p.name]()]
        assert committed == generated, f"{p.name} differs from its generator: run python notebooks/make_notebooks.py"
