"""CategoricalCrossentropy and SequenceCategoricalCrossentropy (Thinc "CategoricalCrossentropy.v1-v3",
"SequenceCategoricalCrossentropy.v1-v3").

The gradient is with respect to the logits of a softmax output (Thinc's convention, which the
Thinc face of ``Softmax`` expects): ``(guesses - target) * mask``, divided by N when
``normalize``. The loss is Thinc's ``sum(grad ** 2)``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy
import torch
from torch import Tensor

from ..registry import registry
from .base import Loss, out


def to_categorical(
    ids: Tensor, n_classes: int, *, label_smoothing: float = 0.0, name: str = "to_categorical"
) -> Tensor:
    """Thinc's ``to_categorical``: one-hot float32 rows, smoothed to ``1 - s`` on the gold class and
    ``s / (n_classes - 1)`` elsewhere.

    Shape: ids (N,) integer in [0, n_classes) -> (N, n_classes) float32 on ids' device.
    """
    if label_smoothing < 0.0:
        raise ValueError(
            f"{name}: Label-smoothing parameter has to be greater than or equal to 0, got {label_smoothing}"
        )
    if label_smoothing == 0.0:
        if n_classes == 0:
            raise ValueError(f"{name}: n_classes should be at least 1, got guesses with 0 columns")
        nongold = 0.0
    else:
        if not n_classes > 1:
            raise ValueError(
                f"{name}: n_classes should be greater than 1 when label "
                f"smoothing is enabled, but {n_classes} was provided"
            )
        nongold = label_smoothing / (n_classes - 1)
    max_smooth = (n_classes - 1) / n_classes
    if n_classes > 1 and label_smoothing >= max_smooth:
        raise ValueError(
            f"{name}: For {n_classes} classes label_smoothing parameter has to be less than {max_smooth}, "
            f"but found {label_smoothing}"
        )
    table = torch.full((n_classes, n_classes), nongold, dtype=torch.float32, device=ids.device)
    table.fill_diagonal_(1.0 - label_smoothing)
    return table[ids.long()]


class CategoricalCrossentropy(Loss):
    """``CategoricalCrossentropy(*, normalize=True, names=None, missing_value=None, neg_prefix=None,
    label_smoothing=0.0)``.

    Truths may be class ids (a tensor, numpy array or list of ints), label names (a list of
    strings, mapped through ``names``; ``neg_prefix + name`` marks "not this class": that row's
    target for the class is 0 and the row's other classes are masked), or a (N, C) float target.
    Rows whose truth equals ``missing_value`` (an id, a name, or the argmax of a float row) get no
    gradient. ``label_smoothing`` applies to ids and names only.

    Shape: guesses (N, C) float in [0, 1] -> grad (N, C) in the guesses' dtype; loss a scalar.
    """

    name = "CategoricalCrossentropy"

    def __init__(self, *, normalize: bool = True, names: Optional[Sequence[str]] = None,
                 missing_value: Optional[Union[str, int]] = None, neg_prefix: Optional[str] = None,
                 label_smoothing: float = 0.0) -> None:
        self.normalize = normalize
        self.names = names
        self.missing_value = missing_value
        self.neg_prefix = neg_prefix
        self.label_smoothing = label_smoothing
        self._name_to_i: Dict[str, int] = {n: i for i, n in enumerate(names)} if names is not None else {}

    # ------------------------------------------------------------------ Thinc's API
    def convert_truths(self, truths: Any, guesses: Any) -> Tuple[Any, Any]:
        """Thinc's ``(target, mask)`` for ``truths``: both (N, C) float, in the guesses' array type."""
        G, as_numpy = self._guesses(guesses)
        target, mask = self._convert(truths, G)
        return out(target, as_numpy), out(mask, as_numpy)

    def get_grad(self, guesses: Any, truths: Any) -> Any:
        """Shape: guesses (N, C) -> grad (N, C): ``(guesses - target) * mask``, divided by N when
        ``normalize`` (with respect to a softmax's logits, Thinc's convention).

        Raises ValueError for guesses or targets outside [0, 1], class ids outside [0, C), unknown
        label names or a truths length different from N; TypeError for guesses that are not a
        float array.
        """
        G, as_numpy = self._guesses(guesses)
        return out(self._grad(G, truths), as_numpy)

    def get_loss(self, guesses: Any, truths: Any) -> Any:
        """Thinc's loss ``sum(get_grad(guesses, truths) ** 2)``: a scalar. Raises as ``get_grad``."""
        G, as_numpy = self._guesses(guesses)
        return out((self._grad(G, truths) ** 2).sum(), as_numpy)

    def __call__(self, guesses: Any, truths: Any) -> Tuple[Any, Any]:
        G, as_numpy = self._guesses(guesses)
        d = self._grad(G, truths)
        return out(d, as_numpy), out((d**2).sum(), as_numpy)

    # ------------------------------------------------------------------ implementation
    def _grad(self, G: Tensor, truths: Any) -> Tensor:
        target, mask = self._convert(truths, G)
        if G.shape != target.shape:
            raise ValueError(
                f"Cannot calculate CategoricalCrossentropy loss: mismatched shapes: guesses {tuple(G.shape)} vs "
                f"target {tuple(target.shape)}; pass one truth per row of guesses"
            )
        if bool(((G > 1) | (G < 0)).any()):
            raise ValueError(
                "Cannot calculate CategoricalCrossentropy loss with guesses outside the [0,1] interval "
                f"(got min {G.min().item():g}, max {G.max().item():g}); pass softmax probabilities, not logits"
            )
        if bool(((target > 1) | (target < 0)).any()):
            raise ValueError(
                "Cannot calculate CategoricalCrossentropy loss with truth values outside the [0,1] interval "
                f"(got min {target.min().item():g}, max {target.max().item():g})"
            )
        d = (G - target) * mask
        return d / G.shape[0] if self.normalize else d

    def _convert(self, truths: Any, G: Tensor) -> Tuple[Tensor, Tensor]:
        if G.dim() != 2:
            raise ValueError(f"{self.name}: expected guesses of shape (N, C), got shape {tuple(G.shape)}")
        n_classes = G.shape[-1]
        device = G.device
        mask = torch.ones(G.shape, dtype=torch.float32, device=device)
        negatives = None
        if self.names:
            negatives = torch.ones((len(truths), len(self.names)), dtype=torch.float32, device=device)
        array = self._truth_array(truths, G)
        if array is None:
            id_list, missing = self._list_to_ids(list(truths), negatives)
            ids = torch.tensor(id_list, dtype=torch.int64, device=device)
            if missing:
                mask[torch.tensor(missing, dtype=torch.int64, device=device)] = 0.0
        else:
            ids = array
            if isinstance(self.missing_value, int) and not isinstance(self.missing_value, bool):
                labels = array if array.dim() == 1 else array.argmax(dim=-1)
                mask[labels == self.missing_value] = 0.0
        if ids.dim() != G.dim():
            target = self._one_hot(ids, n_classes, mask)
        else:
            if self.label_smoothing:
                raise ValueError(
                    "Label smoothing is only applied, when truths have type List[str], List[int] or Ints1d, but it "
                    "seems like Floats2d was provided"
                )
            target = ids.to(torch.float32) if not ids.is_floating_point() else ids
        if negatives is not None:
            target = target * negatives
            target = target.masked_fill(target == -1, 0.0)
            mask = mask * negatives.masked_fill(negatives == -1, 1.0)
        return target, mask

    def _list_to_ids(self, truths: List[Any], negatives: Optional[Tensor]) -> Tuple[List[int], List[int]]:
        """Thinc's list branch: ints pass (missing ones noted), strings map through ``names``."""
        missing: List[int] = []
        if not truths:
            return [], missing
        if isinstance(truths[0], int):
            for i, value in enumerate(truths):
                if value == self.missing_value:
                    missing.append(i)
            return truths, missing
        if self.names is None:
            raise ValueError(
                "Cannot calculate loss from list of strings without names. You can pass the names as a keyword "
                "argument when you create the loss object, e.g. CategoricalCrossentropy(names=['dog', 'cat'])"
            )
        ids = []
        for i, value in enumerate(truths):
            if value == self.missing_value:
                value = self.names[0]
                missing.append(i)
            elif value and self.neg_prefix and value.startswith(self.neg_prefix):
                value = value[len(self.neg_prefix):]
                negatives[i] = 0  # type: ignore[index]
                negatives[i, self._index(value, i)] = -1  # type: ignore[index]
            ids.append(self._index(value, i))
        return ids, missing

    def _index(self, label: Any, row: int) -> int:
        if label not in self._name_to_i:
            raise ValueError(
                f"{self.name}: truth {row} is {label!r}, which is not one of the names {list(self.names or [])}"
                + (f" (or {self.neg_prefix!r} + a name)" if self.neg_prefix else "")
            )
        return self._name_to_i[label]

    def _one_hot(self, ids: Tensor, n_classes: int, mask: Tensor) -> Tensor:
        if ids.is_floating_point() or ids.dtype == torch.bool:
            raise TypeError(f"{self.name}: expected integer class ids (N,), got dtype {ids.dtype}")
        if ids.dim() != 1:
            raise ValueError(f"{self.name}: expected class ids of shape (N,), got shape {tuple(ids.shape)}")
        if ids.shape[0] != mask.shape[0]:
            raise ValueError(
                f"Cannot calculate CategoricalCrossentropy loss: mismatched shapes: guesses {tuple(mask.shape)} vs "
                f"{ids.shape[0]} truths; pass one truth per row of guesses"
            )
        # Masked rows (missing values) may hold any id: they get no gradient. Their target row is
        # Thinc's (numpy indexing: -1 is the last class) where that exists, else class 0.
        kept = mask[:, 0] != 0 if n_classes else torch.ones_like(ids, dtype=torch.bool)
        bad = ((ids < 0) | (ids >= n_classes)) & kept
        if bool(bad.any()):
            row = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"{self.name}: truth {row} is class id {int(ids[row])}, expected an id in [0, {n_classes}) "
                f"(guesses have {n_classes} columns); mark unknown rows with missing_value"
            )
        wrapped = torch.where(ids < 0, ids + n_classes, ids)
        ids = torch.where(kept, ids, wrapped.masked_fill((wrapped < 0) | (wrapped >= n_classes), 0))
        return to_categorical(ids, n_classes, label_smoothing=self.label_smoothing, name=self.name)


