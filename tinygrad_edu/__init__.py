"""tinygrad_edu: an educational autograd engine with a PyTorch-shaped API.

Start reading at autograd.py (the engine), then value.py (scalars) and tensor.py (arrays).
"""
from . import autograd, cuda, dtypes, ops
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import device
from .creation import *  # noqa: F401,F403  tensor, zeros, ones, rand, randn, arange, ...
from .dtypes import bool_ as bool, dtype, float32, float64, int32, int64, uint8
from .dtypes import float32 as float, float64 as double, int64 as long, int32 as int
from .functions import *  # noqa: F401,F403  cat, stack, where, relu, softmax, sum, ...
from .random import Generator, default_generator, initial_seed, manual_seed, seed
from .tensor import Size, Tensor
from .value import Value
from . import nn  # noqa: E402  last: nn builds on everything above
from . import optim, utils
from .serialization import load, save

__version__ = "0.1.0"
