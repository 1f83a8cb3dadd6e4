"""LSTM: a stacked, optionally bidirectional LSTM over Padded batches (Thinc "LSTM.v1").

The parameters keep Thinc's layout (one flat ``LSTM`` vector, gate order f, i, o, c, and the
``HC0`` initial states), so Thinc weights load unchanged and ``get_param``/``get_grad`` are live
views in Thinc's layout. Each call gathers the flat vector once into torch's order (one
``index_select`` through a precomputed permutation) and runs torch's fused LSTM
(``torch._VF.lstm``, no Python loop over time) on one of two paths with the same result:

- padded (``lstm_padded``): the whole (T, B, nI) batch, each sequence reversed within its length
  for the backward direction, padding rows zeroed. No data-dependent shape, so it is the path under
  torch.compile and torch.export (T, B dynamic: ``_lstm_run`` routes traced calls through ops
  whose fake kernels keep T symbolic); on CPU it is also the eager/TorchScript path (oneDNN's
  LSTM) unless the batch is mostly padding (``PADDED_MIN_FILL``).
- packed (``lstm_packed``): packed sequences (one call for all layers and directions); used on
  CUDA (cuDNN) and for batches that are mostly padding.

Gradients are autograd's, i.e. the true gradient; Thinc's NumpyOps backward is not
(COMPATIBILITY.md).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import DimError
from ..functional import rnn_loop  # noqa: F401  (registers torch.ops.torchlayers.lstm)
from ..functional.checks import check_param
from ..initializers import glorot_uniform_init, zero_init
from ..kernels.fused_lstm import lstm_reference  # also registers torch.ops.torchlayers.fused_lstm
from ..model import Model, _as_float_tensor
from ..registry import registry
from ..types import Padded

__all__ = ["LSTM", "BiLSTM", "lstm_param_size", "thinc_to_torch_order", "lstm_packed", "lstm_padded", "prefer_padded"]

#: Thinc stores the four gate blocks as (forget, input, output, cell); torch uses
#: (input, forget, cell, output). Torch block k is Thinc block _GATES[k].
_GATES = (1, 0, 3, 2)


def _block_inputs(nI: int, nH: int, depth: int, dirs: int) -> List[int]:
    """The input width of each (layer, direction) block, in storage order."""
    return [nI if i == 0 else nH * dirs for i in range(depth) for _ in range(dirs)]


def lstm_param_size(nI: int, nH: int, depth: int, dirs: int) -> int:
    """Size of Thinc's flat ``LSTM`` vector: ``4 nH (nI_i + nH) + 8 nH`` per (layer, direction)."""
    return sum(4 * nH * (n + nH) + 8 * nH for n in _block_inputs(nI, nH, depth, dirs))


def thinc_to_torch_order(nI: int, nH: int, depth: int, dirs: int, device: Optional[torch.device] = None) -> Tensor:
    """Permutation ``p`` with ``flat[p]`` = torch's flat weights for ``torch._VF.lstm``.

    Thinc, per (layer, direction): ``Wx (4, nH, nI_i)``, ``bx (4, nH)``, ``Wh (4, nH, nH)``,
    ``bh (4, nH)``, blocks (f, i, o, c). Torch, per (layer, direction): ``w_ih (4nH, nI_i)``,
    ``w_hh (4nH, nH)``, ``b_ih (4nH,)``, ``b_hh (4nH,)``, blocks (i, f, g, o).
    """
    parts: List[Tensor] = []
    offset = 0
    gates = list(_GATES)
    for n_in in _block_inputs(nI, nH, depth, dirs):
        pieces = []
        for shape in ((4, nH, n_in), (4, nH), (4, nH, nH), (4, nH)):
            size = 1
            for s in shape:
                size *= s
            pieces.append(torch.arange(offset, offset + size, dtype=torch.int64).view(shape)[gates].reshape(-1))
            offset += size
        Wx, bx, Wh, bh = pieces
        parts += [Wx, Wh, bx, bh]
    out = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int64)
    return out.to(device) if device is not None else out