class SequenceCategoricalCrossentropy(Loss):
    """``SequenceCategoricalCrossentropy(*, normalize=True, names=None, missing_value=None,
    neg_prefix=None, label_smoothing=0.0)``: ``CategoricalCrossentropy`` per sequence.

    ``normalize`` divides each sequence's gradient by the number of sequences (Thinc's choice,
    not the number of rows). The loss is the sum over sequences.

    Shape: guesses a list of (N_i, C) float, truths a list of per-sequence truths -> a list of
    (N_i, C) grads; loss a scalar.
    """

    name = "SequenceCategoricalCrossentropy"

    def __init__(self, *, normalize: bool = True, names: Optional[Sequence[str]] = None,
                 missing_value: Optional[Union[str, int]] = None, neg_prefix: Optional[str] = None,
                 label_smoothing: float = 0.0) -> None:
        self.cc = CategoricalCrossentropy(normalize=False, names=names, missing_value=missing_value,
                                          neg_prefix=neg_prefix, label_smoothing=label_smoothing)
        self.normalize = normalize

    def get_grad(self, guesses: Sequence[Any], truths: Sequence[Any]) -> List[Any]:
        """Shape: guesses a list of (N_i, C), truths a list of per-sequence truths -> a list of (N_i, C)
        grads, each as ``CategoricalCrossentropy.get_grad`` (divided by the number of sequences when
        ``normalize``). Raises ValueError when the two lists differ in length.
        """
        return [out(d, as_numpy) for d, as_numpy in self._grads(guesses, truths)]

    def get_loss(self, guesses: Sequence[Any], truths: Sequence[Any]) -> Any:
        """The sum over sequences of ``sum(grad_i ** 2)``, accumulated in float64 as Thinc (a numpy
        float64 for numpy guesses, a 0-d float64 tensor for torch ones; 0.0 for no sequences).
        """
        return self._loss(self._grads(guesses, truths))

    def __call__(self, guesses: Sequence[Any], truths: Sequence[Any]) -> Tuple[List[Any], Any]:
        grads = self._grads(guesses, truths)
        return [out(d, as_numpy) for d, as_numpy in grads], self._loss(grads)

    def _grads(self, guesses: Sequence[Any], truths: Sequence[Any]) -> List[Tuple[Tensor, bool]]:
        if not isinstance(guesses, (list, tuple)):
            raise TypeError(f"{self.name}: expected guesses as a list of (N_i, C) arrays, got {type(guesses).__name__}")
        if len(guesses) != len(truths):
            raise ValueError(
                "Cannot calculate SequenceCategoricalCrossentropy loss: guesses and truths must be same length "
                f"(got {len(guesses)} guesses and {len(truths)} truths)"
            )
        n = len(guesses)
        grads = []
        for yh, y in zip(guesses, truths):
            G, as_numpy = self.cc._guesses(yh)
            d = self.cc._grad(G, y)
            grads.append((d / n if self.normalize else d, as_numpy))
        return grads

    def _loss(self, grads: List[Tuple[Tensor, bool]]) -> Any:
        if not grads:
            return 0.0
        # Thinc adds the per-sequence sums to a Python 0.0, so the total is float64 (numpy float64 for
        # numpy guesses, a float64 0-d tensor for torch guesses).
        total: Tensor = sum((d**2).sum().double() for d, _ in grads)  # type: ignore[assignment]  # grads is not empty
        return numpy.float64(total.item()) if grads[0][1] else total


