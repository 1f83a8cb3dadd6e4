"""Programs without torchlayers: the custom ops decomposed into ATen, inputs and outputs as plain tensors.

Shapes: ``FlatForm(module, example)`` takes the example's tensor leaves in ``tree_flatten`` order
(a ``Ragged(data, lengths)`` gives ``(data (N, *F), lengths (B,))``, a ``Padded`` its 4 fields, a
tuple its items) and returns the output's tensor leaves as a tuple (a Ragged output: ``(data,
lengths)``). ``export_decomposed(module, example, dynamic_shapes)``: ``FlatForm`` exported over those
leaves, then ``decompose_program(ep)``: an ``ExportedProgram`` -> one with the same signature whose
graph holds ATen ops only (an inference program: the model in eval mode).

Why both: a saved program holding ``torch.ops.torchlayers.*`` nodes loads only where those ops are
registered (``import torchlayers``): without it, ``torch.export.load`` raises a generic
``RuntimeError: We ran into an error when deserializing the saved file`` after logging "We failed
to resolve torch.ops.torchlayers.hash_embed.default to an operator"; a program whose input or
output is a ``Ragged``/``Padded`` also pickles that type (its example inputs, its tree spec), so
loading it raises ``ModuleNotFoundError: No module named 'torchlayers'``. The fix on the loading side
is ``import torchlayers`` before ``torch.export.load``; on the exporting side,
``torchlayers.deploy.export(model, example, decompose=True)``, which uses this module.

How the ops decompose (one mechanism, no second copy of any reference): the inference ops
(``hash_embed``, ``sparse_linear``, ``ragged_sum`` / ``ragged_mean`` / ``ragged_max`` and their
backward ops) are ``torch.library.triton_op``s (``kernels/triton_support.py::kernel_op``), and
``ExportedProgram.run_decompositions(table, decompose_custom_triton_ops=True)`` traces each op's own
body, which on a CPU tensor runs the op's checks (traced: ``aten._assert_async`` on the lengths) and
its torch reference (``kernels/hash_embed.py::hash_embed_reference``, ``sparse_linear_reference``,
``ragged_*_reference``). On CUDA tensors the bodies launch Triton kernels, which trace as
``triton_kernel_wrapper_functional`` (not ATen): decompose a CPU copy of the model.
``torchlayers::uniqued_keys`` / ``uniqued_gather`` (``uniqued``) are plain ``custom_op``s (under
``torch.compile`` they stay one op with an unbacked size); ``table`` maps them to their bodies,
``combinators/uniqued.py::uniqued_keys_reference`` (``torch.unique``: U traces as an unbacked size)
and ``uniqued_gather_reference``. ``torchlayers::fused_lstm`` / ``fused_rnn`` never reach an exported
graph: export holds ``torchlayers::lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu``
(``functional/rnn_loop.py``), which ``table`` traces into a ``while_loop`` over time of ATen cell
equations (torch's control flow; ``custom_ops_in`` searches its body). An op with no decomposition
(another library's ``custom_op``) is refused
with a ``ValueError`` naming it.

ATen ops stay as exported (``table`` holds the torchlayers ops only; no lowering to core ATen): core
ATen re-expresses ``aten.silu`` (``x * sigmoid(x)``), ``aten.mish`` and ``aten.lstm`` (unrolled gate
matmuls) with other float rounding (up to ~1e-6 on the case table's Swish, Mish and LSTM rows), while
this program computes eager's ops, so it is bitwise equal to eager
(``tests/test_deploy_without_torchlayers.py``). A consumer that needs core ATen (ExecuTorch) calls
``run_decompositions()`` on it.

Stop-gap (``_constant_free_seeds``): ``murmur3_x86_32_keys(keys, (0, 1))`` (SparseLinear's slots) builds
its seeds with ``torch.tensor(seeds)``, a constant created while the op body is traced, which
``run_decompositions`` fails to lift in torch 2.13 ("Constant tensor lifted_tensor_0 is not in the
constants dictionary"). While decomposing, SparseLinear's kernel module calls the same function once
per seed instead (the same uint32 hashes, stacked): no constant. Delete it once
``kernels/murmur3_x86.py`` builds ``h`` without ``torch.tensor`` (``torch.stack([torch.full_like(k64,
s) for s in seeds], 1)``).
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple, Union

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_unflatten

__all__ = ["FlatForm", "export_decomposed", "decompose_program", "custom_ops_in", "flat_dynamic_shapes"]


class FlatForm(nn.Module):
    """``module`` over the example's tensor leaves: ``forward(*leaves) -> tuple of output tensor leaves``."""

    def __init__(self, module: nn.Module, example: Any, where: str) -> None:
        super().__init__()
        leaves, spec = tree_flatten(example)
        bad = [type(x).__name__ for x in leaves if not isinstance(x, Tensor)]
        if bad:
            raise TypeError(f"{where}: decompose=True takes an example made of tensors only (Ragged, Padded, "
                            f"tuples and lists of tensors), got leaves of type {bad}")
        self.module = module
        self.in_spec = spec

    def forward(self, *leaves: Tensor) -> Tuple[Tensor, ...]:
        out = self.module(tree_unflatten(list(leaves), self.in_spec))
        flat = tree_flatten(out)[0]
        return tuple(x for x in flat if isinstance(x, Tensor))


