"""kernels.cpu (Numba) against kernels.reference (numpy), and reference against torch.

Every test is parametrised by backend ("reference", "cpu"); the oracle is always
kernels.reference (or plain numpy / torch for the reference itself).  For the cpu
backend the size thresholds are forced to 0 so that the small test arrays really
run through the Numba kernels instead of the numpy fallbacks.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels import cpu, reference as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture(params=["reference", "cpu"])
def K(request, monkeypatch):
    if request.param == "cpu":
        monkeypatch.setattr(cpu, "_PAR_MIN", 0)
        monkeypatch.setattr(cpu, "_ROW_MIN", 0)
        return cpu
    return R


def rnd(shape, dtype, scale=1.0, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def close(x, y, dtype, **kw):
    tol = dict(TOL[dtype])
    tol.update(kw)
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), equal_nan=True, **tol)


BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]
UNARY = ["neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu"]
FUSED = ["relu_backward", "tanh_backward", "sigmoid_backward"]


# ----------------------------------------------------------------------------- elementwise
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7, 13), (3, 0, 2), (33, 65)])
def test_elementwise_shapes(K, dtype, shape):
    a, b = rnd(shape, dtype, seed=1), rnd(shape, dtype, seed=2)
    for name in BINARY + FUSED:
        x = np.abs(a) + 0.5 if name == "pow" else a
        out = getattr(K, name)(x, b)
        assert out.shape == shape and out.dtype == dtype, name
        close(out, getattr(R, name)(x, b), dtype)
    for name in COMPARE:
        out = getattr(K, name)(a, b)
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out, getattr(R, name)(a, b))
    for name in UNARY:
        x = np.abs(a) if name in ("log", "sqrt") else a
        out = getattr(K, name)(x)
        assert out.shape == shape and out.dtype == dtype, name
        close(out, getattr(R, name)(x), dtype)
    close(K.clamp(a, -0.5, 0.5), np.clip(a, -0.5, 0.5), dtype)
    close(K.clamp(a, None, 0.1), np.minimum(a, 0.1), dtype)
    close(K.clamp(a, -0.1, None), np.maximum(a, -0.1), dtype)
    close(K.where(a > 0, a, b), np.where(a > 0, a, b), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_views_broadcast_scalar(K, dtype):
    a = rnd((40, 30), dtype)
    b = rnd((30,), dtype, seed=3)
    for name in BINARY[:4] + ["maximum", "minimum"]:
        close(getattr(K, name)(a.T, a.T[::-1]), getattr(R, name)(a.T, a.T[::-1]), dtype)
        close(getattr(K, name)(a, b), getattr(R, name)(a, b), dtype)                 # broadcast
        close(getattr(K, name)(a[:, ::2], 2.5), getattr(R, name)(a[:, ::2], 2.5), dtype)
        assert getattr(K, name)(a, 2.5).dtype == dtype                              # weak scalar
    z = np.broadcast_to(b, (40, 30))                                                 # 0 strides
    close(K.relu_backward(z, a), R.relu_backward(z, a), dtype)
    a0 = a.copy()
    K.exp(a[::3])
    np.testing.assert_array_equal(a, a0)                                             # not modified


def test_reference_against_numpy_known_values():
    x = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    np.testing.assert_allclose(R.sigmoid(x), [0, 1 / (1 + np.e), 0.5, 1 / (1 + 1 / np.e), 1])
    assert np.isnan(R.maximum(np.array([np.nan]), np.array([1.0])))[0]
    np.testing.assert_array_equal(R.relu(np.array([-2.0, 0.0, 3.0])), [0, 0, 3])


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values(K, dtype):
    x = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -1000, 1000, 88.8, -88.8], dtype)
    with np.errstate(all="ignore"):
        for name in UNARY:
            close(getattr(K, name)(x), getattr(R, name)(x), dtype)
        for name in ["maximum", "minimum"]:
            close(getattr(K, name)(x, x[::-1]), getattr(R, name)(x, x[::-1]), dtype)
    assert np.all(np.isfinite(K.sigmoid(x[1:])))


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=0, max_size=3), st.sampled_from(DTYPES),
       st.sampled_from(["add", "mul", "div", "tanh_backward", "sigmoid_backward", "relu_backward"]))
def test_elementwise_hypothesis(shape, dtype, name):
    cpu._PAR_MIN, old = 0, cpu._PAR_MIN
    try:
        a, b = rnd(tuple(shape), dtype, seed=4), rnd(tuple(shape), dtype, seed=5)
        close(getattr(cpu, name)(a, b), getattr(R, name)(a, b), dtype)
    finally:
        cpu._PAR_MIN = old


def test_large_arrays_default_thresholds():
    a, b = rnd((300, 400), np.float32), rnd((300, 400), np.float32, seed=9)   # > _PAR_MIN
    for name in ["add", "mul", "maximum"] + FUSED:
        close(getattr(cpu, name)(a, b), getattr(R, name)(a, b), np.float32)
    for name in ["exp", "tanh", "sigmoid", "relu"]:
        close(getattr(cpu, name)(a), getattr(R, name)(a), np.float32)
    close(cpu.sum(a), R.sum(a), np.float32, rtol=1e-4)
    close(cpu.softmax(a, 1), R.softmax(a, 1), np.float32)


# ----------------------------------------------------------------------------- reductions
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", [((), None), ((0,), None), ((1,), 0), ((5, 7), None),
                                        ((5, 7), 0), ((5, 7), 1), ((3, 4, 5), (0, 1)),
                                        ((3, 4, 5), (1, 2)), ((3, 4, 5), (0, 2)), ((4, 0, 3), 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(K, dtype, shape, axis, keepdims):
    a = rnd(shape, dtype)
    for x in (a, np.swapaxes(a, 0, -1) if a.ndim >= 2 else a):
        out = K.sum(x, axis, keepdims)
        exp = np.sum(x, axis=axis, keepdims=keepdims)
        assert out.shape == exp.shape and out.dtype == dtype
        close(out, exp, dtype, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
        if x.size and 0 not in [x.shape[i] for i in (range(x.ndim) if axis is None else
                                                      np.atleast_1d(axis))]:
            close(K.max(x, axis, keepdims), np.max(x, axis=axis, keepdims=keepdims), dtype)
            close(K.min(x, axis, keepdims), np.min(x, axis=axis, keepdims=keepdims), dtype)
            if axis is None or isinstance(axis, int):
                am = K.argmax(x, axis, keepdims)
                assert am.dtype == np.int64
                np.testing.assert_array_equal(am, np.argmax(x, axis=axis, keepdims=keepdims))
                np.testing.assert_array_equal(K.argmin(x, axis, keepdims),
                                              np.argmin(x, axis=axis, keepdims=keepdims))


def test_argmax_ties_first(K):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    np.testing.assert_array_equal(K.argmax(a, 1, False), [1, 0])
    np.testing.assert_array_equal(K.argmin(a, 1, False), [0, 2])


def test_large_sum_accuracy():
    a = np.full(10 ** 6, 0.1, np.float32)
    assert abs(float(cpu.sum(a)) - 1e5) / 1e5 < 1e-5
    close(cpu.sum(rnd((300, 200), np.float32), 0), np.sum(rnd((300, 200), np.float32), 0),
          np.float32, atol=1e-4)


# ----------------------------------------------------------------------------- matmul
MM_SHAPES = [((1, 1), (1, 1)), ((5, 7), (7, 3)), ((67, 130), (130, 45)), ((4, 1030), (1030, 9)),
             ((0, 4), (4, 3)), ((3, 0), (0, 2)), ((2, 3, 4, 5), (5, 6)), ((2, 1, 4, 5), (3, 5, 2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", MM_SHAPES)
def test_matmul(K, dtype, sa, sb):
    a, b = rnd(sa, dtype), rnd(sb, dtype, seed=7)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    out = K.matmul(a, b)
    assert out.dtype == dtype
    close(out, np.matmul(a, b), dtype, **tol)
    if a.ndim == 2 and b.ndim == 2:
        close(K.matmul(b.T, a.T), b.T @ a.T, dtype, **tol)     # transposed views
        if K is cpu:
            for x, y in ((a, b), (b.T, a.T), (a[::1, ::1], np.asfortranarray(b))):
                close(cpu.matmul_blocked(x, y), x @ y, dtype, **tol)


def test_matmul_2d_dot_path_agrees_with_matmul_for_every_dtype_mix():
    # two 2-D operands take ndarray.dot: same dtype rules and values as np.matmul, strided or not
    rng = np.random.default_rng(5)
    ints = rng.integers(-9, 9, (6, 4))
    for a, b in ((ints, ints.T.copy()), (ints.astype(np.float32), ints.T),
                 (rnd((6, 4), np.float32), rnd((4, 3), np.float64)), (ints > 0, ints.T > 0),
                 (rnd((8, 10), np.float64)[::2, 1::3], rnd((9, 4), np.float64)[::3])):
        out, want = cpu.matmul(a, b), np.matmul(a, b)
        assert out.dtype == want.dtype and out.shape == want.shape
        np.testing.assert_allclose(out, want, rtol=1e-6)


def test_matmul_numba_path_switch(monkeypatch):
    monkeypatch.setattr(cpu, "MATMUL_PATH", "numba")
    a, b = rnd((70, 50), np.float32), rnd((50, 33), np.float32, seed=1)
    close(cpu.matmul(a, b), a @ b, np.float32, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(300, 257, 530), (7, 600, 33), (145, 1, 17), (6, 513, 16),
                                   (13, 20, 260)])
def test_matmul_blocked_tiles_and_padding(dtype, m, k, n):
    # several C tiles, ragged 6-row / NR-column edges, k-panels padded with zeros (257 =
    # 2 panels of 129), one-element k, exactly one micro tile; and any thread count
    a, b = rnd((m, k), dtype), rnd((k, n), dtype, seed=3)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for n_threads in (1, 2, 3, 8):
        close(cpu.matmul_blocked(a, b, n_threads), a @ b, dtype, **tol)
    close(cpu.matmul_blocked(np.asfortranarray(a), b[:, ::-1]), a @ b[:, ::-1], dtype, **tol)
    close(cpu.matmul_blocked(a.astype(np.float32), b.astype(np.float64)), a @ b, np.float64,
          rtol=1e-4, atol=1e-4)


def test_matmul_blocked_reuses_its_packing_space_safely():
    # the packing buffers outlive a call: a smaller product after a larger one must not
    # read the larger one's leftovers (padding is rewritten every call)
    big_a, big_b = rnd((50, 300), np.float32), rnd((300, 70), np.float32, seed=1)
    close(cpu.matmul_blocked(big_a, big_b), big_a @ big_b, np.float32, rtol=1e-4, atol=1e-4)
    space = cpu._packing_space.buffers[np.dtype(np.float32)]
    small_a, small_b = rnd((7, 9), np.float32, seed=2), rnd((9, 5), np.float32, seed=3)
    close(cpu.matmul_blocked(small_a, small_b), small_a @ small_b, np.float32,
          rtol=1e-4, atol=1e-4)
    assert cpu._packing_space.buffers[np.dtype(np.float32)] is space  # reused, not reallocated


def run_without_jit(code, done_marker):
    """Run `code` in a fresh interpreter with NUMBA_DISABLE_JIT=1 (Numba is configured at
    import, so this cannot happen in the test process) and check that it printed the marker."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert done_marker in r.stdout


