"""Softmax and log-softmax along one dim, each with its fused backward kernel.

They could be composed from exp, sum and div, but the composition overflows for large
logits and makes several passes; the kernels subtract the row max and make one.
"""
from ..autograd import Function
from ..backend import kernels_for

__all__ = ["Softmax", "LogSoftmax"]


def _empty_copy(a):
    """An empty input has nothing to normalise (and no row max to subtract): return it as is."""
    return kernels_for(a).copy(a)


class Softmax(Function):
    @staticmethod
    def forward(ctx, a, axis):
        out = _empty_copy(a) if a.size == 0 else kernels_for(a).softmax(a, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        # out * (grad - sum(grad * out)): the Jacobian of softmax applied to grad
        if grad.size == 0:
            return grad, None
        return kernels_for(grad).softmax_backward(grad, out, ctx.axis), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, a, axis):
        out = _empty_copy(a) if a.size == 0 else kernels_for(a).log_softmax(a, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        # grad - softmax * sum(grad)
        if grad.size == 0:
            return grad, None
        return kernels_for(grad).log_softmax_backward(grad, out, ctx.axis), None
