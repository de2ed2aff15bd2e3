"""Reductions: sum, mean, and max/min along a dim (which route gradient to the winner)."""
from ..autograd import Function
from ..backend import kernels_for

__all__ = ["normalize_dims", "Sum", "Mean", "PickAlongDim", "Max", "Min"]


def normalize_dims(dim, ndim):
    """`dim` (None, an int or a tuple, negatives allowed) as a sorted tuple of axes, or None."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    normalized = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
        normalized.append(d % ndim if ndim else 0)
    return tuple(sorted(set(normalized)))


def _expand_back(grad, input_shape, axes, keepdim):
    """Undo a reduction's shape: put the reduced axes back as size 1, then broadcast."""
    K = kernels_for(grad)
    if axes is None:
        axes = tuple(range(len(input_shape)))
    if not keepdim:
        kept_shape = tuple(1 if i in axes else size for i, size in enumerate(input_shape))
        grad = grad.reshape(kept_shape)
    return K.broadcast_to(grad, input_shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        return kernels_for(a).sum(a, axes, keepdim)

    @staticmethod
    def backward(ctx, grad):
        # every input element contributed once: each gets the whole gradient
        return _expand_back(grad, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        K = kernels_for(a)
        count = a.size if axes is None else _product(a.shape[i] for i in axes)
        ctx.count = count
        return K.div(K.sum(a, axes, keepdim), count)

    @staticmethod
    def backward(ctx, grad):
        K = kernels_for(grad)
        return _expand_back(K.div(grad, ctx.count), ctx.shape, ctx.axes, ctx.keepdim), None, None


class PickAlongDim(Function):
    """Take `a[..., index, ...]` along `axis` at precomputed indices: the body of max(dim) and
    min(dim), whose gradient goes only to the element that won."""

    @staticmethod
    def forward(ctx, a, indices, axis, keepdim):
        ctx.shape, ctx.axis, ctx.keepdim = a.shape, axis, keepdim
        ctx.save_for_backward(indices)
        picked = kernels_for(a).take_along_axis(a, indices, axis)  # indices keep the axis
        return picked if keepdim else picked.reshape(a.shape[:axis] + a.shape[axis + 1:])

    @staticmethod
    def backward(ctx, grad):
        indices, = ctx.saved_tensors
        K = kernels_for(grad)
        if not ctx.keepdim:
            grad = grad.reshape(indices.shape)
        return K.scatter_along_axis(grad, indices, ctx.axis, ctx.shape), None, None, None


def _product(sizes):
    result = 1
    for size in sizes:
        result *= size
    return result


class Max(PickAlongDim):
    """max(dim): PickAlongDim at the argmax, under its own name so grad_fn reads MaxBackward."""


class Min(PickAlongDim):
    """min(dim): PickAlongDim at the argmin."""
