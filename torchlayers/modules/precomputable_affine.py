"""PrecomputableAffine: spaCy's parser/NER lower layer (spaCy's "spacy.PrecomputableAffine.v1",
``spacy/ml/_precomputable_affine.py``): every token's contribution to every state feature, computed once.

A parser state's hidden vector is ``maxout_p(sum_f Yf[ids[f] + 1, f] + b)``; this layer computes the
table ``Yf``, the scorer (``architectures/parser_model.py``) sums its rows per state.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

import torch
from torch import Tensor

from .._tracing import values_readable
from ..convert import to_torch
from ..functional.checks import check_floats2d, check_ids, check_param
from ..initializers import normal_init, zero_init
from ..model import Model
from ..registry import registry

__all__ = ["PrecomputableAffine", "state_sums"]


def state_sums(Yf: Tensor, ids: Tensor) -> Tensor:
    """(N+1, nF, nO, nP) table, (S, nF) token ids (-1: no token, the padding row 0) -> (S, nO, nP)
    ``sum_f Yf[ids[s, f] + 1, f]``: spaCy's ``sum_state_features``."""
    nF = Yf.shape[1]
    if ids.dim() != 2 or ids.shape[1] != nF:
        raise ValueError(f"precomputable_affine: expected token ids of shape (states, nF={nF}), got "
                         f"{list(ids.shape)}; give one id per state feature (-1 where the state has no token)")
    rows = ids.long() + 1
    if torch.jit.is_scripting():
        _check_rows(rows, Yf.shape[0])
    elif not values_readable(rows):  # traced: the check is an op of the graph (no host read, no guard)
        torch._assert_async(((rows >= 0) & (rows < Yf.shape[0])).all(),
                            "precomputable_affine: token ids must lie in [-1, tokens of the batch - 1]")
    else:
        _check_rows(rows, Yf.shape[0])
    features = torch.arange(nF, device=Yf.device).expand_as(rows)
    return Yf[rows, features].sum(dim=1)


def _check_rows(rows: Tensor, n_rows: int) -> None:
    """Eager and TorchScript: the table rows ``ids + 1`` lie in [0, n_rows) (a clear error naming the range)."""
    if rows.numel() > 0 and (int(rows.min()) < 0 or int(rows.max()) >= n_rows):
        raise ValueError(f"precomputable_affine: token ids must lie in [-1, {n_rows - 2}] (the "
                         f"{n_rows - 1} tokens of the batch), got {int(rows.min()) - 1}..{int(rows.max()) - 1}")


