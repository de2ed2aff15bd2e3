"""Compute kernels for tinygrad_edu.

Three interchangeable backends share one vocabulary (same function names and
argument order; see ``kernels/reference.py`` for the list):

* ``kernels.reference`` -- plain numpy, the readable oracle.
* ``kernels.cpu``       -- Numba ``@njit`` kernels (parallel where it pays).
* ``kernels.cuda``      -- ``numba.cuda`` kernels on device arrays.

Nothing is imported here on purpose: importing ``kernels`` must stay cheap and
must never touch ``numba.cuda``.  Import the backend you need explicitly.
"""
