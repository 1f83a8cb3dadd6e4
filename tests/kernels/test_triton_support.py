"""The kernels' scaffolding (kernels/triton_support.py) and the mode predicates (torchlayers/_tracing.py)."""
from __future__ import annotations

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from torchlayers import _tracing
from torchlayers.kernels import triton_support as S


def test_one_set_of_mode_predicates():
    assert S.is_tracing is _tracing.is_tracing
    assert S.eager_cpu is _tracing.eager_cpu
    assert S.values_readable is _tracing.values_readable


def test_is_tracing_and_values_readable_in_eager_mode():
    x = torch.randn(3)
    for t in (x, torch.nn.Parameter(x), torch.tensor([1, 2])):
        assert not _tracing.is_tracing(t, None, 3) and _tracing.values_readable(t)
    assert _tracing.is_tracing(x.to("meta")) and not _tracing.values_readable(x.to("meta"))
    assert _tracing.eager_cpu(x)


def test_is_tracing_under_fake_mode_opcheck_and_compile():
    with FakeTensorMode():
        fake = torch.randn(3)
        assert _tracing.is_tracing(fake) and _tracing.is_tracing()
    assert _tracing.is_tracing(fake)  # a FakeTensor outside its mode

    seen = []

    def f(x):
        seen.append((_tracing.is_tracing(x), _tracing.values_readable(x), _tracing.eager_cpu(x)))
        return x * 2

    torch._dynamo.reset()
    torch.compile(f, fullgraph=True, backend="eager")(torch.randn(3))
    assert seen == [(True, False, False)]


def test_launch_helpers():
    assert [S.cdiv(a, 4) for a in (0, 1, 4, 5)] == [0, 1, 1, 2]
    assert [S.block_size(n) for n in (1, 16, 17, 100, 1000)] == [16, 16, 32, 128, 128]
    assert S.block_size(300, hi=64) == 64 and S.block_size(3, lo=1) == 4
    kernel = object()
    assert S.identity(kernel) is kernel


def test_kernel_op_skips_only_the_definition_time_scan():
    from torch._library import triton as triton_lib

    scan = triton_lib.get_inner_triton_kernels

    @S.kernel_op("torchlayers_test::twice", mutates_args=())
    def twice(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    assert triton_lib.get_inner_triton_kernels is scan  # torch's scan is back in place
    assert triton_lib.get_triton_kernels_for_op("torchlayers_test::twice") == []
    x = torch.randn(4, requires_grad=True)
    assert torch.equal(torch.ops.torchlayers_test.twice(x), x * 2)
    torch.library.opcheck(torch.ops.torchlayers_test.twice.default, (x.detach(),))


def test_triton_kernels_names_the_op_module():
    with pytest.raises(ModuleNotFoundError, match="torchlayers.kernels._triton.no_such_op"):
        S.triton_kernels("no_such_op")