def _torch_weights(flat: Tensor, order: Tensor, nI: int, nH: int, depth: int, dirs: int) -> List[Tensor]:
    """Thinc's flat vector -> torch's per-layer ``[w_ih, w_hh, b_ih, b_hh, ...]`` (views of one gather)."""
    w = flat.index_select(0, order)
    out: List[Tensor] = []
    offset = 0
    for i in range(depth):
        n_in = nI if i == 0 else nH * dirs
        for _ in range(dirs):
            out.append(w[offset : offset + 4 * nH * n_in].view(4 * nH, n_in))
            offset += 4 * nH * n_in
            out.append(w[offset : offset + 4 * nH * nH].view(4 * nH, nH))
            offset += 4 * nH * nH
            out.append(w[offset : offset + 4 * nH])
            offset += 4 * nH
            out.append(w[offset : offset + 4 * nH])
            offset += 4 * nH
    return out


def _initial_states(HC0: Tensor, batch: int) -> Tuple[Tensor, Tensor]:
    """HC0 (2, depth, dirs, nH) -> torch's (h0, c0), each (depth*dirs, batch, nH).

    Thinc's NumpyOps reads ``HC0[0]`` as the *cell* init and ``HC0[1]`` as the *hidden* init
    (swapped relative to the name); we follow it so a user-set HC0 gives Thinc's output.
    """
    n = HC0.shape[1] * HC0.shape[2]
    nH = HC0.shape[3]
    h0 = HC0[1].reshape(n, 1, nH).expand(n, batch, nH).contiguous()
    c0 = HC0[0].reshape(n, 1, nH).expand(n, batch, nH).contiguous()
    return h0, c0


def lstm_packed(X: Tensor, size_at_t: Tensor, weights: List[Tensor], HC0: Tensor, train: bool) -> Tensor:
    """Run the LSTM on the packed form of a sorted Padded (Thinc's semantics), padding = 0.

    X (T, B, nI); ``size_at_t`` (T,) non-increasing. One fused ``torch._VF.lstm`` call covers
    every layer and direction; the backward direction starts at each sequence's own end.
    Returns (T, B, dirs*nH).
    """
    T, B = X.shape[0], X.shape[1]
    depth, dirs, nH = HC0.shape[1], HC0.shape[2], HC0.shape[3]
    steps = size_at_t.to(device=X.device, dtype=torch.int64)
    mask = torch.arange(B, device=X.device).unsqueeze(0) < steps.unsqueeze(1)  # (T, B)
    batch_sizes = steps[steps > 0].cpu()
    out = X.new_zeros((T, B, dirs * nH))
    if batch_sizes.shape[0] == 0:
        return out
    packed = X[mask]  # (N, nI), time-major: packed-sequence order
    h0, c0 = _initial_states(HC0, int(batch_sizes[0]))
    result = torch._VF.lstm(packed, batch_sizes, [h0, c0], weights, True, depth, 0.0, train, dirs == 2)
    return out.masked_scatter(mask.unsqueeze(-1), result[0])


def _lstm_run(X: Tensor, h0: Tensor, c0: Tensor, weights: List[Tensor], depth: int, train: bool) -> Tensor:
    """Unidirectional fused LSTM over a padded batch, one kernel call. Eager code and TorchScript
    call torch's kernel directly; torch.export goes through ``torchlayers::lstm`` (the same kernel
    at run time; a loop over time while traced, so T stays symbolic); torch.compile through the
    opaque ``torchlayers::fused_lstm`` (AOTAutograd cannot differentiate ``aten.lstm``, and its
    decomposition unrolls over time outside oneDNN's float32 CPU inference path)."""
    if not torch.jit.is_scripting():
        if torch.compiler.is_exporting():
            return torch.ops.torchlayers.lstm(X, h0, c0, weights, True, depth, False, train)
        if torch.compiler.is_compiling():
            return torch.ops.torchlayers.fused_lstm(X, h0, c0, weights, depth)
    return lstm_reference(X, h0, c0, weights, depth, train)


