"""A typed user script: what a user's mypy sees of torchlayers (run by .ci/lint: mypy, then python).

mypy checks the annotations and the ``assert_type`` lines statically (``assert_type`` fails when
the inferred type differs); python runs the same lines and checks the values. No ``type: ignore``
anywhere. Not a pytest file; ``tests/typing/test_user_script.py`` runs mypy on it and on
``rejected_script.py``, whose wrong usages mypy must reject.

``Model`` is generic like Thinc's ``Model[InT, OutT]``: InT / OutT are the torch face's types
(what ``forward`` takes and returns). A typed user annotates the layers the way Thinc's docs do
(``Model[Floats2d, Floats2d]`` there, ``Model[Tensor, Tensor]`` here), and from there:

- ``model(X)`` is ``OutT``; ``model(X, is_train=True)`` and ``begin_update(X)`` are
  ``Tuple[OutT, Callable[[OutT], InT]]`` (Y and backprop: dY -> dX); ``predict(X)`` is ``OutT``;
- a ``Model[Tensor, Tensor]`` given a numpy array on the Thinc face returns numpy (the array-kind
  rule), and its backprop takes and returns numpy;
- ``a >> b`` and ``chain(a, b)`` / ``chain(a, b, c)`` compose: ``Model[A, B] >> Model[B, C]`` is a
  ``Model[A, C]``; ``residual`` keeps its layer's type.
"""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

import numpy
import torch
from torch import Tensor
from typing_extensions import assert_type

from torchlayers import Linear, Model, Ragged, Relu, Softmax, chain, list2ragged, reduce_mean, residual


def build(nO: int, nH: int, nI: int) -> Tuple[Model[Tensor, Tensor], Model[Tensor, Tensor]]:
    """``>>`` through ``Model.define_operators``, on layers annotated the way Thinc's docs do."""
    hidden: Model[Tensor, Tensor] = Relu(nH, nI)
    middle: Model[Tensor, Tensor] = Linear(nH, nH)
    output: Model[Tensor, Tensor] = Softmax(nO, nH)
    with Model.define_operators({">>": chain}):
        model = hidden >> middle >> output
    assert_type(model, Model[Tensor, Tensor])  # Model[A, B] >> Model[B, C] is a Model[A, C]
    assert isinstance(model, chain), type(model)
    return model, output


def pooled(nO: int, nI: int) -> chain[List[Tensor], Tensor]:
    """``chain`` composes the types of its layers: List[Tensor] -> Ragged -> Tensor -> Tensor."""
    to_ragged: Model[List[Tensor], Ragged] = list2ragged()
    mean: Model[Ragged, Tensor] = reduce_mean()
    output: Model[Tensor, Tensor] = Linear(nO, nI)
    two = chain(to_ragged, mean)
    assert_type(two, chain[List[Tensor], Tensor])
    three = chain(to_ragged, mean, output)
    assert_type(three, chain[List[Tensor], Tensor])
    return three


def unannotated(nO: int, nI: int) -> Tensor:
    """Layers carry their types without annotations: ``Linear`` is a Model[Tensor, Tensor],
    ``list2ragged`` a Model[List[Tensor], Ragged], ``reduce_mean`` a Model[Ragged, Tensor]."""
    linear = Linear(nO, nI)
    assert_type(linear(torch.randn(2, nI)), Tensor)
    pool = chain(list2ragged(), reduce_mean())
    assert_type(pool, chain[List[Tensor], Tensor])
    assert_type(pool([torch.randn(3, nI)]), Tensor)
    return linear(pool([torch.randn(3, nI), torch.randn(1, nI)]))


def main() -> None:
    X = torch.randn(4, 3)
    assert unannotated(2, 3).shape == (2, 2)
    built, output = build(2, 5, 3)
    model = built.initialize(X=X)
    assert_type(model, Model[Tensor, Tensor])  # initialize returns the model, its type kept
    nO: int = model.get_dim("nO")
    assert nO == 2
    W = output.get_param_tensor("W")
    assert_type(W, Tensor)
    assert W.shape == (2, 5)
    layers: List[Model[Any, Any]] = model.walk()
    assert [layer.name for layer in layers] == ["relu>>linear>>softmax", "relu>>linear", "softmax", "relu", "linear"]

    # torch face: model(X) is the nn.Module call, OutT
    Y_torch = model(X)
    assert_type(Y_torch, Tensor)
    assert isinstance(Y_torch, Tensor) and Y_torch.shape == (4, 2)

    # Thinc face: model(X, is_train=True) -> (Y, backprop) with backprop: dY -> dX; predict(X) -> Y
    result = model(X, is_train=True)
    assert_type(result, Tuple[Tensor, Callable[[Tensor], Tensor]])
    Y, backprop = result
    assert isinstance(Y, Tensor) and Y.shape == (4, 2)
    dX = backprop(torch.ones_like(Y))
    assert_type(dX, Tensor)
    assert isinstance(dX, Tensor) and dX.shape == X.shape
    Y_pred = model.predict(X)
    assert_type(Y_pred, Tensor)
    assert isinstance(Y_pred, Tensor) and torch.equal(Y_pred, Y.detach())
    Y_begin, backprop_begin = model.begin_update(X)
    assert_type(Y_begin, Tensor)
    assert_type(backprop_begin, Callable[[Tensor], Tensor])
    assert torch.equal(Y_begin.detach(), Y_pred)

    # the array-kind rule: numpy in, numpy out (and a numpy backprop)
    X_np = X.numpy()
    Y_np = model.predict(X_np)
    assert_type(Y_np, numpy.ndarray[Any, Any])
    assert isinstance(Y_np, numpy.ndarray) and numpy.array_equal(Y_np, Y_pred.numpy())
    Y_np2, backprop_np = model(X_np, is_train=True)
    assert_type(Y_np2, numpy.ndarray[Any, Any])
    dX_np = backprop_np(numpy.ones_like(Y_np2))
    assert_type(dX_np, numpy.ndarray[Any, Any])
    assert isinstance(dX_np, numpy.ndarray) and dX_np.shape == X_np.shape

    # chain's constructor composes types; residual keeps its layer's
    pool = pooled(2, 3).initialize(X=[torch.randn(2, 3), torch.randn(3, 3)])
    pooled_Y = pool([torch.randn(2, 3), torch.randn(1, 3)])
    assert_type(pooled_Y, Tensor)
    assert pooled_Y.shape == (2, 2)
    square: Model[Tensor, Tensor] = Linear(3, 3)
    skip = residual(square)
    assert_type(skip, residual[Tensor, Tensor])
    assert skip.initialize(X=X)(X).shape == X.shape
    print("user_script: ok")


if __name__ == "__main__":
    main()