def test_matmul_blocked_runs_with_jit_disabled():
    # the SIMD intrinsics have plain-numpy stand-ins, so the GEMM can be stepped through
    code = ("import numpy as np\n"
            "from kernels import cpu\n"
            "assert not hasattr(cpu._matmul_blocked_k, 'py_func'), 'still jitted'\n"
            "for dt in (np.float32, np.float64):\n"
            "    a = np.random.rand(13, 20).astype(dt); b = np.random.rand(20, 37).astype(dt)\n"
            "    assert np.allclose(cpu.matmul_blocked(a, b), a @ b, rtol=1e-5)\n"
            "print('plain-python-gemm-ok')\n")
    run_without_jit(code, "plain-python-gemm-ok")


# ----------------------------------------------------------------------------- softmax family
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", [((1,), 0), ((5, 7), 1), ((5, 7), 0), ((3, 4, 6), 1),
                                        ((2, 1), 1), ((0, 3), 1)])
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_softmax_family(K, dtype, shape, axis, scale):
    x = rnd(shape, dtype, scale)
    g = rnd(shape, dtype, seed=11)
    y = R.softmax(x, axis)
    ly = R.log_softmax(x, axis)
    atol = 1e-5 if dtype == np.float32 else 1e-12
    close(K.softmax(x, axis), y, dtype, atol=atol)
    close(K.log_softmax(x, axis), ly, dtype, rtol=1e-6, atol=scale * atol)
    close(K.softmax_backward(g, y, axis), R.softmax_backward(g, y, axis), dtype, atol=atol)
    close(K.log_softmax_backward(g, ly, axis), R.log_softmax_backward(g, ly, axis), dtype,
          atol=atol)
    assert np.all(np.isfinite(K.log_softmax(x, axis)))
    if x.ndim == 2:
        close(K.softmax(x.T, 1 - axis), R.softmax(x.T, 1 - axis), dtype, atol=atol)   # view