def flat_dynamic_shapes(spec: Any, n_leaves: int, where: str) -> Tuple[Any, ...]:
    """A ``dynamic_shapes`` spec with the example's structure (``{dim: Dim}`` dicts or None at the tensor
    places, e.g. ``Ragged({0: N}, {0: B})``) -> one entry per tensor leaf, for ``FlatForm``."""
    flat: List[Any] = tree_flatten(spec, is_leaf=lambda x: x is None or isinstance(x, dict))[0]
    if len(flat) != n_leaves:
        raise ValueError(f"{where}: dynamic_shapes has {len(flat)} entries for the example's {n_leaves} tensors; "
                         f"give one {{dim: Dim}} dict (or None) per tensor, in the example's structure")
    return tuple(flat)


# torch's own control-flow operators: their bodies are ATen subgraphs (searched too), and they load anywhere
CONTROL_FLOW = frozenset({"while_loop", "cond", "scan", "map_impl"})


def custom_ops_in(ep: torch.export.ExportedProgram) -> List[str]:
    """Sorted names of the graph's call targets that are not ATen / Python operators: the torchlayers ops
    and any higher-order operator (e.g. a traced Triton kernel) but torch's control flow (``CONTROL_FLOW``,
    whose body graphs are searched with the same rules)."""
    names: set = set()
    _collect_custom_ops(ep.graph_module, names)
    return sorted(names)


def _collect_custom_ops(gm: torch.fx.GraphModule, names: set) -> None:
    for node in gm.graph.nodes:
        if node.op != "call_function":
            continue
        target = node.target
        if isinstance(target, torch._ops.OpOverload):
            if target.namespace not in ("aten", "prims"):
                names.add(str(target))
        elif isinstance(target, torch._ops.HigherOrderOperator) and target.name() not in CONTROL_FLOW:
            names.add(target.name())
    for child in gm.children():
        if isinstance(child, torch.fx.GraphModule):
            _collect_custom_ops(child, names)


@contextlib.contextmanager
def _constant_free_seeds() -> Iterator[None]:
    """SparseLinear's hashing with one ``murmur3_x86_32_keys`` call per seed (see the module docstring)."""
    from ..kernels import sparse_linear
    from ..kernels.murmur3_x86 import murmur3_x86_32_keys

    def per_seed(keys: Tensor, seed: Union[int, Sequence[int]]) -> Tensor:
        if isinstance(seed, int):
            return murmur3_x86_32_keys(keys, seed)
        return torch.stack([murmur3_x86_32_keys(keys, s) for s in seed], 1)

    previous = sparse_linear.murmur3_x86_32_keys
    sparse_linear.murmur3_x86_32_keys = per_seed  # type: ignore[assignment]
    try:
        yield
    finally:
        sparse_linear.murmur3_x86_32_keys = previous  # type: ignore[assignment]


def _custom_op_table() -> Dict[Any, Callable[..., Any]]:
    """{torchlayers ``custom_op`` overload: its torch body} for ``run_decompositions`` (the Triton ops
    need no entry: ``decompose_custom_triton_ops`` traces their bodies)."""
    from ..combinators.uniqued import uniqued_gather_reference, uniqued_keys_reference
    from ..functional.rnn_loop import decompositions

    ops = torch.ops.torchlayers
    return {ops.uniqued_keys.default: uniqued_keys_reference, ops.uniqued_gather.default: uniqued_gather_reference,
            **decompositions()}  # the RNN ops' kernels, traced: a while_loop over time


def decompose_program(ep: torch.export.ExportedProgram, where: str = "torchlayers.deploy.decompose_program"
                      ) -> torch.export.ExportedProgram:
    """``ep`` with every torchlayers op traced through its torch reference, its ATen ops kept; a
    ``ValueError`` naming what is left when an op has no decomposition (see the module docstring)."""
    with _constant_free_seeds():
        out = ep.run_decompositions(_custom_op_table(), decompose_custom_triton_ops=True)
    left = custom_ops_in(out)
    if left:
        hint = (" (the Triton kernels of a CUDA model: decompose a CPU copy, model.to('cpu'))"
                if any("triton" in n for n in left) else
                " (they have no ATen decomposition: load the program where they are registered instead, "
                "e.g. with torchlayers imported for torch.ops.torchlayers)")
        raise ValueError(f"{where}: the decomposed program still holds {left}{hint}")
    return out


def export_decomposed(module: nn.Module, example: Any, dynamic_shapes: Any = None, *, strict: bool = False,
                      where: str = "torchlayers.deploy.export_decomposed") -> torch.export.ExportedProgram:
    """``module`` (in eval mode) as it is on ``example``, over the example's tensor leaves: ``FlatForm`` ->
    ``torch.export`` -> ``decompose_program``. ``dynamic_shapes``: a spec in the example's structure
    (``{dim: Dim}`` or None per tensor), None: every dim static."""
    flat = FlatForm(module.eval(), example, where)
    leaves = tuple(tree_flatten(example)[0])
    dims = None
    if dynamic_shapes is not None and leaves:  # no leaves: a program without inputs, nothing dynamic
        dims = (flat_dynamic_shapes(dynamic_shapes, len(leaves), where),)  # the one *leaves argument
    ep = torch.export.export(flat, leaves, dynamic_shapes=dims, strict=strict)
    return decompose_program(ep, where)