def lstm_padded(X: Tensor, lengths: Tensor, weights: List[Tensor], HC0: Tensor, train: bool) -> Tensor:
    """Same result as ``lstm_packed`` with static shapes (torch.compile, torch.export, and CPU
    eager where oneDNN makes it the fast path).

    The forward direction runs over the padded batch (padding comes after each sequence, so it
    never reaches a real step); the backward direction reads each sequence reversed within its
    length (a gather), so it too meets the padding only after the sequence. Padding rows of the
    output are zero, like Thinc's.
    """
    T, B = X.shape[0], X.shape[1]
    depth, dirs, nH = HC0.shape[1], HC0.shape[2], HC0.shape[3]
    h0, c0 = _initial_states(HC0, B)
    t = torch.arange(T, device=X.device).unsqueeze(1)  # (T, 1)
    L = lengths.to(device=X.device, dtype=torch.int64).unsqueeze(0)  # (1, B)
    valid = t < L  # (T, B)
    if dirs == 1:
        Y = _lstm_run(X, h0, c0, weights, depth, train)
    else:
        rev = torch.where(valid, L - 1 - t, t).unsqueeze(-1)  # (T, B, 1): reverse within each length
        Y = X
        for i in range(depth):
            k = 2 * i
            fwd = _lstm_run(Y, h0[k : k + 1], c0[k : k + 1], weights[4 * k : 4 * k + 4], 1, train)
            Y_rev = Y.gather(0, rev.expand(T, B, Y.shape[2]))
            bwd = _lstm_run(Y_rev, h0[k + 1 : k + 2], c0[k + 1 : k + 2], weights[4 * k + 4 : 4 * k + 8], 1, train)
            Y = torch.cat([fwd, bwd.gather(0, rev.expand(T, B, nH))], dim=-1)
    return torch.where(valid.unsqueeze(-1), Y, torch.zeros_like(Y))


#: On CPU the padded path runs oneDNN's fused LSTM, 2-3x faster than the packed path at
#: tagger-like batches even with 40% padding (benchmarks/bench_lstm.py); it only loses when
#: padding dominates, so the packed path takes over below this fill (real rows / (T * B)).
PADDED_MIN_FILL = 0.2


def prefer_padded(X: Tensor, lengths: Tensor, min_fill: float = PADDED_MIN_FILL) -> bool:
    """Eager/TorchScript choice of path: padded on CPU unless less than ``min_fill`` of the
    batch is real rows; packed elsewhere (cuDNN runs packed sequences natively) and for empty
    batches."""
    T, B = X.shape[0], X.shape[1]
    if X.device.type != "cpu" or T * B == 0:
        return False
    return float(lengths.sum()) >= min_fill * T * B


