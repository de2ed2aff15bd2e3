"""Making tensors: `tensor(data)`, zeros/ones/full/empty, random draws, ranges, `from_numpy`.

Sizes can be given as varargs (`zeros(2, 3)`), one tuple or list (`zeros((2, 3))`) or
`size=`. Random draws come from the seeded generator in random.py, so `manual_seed` makes
them reproducible.
"""
import numpy as np

from . import dtypes
from .backend import device as Device, full as full_array, move
from .random import numpy_generator
from .tensor import Tensor, _as_array, _size_args

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "rand", "randn", "randint", "rand_like",
           "randn_like", "randperm", "arange", "linspace", "eye", "FloatTensor", "LongTensor",
           "DoubleTensor", "BoolTensor"]


def _finish(array, dtype=None, device=None, requires_grad=False):
    """Cast, move and flag a freshly made array: the last step of every factory."""
    if dtype is not None:
        array = array.astype(dtypes.to_dtype(dtype).numpy, copy=False)
    else:
        dtypes.from_numpy_dtype(array.dtype)  # refuse float16, complex, object, ... clearly
    if device is not None:
        array = move(array, Device(device))
    result = Tensor._wrap(array)
    if requires_grad:
        result.requires_grad_(True)
    return result


def _sizes(size_args, size):
    return _size_args((size,)) if size is not None else _size_args(size_args)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (nested lists, numbers, numpy arrays, tensors)."""
    if isinstance(data, Tensor):
        array = np.array(data._host_array())
    elif isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        array = _as_array([_nested_to_python(x) for x in data])
    elif dtype is not None:
        # no float32 default on the way: tensor(0.1, dtype=float64) must keep every digit of 0.1
        array = np.array(data)
    else:
        array = np.array(_as_array(data))
    if array.dtype == object:
        raise TypeError(f"could not make a tensor from {type(data).__name__}: ragged or non-numeric data")
    return _finish(array, dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and device is None:
        return _finish(data, dtype)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with `array`: writing one changes the other, as in PyTorch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return _finish(array)


def _filled(shape, value, dtype, device, requires_grad):
    """zeros/ones/full/empty, made where they will live (on a GPU no host array is copied over)."""
    target = Device(device) if device is not None else Device("cpu")
    return _finish(full_array(shape, value, dtype, target), None, None, requires_grad)


def _numpy_dtype(dtype, default):
    return dtypes.to_dtype(dtype).numpy if dtype is not None else default


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    return _filled(_sizes(sizes, size), 0, _numpy_dtype(dtype, np.float32), device, requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    return _filled(_sizes(sizes, size), 1, _numpy_dtype(dtype, np.float32), device, requires_grad)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    # zero-filled: "uninitialised" may hold anything, and zeros are one fill kernel away
    return _filled(_sizes(sizes, size), 0, _numpy_dtype(dtype, np.float32), device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    dtype = _numpy_dtype(dtype, _as_array(fill_value).dtype)
    return _filled(_size_args((size,)), fill_value, dtype, device, requires_grad)


def _like(function, other, dtype, device, requires_grad):
    """`function` (zeros, ones, ...) with `other`'s shape, and its dtype and device by default."""
    return function(other.shape, dtype=dtype or other.dtype, device=device or other.device,
                    requires_grad=requires_grad)


def zeros_like(other, dtype=None, device=None, requires_grad=False):
    return _like(zeros, other, dtype, device, requires_grad)


def ones_like(other, dtype=None, device=None, requires_grad=False):
    return _like(ones, other, dtype, device, requires_grad)


def empty_like(other, dtype=None, device=None, requires_grad=False):
    return _like(empty, other, dtype, device, requires_grad)


def full_like(other, fill_value, dtype=None, device=None, requires_grad=False):
    return full(other.shape, fill_value, dtype=dtype or other.dtype, device=device or other.device,
                requires_grad=requires_grad)


def rand(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1)."""
    array = numpy_generator(generator).random(_sizes(sizes, size), dtype=np.float32)
    return _finish(array, dtype, device, requires_grad)


def randn(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal."""
    array = numpy_generator(generator).standard_normal(_sizes(sizes, size), dtype=np.float32)
    return _finish(array, dtype, device, requires_grad)


def rand_like(other, dtype=None, device=None, requires_grad=False):
    return _like(rand, other, dtype, device, requires_grad)


def randn_like(other, dtype=None, device=None, requires_grad=False):
    return _like(randn, other, dtype, device, requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None):
    """Integers in [low, high); `randint(high, size)` starts at 0, as in PyTorch."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    array = numpy_generator(generator).integers(low, high, size=_size_args((size,)), dtype=np.int64)
    return _finish(array, dtype, device)


def randperm(n, generator=None, dtype=None, device=None):
    return _finish(numpy_generator(generator).permutation(n).astype(np.int64), dtype, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """[start, end) in steps; integers unless any argument is a float."""
    if end is None:
        start, end = 0, start
    array = _as_array(np.arange(start, end, step))
    if array.dtype == np.float64 and dtype is None:
        array = array.astype(np.float32)
    return _finish(array, dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    array = np.linspace(start, end, steps, dtype=np.float64).astype(np.float32)
    return _finish(array, dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=np.float32), dtype, device, requires_grad)


def FloatTensor(data):
    return tensor(data, dtype=dtypes.float32)


def DoubleTensor(data):
    return tensor(data, dtype=dtypes.float64)


def LongTensor(data):
    return tensor(data, dtype=dtypes.int64)


def BoolTensor(data):
    return tensor(data, dtype=dtypes.bool_)


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _nested_to_python(x):
    if isinstance(x, Tensor):
        return x._host_array()
    if isinstance(x, (list, tuple)):
        return [_nested_to_python(item) for item in x]
    return x
