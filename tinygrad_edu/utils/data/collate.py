"""Turning a list of samples into one batch: `default_collate`, and `default_convert`.

A sample is whatever `dataset[i]` returns, often a tuple `(image, label)`. A batch keeps
the sample's structure with every leaf stacked along a new first dimension:

    [(x0, 3), (x1, 7)]  ->  [stack([x0, x1]), tensor([3, 7])]

The rules are PyTorch's: tensors and numpy arrays are stacked, Python ints become int64,
floats float64 and bools bool tensors, strings stay a list, and dicts, tuples and lists are
collated field by field (a tuple comes back as a list, as PyTorch does).
"""
import collections.abc

import numpy as np

from ...backend import kernels_for
from ...dtypes import from_numpy_dtype
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def default_collate(batch):
    """Stack a list of samples into one batch, recursing into containers."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":  # strings and objects have no tensor form
            raise TypeError(_ERROR.format(elem.dtype))
        from_numpy_dtype(elem.dtype)  # refuse float16, ... with the list of accepted dtypes
        return _stack_tensors([Tensor._wrap(a) for a in batch])
    if isinstance(elem, np.generic):
        return _new_tensor(np.array(batch))
    if isinstance(elem, bool):  # before int: bool is an int subclass
        return _new_tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return _new_tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return _new_tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        return collated if type(elem) is dict else type(elem)(collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple: keep its type
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(_ERROR.format(type(elem)))


def default_convert(data):
    """For `batch_size=None` (no batching): numpy arrays become tensors, the rest stays."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return _new_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        return converted if type(data) is dict else type(data)(converted)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(field) for field in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(field) for field in data)
    return data


def _stack_tensors(tensors):
    """Stack on the payloads directly: a batch has no history to record, and one
    `stack` kernel call beats building a graph node per batch."""
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first)} at entry 0 and {list(t.shape)} at entry {i}")
    payloads = [t.payload for t in tensors]
    return Tensor._wrap(kernels_for(*payloads).stack(payloads, 0))


def _new_tensor(array):
    from_numpy_dtype(array.dtype)  # refuse float16, complex, ... with the accepted list
    return Tensor._wrap(array)