@registry.layers("LSTM.v1")
class LSTM(Model[Padded, Padded]):
    """A stacked LSTM over a Padded batch: ``LSTM(nO, nI, *, bi=False, depth=1, dropout=0.0)``.

    Per direction: ``a_t = Wx x_t + bx + Wh h_{t-1} + bh``; ``f, i, o = sigmoid(a)``,
    ``g = tanh(a_c)``; ``c_t = f c_{t-1} + i g``; ``h_t = o tanh(c_t)``. With ``bi`` the backward
    direction starts at each sequence's last element and each step outputs ``[h_fwd, h_bwd]``;
    each layer's output is the next layer's input. ``nH = nO // dirs`` (``nO`` must be
    divisible by 2 when ``bi``). ``dropout`` is Thinc's DropConnect: in training, one inverted
    dropout mask over the whole flat ``LSTM`` vector (biases included), no dropout between
    layers' activations.

    Shape:
        - Input: Padded with data (T, B, nI) float, columns sorted by decreasing length
          (``list2padded``/``with_padded`` produce this); size_at_t (T,), lengths (B,)
        - Output: Padded with data (T, B, nO), the input's size_at_t/lengths/indices; padding
          rows are 0
    Params (Thinc layout): ``LSTM`` = ``weight``, one flat vector; per layer, then per direction
    (forward first): ``Wx`` (4, nH, nI_i) in gate order (f, i, o, c), ``bx`` (4, nH), ``Wh``
    (4, nH, nH), ``bh`` (4, nH), with ``nI_0 = nI`` and ``nI_i = dirs*nH``. Each of the eight
    matrices is drawn separately by ``init_W`` (glorot uniform), the biases by ``init_b``
    (zeros). ``HC0`` = ``initial_state`` (2, depth, dirs, nH), zeros: ``HC0[1]`` is the initial
    hidden state and ``HC0[0]`` the initial cell (Thinc's NumpyOps reading). Unlike Thinc,
    ``HC0`` gets its (true) gradient; freeze it with ``model.initial_state.requires_grad_(False)``.
    Dims ``nO``, ``nI`` (inferred from X and Y), ``depth``, ``dirs``.

    Deployment: torch.compile (fullgraph, dynamic: no recompile when T or B changes; training
    too, through ``torchlayers::fused_lstm``), torch.export with dynamic T and B (the program holds
    ``torchlayers::lstm``, which runs the eager kernel: outputs bitwise the eager model's; load it
    with torchlayers imported; ``run_decompositions`` and ONNX turn it into a ``while_loop`` over
    time, see ``functional/rnn_loop.py``) and TorchScript.

    Example::

        >>> model = LSTM(8, 4, bi=True, depth=2)
        >>> Xp = list2padded([torch.randn(5, 4), torch.randn(3, 4)])
        >>> model(Xp).data.shape
        torch.Size([5, 2, 8])
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        initial_state: Optional[Tensor]
        torch_order: Optional[Tensor]

    # Thinc keeps registry_name in attrs too, which makes it an instance attribute here;
    # TorchScript cannot type it (Model annotates it Optional[str] as a string) and never needs it.
    # no ClassVar annotation: TorchScript reads class annotations (they would hide the base's)
    __jit_ignored_attributes__ = ["registry_name"]  # noqa: RUF012

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, bi: bool = False, depth: int = 1,
                 dropout: float = 0.0, init_W: Optional[Callable] = None, init_b: Optional[Callable] = None) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"lstm: depth must be an int >= 1 (Thinc raises on depth=0 too), got {depth!r}")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"lstm: dropout must be a float in [0, 1], got {dropout!r}")
        super().__init__("lstm", dims={"nO": nO, "nI": nI, "depth": depth, "dirs": 1 + int(bool(bi))},
                         attrs={"registry_name": "LSTM.v1", "dropout_rate": float(dropout)})
        self.dropout_rate: float = float(dropout)
        self._init_W = init_W or glorot_uniform_init
        self._init_b = init_b or zero_init
        self.register_buffer("torch_order", None, persistent=False)
        self.declare_param(
            "LSTM",
            "weight",
            ("nO", "nI", "depth", "dirs"),
            self._draw_lstm,
            shape=_flat_shape,
            infer=_infer_from_flat,
            text="(flat 1-D vector: nO={nO}, nI={nI}, depth={depth}, dirs={dirs})",
            on_store=_store_torch_order,  # type: ignore[arg-type]  # model/params.py types on_store for any Model
        )
        self.declare_param("HC0", "initial_state", (2, "depth", "dirs", "nO"), zero_init, shape=_hc0_shape,
                           infer=_infer_from_hc0, text="(2, depth={depth}, dirs={dirs}, nH=nO/dirs={nO}/{dirs})")

    # ------------------------------------------------------------------ Thinc's layout
    def _nH(self) -> Optional[int]:
        nO = self._dims.get("nO")
        return None if nO is None else _nH(nO, self.get_dim("dirs"))

    def _draw_lstm(self, ops: Any, shape: Tuple[int, ...]) -> Tensor:
        """Thinc's init: per block, 4 x init_W (nH, nI_i), 4 x init_b (nH,), 4 x init_W (nH, nH),
        4 x init_b (nH,), raveled and concatenated."""
        nH = self._nH()
        assert nH is not None
        parts: List[Tensor] = []
        for n_in in _block_inputs(self.get_dim("nI"), nH, self.get_dim("depth"), self.get_dim("dirs")):
            for init, piece in (
                (self._init_W, (nH, n_in)),
                (self._init_b, (nH,)),
                (self._init_W, (nH, nH)),
                (self._init_b, (nH,)),
            ):
                for _ in range(4):
                    parts.append(_as_float_tensor(init(ops, piece), self.name, "LSTM").to(torch.float32).reshape(-1))
        return torch.cat(parts) if parts else torch.zeros(0)

    def torch_lstm_weights(self) -> List[Tensor]:
        """The weights in torch's order, ``[w_ih_l0, w_hh_l0, b_ih_l0, b_hh_l0, (…_reverse), …]``
        (what ``nn.LSTM(nI, nH, depth, bidirectional=bi)._flat_weights`` holds), as copies."""
        W = check_param(self.name, self.weight, "LSTM")
        HC0 = check_param(self.name, self.initial_state, "HC0")
        order = self.torch_order
        assert order is not None  # stored with W (on_store)
        with torch.no_grad():
            return [w.clone() for w in _torch_weights(W, order, self.get_dim("nI"), HC0.shape[3],
                                                      HC0.shape[1], HC0.shape[2])]

    def as_torch_lstm(self) -> nn.LSTM:
        """An ``nn.LSTM(nI, nH, depth, bidirectional=bi)`` with these weights. Run it on packed
        sequences (``pack_padded_sequence``) with ``hx=(HC0[1], HC0[0])`` expanded over the batch
        for the same output; on the padded tensor the reverse direction would read the padding."""
        nH = self._nH()
        assert nH is not None
        lstm = nn.LSTM(self.get_dim("nI"), nH, self.get_dim("depth"), bidirectional=self.get_dim("dirs") == 2)
        W = check_param(self.name, self.weight, "LSTM")
        lstm = lstm.to(device=W.device, dtype=W.dtype)
        with torch.no_grad():
            for p, w in zip(lstm._flat_weights, self.torch_lstm_weights()):
                assert p is not None  # no projections: every flat weight exists
                p.copy_(w)
        return lstm

    # ------------------------------------------------------------------ forward
    def forward(self, Xp: Padded) -> Padded:
        W = check_param(self.name, self.weight, "LSTM")
        HC0 = check_param(self.name, self.initial_state, "HC0")
        order = self.torch_order
        assert order is not None
        if not torch.jit.is_scripting():
            self._check_input(Xp, W)
        X = Xp.data
        if self.training and self.dropout_rate > 0.0:
            W = F.dropout(W, min(self.dropout_rate, 1.0), True)  # DropConnect over the flat vector
        weights = _torch_weights(W, order, X.shape[2], HC0.shape[3], HC0.shape[1], HC0.shape[2])
        if torch.jit.is_scripting():
            padded = prefer_padded(X, Xp.lengths)
        elif torch.compiler.is_compiling():
            padded = True  # static shapes: no packing
        else:
            padded = prefer_padded(X, Xp.lengths)
        if padded:
            Y = lstm_padded(X, Xp.lengths, weights, HC0, self.training)
        else:
            Y = lstm_packed(X, Xp.size_at_t, weights, HC0, self.training)
        return Padded(Y, Xp.size_at_t, Xp.lengths, Xp.indices)

    @torch.jit.unused
    def _check_input(self, Xp: Any, W: Tensor) -> None:
        if not isinstance(Xp, Padded):
            raise TypeError(
                f"{self.name}: expected a Padded (data (T, B, nI), size_at_t, lengths, indices), got "
                f"{type(Xp).__name__}; wrap the layer in with_padded(...) to feed lists, Ragged or arrays"
            )
        nI = self.get_dim("nI")
        data = Xp.data
        if data.dim() != 3:
            raise ValueError(
                f"{self.name}: expected Padded data of shape (T, B, nI={nI}), "
                f"got a {data.dim()}-D tensor of shape {tuple(data.shape)}"
            )
        if data.shape[2] != nI:
            raise ValueError(
                f"{self.name}: expected Padded data width nI={nI}, got data of shape {tuple(data.shape)}; "
                f"build the layer with nI={data.shape[2]} or initialize it on a sample"
            )
        if not data.is_floating_point():
            raise TypeError(f"{self.name}: expected floating point Padded data, got dtype {data.dtype}")
        if data.dtype != W.dtype:
            raise TypeError(
                f"{self.name}: expected Padded data of dtype {W.dtype} "
                f"(the weights' dtype), got {data.dtype}; cast one of them"
            )
        if torch.compiler.is_compiling():
            return
        lengths = Xp.lengths.to(torch.int64).cpu()
        if lengths.numel() > 1 and bool((lengths[1:] > lengths[:-1]).any()):
            raise ValueError(
                f"{self.name}: expected Padded columns sorted by decreasing length (as list2padded makes them), "
                f"got lengths {lengths.tolist()}"
            )
        T = data.shape[0]
        expected = (lengths.unsqueeze(0) > torch.arange(T).unsqueeze(1)).sum(1)
        if not torch.equal(Xp.size_at_t.to(torch.int64).cpu(), expected):
            raise ValueError(
                f"{self.name}: Padded size_at_t disagrees with lengths: expected {expected.tolist()} "
                f"(the number of sequences longer than t), got {Xp.size_at_t.tolist()}"
            )


def _nH(nO: int, dirs: int) -> int:
    if nO % dirs:
        raise DimError(
            f"lstm: nO={nO} must be divisible by dirs={dirs} (bi=True gives each direction nO // 2 "
            f"units); got nO={nO}, use nO={nO - nO % dirs} or {nO + dirs - nO % dirs}"
        )
    return nO // dirs


def _flat_shape(d: Dict[str, int]) -> Tuple[int]:
    """``LSTM``: Thinc's flat vector, ``lstm_param_size`` long."""
    return (lstm_param_size(d["nI"], _nH(d["nO"], d["dirs"]), d["depth"], d["dirs"]),)


