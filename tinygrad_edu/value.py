"""`Value`: a scalar that remembers how it was computed (micrograd-sized).

Each op is a `Function` from `autograd`, forward beside backward, working on Python floats.
The tensor ops in `ops/` are the same lines plus `unbroadcast`.
"""
import math

from .autograd import Function, Variable

__all__ = ["Value"]


# --------------------------------------------------------------------------- primitive ops
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad  # d(a+b)/da = d(a+b)/db = 1


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_values
        return grad * b, grad * a


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_values
        grad_b = grad * out * math.log(a) if ctx.needs_input_grad[1] else None
        return grad * b * a ** (b - 1), grad_b


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = math.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_values
        return grad * out  # d exp(a) = exp(a)


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return math.log(a)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_values
        return grad / a


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = math.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_values
        return grad * (1.0 - out * out)


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        out = a if a > 0.0 else 0.0
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_values
        return grad if out > 0.0 else 0.0


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        # two branches so exp never overflows for large |a|
        out = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_values
        return grad * out * (1.0 - out)


# --------------------------------------------------------------------------- Value
class Value(Variable):
    """A float with a gradient. Derived ops (`-`, `/`) are one-liners over the primitives."""
    __slots__ = ()
    _tracks_versions = False

    def __init__(self, data, requires_grad=True):
        self.payload = float(data)
        self.grad = 0.0
        self.grad_fn = None
        self.requires_grad = requires_grad
        self._accumulator = None
        # no version counter: floats cannot change in place, so nothing ever reads it

    # ---- the three hooks the engine needs
    @staticmethod
    def _wrap(payload):
        return Value(payload, False)

    @staticmethod
    def _add_grads(a, b):
        return a + b

    def _accumulate_grad(self, grad):
        self.grad += grad

    def _default_gradient(self):
        return 1.0

    @property
    def data(self):
        return self.payload

    @data.setter
    def data(self, value):
        self.payload = float(value)

    def zero_grad(self):
        self.grad = 0.0

    # ---- arithmetic
    def __add__(self, other):
        return Add.apply(self, other)

    def __mul__(self, other):
        return Mul.apply(self, other)

    def __pow__(self, other):
        return Pow.apply(self, other)

    def __rpow__(self, other):
        return Pow.apply(Value(other, requires_grad=False), self)

    def __neg__(self):
        return Mul.apply(self, -1.0)

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other ** -1.0

    def __radd__(self, other):
        return Add.apply(self, other)

    def __rmul__(self, other):
        return Mul.apply(self, other)

    def __rsub__(self, other):
        return (-self) + other

    def __rtruediv__(self, other):
        return self ** -1.0 * other

    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def tanh(self):
        return Tanh.apply(self)

    def relu(self):
        return ReLU.apply(self)

    def sigmoid(self):
        return Sigmoid.apply(self)

    def __float__(self):
        return self.payload

    def __repr__(self):
        return f"Value(data={self.payload:.4f}, grad={self.grad:.4f})"
