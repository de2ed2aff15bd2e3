"""`tinygrad_edu.data` is a short name for `tinygrad_edu.utils.data` (PyTorch's spelling)."""
from .utils.data import *  # noqa: F401,F403
from .utils.data import __all__  # noqa: F401
