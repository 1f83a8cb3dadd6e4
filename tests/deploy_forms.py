"""Which form of a case-table row a deployment check compiles or exports: the model itself, or its boundary
form ``torchlayers.deploy.ragged_form(model, takes)`` (lists packed, ``torchlayers.deploy.sequences.pack``).

Shared by ``tests/test_deployment_matrix.py`` (``compile_dyn``) and ``tests/test_deploy_onnx.py`` (``onnx``).
"""
from __future__ import annotations

from typing import Any, Callable

from torchlayers.deploy import ragged_form

from .harness import eval_output


def _takes(X: Any) -> str:
    """``ragged_form``'s ``takes`` for an input: a list of docs, a list of lists of docs, or a value."""
    if isinstance(X, list) and X and all(isinstance(x, list) for x in X):
        return "lists"
    return "list" if isinstance(X, list) else "value"


def _has_list(Y: Any) -> bool:
    return isinstance(Y, list) or (isinstance(Y, tuple) and any(_has_list(y) for y in Y))


def _boundary_form(model: Any, X: Any, raw_recompiles: Callable[[], bool]):
    """(``ragged_form(model)`` for the input's kind, or None where the model itself is compiled; the TypeError
    of a list-taking model without a Ragged form, else None). A value input (Ragged, Padded, tensor) takes the
    form when the model returns a list, or when it recompiles and the form applies a rule (a list inside)."""
    takes = _takes(X)
    try:
        form = ragged_form(model, takes)
    except TypeError as e:
        if takes == "value":
            raise
        return None, str(e)
    if takes == "value" and not (form.rules and (_has_list(eval_output(model, X)) or raw_recompiles())):
        return None, None
    return form, None
