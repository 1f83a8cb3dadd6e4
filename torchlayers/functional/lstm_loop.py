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

from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor

from .._tracing import is_tracing

__all__ = ["lstm_while_loop", "lstm_kernel"]

_SCHEMA = ("lstm(Tensor input, Tensor h0, Tensor c0, Tensor[] params, bool has_biases, int num_layers, "
           "bool bidirectional, bool train) -> Tensor")


def _one_direction(X: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
                   b_hh: Tensor | None) -> Tensor:
    """(T, B, nI), (B, nH), (B, nH) -> (T, B, nH): the input projection for all steps at once, then
    one ``while_loop`` step per time step (``gates = W_hh h + b_hh + (W_ih x + b_ih)``)."""
    from torch._higher_order_ops.while_loop import while_loop

    pre = F.linear(X, w_ih, b_ih)
    # the weights are views of one tensor; while_loop refuses aliased closure inputs
    w_hh = w_hh.clone()
    b_hh = None if b_hh is None else b_hh.clone()

    def cond(t: Tensor, out: Tensor, h: Tensor, c: Tensor) -> Tensor:
        return t < pre.shape[0]

    def body(t: Tensor, out: Tensor, h: Tensor, c: Tensor):
        step = t.reshape(1)  # an index tensor: no host read of t, no unbacked size
        gates = F.linear(h, w_hh, b_hh) + pre.index_select(0, step).squeeze(0)
        i, f, g, o = gates.chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return t + 1, out.index_copy(0, step, h.unsqueeze(0)), h, c

    t0 = torch.zeros((), dtype=torch.int64, device=X.device)
    out0 = X.new_zeros((X.shape[0], X.shape[1], h0.shape[1]))
    return while_loop(cond, body, (t0, out0, h0, c0))[1]


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
