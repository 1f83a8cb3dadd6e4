"""torchlayers: Thinc's layers API rebuilt natively on PyTorch.

Every layer is a ``torch.nn.Module`` (the torch face: ``model(X)``) and a Thinc model (the
Thinc face: ``Y, backprop = model(X, is_train=True)``). Names mirror ``thinc.api``.
"""
from .combinators.chain import chain as chain
from .combinators.noop import noop as noop
from .convert import get_width as get_width
from .initializers import glorot_uniform_init as glorot_uniform_init
from .initializers import normal_init as normal_init
from .initializers import uniform_init as uniform_init
from .initializers import zero_init as zero_init
from .model import Model as Model
from .modules.dropout import Dropout as Dropout
from .modules.layernorm import LayerNorm as LayerNorm
from .modules.linear import Linear as Linear
from .modules.relu import Relu as Relu
from .modules.softmax import Softmax as Softmax
from .modules.softmax import Softmax_v2 as Softmax_v2
from .ops import TorchOps as TorchOps
from .ops import get_current_ops as get_current_ops
from .registry import registry as registry
from .types import ArgsKwargs as ArgsKwargs
from .types import Padded as Padded
from .types import Ragged as Ragged
from .util import change_attr_values as change_attr_values
from .util import fix_random_seed as fix_random_seed
from .util import set_dropout_rate as set_dropout_rate

__version__ = "0.1.0"
