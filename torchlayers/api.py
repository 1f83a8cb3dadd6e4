"""Thinc's creation functions, under Thinc's names and registry names: the facade.

Every layer can be built two ways:

- **The classes** (``torchlayers.modules``, ``torchlayers.combinators``, ``torchlayers.interop``)
  always construct themselves: ``type(torchlayers.modules.maxout.Maxout(4, 3))`` is ``Maxout``,
  one node, so copy, deepcopy, pickle, TorchScript and ``torch.compile`` see an ordinary
  ``nn.Module`` class. Use them from torch code.
- **Thinc's functions** may return something else: ``Maxout(..., normalize=True, dropout=0.1)``
  is the tree ``(maxout>>layernorm)>>dropout``, ``Embed(..., column=1)`` is
  ``ints-getitem>>embed``, ``concatenate()`` is ``noop()``, ``concatenate(a | b, c)`` appends to
  ``a | b`` (so ``a | b | c`` is one node), ``TensorFlowWrapper(..., model_class=Sub)`` is a
  ``Sub``. Those functions live here, each a thin step over the classes; ``torchlayers``
  re-exports them, so ``from torchlayers import Maxout`` keeps Thinc's names and node trees.

The registry maps Thinc's names (``"Maxout.v1"``, ``"concatenate.v1"``) to these functions and
sets ``registry_name`` on the class of the node each builds; ``interop/thinc_convert.py`` derives
its tables from that. A class that already is Thinc's function (``Linear``, ``chain``,
``noop``...) registers itself and is exported as is; ``clone`` is a function in its own module.

Add a Thinc option that builds a tree: one ``_facade(Class, "Name.v1", step, option=default)``
line, where ``step(layer, option=...)`` builds the tree around the class's node.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional, Type

from torch import Tensor

from .combinators import add as _add
from .combinators import concatenate as _concatenate
from .combinators.chain import chain
from .combinators.clone import clone
from .combinators.noop import noop
from .interop import foreign as _foreign
from .interop import mxnet_wrapper as _mxnet
from .interop import tensorflow_wrapper as _tensorflow
from .model import InT, Model, OutT
from .modules import clipped_linear as _clipped_linear
from .modules import dish as _dish
from .modules import embed as _embed
from .modules import gelu as _gelu
from .modules import hard_swish as _hard_swish
from .modules import hard_swish_mobilenet as _hard_swish_mobilenet
from .modules import hash_embed as _hash_embed
from .modules import maxout as _maxout
from .modules import mish as _mish
from .modules import relu as _relu
from .modules import sigmoid as _sigmoid
from .modules import sigmoid_activation as _sigmoid_activation
from .modules import softmax_activation as _softmax_activation
from .modules import static_vectors as _static_vectors
from .modules import swish as _swish
from .modules.array_getitem import ints_getitem
from .modules.dropout import Dropout
from .modules.layernorm import LayerNorm
from .registry import registry

__all__ = [
    "Relu", "Mish", "Maxout", "Gelu", "Swish", "HardSwish", "HardSwishMobilenet", "Dish", "ClippedLinear",
    "HardSigmoid", "HardTanh", "ReluK", "Sigmoid", "sigmoid_activation", "softmax_activation", "Embed", "HashEmbed",
    "StaticVectors", "add", "concatenate", "chain", "noop", "clone", "TensorFlowWrapper", "MXNetWrapper",
    "normalize_dropout", "select_column",
]


# ------------------------------------------------------------------------------ the tree steps
def normalize_dropout(layer: Model, *, normalize: bool = False, dropout: Optional[float] = None) -> Model:
    """Thinc's dense-layer options: ``layer >> LayerNorm(nI=nO)`` when ``normalize``, then
    ``>> Dropout(dropout)`` when ``dropout`` is given (``0.0`` still adds the node), each step a
    new two-layer chain: ``(maxout>>layernorm)>>dropout``."""
    if not isinstance(normalize, bool):
        raise TypeError(f"{layer.name}: normalize must be a bool, got {normalize!r}")
    model = layer
    if normalize:
        model = chain(model, LayerNorm(nI=layer.maybe_get_dim("nO")))
    if dropout is not None:
        model = chain(model, Dropout(dropout))
    return model


def select_column(layer: Model, *, column: Optional[int] = None, keep_on_layer: bool = False) -> Model:
    """Thinc's ``column`` option for id layers: ``chain(ints_getitem((slice(0, None), column)),
    layer)`` (``ids[:, column]``) with attr ``column`` on the chain. HashEmbed keeps ``column``
    on its own node too (``keep_on_layer``); Embed and StaticVectors move it to the chain."""
    if column is None:
        return layer
    if isinstance(column, bool) or not isinstance(column, int):
        raise TypeError(f"{layer.name}: column must be an int (the column of the (N, C) ids to read), got {column!r}")
    if keep_on_layer:
        layer.attrs["column"] = column
    else:
        del layer.attrs["column"]
    model = chain(ints_getitem((slice(0, None), column)), layer)
    model.set_attr("column", column)
    return model


def _facade(cls: type, name: str, step: Callable[..., Model], **options: Any) -> Callable[..., Model[Tensor, Tensor]]:
    """Register Thinc's function ``name``: ``step(cls(*args, **rest), **options)``. Its signature
    is the class's plus the keyword-only ``options`` (with their defaults)."""

    def create(*args: Any, **kwargs: Any) -> Model[Tensor, Tensor]:
        chosen = {key: kwargs.pop(key, default) for key, default in options.items()}
        return step(cls(*args, **kwargs), **chosen)

    signature = inspect.signature(cls)
    extra = [inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=value) for key, value in options.items()]
    create.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra], return_annotation="Model")
    create.tree_options = tuple(options)  # type: ignore[attr-defined]  # to_thinc never passes these
    create.__name__ = create.__qualname__ = cls.__name__
    create.__module__ = __name__
    base = step.func if isinstance(step, functools.partial) else step
    create.__doc__ = (
        f"Thinc's ``{name}``: a ``{cls.__module__}.{cls.__name__}`` node from the class's arguments; the "
        f"keyword options {', '.join(f'``{key}``' for key in options)} go to ``{base.__name__}``:\n\n"
        f"{inspect.getdoc(base)}\n\nShapes, dims and params of the node: see the class."
    )
    return registry.layers(name, node=cls)(create)


