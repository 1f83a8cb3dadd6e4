"""``torchlayers.script`` on the layers whose TorchScript forward is generated for the instance
(issue 16): ``tuplify`` (a fixed-length tuple, unrolled over its layers), the profiler-marked layers
(``with_nvtx_range`` / ``with_signpost_interval``: ``record_function`` ranges), ``floats_getitem``
with a list index (an int64 buffer read with ``index_select``), and PyTorchLSTM over Padded.
Scripted outputs equal eager bitwise (CPU) on inputs of other sizes than the example's."""
from __future__ import annotations

import itertools
import warnings
from typing import Any, List

import numpy
import pytest
import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils._pytree import tree_flatten

import torchlayers as tl
from torchlayers import Ragged
from torchlayers.combinators.tuplify import tuplify
from torchlayers.combinators.with_nvtx_range import with_nvtx_range
from torchlayers.combinators.with_signpost_interval import with_signpost_interval
from torchlayers.deploy.script import specialize
from torchlayers.interop.pytorch_rnn_wrapper import PyTorchLSTM
from torchlayers.modules.array_getitem import encode_basic_index, floats_getitem, ints_getitem


def _leaves(tree: Any) -> List[torch.Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


def _assert_bitwise(out: Any, ref: Any) -> None:
    got, expected = _leaves(out), _leaves(ref)
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape, (a.shape, b.shape)
        assert torch.equal(a, b), f"max diff {(a - b).abs().max()}"


def _ranges(fn: Any, *args: Any) -> List[str]:
    """The names of the events a torch.profiler CPU trace of ``fn(*args)`` records."""
    with profile(activities=[ProfilerActivity.CPU]) as trace:
        fn(*args)
    return [event.name for event in trace.events()]


def _script_plain(model: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.script(model)


# ---------------------------------------------------------------- tuplify


@pytest.mark.parametrize("n", [2, 3, 4])
def test_tuplify_scripts_to_a_fixed_length_tuple(n, tmp_path):
    layers = [tl.Linear(3, 4), tl.Relu(2, 4), tl.noop(), tl.Linear(5, 4)][:n]
    model = tuplify(*layers)
    model.initialize(X=torch.randn(2, 4))
    model.eval()
    scripted = tl.script(model, torch.randn(2, 4))
    assert scripted.forward.schema.returns[0].type.annotation_str == "Tuple[" + ", ".join(["Tensor"] * n) + "]"
    torch.jit.save(scripted, str(tmp_path / "tuplify.pt"))
    loaded = torch.jit.load(str(tmp_path / "tuplify.pt"))
    with torch.no_grad():
        for rows in (1, 7):
            X = torch.randn(rows, 4)
            ref, out = model(X), scripted(X)
            assert isinstance(out, tuple) and len(out) == n
            _assert_bitwise(out, ref)
            _assert_bitwise(loaded(X), ref)


def test_tuplify_over_ragged_gives_a_tuple_of_ragged():
    model = tuplify(tl.with_array(tl.Linear(3, 2)), tl.with_array(tl.Relu(4, 2)), tl.noop())
    X = Ragged(torch.randn(5, 2), torch.tensor([2, 3], dtype=torch.int32))
    model.initialize(X=X)
    model.eval()
    scripted = tl.script(model, X)
    X2 = Ragged(torch.randn(6, 2), torch.tensor([1, 4, 1], dtype=torch.int32))
    with torch.no_grad():
        out, ref = scripted(X2), model(X2)
    assert len(out) == 3
    for a, b in zip(out, ref):
        assert torch.equal(Ragged(*a).data, b.data) and torch.equal(Ragged(*a).lengths, b.lengths)


def test_tuplify_gradients_match_eager():
    model = tuplify(tl.Linear(3, 4), tl.Relu(3, 4))
    model.initialize(X=torch.randn(2, 4))
    scripted = tl.script(model, torch.randn(2, 4))
    X = torch.randn(5, 4, requires_grad=True)
    X2 = X.detach().clone().requires_grad_(True)
    sum(y.sum() for y in model(X)).backward()
    sum(y.sum() for y in scripted(X2)).backward()
    torch.testing.assert_close(X2.grad, X.grad, atol=0, rtol=0)


# ---------------------------------------------------------------- profiler-marked layers


class _Recorder:
    """Stands in for os_signpost.Signposter: use_interval(label) records its labels."""

    def __init__(self) -> None:
        self.labels: List[str] = []

    def use_interval(self, label: str) -> Any:
        recorder = self

        class _Interval:
            def __enter__(self) -> None:
                recorder.labels.append(label)

            def __exit__(self, *exc: Any) -> None:
                return None

        return _Interval()


def test_with_nvtx_range_scripts_with_a_record_function_range(tmp_path):
    model = with_nvtx_range(tl.chain(tl.Linear(3, 4), tl.Relu(2)), "block")
    model.initialize(X=torch.randn(2, 4))
    model.eval()
    scripted = tl.script(model, torch.randn(2, 4))
    X = torch.randn(6, 4)
    with torch.no_grad():
        _assert_bitwise(scripted(X), model(X))
        assert "block forward" in _ranges(scripted, X)
        path = str(tmp_path / "nvtx.pt")
        torch.jit.save(scripted, path)
        assert "block forward" in _ranges(torch.jit.load(path), X)  # the range is in the saved code
    # the class is specialized even though the layer maps a Tensor to a Tensor
    assert type(specialize(model, X)) is not type(model)


def test_wrapping_twice_nests_the_scripted_ranges_as_eagerly():
    layer = with_nvtx_range(with_nvtx_range(tl.Linear(3, 4), "inner"), "outer")
    layer.initialize(X=torch.randn(2, 4))
    scripted = tl.script(layer, torch.randn(2, 4))
    with profile(activities=[ProfilerActivity.CPU]) as trace:
        scripted(torch.randn(3, 4))
    spans = {e.name: e.time_range for e in trace.events() if e.name in ("outer forward", "inner forward")}
    assert set(spans) == {"outer forward", "inner forward"}
    assert spans["outer forward"].start <= spans["inner forward"].start
    assert spans["inner forward"].end <= spans["outer forward"].end


def test_scripted_marked_layer_keeps_its_gradients():
    layer = with_nvtx_range(tl.Relu(3, 4))
    layer.initialize(X=torch.randn(2, 4))
    scripted = tl.script(layer, torch.randn(2, 4))
    X = torch.randn(5, 4, requires_grad=True)
    X2 = X.detach().clone().requires_grad_(True)
    layer(X).sum().backward()
    eager = {n: p.grad.clone() for n, p in layer.named_parameters()}
    layer.zero_grad()
    scripted(X2).sum().backward()
    torch.testing.assert_close(X2.grad, X.grad, atol=0, rtol=0)
    for n, p in layer.named_parameters():
        torch.testing.assert_close(p.grad, eager[n], atol=0, rtol=0)


def test_with_signpost_interval_scripts_with_a_record_function_range():
    """COMPATIBILITY.md: the scripted form emits a torch profiler range named as the signposter's
    forward interval and calls no signposter (TorchScript cannot call a Python object)."""
    recorder = _Recorder()
    model = with_signpost_interval(tl.Linear(3, 4), recorder, "lin")
    model.initialize(X=torch.randn(2, 4))
    model.eval()
    scripted = tl.script(model, torch.randn(2, 4))
    X = torch.randn(7, 4)
    with torch.no_grad():
        ref = model(X)
        assert recorder.labels[-1] == "lin forward"  # eager: the signposter's interval
        before = len(recorder.labels)
        _assert_bitwise(scripted(X), ref)
        assert "lin forward" in _ranges(scripted, X)
    assert len(recorder.labels) == before


def test_marked_tuplify_scripts_both_mechanisms():
    model = with_nvtx_range(tuplify(tl.Linear(3, 4), tl.noop()), "pair")
    model.initialize(X=torch.randn(2, 4))
    scripted = tl.script(model, torch.randn(2, 4))
    X = torch.randn(3, 4)
    with torch.no_grad():
        _assert_bitwise(scripted(X), model(X))
        assert "pair forward" in _ranges(scripted, X)


# ---------------------------------------------------------------- getitem with a list


def test_floats_getitem_list_scripts(tmp_path):
    model = floats_getitem((slice(None), [2, 0]))
    scripted = tl.script(model, torch.randn(3, 4))
    plain = _script_plain(model)
    for rows in (1, 3, 9):
        X = torch.randn(rows, 4)
        ref = model(X)
        assert torch.equal(ref, X[:, [2, 0]])
        assert torch.equal(scripted(X), ref) and torch.equal(plain(X), ref)
    torch.jit.save(plain, str(tmp_path / "getitem.pt"))
    X = torch.randn(5, 4)
    assert torch.equal(torch.jit.load(str(tmp_path / "getitem.pt"))(X), X[:, [2, 0]])


def test_list_index_is_a_non_persistent_int64_buffer():
    model = floats_getitem((slice(None), [3, -1, 1]))
    assert model._positions.dtype == torch.int64 and model._positions.tolist() == [3, -1, 1]
    assert "_positions" not in model.state_dict()
    model.double()
    assert model._positions.dtype == torch.int64
    model.attrs["index"] = [1, 1]  # live: re-encoded
    X = torch.randn(3, 2, dtype=torch.float64)
    assert torch.equal(_script_plain(model)(X), X[[1, 1]])
    model.attrs["index"] = (slice(None), 0)
    assert model._positions.numel() == 0 and torch.equal(model(X), X[:, 0])


def test_indices_give_numpy_results_and_script_where_encoded():
    """Every index of ints, slices, lists, None and Ellipsis (up to 3 parts) gives numpy's result
    eagerly; those ``encode_basic_index`` takes (ints, positive-step slices, one list of ints) script
    to the same result, and the rest raise the clear RuntimeError under TorchScript. The indices with
    one list it refuses are those where numpy moves the list's dim first (ints apart from the list, a
    slice before it)."""
    X = torch.randn(4, 5, 6)
    parts = [0, -1, slice(None), slice(1, 3), slice(None, None, 2), slice(3, None, -2), [2, 0], [-1, 1, 1], [],
             None, Ellipsis]
    encoded, refused_one_list, checked = 0, 0, 0
    for k in (1, 2, 3):
        for index in itertools.product(parts, repeat=k):
            index = index if k > 1 else index[0]
            try:
                ref = X.numpy()[index]
            except IndexError:  # two Ellipses, lists that do not broadcast
                continue
            model = floats_getitem(index)
            out = model(X)
            checked += 1
            assert out.shape == ref.shape and numpy.array_equal(out.numpy(), ref), index
            items = index if isinstance(index, tuple) else (index,)
            if encode_basic_index(index) is None:
                refused_one_list += sum(isinstance(p, list) for p in items) == 1 and not any(
                    p is None or p is Ellipsis or (isinstance(p, slice) and (p.step or 1) < 0) for p in items)
                with pytest.raises(Exception, match="cannot run under TorchScript"):
                    _script_plain(model)(X)
                continue
            encoded += 1
            assert torch.equal(_script_plain(model)(X), out), index
    assert checked > 1200 and encoded > 350 and refused_one_list > 0, (checked, encoded, refused_one_list)


def test_list_entry_out_of_range_is_named_eager_and_scripted():
    model = floats_getitem((slice(None), [0, 4]))
    X = torch.randn(2, 3)
    with pytest.raises(IndexError, match=r"floats-getitem: index 4 \(in the list\) is out of range for axis 1 of "
                                         r"size 3"):
        model(X)
    with pytest.raises(Exception, match=r"floats-getitem: index 4 \(in the list\) is out of range"):
        _script_plain(model)(X)
    with pytest.raises(IndexError, match=r"floats-getitem: index -4 \(in the list\) is out of range"):
        floats_getitem((slice(None), [-4]))(X)


def test_list_getitem_gradient_sums_repeated_positions_scripted():
    model = floats_getitem((slice(None), [1, 1, 0]))
    scripted = _script_plain(model)
    X = torch.randn(3, 2, requires_grad=True)
    X2 = X.detach().clone().requires_grad_(True)
    dY = torch.randn(3, 3)
    (model(X) * dY).sum().backward()
    (scripted(X2) * dY).sum().backward()
    expected = torch.stack([dY[:, 2], dY[:, 0] + dY[:, 1]], dim=1)
    torch.testing.assert_close(X.grad, expected, atol=0, rtol=0)
    torch.testing.assert_close(X2.grad, expected, atol=0, rtol=0)


def test_ints_getitem_list_scripts_on_ids():
    model = ints_getitem((slice(None), [1, 0]))
    X = torch.randint(0, 100, (4, 3))
    assert torch.equal(tl.script(model, X)(X), X[:, [1, 0]])


def test_boolean_list_is_a_mask_as_numpy():
    X = torch.randn(3, 4)
    for index in ([True, False, True], (slice(None), [False, True, True, False])):
        assert numpy.array_equal(floats_getitem(index)(X).numpy(), X.numpy()[index])
        assert encode_basic_index(index) is None  # eager (and compile / export) only


# ---------------------------------------------------------------- PyTorchLSTM over Padded


def test_pytorch_lstm_bi_depth2_scripts_over_padded():
    """The case table's PyTorchLSTM/bi_depth2 row (deploy=("export",)) scripts through torchlayers.script."""
    torch.manual_seed(0)
    model = PyTorchLSTM(nO=4, nI=3, bi=True, depth=2)
    X = tl.list2padded()([torch.randn(n, 3) for n in (3, 3, 1)])
    model.initialize(X=X)
    model.eval()
    scripted = tl.script(model, X)
    with torch.no_grad():
        for lengths in ((3, 3, 1), (5, 2, 2, 1)):
            Xn = tl.list2padded()([torch.randn(n, 3) for n in lengths])
            out, ref = scripted(Xn), model(Xn)
            assert type(out).__name__ == "Padded"
            _assert_bitwise(out, ref)
