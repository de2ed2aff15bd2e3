"""Ops that move elements without computing with them: reshape, permute, expand, index,
gather, cat, stack, copy. Each backward moves the gradient back to where the element came from."""
from ..autograd import Function
from ..backend import device_of, kernels_for, move
from .elementwise import unbroadcast

__all__ = ["Reshape", "Permute", "Expand", "GetItem", "IndexPut", "Gather", "Cat", "Stack",
           "Copy", "Cast", "ToDevice"]


class Reshape(Function):
    returns_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Permute(Function):
    returns_view = True

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return kernels_for(a).transpose(a, axes)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.axes)
        for position, axis in enumerate(ctx.axes):
            inverse[axis] = position
        return kernels_for(grad).transpose(grad, tuple(inverse)), None


class Expand(Function):
    returns_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return kernels_for(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape), None


class GetItem(Function):
    returns_view = True  # basic indexing gives a view (advanced indexing a copy; sharing is harmless)

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index, ctx.dtype = a.shape, index, a.dtype
        return kernels_for(a).getitem(a, index)

    @staticmethod
    def backward(ctx, grad):
        # scatter-add, since an integer-array index may pick one element several times
        return kernels_for(grad).index_backward(grad, ctx.index, ctx.shape), None


class IndexPut(Function):
    """`out = a.copy(); out[index] = value`: the out-of-place form of `a[index] = value`."""

    @staticmethod
    def forward(ctx, a, index, value):
        ctx.index, ctx.value_shape = index, getattr(value, "shape", ())
        K = kernels_for(a, value)
        out = K.copy(a)
        K.setitem(out, index, value)
        return out

    @staticmethod
    def backward(ctx, grad):
        K = kernels_for(grad)
        grad_a = grad_value = None
        if ctx.needs_input_grad[0]:  # overwritten elements had no say in the result
            grad_a = K.copy(grad)
            K.setitem(grad_a, ctx.index, 0)
        if ctx.needs_input_grad[2]:
            grad_value = unbroadcast(K.getitem(grad, ctx.index), ctx.value_shape)
        return grad_a, None, grad_value


class Gather(Function):
    @staticmethod
    def forward(ctx, a, axis, index):
        ctx.shape, ctx.axis = a.shape, axis
        ctx.save_for_backward(index)
        return kernels_for(a).take_along_axis(a, index, axis)

    @staticmethod
    def backward(ctx, grad):
        index, = ctx.saved_tensors
        return kernels_for(grad).scatter_along_axis(grad, index, ctx.axis, ctx.shape), None, None


class Cat(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        return kernels_for(*arrays).concatenate(arrays, axis)

    @staticmethod
    def backward(ctx, grad):
        K = kernels_for(grad)
        pieces, start = [], 0
        for size in ctx.sizes:  # each input gets back its own slice
            index = (slice(None),) * ctx.axis + (slice(start, start + size),)
            pieces.append(K.getitem(grad, index))
            start += size
        return (None, *pieces)


class Stack(Function):
    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis, ctx.count = axis, len(arrays)
        return kernels_for(*arrays).stack(arrays, axis)

    @staticmethod
    def backward(ctx, grad):
        K = kernels_for(grad)
        index = (slice(None),) * ctx.axis
        return (None, *(K.getitem(grad, index + (i,)) for i in range(ctx.count)))


class Copy(Function):
    """A fresh contiguous copy (clone, contiguous); the gradient passes straight through."""

    @staticmethod
    def forward(ctx, a):
        return kernels_for(a).copy(a)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Cast(Function):
    """Change dtype; the gradient is cast back to the input's dtype."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return kernels_for(a).astype(a, dtype)

    @staticmethod
    def backward(ctx, grad):
        return kernels_for(grad).astype(grad, ctx.dtype), None


class ToDevice(Function):
    """Copy to another device; the gradient is copied back to where the input lived."""

    @staticmethod
    def forward(ctx, a, target):
        ctx.source = device_of(a)
        return move(a, target)

    @staticmethod
    def backward(ctx, grad):
        return move(grad, ctx.source), None