Relu = _facade(_relu.Relu, "Relu.v1", normalize_dropout, dropout=None, normalize=False)
Mish = _facade(_mish.Mish, "Mish.v1", normalize_dropout, dropout=None, normalize=False)
Maxout = _facade(_maxout.Maxout, "Maxout.v1", normalize_dropout, dropout=None, normalize=False)
# Dense + activation layers (``modules/dense_activation.py``): Thinc's normalize/dropout trees.
Gelu = _facade(_gelu.Gelu, "Gelu.v1", normalize_dropout, dropout=None, normalize=False)
Swish = _facade(_swish.Swish, "Swish.v1", normalize_dropout, dropout=None, normalize=False)
HardSwish = _facade(_hard_swish.HardSwish, "HardSwish.v1", normalize_dropout, dropout=None, normalize=False)
HardSwishMobilenet = _facade(_hard_swish_mobilenet.HardSwishMobilenet, "HardSwishMobilenet.v1", normalize_dropout,
                             dropout=None, normalize=False)
Dish = _facade(_dish.Dish, "Dish.v1", normalize_dropout, dropout=None, normalize=False)
ClippedLinear = _facade(_clipped_linear.ClippedLinear, "ClippedLinear.v1", normalize_dropout, dropout=None,
                        normalize=False)
HardSigmoid = _facade(_clipped_linear.HardSigmoid, "HardSigmoid.v1", normalize_dropout, dropout=None, normalize=False)
HardTanh = _facade(_clipped_linear.HardTanh, "HardTanh.v1", normalize_dropout, dropout=None, normalize=False)
ReluK = _facade(_clipped_linear.ReluK, "ReluK.v1", normalize_dropout, dropout=None, normalize=False)
# Thinc's Sigmoid has no normalize/dropout options, and the activations no params: the classes are the functions.
Sigmoid = registry.layers("Sigmoid.v1")(_sigmoid.Sigmoid)
sigmoid_activation = registry.layers("sigmoid_activation.v1")(_sigmoid_activation.sigmoid_activation)
softmax_activation = registry.layers("softmax_activation.v1")(_softmax_activation.softmax_activation)

