"""``torchlayers::lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu``: torch's fused recurrent layers with a
sequence length that stays symbolic under torch.export.

Shapes (time-major, no dropout between layers, no LSTM projections; L layers, D = 2 if bidirectional else 1):

- ``lstm(X (T, B, nI), h0 (L*D, B, nH), c0 (L*D, B, nH), params, has_biases, num_layers, bidirectional, train)``
- ``gru(X, h0, params, has_biases, num_layers, bidirectional, train)``, same for ``rnn_tanh`` / ``rnn_relu``

each ``-> Y (T, B, D*nH)`` (the first output of ``torch._VF.<kind>``). ``params`` is torch's flat list per
(layer, direction): ``w_ih (G*nH, nI_l), w_hh (G*nH, nH)`` and, with biases, ``b_ih, b_hh (G*nH,)``, G = 4
for LSTM (gates i, f, g, o), 3 for GRU (r, z, n), 1 for RNN. The backward direction reads the whole
sequence reversed (``aten.<kind>``'s semantics).

Why: ``aten.lstm.input`` (``aten.gru.input``, ``aten.rnn_tanh.input``, ``aten.rnn_relu.input``) is a
CompositeImplicitAutograd op; torch.export keeps it in the graph but computes its output shape by running
torch's decomposition on fake tensors, and that decomposition loops over time in Python (``for inp in
precomputed_input``), so the trace adds ``T == <example T>`` and the program only runs at the example's
length (torch 2.13). Each op here is a CompositeImplicitAutograd op of ours whose kernel branches on tracing:

- on real tensors (eager, the exported program at run time) it is ``torch._VF.<kind>``, the very call
  the eager layer makes, so outputs are bitwise those of the eager model and autograd is torch's;
- on fake / functional tensors (export's shape pass, ``run_decompositions``, ``torch.onnx``'s
  decomposition) it is ``rnn_while_loop``: one ``while_loop`` per (layer, direction) over time, the step
  equations of torch's own decompositions (``torch._decomp.decompositions.lstm_cell`` / ``gru_cell`` /
  ``rnn_cell``), so T stays symbolic; decomposed / ONNX programs hold that loop (ONNX ``Loop``).

One loop for every kind (``_one_direction``); a kind is its cell function and its number of states.
torch.export keeps an op as one node (a ``.pt2`` holding it loads with torchlayers imported);
``ExportedProgram.run_decompositions()`` and ``torch.onnx.export(dynamo=True)`` replace it by the loop, and
so does ``run_decompositions(table)`` for a table holding ``decompositions()`` (a table of its own
otherwise keeps our CompositeImplicitAutograd ops).
torch.compile does not use these (compiled code goes through ``kernels/fused_lstm.py``'s opaque ops).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .._tracing import is_tracing

__all__ = ["KINDS", "rnn_while_loop", "lstm_while_loop", "lstm_kernel", "rnn_kernel", "decompositions"]

Cell = Callable[..., Tuple[Tensor, ...]]


def _lstm_cell(x: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """``gates = W_hh h + b_hh + (W_ih x_t + b_ih)``, (i, f, g, o): torch's ``lstm_cell``."""
    i, f, g, o = (F.linear(h, w_hh, b_hh) + x).chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_cell(x: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]) -> Tuple[Tensor]:
    """(r, z, n) from ``W_ih x_t + b_ih`` and ``W_hh h + b_hh``; ``n = tanh(x_n + r * h_n)``,
    ``h' = (h - n) * z + n``: torch's ``gru_cell``."""
    x_r, x_z, x_n = x.chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    r = (h_r + x_r).sigmoid()
    z = (h_z + x_z).sigmoid()
    n = (x_n + h_n * r).tanh()
    return ((h - n) * z + n,)


def _rnn_tanh_cell(x: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]) -> Tuple[Tensor]:
    return ((F.linear(h, w_hh, b_hh) + x).tanh(),)


def _rnn_relu_cell(x: Tensor, h: Tensor, w_hh: Tensor, b_hh: Optional[Tensor]) -> Tuple[Tensor]:
    return ((F.linear(h, w_hh, b_hh) + x).relu(),)


def _body(cell: Cell, n_states: int) -> Tuple[Callable[..., Tensor], Callable[..., Tuple[Tensor, ...]]]:
    """The while_loop's (cond, body) for one cell. Carried: ``(t, out, *states)``; also passed:
    ``(pre, w_hh[, b_hh])``. t is a 0-d int64 tensor: an index, no host read, no unbacked size."""

    def cond(t: Tensor, out: Tensor, *rest: Tensor) -> Tensor:
        return t < rest[n_states].shape[0]

    def step(t: Tensor, out: Tensor, *rest: Tensor) -> Tuple[Tensor, ...]:
        states, (pre, w_hh, *b_hh) = rest[:n_states], rest[n_states:]
        index = t.reshape(1)
        new = cell(pre.index_select(0, index).squeeze(0), *states, w_hh, b_hh[0] if b_hh else None)
        return (t + 1, out.index_copy(0, index, new[0].unsqueeze(0)), *new)

    return cond, step


KINDS: Dict[str, Tuple[Cell, int]] = {  # kind -> (cell, states per direction)
    "lstm": (_lstm_cell, 2),
    "gru": (_gru_cell, 1),
    "rnn_tanh": (_rnn_tanh_cell, 1),
    "rnn_relu": (_rnn_relu_cell, 1),
}
_BODIES = {kind: _body(cell, n) for kind, (cell, n) in KINDS.items()}