@registry.losses("CategoricalCrossentropy.v1")
def configure_CategoricalCrossentropy_v1(*, normalize: bool = True, names: Optional[Sequence[str]] = None,
                                         missing_value: Optional[Union[str, int]] = None) -> CategoricalCrossentropy:
    """Thinc's ``CategoricalCrossentropy.v1`` (registry ``losses``): a ``CategoricalCrossentropy`` without
    ``neg_prefix`` and label smoothing.
    """
    return CategoricalCrossentropy(normalize=normalize, names=names, missing_value=missing_value)


@registry.losses("CategoricalCrossentropy.v2")
def configure_CategoricalCrossentropy_v2(*, normalize: bool = True, names: Optional[Sequence[str]] = None,
                                         missing_value: Optional[Union[str, int]] = None,
                                         neg_prefix: Optional[str] = None) -> CategoricalCrossentropy:
    """Thinc's ``CategoricalCrossentropy.v2``: v1 plus ``neg_prefix`` ("not this class" labels)."""
    return CategoricalCrossentropy(normalize=normalize, names=names, missing_value=missing_value, neg_prefix=neg_prefix)


@registry.losses("CategoricalCrossentropy.v3")
def configure_CategoricalCrossentropy_v3(*, normalize: bool = True, names: Optional[Sequence[str]] = None,
                                         missing_value: Optional[Union[str, int]] = None,
                                         neg_prefix: Optional[str] = None,
                                         label_smoothing: float = 0.0) -> CategoricalCrossentropy:
    """Thinc's ``CategoricalCrossentropy.v3``: v2 plus ``label_smoothing`` (for ids and names)."""
    return CategoricalCrossentropy(normalize=normalize, names=names, missing_value=missing_value,
                                   neg_prefix=neg_prefix, label_smoothing=label_smoothing)


