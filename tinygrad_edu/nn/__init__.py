"""`tinygrad_edu.nn`: Module, Parameter, layers, losses, `nn.functional` and `nn.init`,
shaped like `torch.nn` so that PyTorch code and tutorials carry over."""
from . import functional, init, modules, parameter
from .modules import *  # noqa: F401,F403
from .parameter import Parameter
