"""HashEmbed: the hashing-trick embedding (Thinc "HashEmbed.v1")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..functional.checks import check_param
from ..functional.dropout import dropout_mask
from ..initializers import uniform_init
from ..kernels import hash_embed as _hash_embed_op  # noqa: F401  (registers torch.ops.torchlayers.hash_embed)
from ..kernels.hash_embed import hash_embed_eager_cpu
from ..kernels.murmur3_x64 import check_seed
from ..kernels.triton_support import eager_cpu
from ..model import Model
from .embed import ids_1d


class HashEmbed(Model[Tensor, Tensor]):
    """Embed integer ids through 4 seeded hashes into an (nV, nO) table (Thinc "HashEmbed.v1").

    Each id (uint64 semantics: negative int64 ids are read as two's complement, int32 ids are
    cast) is hashed with MurmurHash3_x64_128 and ``seed``; the four uint32 words of the hash,
    each ``% nV``, pick four rows of ``E`` that are summed (a repeated row counts twice).

    Shape:
        - Input: (N,) int32/int64 ids. Thinc's ``column=c`` (an (N, C) input whose column c is
          used) builds the tree ``chain(ints_getitem, hashembed)``, named
          ``"ints-getitem>>hashembed"``: ``torchlayers.HashEmbed`` (api.py).
        - Output: (N, nO), dtype of the table; N = 0 gives an empty (0, nO) output.
    Params: ``E`` (nV, nO) = ``weight``, uniform(-0.1, 0.1) by default.
    Attrs: ``column`` (None; the facade sets it here and on the chain), ``seed`` (default: this
    model's ``id``, a process-wide counter; saved by ``to_bytes`` so a reloaded model hashes
    identically) and, when ``dropout`` is given, ``dropout_rate``: in training one (nO,)
    inverted-dropout mask is shared by every row.

    The work is one op, ``torch.ops.torchlayers.hash_embed``: a fused Triton kernel on CUDA (a
    deterministic sorted backward under ``torch.use_deterministic_algorithms(True)``), torch
    reference code on CPU.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        seed: int
        dropout_rate: float

    def __init__(self, nO: int, nV: int, *, seed: Optional[int] = None, initializer: Optional[Callable] = None,
                 dropout: Optional[float] = None) -> None:
        for dim, value in (("nO", nO), ("nV", nV)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"hashembed: {dim} must be a positive int (HashEmbed(nO, nV) needs both), got {value!r}"
                )
        attrs: Dict[str, Any] = {"column": None, "seed": seed}
        if dropout is not None:
            attrs["dropout_rate"] = float(dropout)
        super().__init__("hashembed", dims={"nO": nO, "nV": nV, "nI": None}, attrs=attrs)
        if seed is None:
            self.set_attr("seed", self.id)
        check_seed(self.seed, "hashembed")
        self.declare_param("E", "weight", ("nV", "nO"), initializer or uniform_init)

    def _initialize(self, X, Y) -> None:
        # Thinc's init infers no dims from X or Y: it only (re)draws E.
        self.reset_parameters()

    def forward(self, ids: Tensor) -> Tensor:
        E = check_param(self.name, self.weight, "E")
        ids = ids_1d(self.name, ids)
        seed = self.seed
        if seed < 0 or seed >= 4294967296:
            raise OverflowError(f"{self.name}: attr seed must fit a uint32, i.e. be in [0, 2**32), got {seed}")
        if not torch.jit.is_scripting() and eager_cpu(E):  # the inline check keeps TorchScript off _eager_cpu
            Y = self._eager_cpu(E, ids, seed)
        else:
            Y = torch.ops.torchlayers.hash_embed(E, ids, seed)
        if self.training:
            if not torch.jit.is_scripting():
                Y = self._dropout(Y)
        return Y

    @torch_unused
    def _eager_cpu(self, E: Tensor, ids: Tensor, seed: int) -> Tensor:
        """Eager CPU: keeps the forward's hashed rows for the backward (no rehashing)."""
        return hash_embed_eager_cpu(E, ids, seed)

    @torch_unused
    def get_extra_state(self) -> Tensor:
        """The seed travels with ``state_dict()`` (as ``_extra_state``, an int64 tensor), so a
        default-seeded model reloaded from a state dict hashes exactly as it was trained."""
        return torch.tensor([self.seed], dtype=torch.int64)

    @torch_unused
    def set_extra_state(self, state: Tensor) -> None:
        if not isinstance(state, Tensor) or state.numel() != 1 or state.is_floating_point():
            raise ValueError(
                f"{self.name}: expected _extra_state to be a 1-element int64 tensor holding the seed, got {state!r}"
            )
        self.set_attr("seed", check_seed(int(state.reshape(-1)[0]), self.name))

    @torch_unused
    def _dropout(self, Y: Tensor) -> Tensor:
        """One (nO,) ``dropout_mask`` shared by every row (Thinc's Embed convention)."""
        rate = self.dropout_rate if "dropout_rate" in self._attr_names else None
        if rate is None or rate <= 0.0:
            return Y
        return Y * dropout_mask([Y.shape[1]], rate, Y)