def _hc0_shape(d: Dict[str, int]) -> Tuple[int, int, int, int]:
    """``HC0``: (2, depth, dirs, nH)."""
    return (2, d["depth"], d["dirs"], _nH(d["nO"], d["dirs"]))


def _infer_from_flat(shape: Tuple[int, ...], dims: Dict[str, Optional[int]]) -> Dict[str, int]:
    """The flat size alone cannot tell nO and nI apart: they must be set first."""
    if len(shape) != 1:
        raise ValueError(f"lstm: cannot set param 'LSTM': expected Thinc's flat 1-D vector, got shape {shape}")
    unset = [d for d in ("nO", "nI") if dims[d] is None]
    raise DimError(
        f"lstm: cannot set param 'LSTM' of size {shape[0]}: dims {unset} are unset (expected ints, got None); "
        f"set them first (the flat size alone does not determine them)"
    )


def _infer_from_hc0(shape: Tuple[int, ...], dims: Dict[str, Optional[int]]) -> Dict[str, int]:
    """An unset nO from HC0 (2, depth, dirs, nH): ``nO = dirs * nH``."""
    depth, dirs = dims["depth"], dims["dirs"]
    assert depth is not None and dirs is not None  # set at construction
    if len(shape) != 4 or tuple(shape[:3]) != (2, depth, dirs):
        raise ValueError(
            f"lstm: cannot set param 'HC0': expected shape (2, depth={depth}, dirs={dirs}, nH), got {shape}"
        )
    return {"nO": shape[3] * dirs}


def _store_torch_order(model: LSTM) -> None:
    """After the flat vector is stored: the permutation that gathers it into torch's order."""
    nH = model._nH()
    assert nH is not None
    model.torch_order = thinc_to_torch_order(model.get_dim("nI"), nH, model.get_dim("depth"), model.get_dim("dirs"),
                                             check_param(model.name, model.weight, "LSTM").device)


def BiLSTM(nO: Optional[int] = None, nI: Optional[int] = None, *, depth: int = 1, dropout: float = 0.0,
           init_W: Optional[Callable] = None, init_b: Optional[Callable] = None) -> LSTM:
    """``LSTM(nO, nI, bi=True, ...)``: nO/2 units per direction (Thinc has no separate BiLSTM)."""
    return LSTM(nO, nI, bi=True, depth=depth, dropout=dropout, init_W=init_W, init_b=init_b)
