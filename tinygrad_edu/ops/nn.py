"""The ops behind `nn`: convolution, pooling, fused cross-entropy, embedding lookup and the
activations that need their own derivative (leaky ReLU, GELU, softplus).

Each is one `Function` whose forward and backward call the kernel module, like every other op.
Convolution is im2col + one matmul: unfolding every receptive field into a column turns the
sliding window into plain matrix multiplication, and its adjoint col2im undoes it for backward.
"""
import math

import numpy as np

from ..autograd import Function
from ..backend import device, device_of, is_contiguous, kernels_for, move

__all__ = ["conv_output_size", "Conv2d", "MaxPool2d", "AvgPool2d", "CrossEntropy", "Embedding",
           "LeakyReLU", "GELU", "Softplus"]


def conv_output_size(size, kernel, stride, padding):
    """How many windows of `kernel` fit along one side of a padded input."""
    return (size + 2 * padding - kernel) // stride + 1


# --------------------------------------------------------------------------- convolution
class Conv2d(Function):
    """out[n, o] = sum over c, i, j of weight[o, c, i, j] * x_padded[n, c, s*y + i, s*x + j] + bias[o].

    `bias` may be None (it then passes through as a non-tensor and gets no gradient);
    `stride` and `padding` are (height, width) pairs.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):
        K = kernels_for(x, weight)
        n, _, h, w = x.shape
        out_channels, _, kh, kw = weight.shape
        oh = conv_output_size(h, kh, stride[0], padding[0])
        ow = conv_output_size(w, kw, stride[1], padding[1])
        cols = K.im2col(x, kh, kw, stride, padding)              # (N, C*kh*kw, OH*OW)
        flat_weight = weight.reshape(out_channels, -1)            # (O, C*kh*kw)
        out = K.matmul(flat_weight, cols)                         # (N, O, OH*OW)
        if bias is not None:
            out = K.add(out, bias.reshape(1, out_channels, 1))
        ctx.save_for_backward(cols, weight)
        ctx.x_shape, ctx.stride, ctx.padding = x.shape, stride, padding
        return out.reshape(n, out_channels, oh, ow)

    @staticmethod
    def backward(ctx, grad):
        cols, weight = ctx.saved_tensors
        K = kernels_for(grad)
        n, out_channels = grad.shape[0], grad.shape[1]
        _, _, kh, kw = weight.shape
        if not is_contiguous(grad):  # a reshape needs one block of memory; copy only if not
            grad = K.copy(grad)
        grad = grad.reshape(n, out_channels, -1)                  # (N, O, OH*OW)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:  # route each column's gradient back to its pixels
            flat_weight_t = K.transpose(weight.reshape(out_channels, -1), (1, 0))
            grad_cols = K.matmul(flat_weight_t, grad)             # (N, C*kh*kw, OH*OW)
            grad_x = K.col2im(grad_cols, ctx.x_shape, kh, kw, ctx.stride, ctx.padding)
        if ctx.needs_input_grad[1]:  # every image in the batch used the same weights: sum over N
            per_image = K.matmul(grad, K.transpose(cols, (0, 2, 1)))  # (N, O, C*kh*kw)
            grad_weight = K.sum(per_image, 0, False).reshape(weight.shape)
        if ctx.needs_input_grad[2]:
            grad_bias = K.sum(grad, (0, 2), False)
        return grad_x, grad_weight, grad_bias, None, None


# --------------------------------------------------------------------------- pooling
class MaxPool2d(Function):
    """Each window's largest value; the gradient goes only to that one pixel (the first, on ties)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        out, argmax = kernels_for(x).max_pool2d_forward(x, kernel, stride, padding)
        ctx.save_for_backward(argmax)
        ctx.x_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        argmax, = ctx.saved_tensors
        return kernels_for(grad).max_pool2d_backward(grad, argmax, ctx.x_shape), None, None, None


