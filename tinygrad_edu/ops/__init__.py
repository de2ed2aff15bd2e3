"""The tensor ops, grouped by kind; every one is an `autograd.Function`."""
from .elementwise import *  # noqa: F401,F403
from .matmul import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