Embed = _facade(_embed.Embed, "Embed.v1", select_column, column=None)
HashEmbed = _facade(_hash_embed.HashEmbed, "HashEmbed.v1", functools.partial(select_column, keep_on_layer=True),
                    column=None)
StaticVectors = _facade(_static_vectors.StaticVectors, "StaticVectors.v1", select_column, column=None)


# ------------------------------------------------------------------------------ the fan-out combinators
@registry.layers("add.v1", node=_add.add)
def add(layer1: Model[InT, OutT], layer2: Model[InT, OutT], *layers: Model[InT, OutT]) -> Model[InT, OutT]:
    """Thinc's ``add.v1``: ``add(f, g)(X) == f(X) + g(X)``. A first argument that is already an
    add node gets the others appended and is returned (``a + b + c`` is one node with 3 layers);
    otherwise a new ``torchlayers.combinators.add.add`` node."""
    all_layers = (layer1, layer2, *layers)
    _add.check_models("add", all_layers)
    if isinstance(layer1, _add.add):
        layer1.layers.extend(all_layers[1:])
        return layer1
    return _add.add(*all_layers)


@registry.layers("concatenate.v1", node=_concatenate.concatenate)
def concatenate(*layers: Model) -> Model:
    """Thinc's ``concatenate.v1``: ``concatenate()`` is ``noop()``, ``concatenate(f)`` is ``f``; a
    first argument that is already a concatenate node gets the others appended and is returned,
    its name not updated (``a | b | c`` is one node with 3 layers); otherwise a new
    ``torchlayers.combinators.concatenate.concatenate`` node."""
    if not layers:
        return noop()
    _add.check_models("concatenate", layers)
    if len(layers) == 1:
        return layers[0]
    if isinstance(layers[0], _concatenate.concatenate):
        layers[0].layers.extend(layers[1:])
        return layers[0]
    return _concatenate.concatenate(*layers)


# ------------------------------------------------------------------------------ wrappers: model_class
def _wrapper_class(cls: type, model_class: Any) -> type:
    return _foreign.wrapper_class(cls, model_class)


def TensorFlowWrapper(tensorflow_model: Any, convert_inputs: Optional[Callable] = None,
                      convert_outputs: Optional[Callable] = None, optimizer: Any = None,
                      model_class: Type[Model] = Model, model_name: str = "tensorflow") -> Model:
    """Thinc's ``TensorFlowWrapper``: a ``torchlayers.interop.tensorflow_wrapper.TensorFlowWrapper``
    node, or one of ``model_class`` (a subclass of it) when given."""
    cls = _wrapper_class(_tensorflow.TensorFlowWrapper, model_class)
    return cls(tensorflow_model, convert_inputs, convert_outputs, optimizer, model_name=model_name)


@registry.layers("MXNetWrapper.v1", node=_mxnet.MXNetWrapper)
def MXNetWrapper(
    mxnet_model: Any,
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
    model_class: Type[Model] = Model,
    model_name: str = "mxnet",
) -> Model:
    """Thinc's ``MXNetWrapper.v1``: a ``torchlayers.interop.mxnet_wrapper.MXNetWrapper`` node, or
    one of ``model_class`` (a subclass of it) when given."""
    cls = _wrapper_class(_mxnet.MXNetWrapper, model_class)
    return cls(mxnet_model, convert_inputs, convert_outputs, model_name=model_name)


def __getattr__(name: str) -> Any:
    """``torchlayers.api`` is thinc.api's namespace: the creation functions above, and every other
    public name of ``torchlayers`` (``from torchlayers.api import Linear, Ragged, registry``)."""
    if name.startswith("__"):
        raise AttributeError(name)
    import torchlayers

    try:
        return getattr(torchlayers, name)
    except AttributeError:
        raise AttributeError(f"module 'torchlayers.api' has no attribute {name!r} (nor has torchlayers)") from None
