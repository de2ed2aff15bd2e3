"""Top-level function forms (`tinygrad_edu.cat`, `tinygrad_edu.relu(x)`, ...), as PyTorch has.

Most are the Tensor method of the same name; cat, stack and where combine several tensors.
"""
import numpy as np

from . import ops
from .tensor import Tensor, _condition, _one_dim, _promote, check_same_device

__all__ = ["cat", "concat", "stack", "where", "is_tensor", "numel", "relu", "softmax", "log_softmax",
           "argmax", "argmin", "sum", "mean", "max", "min", "mm", "matmul", "log", "exp", "sqrt",
           "abs", "tanh", "sigmoid", "clamp", "transpose", "reshape", "flatten", "squeeze",
           "unsqueeze", "gather", "maximum", "minimum", "var", "std", "allclose"]


def _same_dtype(tensors):
    """Bring tensors to one dtype by the same rule as binary ops (float wins over int)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    check_same_device(*tensors)
    floats = [t.payload.dtype for t in tensors if t.is_floating_point()]
    target = np.result_type(*(floats or [t.payload.dtype for t in tensors]))
    return [t.type(target) for t in tensors]


def cat(tensors, dim=0):
    """Join tensors along an existing dim; all other sizes must match."""
    tensors = _same_dtype(tensors)
    axis = _one_dim(dim, tensors[0].dim())
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.dim() != len(first) or any(a != b for d, (a, b) in enumerate(zip(t.shape, first)) if d != axis):
            raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected "
                               f"{list(first)} but got {list(t.shape)} for tensor number {i} in the list.")
    return ops.Cat.apply(axis, *tensors)


concat = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim."""
    tensors = _same_dtype(tensors)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at entry {i}")
    return ops.Stack.apply(_one_dim(dim, tensors[0].dim() + 1), *tensors)


def where(condition, input, other):
    """`input` where condition holds, else `other`."""
    if isinstance(input, Tensor):
        return input.where(condition, other)
    if isinstance(other, Tensor):
        a, b = _promote(other, input)
        return ops.Where.apply(_condition(condition), b, a)
    raise TypeError("where expects at least one of input and other to be a tensor")


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def allclose(input, other, rtol=1e-5, atol=1e-8):
    return bool(np.allclose(input._host_array(), other._host_array(), rtol=rtol, atol=atol))


def relu(input):
    return input.relu()


def softmax(input, dim):
    return input.softmax(dim)


def log_softmax(input, dim):
    return input.log_softmax(dim)


def argmax(input, dim=None, keepdim=False):
    return input.argmax(dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return input.argmin(dim, keepdim)


def sum(input, dim=None, keepdim=False, dtype=None):
    return input.sum(dim, keepdim, dtype)


def mean(input, dim=None, keepdim=False, dtype=None):
    return input.mean(dim, keepdim, dtype)


def max(input, dim=None, keepdim=False):
    return input.max(dim, keepdim)


def min(input, dim=None, keepdim=False):
    return input.min(dim, keepdim)


def maximum(input, other):
    return input.maximum(other)


def minimum(input, other):
    return input.minimum(other)


def var(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return input.var(dim, unbiased, keepdim, correction)


def std(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return input.std(dim, unbiased, keepdim, correction)


def mm(input, mat2):
    return input.mm(mat2)


def matmul(input, other):
    return input.matmul(other)


def log(input):
    return input.log()


def exp(input):
    return input.exp()


def sqrt(input):
    return input.sqrt()


def abs(input):
    return input.abs()


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


def clamp(input, min=None, max=None):
    return input.clamp(min, max)


def transpose(input, dim0, dim1):
    return input.transpose(dim0, dim1)


def reshape(input, shape):
    return input.reshape(shape)


def flatten(input, start_dim=0, end_dim=-1):
    return input.flatten(start_dim, end_dim)


def squeeze(input, dim=None):
    return input.squeeze(dim)


def unsqueeze(input, dim):
    return input.unsqueeze(dim)


def gather(input, dim, index):
    return input.gather(dim, index)
