"""`tinygrad_edu.cuda.is_available()`: is there a GPU (or numba's simulator) to run on?

Cheap and safe on any machine: without the `numba-cuda` package or a driver it says False.
"""
import functools
import importlib.util
import os

__all__ = ["is_available", "device_count"]


@functools.lru_cache(maxsize=None)
def is_available():
    """True on a machine with a working CUDA driver, or under NUMBA_ENABLE_CUDASIM=1."""
    if importlib.util.find_spec("numba") is None:
        return False
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True
    try:
        from numba import cuda  # importing probes the driver; keep it off the import path
        return bool(cuda.is_available())
    except Exception:  # any driver or library problem means: no usable GPU
        return False


def device_count():
    if not is_available():
        return 0
    from numba import cuda
    return len(cuda.gpus)
