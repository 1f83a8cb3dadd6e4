"""The mapping table: which Thinc names move to torchlayers, and how the import lines are rewritten."""
from __future__ import annotations

import ast

import pytest

pytest.importorskip("thinc")

from .mapping import FACE, FACE_SOURCE, MODULE_TABLE, rewrite_source, route

SOURCE = '''import numpy
from thinc.api import (
    SGD,
    Linear,
    NumpyOps,
    chain,
)
from thinc.types import Ragged  # a comment
from thinc.compat import has_torch
from ..util import make_tempdir


def test_x():
    from thinc.api import Relu, get_current_ops
    return Relu, get_current_ops
'''


def test_names_are_routed_by_their_thinc_module():
    assert route("thinc.api", "Linear") == route("thinc.api", "Model") == route("thinc", "registry") == "ours"
    assert route("thinc.api", "Ragged") == route("thinc.types", "Floats2d") == route("thinc.util", "to_categorical") == "ours"
    assert route("thinc.api", "SGD") == route("thinc.api", "NumpyOps") == route("thinc.api", "constant") == "thinc"
    assert route("thinc.backends", "NumpyOps") == route("thinc.shims.pytorch", "x") == "thinc"
    assert route("thinc.layers.uniqued", "uniqued") == "ours"
    assert set(MODULE_TABLE.values()) == {"ours", "thinc"}


def test_unknown_names_and_modules_are_explained():
    with pytest.raises(KeyError, match=r"thinc.api.NotAName is not re-exported by thinc.api"):
        route("thinc.api", "NotAName")
    with pytest.raises(KeyError, match=r"no MODULE_TABLE row for thinc.mypy"):
        route("thinc.mypy", "plugin")


def test_rewrite_moves_only_the_mapped_names_and_keeps_line_numbers():
    text, moved = rewrite_source(SOURCE)
    assert moved == 4
    lines = text.splitlines()
    assert len(lines) == len(SOURCE.splitlines())
    assert lines[1] == f"from {FACE} import Linear, chain; from thinc.api import SGD, NumpyOps"
    assert lines[2:7] == [""] * 5
    assert lines[7] == f"from {FACE} import Ragged  # a comment"
    assert lines[8] == "from thinc.compat import has_torch" and lines[9] == "from ..util import make_tempdir"
    assert lines[13] == f"    from {FACE} import Relu; from thinc.api import get_current_ops"
    ast.parse(text)


def test_face_module_reports_missing_names_on_use():
    namespace: dict = {}
    exec(compile(FACE_SOURCE, FACE, "exec"), namespace)
    missing = namespace["__getattr__"]("NotInTorchlayers")
    with pytest.raises(NotImplementedError, match=r"torchlayers has no 'NotInTorchlayers' \(a thinc.api name\)"):
        missing(3)
    assert namespace["__getattr__"]("Linear").__module__.startswith("torchlayers")
