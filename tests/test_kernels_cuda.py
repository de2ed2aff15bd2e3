"""kernels.cuda against kernels.reference.

The device tests skip unless ``numba.cuda.is_available()`` (a real GPU, or the
simulator).  Without a GPU, ``test_cuda_suite_in_simulator`` re-runs this file in
a subprocess with ``NUMBA_ENABLE_CUDASIM=1`` set before Python starts (setting it
after numba.cuda was imported is not reliable).  Sizes are tiny: the simulator
runs every CUDA thread as a Python thread.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from kernels import reference as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def _available():
    from kernels import cuda as KC
    return KC.is_available()


needs_cuda = pytest.mark.skipif(not (IN_SIM or os.environ.get("KERNELS_TEST_GPU") == "1"),
                                reason="runs in the simulator subprocess (or set KERNELS_TEST_GPU=1)")


def test_import_is_cheap_and_safe():
    code = ("import sys; import kernels.cuda as KC; "
            "assert 'numba.cuda' not in sys.modules, 'numba.cuda imported eagerly'; "
            "KC.is_available(); print('ok')")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


@pytest.mark.skipif(IN_SIM, reason="already inside the simulator run")
def test_cuda_suite_in_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.abspath(__file__), "-k", "device"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "passed" in r.stdout


def rnd(shape, dtype, scale=1.0, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def close(dev, expected, dtype, **kw):
    from kernels import cuda as KC
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    tol.update(kw)
    np.testing.assert_allclose(KC.to_host(dev), expected, equal_nan=True, **tol)


@needs_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_device_elementwise(dtype):
    from kernels import cuda as KC
    assert _available()
    a, b = rnd((3, 5), dtype), rnd((3, 5), dtype, seed=1)
    da, db = KC.to_device(a), KC.to_device(b)
    for name in ["add", "sub", "mul", "div", "maximum", "minimum",
                 "relu_backward", "tanh_backward", "sigmoid_backward"]:
        close(getattr(KC, name)(da, db), getattr(R, name)(a, b), dtype)
    close(KC.pow(KC.to_device(np.abs(a) + 0.5), db), R.pow(np.abs(a) + 0.5, b), dtype)
    close(KC.mul(da, 2.5), a * dtype(2.5), dtype)                      # scalar b
    close(KC.add(da, KC.to_device(b[0])), a + b[0], dtype)             # broadcast (host path)
    x = np.array([-1000, -1, 0, 1, 1000, np.nan], dtype)
    for name in ["neg", "exp", "abs", "tanh", "sigmoid", "relu"]:
        with np.errstate(all="ignore"):
            close(getattr(KC, name)(KC.to_device(x)), getattr(R, name)(x), dtype)
    p = np.abs(a)
    for name in ["log", "sqrt"]:
        close(getattr(KC, name)(KC.to_device(p)), getattr(R, name)(p), dtype)
    close(KC.clamp(da, -0.5, None), R.clamp(a, -0.5, None), dtype)
    np.testing.assert_array_equal(KC.to_host(KC.lt(da, db)), a < b)
    e = KC.to_device(np.zeros((0, 3), dtype))
    assert KC.to_host(KC.add(e, e)).shape == (0, 3)
    # 0-d: the simulator's device arrays report 0-d as shape (1,), so compare values only
    np.testing.assert_allclose(KC.to_host(KC.exp(KC.to_device(np.array(1.5, dtype)))).reshape(()),
                               np.exp(dtype(1.5)), rtol=1e-6)


@needs_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_device_reductions_softmax(dtype):
    from kernels import cuda as KC
    a = rnd((3, 4, 5), dtype, scale=1000.0)
    da = KC.to_device(a)
    close(KC.sum(da), R.sum(a), dtype, rtol=1e-5, atol=1e-2)
    close(KC.sum(da, (1, 2), True), R.sum(a, (1, 2), True), dtype, rtol=1e-5, atol=1e-2)
    close(KC.sum(da, 0), R.sum(a, 0), dtype, rtol=1e-5, atol=1e-2)
    close(KC.max(da, 1), R.max(a, 1), dtype)
    close(KC.softmax(da, 2), R.softmax(a, 2), dtype)
    close(KC.softmax(da, 1), R.softmax(a, 1), dtype)
    close(KC.log_softmax(da, 2), R.log_softmax(a, 2), dtype, atol=1e-3)
    g = rnd(a.shape, dtype, seed=2)
    y = R.softmax(a, 2)
    close(KC.softmax_backward(KC.to_device(g), KC.to_device(y), 2), R.softmax_backward(g, y, 2),
          dtype)
    x = rnd((6, 7), dtype, scale=50.0)
    t = np.array([0, 6, 3, 2, 1, 5], np.int64)
    losses, probs = KC.cross_entropy_forward(KC.to_device(x), t)
    lr, pr = R.cross_entropy_forward(x, t)
    close(losses, lr, dtype, atol=1e-4)
    close(probs, pr, dtype)
    gl = rnd((6,), dtype, seed=3)
    close(KC.cross_entropy_backward(KC.to_device(gl), probs, t),
          R.cross_entropy_backward(gl, pr, t), dtype)


@needs_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sa,sb", [((1, 1), (1, 1)), ((20, 9), (9, 67)), ((2, 1, 5, 3), (3, 3, 4)),
                                   ((4, 0), (0, 2))])
def test_device_matmul(dtype, sa, sb):
    from kernels import cuda as KC
    a, b = rnd(sa, dtype), rnd(sb, dtype, seed=1)
    close(KC.matmul(KC.to_device(a), KC.to_device(b)), np.matmul(a, b), dtype,
          rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-4 if dtype == np.float32 else 1e-10)
    if a.ndim == 2 and a.size and dtype == np.float32:
        close(KC.matmul(KC.to_device(b.T), KC.to_device(a.T)), b.T @ a.T, dtype, rtol=1e-4,
              atol=1e-4)


@needs_cuda
def test_device_conv_pool_optim():
    from kernels import cuda as KC
    dtype = np.float32
    x = rnd((1, 2, 5, 5), dtype)
    close(KC.im2col(KC.to_device(x), 3, 3, 1, 1), R.im2col(x, 3, 3, 1, 1), dtype)
    out, idx = KC.max_pool2d_forward(KC.to_device(x), 2, 2, 0)
    ro, ri = R.max_pool2d_forward(x, 2, 2, 0)
    close(out, ro, dtype)
    np.testing.assert_array_equal(KC.to_host(idx), ri)
    p0, g = rnd((40,), dtype), rnd((40,), dtype, seed=1)
    dp, dg, db = KC.to_device(p0), KC.to_device(g), KC.to_device(np.zeros_like(p0))
    KC.sgd_step(dp, dg, db, 0.1, 0.9, 0.0, True, 0.01, True)
    pr, br = p0.copy(), np.zeros_like(p0)
    R.sgd_step(pr, g, br, 0.1, 0.9, 0.0, True, 0.01, True)
    close(dp, pr, dtype)
    close(db, br, dtype)
    dp, dm, dv = KC.to_device(p0), KC.to_device(np.zeros_like(p0)), KC.to_device(np.zeros_like(p0))
    KC.adam_step(dp, dg, dm, dv, 1, 1e-2, 0.9, 0.999, 1e-8, 0.1, True)
    pr, mr, vr = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    R.adam_step(pr, g, mr, vr, 1, 1e-2, 0.9, 0.999, 1e-8, 0.1, True)
    close(dp, pr, dtype)
