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
    close(KC.add(da, KC.to_device(b[0])), a + b[0], dtype)             # broadcast kernel
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
    zero_d = KC.to_host(KC.exp(KC.to_device(np.array(1.5, dtype))))
    assert zero_d.shape == ()
    np.testing.assert_allclose(zero_d, np.exp(dtype(1.5)), rtol=1e-6)


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
    t_dev = KC.to_device(t)
    losses, probs = KC.cross_entropy_forward(KC.to_device(x), t_dev)
    lr, pr = R.cross_entropy_forward(x, t)
    close(losses, lr, dtype, atol=1e-4)
    close(probs, pr, dtype)
    gl = rnd((6,), dtype, seed=3)
    close(KC.cross_entropy_backward(KC.to_device(gl), probs, t_dev),
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


def _check(dev, expected, name, rtol=1e-5, atol=1e-6):
    from kernels import cuda as KC
    got = KC.to_host(dev)
    expected = np.asarray(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype, \
        (name, got.shape, expected.shape, got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=name)


@needs_cuda
def test_device_broadcast_compare_where_reductions():
    from kernels import cuda as KC
    a, b = rnd((3, 4), np.float32), rnd((4,), np.float32, seed=1)
    da, db = KC.to_device(a), KC.to_device(b)
    for name in ["add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
                 "ge", "logical_and", "logical_or"]:
        _check(getattr(KC, name)(da, db), getattr(R, name)(a, b), name)
        _check(getattr(KC, name)(2.0, da), getattr(R, name)(2.0, a), name + " (number first)")
    _check(KC.where(KC.gt(da, 0), da, 0.0), R.where(a > 0, a, 0.0), "where")
    _check(KC.where(KC.gt(db, 0), da, KC.to_device(a[:1])), R.where(b > 0, a, a[:1]), "where bcast")
    for axis in [None, 0, 1, (0, 1)]:
        for keepdims in [False, True]:
            _check(KC.sum(da, axis, keepdims), R.sum(a, axis, keepdims), f"sum {axis}")
            _check(KC.max(da, axis, keepdims), R.max(a, axis, keepdims), f"max {axis}")
            _check(KC.min(da, axis, keepdims), R.min(a, axis, keepdims), f"min {axis}")
            if not isinstance(axis, tuple):
                _check(KC.argmax(da, axis, keepdims), R.argmax(a, axis, keepdims), f"argmax {axis}")
                _check(KC.argmin(da, axis, keepdims), R.argmin(a, axis, keepdims), f"argmin {axis}")
    ties = np.array([[1.0, 3.0, 3.0, np.nan, np.nan], [2.0, 2.0, -1.0, -1.0, 0.0]], np.float32)
    for name in ["argmax", "argmin", "max", "min"]:          # first occurrence wins; NaN wins
        _check(getattr(KC, name)(KC.to_device(ties), 1), getattr(R, name)(ties, 1), name + " ties")
    _check(KC.sum(KC.to_device(np.array([True, False, True]))), np.sum([True, False, True]), "bool sum")
    y = R.log_softmax(a, 0)
    _check(KC.log_softmax_backward(da, KC.to_device(y), 0), R.log_softmax_backward(a, y, 0), "lsb")
    with pytest.raises(ValueError):
        KC.max(KC.to_device(np.zeros((0, 3), np.float32)), 0)


@needs_cuda
def test_device_movement_and_indexing():
    from kernels import cuda as KC
    rng = np.random.default_rng(0)
    a = rnd((3, 4), np.float32)
    da = KC.to_device(a)
    _check(KC.transpose(da, (1, 0)), a.T, "transpose")
    _check(KC.broadcast_to(KC.to_device(a[:1]), (2, 3, 4)), np.broadcast_to(a[:1], (2, 3, 4)), "bcast")
    _check(KC.astype(da, np.int64), a.astype(np.int64), "astype int")
    _check(KC.astype(da, np.bool_), a.astype(np.bool_), "astype bool")
    _check(KC.ones_like(da), np.ones_like(a), "ones_like")
    _check(KC.zeros((2, 0), np.float64), np.zeros((2, 0)), "zeros")
    dst = KC.to_device(np.zeros((3, 4), np.float64))
    KC.copy_into(dst, KC.to_device(a[1]))
    _check(dst, np.broadcast_to(a[1], (3, 4)).astype(np.float64), "copy_into")
    mask = a > 0
    indices = [0, (1,), (slice(None), 2), (slice(1, None, 2), None, slice(None, None, -1)), Ellipsis,
               (Ellipsis, 1), np.array([2, 0, 0]), (slice(None), np.array([1, 3])),
               (np.array([0, 2]), np.array([1, 3])), mask, (np.array([0, 2]), slice(None), None),
               (1, np.array([[0], [3]]))]
    pairs = [(index, index) for index in indices] + [
        ((KC.to_device(np.array([2, 0, 2])),), (np.array([2, 0, 2]),)),    # an index on the device
        (KC.gt(da, 0), mask)]                                              # a mask on the device
    for index, host_index in pairs:
        _check(KC.getitem(da, index), a[host_index], f"getitem {host_index}")
        g = rnd(np.shape(a[host_index]), np.float32, seed=2)
        _check(KC.index_backward(KC.to_device(g), index, a.shape), R.index_backward(g, host_index, a.shape),
               f"index_backward {host_index}", atol=1e-5)
        expected, target = a.copy(), KC.to_device(a)
        expected[host_index] = 7
        KC.setitem(target, index, 7.0)
        _check(target, expected, f"setitem {host_index}")
    x3 = rnd((2, 3, 4), np.float64)
    sep = (np.array([0, 1]), slice(None), np.array([1, 2]))      # separated: index dims go first
    _check(KC.getitem(KC.to_device(x3), sep), x3[sep], "separated")
    ind = rng.integers(0, 4, (3, 2))
    _check(KC.take_along_axis(da, KC.to_device(ind), 1), np.take_along_axis(a, ind, 1), "take")
    v = rnd((3, 2), np.float32, seed=3)
    _check(KC.scatter_along_axis(KC.to_device(v), KC.to_device(ind), 1, (3, 4)),
           R.scatter_along_axis(v, ind, 1, (3, 4)), "scatter", atol=1e-5)
    _check(KC.concatenate([da, KC.to_device(a[:, :1])], 1), np.concatenate([a, a[:, :1]], 1), "cat")
    _check(KC.stack([da, da], 2), np.stack([a, a], 2), "stack")
    with pytest.raises(IndexError):
        KC.getitem(da, (0, 9))
    with pytest.raises(RuntimeError, match="same device"):
        KC.add(da, a)


@needs_cuda
def test_device_conv_pool_shapes():
    from kernels import cuda as KC
    x = rnd((2, 3, 5, 6), np.float32)
    for k, s, p in [(3, 1, 1), (3, 2, 1), (2, 2, 0)]:
        cols = R.im2col(x, k, k, s, p)
        _check(KC.im2col(KC.to_device(x), k, k, s, p), cols, "im2col")
        _check(KC.col2im(KC.to_device(cols), x.shape, k, k, s, p), R.col2im(cols, x.shape, k, k, s, p),
               "col2im", atol=1e-5)
        out, idx = KC.max_pool2d_forward(KC.to_device(x), k, s, p)
        ro, ri = R.max_pool2d_forward(x, k, s, p)
        _check(out, ro, "max_pool")
        _check(idx, ri, "argmax")
        g = rnd(ro.shape, np.float32, seed=1)
        _check(KC.max_pool2d_backward(KC.to_device(g), idx, x.shape), R.max_pool2d_backward(g, ri, x.shape),
               "max_pool backward", atol=1e-5)