@registry.losses("SequenceCategoricalCrossentropy.v1")
def configure_SequenceCategoricalCrossentropy_v1(
    *, normalize: bool = True, names: Optional[Sequence[str]] = None
) -> SequenceCategoricalCrossentropy:
    """Thinc's ``SequenceCategoricalCrossentropy.v1`` (registry ``losses``): ``normalize`` and ``names`` only."""
    return SequenceCategoricalCrossentropy(normalize=normalize, names=names)


@registry.losses("SequenceCategoricalCrossentropy.v2")
def configure_SequenceCategoricalCrossentropy_v2(*, normalize: bool = True, names: Optional[Sequence[str]] = None,
                                                 neg_prefix: Optional[str] = None) -> SequenceCategoricalCrossentropy:
    """Thinc's ``SequenceCategoricalCrossentropy.v2``: v1 plus ``neg_prefix``."""
    return SequenceCategoricalCrossentropy(normalize=normalize, names=names, neg_prefix=neg_prefix)


@registry.losses("SequenceCategoricalCrossentropy.v3")
def configure_SequenceCategoricalCrossentropy_v3(*, normalize: bool = True, names: Optional[Sequence[str]] = None,
                                                 missing_value: Optional[Union[str, int]] = None,
                                                 neg_prefix: Optional[str] = None,
                                                 label_smoothing: float = 0.0) -> SequenceCategoricalCrossentropy:
    """Thinc's ``SequenceCategoricalCrossentropy.v3``: v2 plus ``missing_value`` and ``label_smoothing``."""
    return SequenceCategoricalCrossentropy(normalize=normalize, names=names, missing_value=missing_value,
                                           neg_prefix=neg_prefix, label_smoothing=label_smoothing)