@registry.layers("spacy.PrecomputableAffine.v1")
class PrecomputableAffine(Model):
    """``PrecomputableAffine(nO, nI, nF, nP, dropout=0.1)``, one node named ``precomputable_affine``.

    Shape:
        - Input: (N, nI) float token vectors
        - Output: (N + 1, nF, nO, nP): row 0 is the padding ``pad[0]`` (a missing token of each
          feature), row ``i + 1`` is ``W . X[i]`` for every feature (no bias: the scorer adds ``b``)
    Params (spaCy's names and layouts): ``W`` (nF, nO, nP, nI) = ``weight``; ``b`` (nO, nP) = ``bias``;
    ``pad`` (1, nF, nO, nP) = ``pad``. W is zero until ``initialize``, which draws them as spaCy does
    (W normal with std ``sqrt(nI / nF)``, pad normal, b zero), then rescales W and shifts b until the
    maxout activations of random whitened inputs have unit variance and zero mean (at most 10 rounds,
    spaCy's tolerances); a layer whose W is nonzero (trained, loaded) is left as it is. Attr
    ``dropout_rate`` (stored, unused, as spaCy's).

    Thinc face: ``backprop(dYf)`` with the table's gradient gives dX (N, nI) (autograd), and spaCy's
    convention is taken too: ``backprop((dY, ids))`` takes the gradient of the state sums
    (S, nO, nP) and the (S, nF) ids they were summed over, accumulates the gradients of W (from the
    tokens of present features only), b (``dY.sum(0)``: the scorer's bias) and pad, and returns
    (S, nF, nI): the gradient of each state feature's token vector.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]
        pad: Optional[Tensor]

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, nF: Optional[int] = None,
                 nP: Optional[int] = None, dropout: float = 0.1) -> None:
        super().__init__("precomputable_affine", dims={"nO": nO, "nI": nI, "nF": nF, "nP": nP},
                         attrs={"dropout_rate": dropout})
        self.declare_param("W", "weight", ("nF", "nO", "nP", "nI"), zero_init)  # drawn by initialize
        self.declare_param("b", "bias", ("nO", "nP"), zero_init)
        self.declare_param("pad", "pad", (1, "nF", "nO", "nP"), _init_pad)

    def forward(self, X: Tensor) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        pad = check_param(self.name, self.pad, "pad")
        nF, nO, nP, nI = W.shape[0], W.shape[1], W.shape[2], W.shape[3]
        check_floats2d(self.name, X, nI)
        Y = torch.mm(X, W.reshape(nF * nO * nP, nI).t()).reshape(X.shape[0], nF, nO, nP)
        return torch.cat([pad.reshape(1, nF, nO, nP), Y], dim=0)

    # ------------------------------------------------------------------ initialize
    def _initialize(self, X: Any, Y: Any) -> None:
        if self.weight is not None and bool(self.weight.detach().ne(0).any()):
            return  # spaCy's init keeps trained (or loaded) weights
        if X is not None:
            self.set_dim("nI", X.shape[-1])
        self.reset_parameters()
        shape = tuple(self.get_dim(d) for d in ("nF", "nO", "nP", "nI"))
        self.set_param("W", _init_W(self.ops, shape))
        self._whiten()

    def _whiten(self) -> None:
        """spaCy's init loop: scale W by 1/std, then shift b by -mean, of the activations of 5000
        random states over random normal token vectors, until within 0.01 of (1, 0) (10 rounds)."""
        nF, nO, nP, nI = (self.get_dim(d) for d in ("nF", "nO", "nP", "nI"))
        W, b = self.get_param_tensor("W"), self.get_param_tensor("b")
        device = W.device
        ids = torch.randint(0, 1000, (5000, nF), device=device)
        tokvecs = torch.randn(5000, nI, device=device)
        for _ in range(10):
            with torch.no_grad():
                hiddens = self.forward(tokvecs[:-1]).reshape(-1, nO * nP)  # spaCy: (N * nF) rows
                vectors = torch.zeros(5000, nO * nP, device=device)
                vectors.index_add_(0, ids.reshape(-1), hiddens)
                vectors = vectors.reshape(5000, nO, nP) + b
                acts = vectors.max(dim=-1)[0] if nP >= 2 else vectors * (vectors >= 0)
                var, mean = float(acts.var(unbiased=False)), float(acts.mean())
            if abs(var - 1.0) >= 0.01:
                self.set_param("W", W.detach() / math.sqrt(var))
                W = self.get_param_tensor("W")
            elif abs(mean) >= 0.01:
                self.set_param("b", b.detach() - mean)
                b = self.get_param_tensor("b")
            else:
                break

    # ------------------------------------------------------------------ Thinc face
    def thinc_forward(self, X: Any, is_train: bool) -> Optional[Tuple[Any, Callable[[Any], Any]]]:
        """spaCy's forward: the table, and a backprop taking spaCy's ``(d_state_sums, ids)``, or the
        gradient of the whole table (autograd, as every layer)."""
        Xt = to_torch(X, self.device)
        if not is_train:
            with torch.no_grad():
                return self.forward(Xt), lambda dY: None
        tracked = Xt.detach().requires_grad_(True)
        with torch.enable_grad():
            Yf = self.forward(tracked)

        def backprop(dY: Any) -> Tensor:
            if isinstance(dY, (tuple, list)):
                if len(dY) != 2:
                    raise TypeError(f"{self.name}: the Thinc-face backprop takes spaCy's (dY, ids), dY (states, nO, "
                                    f"nP) and the (states, nF) token ids, or dY of the table's shape; got a "
                                    f"{type(dY).__name__} of {len(dY)}")
                d_sums, ids = (to_torch(x, self.device) for x in dY)
                return self.backprop_state_sums(tracked.detach(), d_sums, ids)
            dYt = to_torch(dY, self.device)
            if not isinstance(dYt, Tensor) or tuple(dYt.shape) != tuple(Yf.shape):
                got = list(dYt.shape) if isinstance(dYt, Tensor) else type(dYt).__name__
                raise ValueError(f"{self.name}: backprop expected dY of the table's shape {list(Yf.shape)} or "
                                 f"spaCy's (dY, ids), got {got}")
            targets = [tracked] + [p for p in self.parameters() if p.requires_grad]
            torch.autograd.backward([Yf], [dYt.to(Yf.dtype)], inputs=targets)
            return tracked.grad if tracked.grad is not None else torch.zeros_like(tracked)

        return Yf.detach(), backprop

    def backprop_state_sums(self, X: Tensor, dY: Tensor, ids: Tensor) -> Tensor:
        """spaCy's backward: inc_grad W, b, pad from the gradient of the state sums; returns (S, nF, nI)."""
        W = check_param(self.name, self.weight, "W")
        nF, nO, nP, nI = W.shape[0], W.shape[1], W.shape[2], W.shape[3]
        check_ids(self.name, ids)
        if dY.dim() != 3 or tuple(dY.shape[1:]) != (nO, nP) or ids.shape != (dY.shape[0], nF):
            raise ValueError(f"{self.name}: expected dY of shape (states, nO={nO}, nP={nP}) and ids of shape "
                             f"(states, nF={nF}), got {list(dY.shape)} and {list(ids.shape)}")
        nB = dY.shape[0]
        dY2 = dY.reshape(nB, nO * nP).to(W.dtype)
        missing = (ids < 0).to(W.dtype)
        self.inc_grad("pad", (missing.t() @ dY2).reshape(1, nF, nO, nP))
        self.inc_grad("b", dY.sum(dim=0))
        # only present features took W . X[id]; spaCy also counts X[-1] for missing ones (COMPATIBILITY.md)
        Xf = X[ids.long().clamp(min=0)] * (1.0 - missing).unsqueeze(-1)
        dW = (dY2.t() @ Xf.reshape(nB, nF * nI)).reshape(nO, nP, nF, nI).permute(2, 0, 1, 3)
        self.inc_grad("W", dW.contiguous())
        Wopfi = W.detach().permute(1, 2, 0, 3).reshape(nO * nP, nF * nI)
        return (dY2 @ Wopfi).reshape(nB, nF, nI)


def _init_W(ops: Any, shape: Tuple[int, ...]) -> Tensor:
    nF, nI = shape[0], shape[3]
    return normal_init(ops, shape, mean=math.sqrt(1.0 / nF * nI))  # spaCy's precedence: sqrt(nI / nF)


def _init_pad(ops: Any, shape: Tuple[int, ...]) -> Tensor:
    return normal_init(ops, shape, mean=1.0)
