"""The seam between tensor ops and kernels: pick the kernel module by where an array lives.

Every op asks `kernels_for(array)` and calls a function of the same name on whatever it gets:
`kernels.reference` (plain numpy), `kernels.cpu` (Numba) or `kernels.cuda` (numba.cuda).
They share names and argument order, so an op never says which one it runs on.

`TINYGRAD_EDU_BACKEND=numpy` forces the numpy reference on the CPU, for comparison and reading.
"""
import importlib
import os
import types

import numpy as np

from kernels import reference

__all__ = ["device", "kernels_for", "device_of", "move", "full", "cpu_kernels", "is_cuda_array", "is_contiguous"]


class device:
    """Where a tensor lives: `device("cpu")`, `device("cuda")` or `device("cuda:0")`."""
    __slots__ = ("type", "index")
    _TYPES = ("cpu", "cuda")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda', got {spec!r}")
        kind, _, number = spec.partition(":")
        if kind not in self._TYPES or (number and not number.isdigit()):
            raise RuntimeError(f"unknown device {spec!r}; accepted: 'cpu', 'cuda', 'cuda:N'")
        self.type = kind
        self.index = int(number) if number else index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index or 0) == (other.type, other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


_ndarray = np.ndarray
CPU = device("cpu")
CUDA = device("cuda", 0)


# Which CPU kernel runs by default: numpy (kernels.reference) for these, Numba (kernels.cpu)
# for every other name. Chosen by measurement (benchmarks/kernels.py, serial Numba against
# numpy on a 2-core machine; the ratio is Numba's speed over numpy's at 10^6 / 10^7 elements).
# numpy keeps plain memory-bound arithmetic (a tie, and one call less) and the transcendental
# functions (its vectorised exp/tanh beat Numba's scalar libm calls); Numba wins where one pass
# replaces several numpy passes: relu, the fused backwards, softmax/cross-entropy backward,
# sums, pooling, col2im, the SGD update.
NUMPY_ON_CPU = {
    "add": "0.96 / 0.89", "sub": "as add", "mul": "0.85 / 1.04", "div": "as mul",
    "maximum": "1.14 / 0.99", "minimum": "as maximum", "neg": "0.85 / 0.91",
    "abs": "0.89 / 1.01", "clamp": "1.24 / 0.81", "exp": "0.50 / 0.71", "log": "0.52 / 0.76",
    "tanh": "0.24 / 0.14", "sigmoid": "0.37 / 0.48", "softmax": "0.16 / 0.41",
    "log_softmax": "0.34 / 0.75", "cross_entropy_forward": "0.36 / 0.73",
    "im2col": "0.82 / 1.06 (LeNet's two convolutions)", "adam_step": "0.71 (200k parameters)",
}


def _choose_cpu_kernels():
    """The CPU kernel namespace: the table above, or the numpy reference alone when
    TINYGRAD_EDU_BACKEND=numpy asks for it (for comparison and reading)."""
    if os.environ.get("TINYGRAD_EDU_BACKEND", "").lower() == "numpy":
        return reference
    numba_kernels = importlib.import_module("kernels.cpu")
    return types.SimpleNamespace(**{
        name: getattr(reference if name in NUMPY_ON_CPU else numba_kernels, name)
        for name in reference.__all__})


cpu_kernels = _choose_cpu_kernels()
_cuda_kernels = None  # imported on first use: importing numba.cuda costs time nobody on a CPU should pay


def _cuda():
    global _cuda_kernels
    if _cuda_kernels is None:
        _cuda_kernels = importlib.import_module("kernels.cuda")
    return _cuda_kernels


def is_cuda_array(x):
    """True for a numba device array (the simulator's fake ones included: they do not speak the
    CUDA array interface, but both kinds carry numba's `__cuda_ndarray__` marker)."""
    return getattr(x, "__cuda_ndarray__", False) or hasattr(x, "__cuda_array_interface__")


def kernels_for(first, *others):
    """The kernel module for these arrays. The first array decides: Tensor refuses to mix
    devices before any op runs, so the others live on the same one (Python numbers are skipped)."""
    if type(first) is _ndarray:  # the common case, checked first because every op asks
        return cpu_kernels
    for x in (first, *others):
        if type(x) is _ndarray:
            return cpu_kernels
        if is_cuda_array(x):
            return _cuda()
    return cpu_kernels


def is_contiguous(array):
    """C-contiguity of a numpy or device array (numba's device arrays answer through a method,
    not numpy's `.flags.c_contiguous`)."""
    return array.is_c_contiguous() if is_cuda_array(array) else array.flags.c_contiguous


def device_of(array):
    return CUDA if is_cuda_array(array) else CPU


def full(shape, value, dtype, target):
    """A new array of `shape` filled with `value`, made directly on `target` (a cuda array is
    filled by a kernel: nothing is copied from the host)."""
    if target.type == "cuda":
        array = _cuda().zeros(shape, dtype)
        if value != 0:
            _cuda().copy_into(array, value)
        return array
    return np.full(shape, value, dtype)


def move(array, target):
    """Copy an array to `target` (a device); returns it unchanged when already there."""
    if target.type == "cuda":
        return array if is_cuda_array(array) else _cuda().to_device(array)
    return _cuda().to_host(array) if is_cuda_array(array) else array