def _one_direction(kind: str, X: Tensor, states: Tuple[Tensor, ...], w_ih: Tensor, w_hh: Tensor,
                   b_ih: Optional[Tensor], b_hh: Optional[Tensor]) -> Tensor:
    """(T, B, nI), states (B, nH) each -> (T, B, nH): the input projection for all steps at once, then
    a ``while_loop`` over time.

    The HOP is called directly, its tensors passed as inputs: ``torch.while_loop`` would trace the
    loop through a Dynamo frame that it caches across calls, and a cached frame's size guards,
    evaluated on a later trace's symbolic T, specialize that T (an export after one with a static
    T of the same value fails with "Guard failed: ... size()[0] == 4")."""
    from torch._higher_order_ops.while_loop import while_loop_op

    cond, step = _BODIES[kind]
    pre = F.linear(X, w_ih, b_ih)
    # the weights are views of one tensor; while_loop refuses aliased inputs
    weights = (w_hh.clone(),) if b_hh is None else (w_hh.clone(), b_hh.clone())
    t0 = torch.zeros((), dtype=torch.int64, device=X.device)
    out0 = X.new_zeros((X.shape[0], X.shape[1], states[0].shape[1]))
    # carried inputs must have the body outputs' strides (an expanded B=1 state has stride 0)
    states = tuple(s.clone(memory_format=torch.contiguous_format) for s in states)
    carried: Tuple[Any, ...] = (t0, out0, *states)  # (the HOP's annotation reads a 1-tuple)
    return while_loop_op(cond, step, carried, (pre, *weights))[1]


def rnn_while_loop(kind: str, X: Tensor, hx: List[Tensor], params: List[Tensor], has_biases: bool,
                   num_layers: int, bidirectional: bool) -> Tensor:
    """``torch._VF.<kind>(X, hx, params, has_biases, num_layers, 0.0, train, bidirectional, False)[0]``
    as ``while_loop``s over time (``hx``: ``[h0, c0]`` for LSTM, ``[h0]`` otherwise; shapes in the
    module docstring): what tracing sees."""
    if kind not in KINDS:
        raise ValueError(f"torchlayers rnn_while_loop: expected kind in {sorted(KINDS)}, got {kind!r}")
    dirs = 2 if bidirectional else 1
    per = 4 if has_biases else 2
    Y = X
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w = params[per * k : per * k + per]
            b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
            inp = Y.flip(0) if d == 1 else Y
            out = _one_direction(kind, inp, tuple(s[k] for s in hx), w[0], w[1], b_ih, b_hh)
            outs.append(out.flip(0) if d == 1 else out)
        Y = outs[0] if dirs == 1 else torch.cat(outs, dim=-1)
    return Y


def lstm_while_loop(X: Tensor, h0: Tensor, c0: Tensor, params: List[Tensor], has_biases: bool, num_layers: int,
                    bidirectional: bool) -> Tensor:
    """``rnn_while_loop("lstm", X, [h0, c0], ...)``."""
    return rnn_while_loop("lstm", X, [h0, c0], params, has_biases, num_layers, bidirectional)


def lstm_kernel(X: Tensor, h0: Tensor, c0: Tensor, params: List[Tensor], has_biases: bool, num_layers: int,
                bidirectional: bool, train: bool) -> Tensor:
    """``torchlayers::lstm``'s CompositeImplicitAutograd kernel: ``torch._VF.lstm`` on real tensors, the loop
    while tracing."""
    if is_tracing(X, h0, c0, *params):
        return lstm_while_loop(X, h0, c0, list(params), has_biases, num_layers, bidirectional)
    return torch._VF.lstm(X, [h0, c0], params, has_biases, num_layers, 0.0, train, bidirectional, False)[0]


def rnn_kernel(kind: str) -> Callable[..., Tensor]:
    """``torchlayers::<kind>``'s CompositeImplicitAutograd kernel for a one-state kind (gru, rnn_tanh,
    rnn_relu): ``torch._VF.<kind>`` on real tensors, the loop while tracing."""
    fused = getattr(torch._VF, kind)

    def kernel(X: Tensor, h0: Tensor, params: List[Tensor], has_biases: bool, num_layers: int,
               bidirectional: bool, train: bool) -> Tensor:
        if is_tracing(X, h0, *params):
            return rnn_while_loop(kind, X, [h0], list(params), has_biases, num_layers, bidirectional)
        return fused(X, h0, params, has_biases, num_layers, 0.0, train, bidirectional, False)[0]

    kernel.__name__ = f"{kind}_kernel"
    return kernel


_LIB = torch.library.Library("torchlayers", "FRAGMENT")
_LIB.define("lstm(Tensor input, Tensor h0, Tensor c0, Tensor[] params, bool has_biases, int num_layers, "
            "bool bidirectional, bool train) -> Tensor")
_KERNELS: Dict[str, Callable[..., Tensor]] = {"lstm": lstm_kernel}
for _kind in ("gru", "rnn_tanh", "rnn_relu"):
    _LIB.define(f"{_kind}(Tensor input, Tensor h0, Tensor[] params, bool has_biases, int num_layers, "
                "bool bidirectional, bool train) -> Tensor")
    _KERNELS[_kind] = rnn_kernel(_kind)
for _kind, _kernel in _KERNELS.items():
    _LIB.impl(_kind, _kernel, "CompositeImplicitAutograd")


def decompositions() -> Dict[Any, Callable[..., Tensor]]:
    """{op overload: its kernel} for ``ExportedProgram.run_decompositions(table)`` with a table of its own
    (a table that lacks a CompositeImplicitAutograd op keeps it; the default table holds torch's only)."""
    return {getattr(torch.ops.torchlayers, kind).default: kernel for kind, kernel in _KERNELS.items()}