def test_reference_softmax_vs_known():
    x = np.array([[1000.0, 1000.0], [-1000.0, 0.0]])
    np.testing.assert_allclose(R.softmax(x, 1), [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(R.log_softmax(x, 1), [[-np.log(2), -np.log(2)], [-1000, 0]])


# ----------------------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,c,scale", [(1, 1, 1.0), (7, 5, 1.0), (33, 10, 1000.0), (4, 129, 3.0)])
def test_cross_entropy(K, dtype, n, c, scale):
    x = rnd((n, c), dtype, scale)
    t = np.random.default_rng(1).integers(0, c, n).astype(np.int64)
    losses, probs = K.cross_entropy_forward(x, t)
    lr, pr = R.cross_entropy_forward(x, t)
    close(losses, lr, dtype, rtol=1e-5, atol=1e-5 * scale)
    close(probs, pr, dtype, atol=1e-6)
    gl = rnd((n,), dtype, seed=3)
    close(K.cross_entropy_backward(gl, probs, t), R.cross_entropy_backward(gl, pr, t), dtype,
          atol=1e-6)
    # reference against the textbook formula
    lse = np.log(np.sum(np.exp(x.astype(np.float64) - x.max(1, keepdims=True)), 1)) + x.max(1)
    np.testing.assert_allclose(lr, lse - x[np.arange(n), t], rtol=1e-5, atol=1e-3)


# ----------------------------------------------------------------------------- conv helpers / pooling
CONV = [((1, 1, 1, 1), 1, 1, 1, 0), ((2, 3, 9, 8), 3, 2, (2, 1), (1, 1)), ((1, 2, 5, 5), 5, 5, 1, 2),
        ((2, 1, 7, 6), 2, 3, 3, 0)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kh,kw,stride,pad", CONV)
def test_im2col_col2im(K, dtype, shape, kh, kw, stride, pad):
    x = rnd(shape, dtype)
    cols = K.im2col(x, kh, kw, stride, pad)
    close(cols, R.im2col(x, kh, kw, stride, pad), dtype)
    g = rnd(cols.shape, dtype, seed=5)
    back = K.col2im(g, x.shape, kh, kw, stride, pad)
    close(back, R.col2im(g, x.shape, kh, kw, stride, pad), dtype)
    # adjoint identity <im2col(x), g> == <x, col2im(g)>
    np.testing.assert_allclose(np.sum(cols * g), np.sum(x * back), rtol=1e-4)
    close(K.im2col(x.transpose(0, 1, 3, 2).transpose(0, 1, 3, 2), kh, kw, stride, pad), cols, dtype)


def test_im2col_matches_torch_conv():
    torch = pytest.importorskip("torch")
    x, w = rnd((2, 3, 9, 8), np.float64), rnd((4, 3, 3, 2), np.float64, seed=1)
    cols = R.im2col(x, 3, 2, (2, 1), (1, 1))
    y = (w.reshape(4, -1) @ cols).reshape(2, 4, 5, 9)
    ty = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=(2, 1),
                                    padding=(1, 1))
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-10)


POOL = [((1, 1, 1, 1), 1, 1, 0), ((2, 3, 7, 6), 3, 2, 1), ((1, 2, 8, 8), 2, 2, 0),
        ((2, 2, 5, 7), (3, 2), (1, 2), (1, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k,s,p", POOL)
def test_max_pool(K, dtype, shape, k, s, p):
    x = rnd(shape, dtype)
    x[..., 0, :] = x[..., 1, :] if shape[2] > 1 else x[..., 0, :]      # ties -> first wins
    out, idx = K.max_pool2d_forward(x, k, s, p)
    ro, ri = R.max_pool2d_forward(x, k, s, p)
    close(out, ro, dtype)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, ri)
    g = rnd(out.shape, dtype, seed=2)
    close(K.max_pool2d_backward(g, idx, x.shape), R.max_pool2d_backward(g, ri, x.shape), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_nan_inf_strided_and_padding_only_windows(K, dtype):
    # a NaN wins its window (the kernel's NaN-aware loop runs only when the input holds one);
    # an all -inf window keeps its first pixel's index; strided input; with padding larger
    # than half the kernel (the layer refuses it, the kernel must not misread) some windows
    # hold only padding and give -inf
    x = rnd((2, 3, 9, 8), dtype)
    x[0, 0, :3, :3] = -np.inf
    x[1, 2, 4, 5] = np.nan
    x[1, 1, 0, :] = np.nan
    for inp, k, s, p in ((x, 3, 2, 1), (x, 2, 1, 0), (np.swapaxes(x, 2, 3), 3, 2, 1),
                         (x[:, :, ::2, ::-1], 2, 2, 1), (np.nan_to_num(x), 3, 3, 1),
                         (np.nan_to_num(x), 2, 2, 2)):
        out, idx = K.max_pool2d_forward(inp, k, s, p)
        ro, ri = R.max_pool2d_forward(inp, k, s, p)
        np.testing.assert_array_equal(out, ro)
        np.testing.assert_array_equal(idx, ri)
    assert np.isnan(K.max_pool2d_forward(x, 3, 2, 1)[0][1, 2]).any()


def test_max_pool_reference_vs_torch():
    torch = pytest.importorskip("torch")
    x = rnd((2, 3, 7, 6), np.float64)
    out, idx = R.max_pool2d_forward(x, 3, 2, 1)
    to, ti = torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    np.testing.assert_allclose(out, to.numpy())
    np.testing.assert_array_equal(idx, ti.numpy())


# ----------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum,dampening,nesterov,wd", [(0.0, 0.0, False, 0.0),
                                                             (0.9, 0.0, True, 0.01),
                                                             (0.9, 0.5, False, 0.0)])
def test_sgd(K, dtype, momentum, dampening, nesterov, wd):
    p0, g1, g2 = rnd((50, 3), dtype), rnd((50, 3), dtype, seed=1), rnd((50, 3), dtype, seed=2)
    pk, pr = p0.copy(), p0.copy()
    bk = np.zeros_like(p0) if momentum else None
    br = np.zeros_like(p0) if momentum else None
    for first, g in ((True, g1), (False, g2)):
        K.sgd_step(pk, g, bk, 0.1, momentum, dampening, nesterov, wd, first)
        R.sgd_step(pr, g, br, 0.1, momentum, dampening, nesterov, wd, first)
    close(pk, pr, dtype, atol=1e-6)
    torch = pytest.importorskip("torch")
    tp = torch.tensor(p0.astype(np.float64), requires_grad=True)
    opt = torch.optim.SGD([tp], lr=0.1, momentum=momentum, dampening=dampening,
                          nesterov=nesterov, weight_decay=wd)
    for g in (g1, g2):
        tp.grad = torch.from_numpy(g.astype(np.float64))
        opt.step()
    close(pr, tp.detach().numpy(), dtype, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("wd,decoupled", [(0.0, False), (0.1, False), (0.1, True)])
def test_adam(K, dtype, wd, decoupled):
    p0 = rnd((40,), dtype)
    grads = [rnd((40,), dtype, seed=s) for s in (1, 2, 3)]
    state = {}
    for name, mod in (("k", K), ("r", R)):
        p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
        for step, g in enumerate(grads, 1):
            mod.adam_step(p, g, m, v, step, 1e-2, 0.9, 0.999, 1e-8, wd, decoupled)
        state[name] = p
    close(state["k"], state["r"], dtype, rtol=1e-5, atol=1e-6)
    torch = pytest.importorskip("torch")
    tp = torch.tensor(p0.astype(np.float64), requires_grad=True)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = cls([tp], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    for g in grads:
        tp.grad = torch.from_numpy(g.astype(np.float64))
        opt.step()
    close(state["r"], tp.detach().numpy(), dtype, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- plain-Python mode
def test_kernels_run_with_jit_disabled():
    code = ("import numpy as np, numba\n"
            "from kernels import cpu\n"
            "assert not hasattr(cpu._im2col_k, 'py_func'), 'still jitted'\n"
            "x = np.arange(2*2*4*4, dtype=np.float64).reshape(2, 2, 4, 4)\n"
            "from kernels import reference as R\n"
            "assert np.allclose(cpu.im2col(x, 3, 3, 1, 1), R.im2col(x, 3, 3, 1, 1))\n"
            "a = np.linspace(-3, 3, 7)\n"
            "out = np.empty_like(a); cpu._relu_backward_k(a, a, out)\n"
            "assert np.allclose(out, R.relu_backward(a, a))\n"
            "x[1, 1, 2, 2] = np.nan\n"
            "for got, want in zip(cpu.max_pool2d_forward(x, 3, 2, 1), R.max_pool2d_forward(x, 3, 2, 1)):\n"
            "    assert np.array_equal(got, want, equal_nan=True)\n"
            "print('plain-python-ok')\n")
    run_without_jit(code, "plain-python-ok")

