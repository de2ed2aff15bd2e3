"""Matrix multiplication: 2-D and batched. (1-D operands are reshaped by Tensor.matmul.)"""
from ..autograd import Function
from ..backend import kernels_for
from .elementwise import unbroadcast

__all__ = ["MatMul"]


def _swap_last_two(K, x):
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return K.transpose(x, axes)


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return kernels_for(a, b).matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        K = kernels_for(grad)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:  # dL/dA = dL/dC @ B^T
            grad_a = unbroadcast(K.matmul(grad, _swap_last_two(K, b)), a.shape)
        if ctx.needs_input_grad[1]:  # dL/dB = A^T @ dL/dC
            grad_b = unbroadcast(K.matmul(_swap_last_two(K, a), grad), b.shape)
        return grad_a, grad_b
