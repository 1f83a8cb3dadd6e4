"""torchlayers: Thinc's layers API rebuilt natively on PyTorch.

Every layer is a ``torch.nn.Module`` (the torch face: ``model(X)``) and a Thinc model (the
Thinc face: ``Y, backprop = model(X, is_train=True)``). Names mirror ``thinc.api``: where
Thinc's function returns something other than one node of the class (``Maxout(normalize=True)``,
``concatenate()``, ``a | b | c``), the name is the facade function of ``torchlayers.api``; the
classes themselves are in ``torchlayers.modules`` / ``torchlayers.combinators`` / ``torchlayers.interop``.
"""
from types import ModuleType as _ModuleType

from . import deploy as deploy
from .api import ClippedLinear as ClippedLinear
from .api import Dish as Dish
from .api import Embed as Embed
from .api import Gelu as Gelu
from .api import HardSigmoid as HardSigmoid
from .api import HardSwish as HardSwish
from .api import HardSwishMobilenet as HardSwishMobilenet
from .api import HardTanh as HardTanh
from .api import HashEmbed as HashEmbed
from .api import Maxout as Maxout
from .api import Mish as Mish
from .api import MXNetWrapper as MXNetWrapper
from .api import Relu as Relu
from .api import ReluK as ReluK
from .api import Sigmoid as Sigmoid
from .api import StaticVectors as StaticVectors
from .api import Swish as Swish
from .api import TensorFlowWrapper as TensorFlowWrapper
from .api import add as add
from .api import concatenate as concatenate
from .api import sigmoid_activation as sigmoid_activation
from .api import softmax_activation as softmax_activation
from .arrays import is_cupy_array as is_cupy_array
from .arrays import is_numpy_array as is_numpy_array
from .combinators.bidirectional import bidirectional as bidirectional
from .combinators.chain import chain as chain
from .combinators.clone import clone as clone
from .combinators.map_list import map_list as map_list
from .combinators.noop import noop as noop
from .combinators.residual import residual as residual
from .combinators.resizable import resizable as resizable
from .combinators.resizable import resize_linear_weighted as resize_linear_weighted
from .combinators.resizable import resize_model as resize_model
from .combinators.siamese import siamese as siamese
from .combinators.tuplify import tuplify as tuplify
from .combinators.uniqued import uniqued as uniqued
from .combinators.with_array import with_array as with_array
from .combinators.with_array import with_array2d as with_array2d
from .combinators.with_cpu import with_cpu as with_cpu
from .combinators.with_debug import with_debug as with_debug
from .combinators.with_flatten import with_flatten as with_flatten
from .combinators.with_flatten import with_flatten_v2 as with_flatten_v2
from .combinators.with_getitem import with_getitem as with_getitem
from .combinators.with_list import with_list as with_list
from .combinators.with_nvtx_range import with_nvtx_range as with_nvtx_range
from .combinators.with_padded import with_padded as with_padded
from .combinators.with_ragged import with_ragged as with_ragged
from .combinators.with_reshape import with_reshape as with_reshape
from .combinators.with_signpost_interval import with_signpost_interval as with_signpost_interval
from .convert import get_width as get_width
from .deploy import script as script
from .errors import DataValidationError as DataValidationError
from .initializers import configure_normal_init as configure_normal_init
from .initializers import configure_uniform_init as configure_uniform_init
from .initializers import glorot_uniform_init as glorot_uniform_init
from .initializers import normal_init as normal_init
from .initializers import uniform_init as uniform_init
from .initializers import zero_init as zero_init
from .interop.framework_arrays import mxnet2xp as mxnet2xp
from .interop.framework_arrays import tensorflow2xp as tensorflow2xp
from .interop.framework_arrays import xp2mxnet as xp2mxnet
from .interop.framework_arrays import xp2tensorflow as xp2tensorflow
from .interop.pytorch_rnn_wrapper import PyTorchLSTM as PyTorchLSTM
from .interop.pytorch_rnn_wrapper import PyTorchRNNWrapper as PyTorchRNNWrapper
from .interop.pytorch_wrapper import PyTorchWrapper as PyTorchWrapper
from .interop.pytorch_wrapper import PyTorchWrapper_v2 as PyTorchWrapper_v2
from .interop.pytorch_wrapper import PyTorchWrapper_v3 as PyTorchWrapper_v3
from .interop.thinc_convert import from_thinc as from_thinc
from .interop.thinc_convert import load_thinc_bytes as load_thinc_bytes
from .interop.thinc_convert import to_thinc as to_thinc
from .interop.torchscript_wrapper import TorchScriptWrapper_v1 as TorchScriptWrapper_v1
from .interop.torchscript_wrapper import pytorch_to_torchscript_wrapper as pytorch_to_torchscript_wrapper
from .losses import CategoricalCrossentropy as CategoricalCrossentropy
from .losses import CosineDistance as CosineDistance
from .losses import L2Distance as L2Distance
from .losses import SequenceCategoricalCrossentropy as SequenceCategoricalCrossentropy
from .model import Model as Model
from .model import wrap_model_recursive as wrap_model_recursive
from .modules.array_getitem import array_getitem as array_getitem
from .modules.array_getitem import floats_getitem as floats_getitem
from .modules.array_getitem import ints_getitem as ints_getitem
from .modules.cauchy_similarity import CauchySimilarity as CauchySimilarity
from .modules.dropout import Dropout as Dropout
from .modules.expand_window import expand_window as expand_window
from .modules.layernorm import LayerNorm as LayerNorm
from .modules.linear import Linear as Linear
from .modules.list2array import list2array as list2array
from .modules.list2padded import list2padded as list2padded
from .modules.list2ragged import list2ragged as list2ragged
from .modules.logistic import Logistic as Logistic
from .modules.lstm import LSTM as LSTM
from .modules.lstm import BiLSTM as BiLSTM
from .modules.multi_softmax import MultiSoftmax as MultiSoftmax
from .modules.padded2list import padded2list as padded2list
from .modules.parametric_attention import ParametricAttention as ParametricAttention
from .modules.parametric_attention_v2 import KEY_TRANSFORM_REF as KEY_TRANSFORM_REF
from .modules.parametric_attention_v2 import ParametricAttention_v2 as ParametricAttention_v2
from .modules.premap_ids import premap_ids as premap_ids
from .modules.ragged2list import ragged2list as ragged2list
from .modules.reduce_first import reduce_first as reduce_first
from .modules.reduce_last import reduce_last as reduce_last
from .modules.reduce_max import reduce_max as reduce_max
from .modules.reduce_mean import reduce_mean as reduce_mean
from .modules.reduce_sum import reduce_sum as reduce_sum
from .modules.remap_ids import remap_ids as remap_ids
from .modules.remap_ids import remap_ids_v2 as remap_ids_v2
from .modules.softmax import Softmax as Softmax
from .modules.softmax import Softmax_v2 as Softmax_v2
from .modules.sparse_linear import SparseLinear as SparseLinear
from .modules.sparse_linear import SparseLinear_v2 as SparseLinear_v2
from .modules.strings2arrays import strings2arrays as strings2arrays
from .ops import TorchOps as TorchOps
from .ops import get_current_ops as get_current_ops
from .optimizers import SGD as SGD
from .optimizers import Adam as Adam
from .optimizers import RAdam as RAdam
from .registry import registry as registry
from .schedules import compounding as compounding
from .schedules import constant as constant
from .schedules import constant_then as constant_then
from .schedules import cyclic_triangular as cyclic_triangular
from .schedules import decaying as decaying
from .schedules import slanted_triangular as slanted_triangular
from .schedules import warmup_linear as warmup_linear
from .thinc_dict import deserialize_attr as deserialize_attr
from .thinc_dict import serialize_attr as serialize_attr
from .types import ArgsKwargs as ArgsKwargs
from .types import Array1d as Array1d
from .types import Array2d as Array2d
from .types import Array3d as Array3d
from .types import Array4d as Array4d
from .types import ArrayXd as ArrayXd
from .types import Floats1d as Floats1d
from .types import Floats2d as Floats2d
from .types import Floats3d as Floats3d
from .types import Floats4d as Floats4d
from .types import FloatsXd as FloatsXd
from .types import Ints1d as Ints1d
from .types import Ints2d as Ints2d
from .types import Ints3d as Ints3d
from .types import Ints4d as Ints4d
from .types import IntsXd as IntsXd
from .types import Padded as Padded
from .types import Pairs as Pairs
from .types import Ragged as Ragged
from .types import Shape as Shape
from .util import change_attr_values as change_attr_values
from .util import data_validation as data_validation
from .util import fix_random_seed as fix_random_seed
from .util import get_torch_default_device as get_torch_default_device
from .util import set_dropout_rate as set_dropout_rate
from .util import to_categorical as to_categorical
from .util import torch2xp as torch2xp
from .util import xp2torch as xp2torch

__version__ = "0.1.0"

#: The public names: every re-export above (thinc.api's names), plus the lazily loaded config classes.
__all__ = sorted(
    [name for name, value in list(globals().items()) if not name.startswith("_") and not isinstance(value, _ModuleType)]
    + ["Config", "ConfigValidationError"]
)


def __getattr__(name: str):  # Config, ConfigValidationError: confection (and pydantic) load on first use
    if name in ("Config", "ConfigValidationError"):
        from . import config

        return getattr(config, name)
    raise AttributeError(f"module 'torchlayers' has no attribute {name!r}")
