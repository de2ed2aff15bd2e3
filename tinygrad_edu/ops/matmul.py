"""Matrix multiplication: 2-D and batched. (1-D operands are reshaped by Tensor.matmul.)"""
from ..autograd import Function
from ..backend import kernels_for
from .elementwise import unbroadcast

__all__ = ["MatMul", "Linear"]


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


class Linear(Function):
    """`x @ weight.T + bias` as one node: what nn.Linear computes on every step.

    It is MatMul, a transpose and an Add fused, so a training step records one node per layer
    instead of three, and backward needs no unbroadcast: the bias gradient is a column sum.
    `x` may have leading batch dims; weight is (out_features, in_features) as in PyTorch.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        K = kernels_for(x)
        ctx.save_for_backward(x, weight)
        out = K.matmul(x, K.transpose(weight, (1, 0)))
        return out if bias is None else K.add(out, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        K = kernels_for(grad)
        flat_grad = grad.reshape(-1, grad.shape[-1])      # (rows, out_features)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:   # dL/dx = dL/dout @ W
            grad_x = K.matmul(grad, weight)
        if ctx.needs_input_grad[1]:   # dL/dW = dL/dout^T @ x, summed over every row
            flat_x = x.reshape(-1, x.shape[-1])
            grad_weight = K.matmul(K.transpose(flat_grad, (1, 0)), flat_x)
        if ctx.needs_input_grad[2]:   # dL/db = sum of dL/dout over the rows
            grad_bias = K.sum(flat_grad, 0, False)
        return grad_x, grad_weight, grad_bias
