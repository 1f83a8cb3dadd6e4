"""Registered layers with no case row, each with the reason: the strict exception list of
``tests/test_case_table.py::test_every_registered_layer_has_a_case_row``. It may only shrink: a listed
name that gains a row fails that test until its entry here is deleted."""
from __future__ import annotations

from typing import Dict

UNROWED: Dict[str, str] = {
    "MXNetWrapper.v1": "runs an MXNet block: autograd gradcheck, compile, export, script and the torch state_dict "
                       "checks do not apply to a graph that runs in MXNet, and MXNet is an optional dependency "
                       "imported once per module; tested in tests/interop/test_mxnet_wrapper.py",
}
