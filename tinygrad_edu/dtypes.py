"""Data types: thin names over numpy's, printed and compared the way PyTorch's are."""
import builtins

import numpy as np

__all__ = ["dtype", "float32", "float64", "int64", "int32", "uint8", "bool_", "to_dtype",
           "from_numpy_dtype", "default_float"]


class dtype:
    """A tensor element type. `is_floating_point` decides which tensors can require grad."""
    __slots__ = ("name", "numpy", "is_floating_point")

    def __init__(self, name, numpy_type, is_floating_point):
        self.name = name
        self.numpy = np.dtype(numpy_type)
        self.is_floating_point = is_floating_point

    @property
    def itemsize(self):
        return self.numpy.itemsize

    def __repr__(self):
        return f"tinygrad_edu.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


float32 = dtype("float32", np.float32, True)
float64 = dtype("float64", np.float64, True)
int64 = dtype("int64", np.int64, False)
int32 = dtype("int32", np.int32, False)
uint8 = dtype("uint8", np.uint8, False)
bool_ = dtype("bool", np.bool_, False)
default_float = float32  # what tensor([1.5]) and rand() make, as in PyTorch

_BY_NUMPY = {d.numpy: d for d in (float32, float64, int64, int32, uint8, bool_)}
_BY_NAME = {
    "float32": float32, "float": float32, "float64": float64, "double": float64,
    "int64": int64, "long": int64, "int32": int32, "int": int32, "uint8": uint8,
    "bool": bool_,
}
_ACCEPTED = "float32 (float), float64 (double), int64 (long), int32 (int), uint8, bool"


def to_dtype(value):
    """Accept a dtype, a name ('float32'), a numpy dtype or the Python types float/int/bool."""
    if isinstance(value, dtype):
        return value
    if value is builtins.float:
        return float64  # PyTorch maps Python float to float64 when given as a dtype
    if value is builtins.int:
        return int64
    if value is builtins.bool:
        return bool_
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    try:
        return from_numpy_dtype(np.dtype(value))
    except TypeError:
        pass
    raise TypeError(f"unknown dtype {value!r}; accepted: {_ACCEPTED}")


def from_numpy_dtype(numpy_dtype):
    """The dtype for a numpy dtype; other numpy types are refused with the accepted list."""
    found = _BY_NUMPY.get(np.dtype(numpy_dtype))
    if found is None:
        raise TypeError(f"unsupported dtype {np.dtype(numpy_dtype)}; accepted: {_ACCEPTED}")
    return found