class AvgPool2d(Function):
    """Each window's mean. Zero padding counts in the mean (PyTorch's count_include_pad=True).

    Built on im2col with every channel treated as its own one-channel image: the windows of
    a plane become the columns, and the mean is a sum down each column.
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        K = kernels_for(x)
        n, c, h, w = x.shape
        kh, kw = kernel
        oh = conv_output_size(h, kh, stride[0], padding[0])
        ow = conv_output_size(w, kw, stride[1], padding[1])
        cols = K.im2col(x.reshape(n * c, 1, h, w), kh, kw, stride, padding)  # (N*C, kh*kw, OH*OW)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel, stride, padding
        return K.div(K.sum(cols, 1, False), kh * kw).reshape(n, c, oh, ow)

    @staticmethod
    def backward(ctx, grad):
        K = kernels_for(grad)
        n, c, h, w = ctx.x_shape
        kh, kw = ctx.kernel
        # every pixel of a window gets an equal share of the window's gradient
        share = K.div(K.copy(grad).reshape(n * c, 1, -1), kh * kw)
        cols = K.copy(K.broadcast_to(share, (n * c, kh * kw, share.shape[2])))
        grad_x = K.col2im(cols, (n * c, 1, h, w), kh, kw, ctx.stride, ctx.padding)
        return grad_x.reshape(n, c, h, w), None, None, None


# --------------------------------------------------------------------------- losses
class CrossEntropy(Function):
    """Per-row loss -log softmax(logits)[target] for (N, C) logits and (N,) int64 targets.

    Fused, because log(softmax(x)) composed from exp and log overflows for logits of 1000;
    the kernel subtracts each row's max first. The gradient is simply softmax - one_hot.
    """

    @staticmethod
    def forward(ctx, logits, targets):
        losses, probs = kernels_for(logits).cross_entropy_forward(logits, targets)
        ctx.save_for_backward(probs, targets)
        return losses

    @staticmethod
    def backward(ctx, grad_losses):
        probs, targets = ctx.saved_tensors
        return kernels_for(grad_losses).cross_entropy_backward(grad_losses, probs, targets), None


# --------------------------------------------------------------------------- embedding
class Embedding(Function):
    """Row lookup `weight[indices]`; the row `padding_idx` (if any) never gets a gradient."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        ctx.save_for_backward(indices)
        ctx.weight_shape, ctx.padding_idx = weight.shape, padding_idx
        return kernels_for(weight).getitem(weight, indices)

    @staticmethod
    def backward(ctx, grad):
        indices, = ctx.saved_tensors
        K = kernels_for(grad)
        # added, not assigned: a word that appears twice in the batch gets both gradients
        grad_weight = K.index_backward(grad, indices, ctx.weight_shape)
        if ctx.padding_idx is not None:
            K.setitem(grad_weight, ctx.padding_idx, 0)
        return grad_weight, None, None


# --------------------------------------------------------------------------- activations
class LeakyReLU(Function):
    """x where x > 0, else negative_slope * x.

    It saves the mask `x > 0`, not x, so the in-place form (which overwrites x) can still
    run backward; `F.relu(x, inplace=True)` uses it with slope 0 for the same reason.
    """

    @staticmethod
    def forward(ctx, a, negative_slope):
        K = kernels_for(a)
        positive = K.gt(a, 0)
        ctx.save_for_backward(positive)
        ctx.negative_slope = negative_slope
        return K.where(positive, a, K.mul(a, negative_slope))

    @staticmethod
    def backward(ctx, grad):
        positive, = ctx.saved_tensors
        K = kernels_for(grad)
        return K.where(positive, grad, K.mul(grad, ctx.negative_slope)), None


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_vector_erf = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x):
    """Elementwise erf. numpy has none, so this maps Python's `math.erf` (exact to double
    precision) over the elements on the host: slower than a kernel, but exactly PyTorch's GELU."""
    host = move(x, device("cpu"))
    return move(_vector_erf(host).astype(host.dtype), device_of(x))


class GELU(Function):
    """x * Phi(x), with Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2 (PyTorch's default,
    approximate='none'). Derivative: Phi(x) + x * phi(x), with phi the normal density."""

    @staticmethod
    def forward(ctx, a):
        K = kernels_for(a)
        cdf = K.mul(K.add(_erf(K.mul(a, _SQRT_HALF)), 1.0), 0.5)
        ctx.save_for_backward(a, cdf)
        return K.mul(a, cdf)

    @staticmethod
    def backward(ctx, grad):
        a, cdf = ctx.saved_tensors
        K = kernels_for(grad)
        pdf = K.mul(K.exp(K.mul(K.mul(a, a), -0.5)), _INV_SQRT_2PI)
        return K.mul(grad, K.add(cdf, K.mul(a, pdf)))


class Softplus(Function):
    """log(1 + exp(x)), written as relu(x) + log(1 + exp(-|x|)) so it never overflows.
    Its derivative is sigmoid(x) everywhere, including at 0 (where the composed form's
    relu and abs would each give a one-sided answer)."""

    @staticmethod
    def forward(ctx, a):
        K = kernels_for(a)
        ctx.save_for_backward(a)
        return K.add(K.relu(a), K.log(K.add(K.exp(K.neg(K.abs(a))), 1.0)))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        K = kernels_for(grad)
        return K.mul(grad, K.sigmoid(a))
