"""``torchlayers::lstm``: torch's fused LSTM with a sequence length that stays symbolic under torch.export.

Shapes: ``lstm(X (T, B, nI), h0 (L*D, B, nH), c0 (L*D, B, nH), params, has_biases, num_layers,
bidirectional, train) -> Y (T, B, D*nH)``, time-major, no dropout between layers, no projections;
``params`` is torch's flat list per (layer, direction): ``w_ih (4nH, nI_l), w_hh (4nH, nH)`` and,
with biases, ``b_ih, b_hh (4nH,)``, gates (i, f, g, o). The backward direction reads the whole
sequence reversed (``aten.lstm``'s semantics).

Why: ``aten.lstm.input`` is a CompositeImplicitAutograd op; torch.export keeps it in the graph but
computes its output shape by running torch's decomposition on fake tensors with oneDNN switched off,
and that decomposition loops over time in Python (``for inp in precomputed_input``), so the trace
adds ``T == <example T>`` and the program only runs at the example's length (torch 2.13).
``torchlayers::lstm`` is a CompositeImplicitAutograd op of ours whose kernel branches on tracing:

- on real tensors (eager, the exported program at run time) it is ``torch._VF.lstm``, the very call
  the eager layer makes, so outputs are bitwise those of the eager model and autograd is torch's;
- on fake / functional tensors (export's shape pass, ``run_decompositions``, ``torch.onnx``'s
  decomposition) it is ``lstm_while_loop``: one ``while_loop`` per (layer, direction) over time,
  the step equations of torch's own decomposition (``torch._decomp.decompositions.lstm_cell``),
  so T stays symbolic; decomposed / ONNX programs hold that loop (ONNX ``Loop``).

torch.export keeps the op as one node (a ``.pt2`` holding it loads with torchlayers imported);
``ExportedProgram.run_decompositions()`` and ``torch.onnx.export(dynamo=True)`` replace it by the loop.
torch.compile does not use it (``modules/lstm.py`` routes compiled code to ``torchlayers::fused_lstm``).
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .._tracing import is_tracing

__all__ = ["lstm_while_loop", "lstm_kernel"]

_SCHEMA = ("lstm(Tensor input, Tensor h0, Tensor c0, Tensor[] params, bool has_biases, int num_layers, "
           "bool bidirectional, bool train) -> Tensor")


def _cond(t: Tensor, out: Tensor, h: Tensor, c: Tensor, pre: Tensor, *weights: Tensor) -> Tensor:
    return t < pre.shape[0]


def _step(t: Tensor, out: Tensor, h: Tensor, c: Tensor, pre: Tensor, w_hh: Tensor, *b_hh: Tensor):
    """One time step t (a 0-d int64 tensor: an index, no host read, no unbacked size); the
    equations of torch's ``lstm_cell``: ``gates = W_hh h + b_hh + (W_ih x_t + b_ih)``, (i, f, g, o)."""
    step = t.reshape(1)
    gates = F.linear(h, w_hh, b_hh[0] if b_hh else None) + pre.index_select(0, step).squeeze(0)
    i, f, g, o = gates.chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return t + 1, out.index_copy(0, step, h.unsqueeze(0)), h, c


def _one_direction(X: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
                   b_hh: Optional[Tensor]) -> Tensor:
    """(T, B, nI), (B, nH), (B, nH) -> (T, B, nH): the input projection for all steps at once, then
    a ``while_loop`` over time.

    The HOP is called directly, its tensors passed as inputs: ``torch.while_loop`` would trace the
    loop through a Dynamo frame that it caches across calls, and a cached frame's size guards,
    evaluated on a later trace's symbolic T, specialize that T (an export after one with a static
    T of the same value fails with "Guard failed: ... size()[0] == 4")."""
    from torch._higher_order_ops.while_loop import while_loop_op

    pre = F.linear(X, w_ih, b_ih)
    # the weights are views of one tensor; while_loop refuses aliased inputs
    weights = (w_hh.clone(),) if b_hh is None else (w_hh.clone(), b_hh.clone())
    t0 = torch.zeros((), dtype=torch.int64, device=X.device)
    out0 = X.new_zeros((X.shape[0], X.shape[1], h0.shape[1]))
    # carried inputs must have the body outputs' strides (an expanded B=1 state has stride 0)
    h0, c0 = (s.clone(memory_format=torch.contiguous_format) for s in (h0, c0))
    carried: Tuple[Any, ...] = (t0, out0, h0, c0)  # (the HOP's annotation reads a 1-tuple)
    return while_loop_op(_cond, _step, carried, (pre, *weights))[1]


def lstm_while_loop(X: Tensor, h0: Tensor, c0: Tensor, params: List[Tensor], has_biases: bool, num_layers: int,
                    bidirectional: bool) -> Tensor:
    """``torch._VF.lstm(X, [h0, c0], params, has_biases, num_layers, 0.0, train, bidirectional, False)[0]``
    as ``while_loop``s over time (shapes in the module docstring): what tracing sees."""
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
            out = _one_direction(inp, h0[k], c0[k], w[0], w[1], b_ih, b_hh)
            outs.append(out.flip(0) if d == 1 else out)
        Y = outs[0] if dirs == 1 else torch.cat(outs, dim=-1)
    return Y


def lstm_kernel(X: Tensor, h0: Tensor, c0: Tensor, params: List[Tensor], has_biases: bool, num_layers: int,
                bidirectional: bool, train: bool) -> Tensor:
    """The op's CompositeImplicitAutograd kernel: ``torch._VF.lstm`` on real tensors, the loop while tracing."""
    if is_tracing(X, h0, c0, *params):
        return lstm_while_loop(X, h0, c0, list(params), has_biases, num_layers, bidirectional)
    return torch._VF.lstm(X, [h0, c0], params, has_biases, num_layers, 0.0, train, bidirectional, False)[0]


_LIB = torch.library.Library("torchlayers", "FRAGMENT")
_LIB.define(_SCHEMA)
_LIB.impl("lstm", lstm_kernel, "CompositeImplicitAutograd")
