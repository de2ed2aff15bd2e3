"""Elementwise tensor ops, each forward beside its backward.

Payloads are arrays (or Python numbers for a scalar operand). `K` is the kernel module for
the arrays at hand (see backend.py), so the same lines run on numpy, Numba or CUDA.
"""
from ..autograd import Function
from ..backend import kernels_for

__all__ = ["unbroadcast", "shape_of", "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log",
           "Sqrt", "Abs", "ReLU", "Tanh", "Sigmoid", "Clamp", "Where"]


def shape_of(x):
    """The shape of an array payload; () for a Python number. (Add, Sub and Mul write it
    out as `getattr(x, "shape", ())`: two calls less on the most frequent small ops.)"""
    return getattr(x, "shape", ())


def unbroadcast(grad, shape):
    """Sum `grad` back down to `shape`: the adjoint of broadcasting is summation.

    Broadcasting copied the input along the new leading axes and along its size-1 axes;
    every copy got gradient, and all of it belongs to the one original element.
    """
    if grad.shape == shape:
        return grad
    K = kernels_for(grad)
    extra = len(grad.shape) - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1)
    summed = K.sum(grad, axes, True) if axes else grad
    return summed.reshape(shape)


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = getattr(a, "shape", ()), getattr(b, "shape", ())
        return kernels_for(a, b).add(a, b)

    @staticmethod
    def backward(ctx, grad):
        shape_a, shape_b = ctx.shapes
        return unbroadcast(grad, shape_a), unbroadcast(grad, shape_b)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = getattr(a, "shape", ()), getattr(b, "shape", ())
        return kernels_for(a, b).sub(a, b)

    @staticmethod
    def backward(ctx, grad):
        shape_a, shape_b = ctx.shapes
        grad_b = unbroadcast(kernels_for(grad).neg(grad), shape_b) if ctx.needs_input_grad[1] else None
        return unbroadcast(grad, shape_a), grad_b


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # save only what backward will use (grad_a needs b, grad_b needs a), so that
        # `x.mul_(2)` does not trip the in-place check on a value nobody needs
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        ctx.shapes = getattr(a, "shape", ()), getattr(b, "shape", ())
        return kernels_for(a, b).mul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        shape_a, shape_b = ctx.shapes
        K = kernels_for(grad)
        grad_a = unbroadcast(K.mul(grad, b), shape_a) if ctx.needs_input_grad[0] else None
        grad_b = unbroadcast(K.mul(grad, a), shape_b) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = kernels_for(a, b).div(a, b)
        ctx.save_for_backward(b, out)
        ctx.shape_a = shape_of(a)
        return out

    @staticmethod
    def backward(ctx, grad):
        b, out = ctx.saved_tensors
        K = kernels_for(grad)
        grad_a = unbroadcast(K.div(grad, b), ctx.shape_a)
        # d(a/b)/db = -a/b^2 = -out/b
        grad_b = unbroadcast(K.neg(K.div(K.mul(grad, out), b)), shape_of(b)) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        K = kernels_for(a, b)
        out = K.pow(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        K = kernels_for(grad)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:  # b * a^(b-1)
            grad_a = unbroadcast(K.mul(grad, K.mul(b, K.pow(a, K.sub(b, 1)))), shape_of(a))
        if ctx.needs_input_grad[1]:  # a^b * log(a)
            grad_b = unbroadcast(K.mul(grad, K.mul(out, K.log(a))), shape_of(b))
        return grad_a, grad_b


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return kernels_for(a).neg(a)

    @staticmethod
    def backward(ctx, grad):
        return kernels_for(grad).neg(grad)


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = kernels_for(a).exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return kernels_for(grad).mul(grad, out)  # d exp(a) = exp(a)


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return kernels_for(a).log(a)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return kernels_for(grad).div(grad, a)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = kernels_for(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        K = kernels_for(grad)
        return K.div(K.mul(grad, 0.5), out)  # d sqrt(a) = 1 / (2 sqrt(a))


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return kernels_for(a).abs(a)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        K = kernels_for(grad)
        # grad * sign(a), and 0 at a == 0 as in PyTorch
        return K.where(K.lt(a, 0), K.neg(grad), K.where(K.gt(a, 0), grad, 0))


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return kernels_for(a).relu(a)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return kernels_for(grad).relu_backward(grad, a)  # one fused pass: grad * (a > 0)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = kernels_for(a).tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return kernels_for(grad).tanh_backward(grad, out)  # grad * (1 - out^2)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        out = kernels_for(a).sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return kernels_for(grad).sigmoid_backward(grad, out)  # grad * out * (1 - out)


class Clamp(Function):
    @staticmethod
    def forward(ctx, a, low, high):
        out = kernels_for(a).clamp(a, low, high)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        K = kernels_for(grad)
        return K.where(K.eq(out, a), grad, 0), None, None  # flows only where clamp left a alone


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        ctx.shapes = shape_of(a), shape_of(b)
        return kernels_for(condition, a, b).where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        condition, = ctx.saved_tensors
        shape_a, shape_b = ctx.shapes
        K = kernels_for(grad)
        grad_a = unbroadcast(K.where(condition, grad, 0), shape_a) if ctx.needs_input_grad[1] else None
        grad_b = unbroadcast(K.where(condition, 0, grad), shape_b) if ctx.needs_input_grad[2] else None
        return None, grad_a, grad_b
