"""The case table: one row per layer configuration; the shared harness runs every check on it.

Adding a layer = adding a ``Case`` to a ``case_*.py`` module in this folder (collected here).

The ``case_*.py`` files group rows by layer family, not by package file as tests/modules/ and
tests/combinators/ do (a family's rows share samples and helpers); each file's docstring says its
grouping and the package files its subjects are defined in. Where a layer's rows are does not matter
to the checks: ``tests/test_case_table.py::test_every_registered_layer_has_a_case_row`` finds them
by what each row builds (``tests/harness.py::rows_by_registered_name``).
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

ALL_DEPLOY = ("compile", "export", "script")


@dataclass
class Case:
    """One layer configuration.

    build: returns the torchlayers model (initialized or not).
    sample: returns a fresh random input on the torch face (tensor, Ragged, Padded, list...).
    thinc: returns the thinc 8.3.14 counterpart (None when thinc has none).
    Y: optional output sample for ``initialize(X, Y)``.
    matmul: tolerance class: matmul layers compare with rtol 1e-4/atol 1e-5, others atol 1e-5.
    convention: the Thinc-face backprop follows a Thinc convention (skip face == autograd).
    deploy: which of compile/export/script apply (missing ones are documented in the row).
    dynamic: torch.export dynamic_shapes spec builder (None: static shapes).
    thinc_input: converts the torch sample into thinc's input (default: to_numpy).
    scale: ``scale(X, k)``, the row's sample at k times its batch size, for a structure the generic
        ``tests/test_deployment_matrix.py::scaled`` does not read (None: that one).
    """

    id: str
    build: Callable[[], Any]
    sample: Callable[[], Any]
    thinc: Optional[Callable[[], Any]] = None
    Y: Optional[Callable[[], Any]] = None
    matmul: bool = True
    differentiable: bool = True
    convention: bool = False
    has_params: bool = True
    deploy: Tuple[str, ...] = ALL_DEPLOY
    dynamic: Optional[Callable[[Any], Any]] = None
    thinc_input: Optional[Callable[[Any], Any]] = None
    thinc_param_grads: bool = True
    scale: Optional[Callable[[Any, int], Any]] = None
    notes: str = ""
    extra: Dict[str, Any] = field(default_factory=dict)


def scale_items(X: Tuple[Any, ...], k: int) -> Tuple[Any, ...]:
    """``Case.scale`` for a tuple of per-item batches (each item its own (n_i, ...) rows): each item's rows k times."""
    import torch

    return tuple(torch.cat([x] * k) for x in X)


def scale_empty_list(X: List[Any], k: int) -> List[Any]:
    """``Case.scale`` for an empty list, whose k-times batch is still empty: k docs of 2 ... k + 1 rows, 4 wide,
    the two batch sizes the compiled boundary form runs at before it is run on the empty batch itself."""
    import torch

    if X:
        raise ValueError(f"scale_empty_list: expected the empty list, got {len(X)} items")
    return [torch.randn(n, 4) for n in range(2, k + 2)]


def collect() -> List[Case]:
    cases: List[Case] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("case_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            cases.extend(module.CASES)
    ids = [c.id for c in cases]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"case table: duplicate case ids {sorted(dupes)}")
    return cases


CASES = collect()
