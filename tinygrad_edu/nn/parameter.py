"""`Parameter`: a tensor that a Module treats as one of its learnable weights."""
from ..autograd import Variable
from ..creation import empty
from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that registers itself when assigned to a Module attribute (`self.w = Parameter(...)`),
    so `module.parameters()` finds it. It shares storage with the tensor it was made from and
    requires grad by default. Any op on it gives a plain Tensor: only the leaf is a Parameter.
    """
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter expects a Tensor, got {type(data).__name__}")
        Variable.__init__(self, data.payload)
        self._version_counter = data._counter()  # the same storage, so the same in-place write count
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__  # print(param) too (Tensor binds __str__ to its own __repr__)

    def __deepcopy__(self, memo):
        """copy.deepcopy(model) gives parameters with their own storage and no gradient history."""
        if id(self) not in memo:
            memo[id(self)] = Parameter(self.data.clone(), self.requires_grad)
        return memo[id(self)]
