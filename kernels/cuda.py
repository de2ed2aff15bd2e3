"""numba.cuda kernels: same names and argument order as ``kernels.reference``.

Inputs and outputs are numba device arrays (make them with ``to_device``, read
them back with ``to_host``).  ``numba.cuda`` is imported lazily, on the first
kernel call, so importing this module never needs a GPU or a driver, and the
same code runs in numba's CUDA *simulator* (``NUMBA_ENABLE_CUDASIM=1``, set
before Python starts) where every thread is a Python thread you can break into.

Patterns used (kept deliberately simple; the simulator has no warp shuffles):

* elementwise ops: a 1-D grid-stride loop (`for i in range(start, n, stride)`),
  so one launch configuration covers any size;
* reductions / softmax rows: one block per row (or per chunk), a tree
  reduction in shared memory with ``cuda.syncthreads()`` between levels;
* matmul: 64x64 C tiles per block held in registers, 16x16 threads each owning
  a 4x4 register tile; A and B tiles of depth 8 staged through shared memory.

Ops without a device kernel here (comparisons, where, max/min/argmax/argmin,
log_softmax_backward, im2col/col2im, max pooling, non-trivial broadcasting)
run through the numpy reference via a host round trip -- correct, but slow; see
docs/kernels.md.
"""
import functools
import math

import numpy as np

from . import reference as _ref

import os

# threads per block for 1-D kernels and row reductions (a power of two); the simulator
# runs each thread as a Python thread, so use fewer there
_TPB = 32 if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else 256
_BM = _BN = 64       # matmul block tile
_BK = 8              # matmul K-depth staged in shared memory
_TM = _TN = 4        # per-thread register tile (16x16 threads x 4x4 = 64x64)
cuda = None          # numba.cuda, bound lazily by _k()


def is_available():
    """True if numba.cuda can run kernels here (a GPU, or the simulator). Never raises."""
    try:
        from numba import cuda
        return bool(cuda.is_available())
    except Exception:
        return False


def _cuda():
    from numba import cuda
    return cuda


def to_device(a):
    """Copy a numpy array (made contiguous) to the device."""
    return _cuda().to_device(np.ascontiguousarray(a))


def to_host(d):
    """Copy a device array back to a numpy array (numpy input passes through)."""
    if isinstance(d, np.ndarray) or np.isscalar(d):
        return np.asarray(d)
    return d.copy_to_host()


def _grid(n):
    # (module defines `max`/`min`/`sum`/`abs`/`pow`, so no builtins by those names here)
    blocks = (n + _TPB - 1) // _TPB
    return 1 if blocks < 1 else (1024 if blocks > 1024 else blocks)


@functools.lru_cache(maxsize=None)
def _k():
    """Define (once, lazily) all device kernels; returns a namespace of them."""
    # `cuda` must be a module *global* inside kernels: the simulator swaps globals that
    # refer to numba.cuda for its fake module while a kernel runs (closures are missed).
    global cuda
    cuda = _cuda()

    def binary(op):
        @cuda.jit
        def kern(a, b, out):
            start = cuda.grid(1)
            stride = cuda.gridsize(1)
            for i in range(start, out.size, stride):       # grid-stride loop
                out[i] = op(a[i], b[i])
        return kern

    def binary_scalar(op):
        @cuda.jit
        def kern(a, s, out):
            start = cuda.grid(1)
            stride = cuda.gridsize(1)
            for i in range(start, out.size, stride):
                out[i] = op(a[i], s)
        return kern

    def unary(op):
        @cuda.jit
        def kern(a, out):
            start = cuda.grid(1)
            stride = cuda.gridsize(1)
            for i in range(start, out.size, stride):
                out[i] = op(a[i])
        return kern

    dev = cuda.jit(device=True)
    ops2 = {
        "add": dev(lambda x, y: x + y),
        "sub": dev(lambda x, y: x - y),
        "mul": dev(lambda x, y: x * y),
        "div": dev(lambda x, y: x / y),
        "pow": dev(lambda x, y: x ** y),
        "maximum": dev(lambda x, y: x if (x >= y or x != x) else y),
        "minimum": dev(lambda x, y: x if (x <= y or x != x) else y),
        "relu_backward": dev(lambda g, x: g if x > 0 else 0),
        "tanh_backward": dev(lambda g, y: g * (1 - y * y)),
        "sigmoid_backward": dev(lambda g, y: g * y * (1 - y)),
    }

    @dev
    def _sigmoid(x):
        e = math.exp(-x if x >= 0 else x)          # e^-|x| <= 1: no overflow
        return 1 / (1 + e) if x >= 0 else e / (1 + e)

    ops1 = {
        "neg": dev(lambda x: -x),
        "exp": dev(lambda x: math.inf if x > 709.0 else math.exp(x)),   # (Python math raises on overflow in the simulator)
        "log": dev(lambda x: math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)),
        "sqrt": dev(lambda x: math.sqrt(x) if x >= 0 else math.nan),
        "abs": dev(lambda x: x if x >= 0 else -x),
        "tanh": dev(lambda x: math.tanh(x)),
        "sigmoid": _sigmoid,
        "relu": dev(lambda x: x if (x > 0 or x != x) else 0),
    }
    ns = {name: binary(op) for name, op in ops2.items()}
    ns.update({name + "_s": binary_scalar(op) for name, op in ops2.items()})
    ns.update({name: unary(op) for name, op in ops1.items()})

    @cuda.jit
    def clamp_k(a, lo, hi, out):
        start = cuda.grid(1)
        for i in range(start, out.size, cuda.gridsize(1)):
            x = a[i]
            x = lo if x < lo else x
            out[i] = hi if x > hi else x
    ns["clamp"] = clamp_k

    @cuda.jit
    def sum_rows_k(a, out):
        """out[r] = sum(a[r, :]): one block per row, shared-memory tree reduction."""
        buf = cuda.shared.array(_TPB, dtype=np.float64)
        r = cuda.blockIdx.x
        t = cuda.threadIdx.x
        s = 0.0
        for j in range(t, a.shape[1], cuda.blockDim.x):
            s += a[r, j]
        buf[t] = s
        cuda.syncthreads()
        step = cuda.blockDim.x // 2
        while step > 0:                       # halve the active threads each level
            if t < step:
                buf[t] += buf[t + step]
            cuda.syncthreads()
            step //= 2
        if t == 0:
            out[r] = buf[0]
    ns["sum_rows"] = sum_rows_k

    @cuda.jit
    def softmax_rows_k(x, out, log_out):
        """Softmax (or log-softmax) of each row; one block per row."""
        buf = cuda.shared.array(_TPB, dtype=np.float64)
        r = cuda.blockIdx.x
        t = cuda.threadIdx.x
        n = x.shape[1]
        m = -math.inf
        for j in range(t, n, cuda.blockDim.x):
            if x[r, j] > m:
                m = x[r, j]
        buf[t] = m
        cuda.syncthreads()
        step = cuda.blockDim.x // 2
        while step > 0:
            if t < step and buf[t + step] > buf[t]:
                buf[t] = buf[t + step]
            cuda.syncthreads()
            step //= 2
        m = buf[0]
        if m == -math.inf:
            m = 0.0
        cuda.syncthreads()
        s = 0.0
        for j in range(t, n, cuda.blockDim.x):
            s += math.exp(x[r, j] - m)        # x - max <= 0: no overflow
        buf[t] = s
        cuda.syncthreads()
        step = cuda.blockDim.x // 2
        while step > 0:
            if t < step:
                buf[t] += buf[t + step]
            cuda.syncthreads()
            step //= 2
        s = buf[0]
        for j in range(t, n, cuda.blockDim.x):
            if log_out:
                out[r, j] = x[r, j] - m - math.log(s)
            else:
                out[r, j] = math.exp(x[r, j] - m) / s
    ns["softmax_rows"] = softmax_rows_k

    @cuda.jit
    def softmax_bwd_rows_k(g, y, out):
        buf = cuda.shared.array(_TPB, dtype=np.float64)
        r = cuda.blockIdx.x
        t = cuda.threadIdx.x
        d = 0.0
        for j in range(t, g.shape[1], cuda.blockDim.x):
            d += g[r, j] * y[r, j]
        buf[t] = d
        cuda.syncthreads()
        step = cuda.blockDim.x // 2
        while step > 0:
            if t < step:
                buf[t] += buf[t + step]
            cuda.syncthreads()
            step //= 2
        d = buf[0]
        for j in range(t, g.shape[1], cuda.blockDim.x):
            out[r, j] = y[r, j] * (g[r, j] - d)
    ns["softmax_bwd_rows"] = softmax_bwd_rows_k

    @cuda.jit
    def ce_pick_k(logp, t, losses):
        i = cuda.grid(1)
        if i < losses.size:
            losses[i] = -logp[i, t[i]]
    ns["ce_pick"] = ce_pick_k

    @cuda.jit
    def exp_inplace_k(a):
        start = cuda.grid(1)
        for i in range(start, a.size, cuda.gridsize(1)):
            a[i] = math.exp(a[i])
    ns["exp_inplace"] = exp_inplace_k

    @cuda.jit
    def ce_bwd_k(gl, p, t, out):
        start = cuda.grid(1)
        C = p.shape[1]
        for k in range(start, p.size, cuda.gridsize(1)):
            r = k // C
            j = k % C
            v = p[r, j] * gl[r]
            if j == t[r]:
                v -= gl[r]
            out[r, j] = v
    ns["ce_bwd"] = ce_bwd_k

    @cuda.jit
    def matmul_k(A, B, C):
        """C = A @ B.  Block: 64x64 tile of C; thread (ty, tx): rows ty*4.., cols tx*4..."""
        sA = cuda.shared.array((_BK, _BM), dtype=np.float32)   # A tile stored k-major
        sB = cuda.shared.array((_BK, _BN), dtype=np.float32)
        acc = cuda.local.array((_TM, _TN), dtype=np.float32)   # the 4x4 register tile
        a_reg = cuda.local.array(_TM, dtype=np.float32)
        b_reg = cuda.local.array(_TN, dtype=np.float32)
        M, K = A.shape
        N = B.shape[1]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * 16 + tx
        row0 = cuda.blockIdx.y * _BM
        col0 = cuda.blockIdx.x * _BN
        for i in range(_TM):
            for j in range(_TN):
                acc[i, j] = 0
        for k0 in range(0, K, _BK):
            # 256 threads stage 64x8 of A and 8x64 of B (2 elements each), zero-padded
            for e in range(tid, _BM * _BK, 256):
                r = e // _BK
                kk = e % _BK
                sA[kk, r] = A[row0 + r, k0 + kk] if (row0 + r < M and k0 + kk < K) else 0
                kk2 = e // _BN
                c = e % _BN
                sB[kk2, c] = B[k0 + kk2, col0 + c] if (k0 + kk2 < K and col0 + c < N) else 0
            cuda.syncthreads()
            for kk in range(_BK):
                for i in range(_TM):
                    a_reg[i] = sA[kk, ty * _TM + i]
                for j in range(_TN):
                    b_reg[j] = sB[kk, tx * _TN + j]
                for i in range(_TM):
                    for j in range(_TN):
                        acc[i, j] += a_reg[i] * b_reg[j]   # outer product in registers
            cuda.syncthreads()
        for i in range(_TM):
            r = row0 + ty * _TM + i
            if r < M:
                for j in range(_TN):
                    c = col0 + tx * _TN + j
                    if c < N:
                        C[r, c] = acc[i, j]
    ns["matmul_f32"] = matmul_k

    # float64 variant: same code, float64 staging (shared arrays need a fixed dtype)
    @cuda.jit
    def matmul_k64(A, B, C):
        sA = cuda.shared.array((_BK, _BM), dtype=np.float64)
        sB = cuda.shared.array((_BK, _BN), dtype=np.float64)
        acc = cuda.local.array((_TM, _TN), dtype=np.float64)
        M, K = A.shape
        N = B.shape[1]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * 16 + tx
        row0 = cuda.blockIdx.y * _BM
        col0 = cuda.blockIdx.x * _BN
        for i in range(_TM):
            for j in range(_TN):
                acc[i, j] = 0
        for k0 in range(0, K, _BK):
            for e in range(tid, _BM * _BK, 256):
                r = e // _BK
                kk = e % _BK
                sA[kk, r] = A[row0 + r, k0 + kk] if (row0 + r < M and k0 + kk < K) else 0
                kk2 = e // _BN
                c = e % _BN
                sB[kk2, c] = B[k0 + kk2, col0 + c] if (k0 + kk2 < K and col0 + c < N) else 0
            cuda.syncthreads()
            for kk in range(_BK):
                for i in range(_TM):
                    a = sA[kk, ty * _TM + i]
                    for j in range(_TN):
                        acc[i, j] += a * sB[kk, tx * _TN + j]
            cuda.syncthreads()
        for i in range(_TM):
            r = row0 + ty * _TM + i
            if r < M:
                for j in range(_TN):
                    c = col0 + tx * _TN + j
                    if c < N:
                        C[r, c] = acc[i, j]
    ns["matmul_f64"] = matmul_k64

    @cuda.jit
    def sgd_k(p, g, buf, lr, momentum, dampening, nesterov, wd, first, has_buf):
        start = cuda.grid(1)
        for i in range(start, p.size, cuda.gridsize(1)):
            d = g[i] + wd * p[i] if wd != 0 else g[i]
            if has_buf:
                b = d if first else momentum * buf[i] + (1 - dampening) * d
                buf[i] = b
                d = d + momentum * b if nesterov else b
            p[i] = p[i] - lr * d
    ns["sgd"] = sgd_k

    @cuda.jit
    def adam_k(p, g, m, v, lr, beta1, beta2, eps, wd, decoupled, bc1, bc2_sqrt):
        start = cuda.grid(1)
        for i in range(start, p.size, cuda.gridsize(1)):
            gi = g[i]
            if wd != 0:
                if decoupled:
                    p[i] = p[i] * (1 - lr * wd)
                else:
                    gi = gi + wd * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            p[i] = p[i] - (lr / bc1) * (m[i] / (math.sqrt(v[i]) / bc2_sqrt + eps))
    ns["adam"] = adam_k
    return ns


# ---------------------------------------------------------------------------- helpers
def _is_dev(x):
    return hasattr(x, "copy_to_host")


def _flat(d):
    return d.reshape(d.size) if d.ndim != 1 else d


def _empty(shape, dtype):
    return _cuda().device_array(shape, dtype=dtype)


def _host_fallback(fn, *args, **kw):
    """Run the numpy reference on host copies and return device arrays."""
    hargs = [to_host(a) if _is_dev(a) else a for a in args]
    res = fn(*hargs, **kw)
    if isinstance(res, tuple):
        return tuple(to_device(np.asarray(r)) for r in res)
    return None if res is None else to_device(np.asarray(res))


def _binary(name, a, b):
    if a.ndim == 0 or a.size == 0:
        return _host_fallback(getattr(_ref, name), a, b)
    if _is_dev(b) and a.shape == b.shape and a.dtype == b.dtype:
        out = _empty(a.shape, a.dtype)
        _k()[name][_grid(a.size), _TPB](_flat(a), _flat(b), _flat(out))
        return out
    if not _is_dev(b) and np.ndim(b) == 0:
        s = a.dtype.type(b)
        out = _empty(a.shape, a.dtype)
        _k()[name + "_s"][_grid(a.size), _TPB](_flat(a), s, _flat(out))
        return out
    return _host_fallback(getattr(_ref, name), a, b)


def _unary(name, a):
    if a.size == 0 or a.ndim == 0:          # empty / 0-d: not worth a launch
        return _host_fallback(getattr(_ref, name), a)
    out = _empty(a.shape, a.dtype)
    _k()[name][_grid(a.size), _TPB](_flat(a), _flat(out))
    return out


def add(a, b): return _binary("add", a, b)                          # noqa: E704
def sub(a, b): return _binary("sub", a, b)                          # noqa: E704
def mul(a, b): return _binary("mul", a, b)                          # noqa: E704
def div(a, b): return _binary("div", a, b)                          # noqa: E704
def pow(a, b): return _binary("pow", a, b)                          # noqa: E704
def maximum(a, b): return _binary("maximum", a, b)                  # noqa: E704
def minimum(a, b): return _binary("minimum", a, b)                  # noqa: E704
def relu_backward(grad, x): return _binary("relu_backward", grad, x)        # noqa: E704
def tanh_backward(grad, y): return _binary("tanh_backward", grad, y)        # noqa: E704
def sigmoid_backward(grad, y): return _binary("sigmoid_backward", grad, y)  # noqa: E704
def neg(a): return _unary("neg", a)                                 # noqa: E704
def exp(a): return _unary("exp", a)                                 # noqa: E704
def log(a): return _unary("log", a)                                 # noqa: E704
def sqrt(a): return _unary("sqrt", a)                               # noqa: E704
def abs(a): return _unary("abs", a)                                 # noqa: E704
def tanh(a): return _unary("tanh", a)                               # noqa: E704
def sigmoid(a): return _unary("sigmoid", a)                         # noqa: E704
def relu(a): return _unary("relu", a)                               # noqa: E704


def clamp(a, lo, hi):
    """Clip to [lo, hi] (None = unbounded)."""
    if a.size == 0:
        return _host_fallback(_ref.clamp, a, lo, hi)
    out = _empty(a.shape, a.dtype)
    _k()["clamp"][_grid(a.size), _TPB](_flat(a), a.dtype.type(-np.inf if lo is None else lo),
                                      a.dtype.type(np.inf if hi is None else hi), _flat(out))
    return out


# host round trip (no device kernel written yet) -------------------------------
def eq(a, b): return _host_fallback(_ref.eq, a, b)                  # noqa: E704
def ne(a, b): return _host_fallback(_ref.ne, a, b)                  # noqa: E704
def lt(a, b): return _host_fallback(_ref.lt, a, b)                  # noqa: E704
def le(a, b): return _host_fallback(_ref.le, a, b)                  # noqa: E704
def gt(a, b): return _host_fallback(_ref.gt, a, b)                  # noqa: E704
def ge(a, b): return _host_fallback(_ref.ge, a, b)                  # noqa: E704
def where(cond, a, b): return _host_fallback(_ref.where, cond, a, b)            # noqa: E704
def max(a, axis=None, keepdims=False): return _host_fallback(_ref.max, a, axis, keepdims)  # noqa
def min(a, axis=None, keepdims=False): return _host_fallback(_ref.min, a, axis, keepdims)  # noqa
def argmax(a, axis=None, keepdims=False): return _host_fallback(_ref.argmax, a, axis, keepdims)  # noqa
def argmin(a, axis=None, keepdims=False): return _host_fallback(_ref.argmin, a, axis, keepdims)  # noqa
def log_softmax_backward(grad, y, axis): return _host_fallback(_ref.log_softmax_backward, grad, y, axis)  # noqa
def im2col(x, kh, kw, stride, padding): return _host_fallback(_ref.im2col, x, kh, kw, stride, padding)  # noqa
def col2im(cols, x_shape, kh, kw, stride, padding): return _host_fallback(_ref.col2im, cols, x_shape, kh, kw, stride, padding)  # noqa
def max_pool2d_forward(x, kernel, stride, padding): return _host_fallback(_ref.max_pool2d_forward, x, kernel, stride, padding)  # noqa
def max_pool2d_backward(grad_out, argmax, x_shape): return _host_fallback(_ref.max_pool2d_backward, grad_out, argmax, x_shape)  # noqa


# ---------------------------------------------------------------------------- reductions
def sum(a, axis=None, keepdims=False):
    """Sum; device kernel when reducing everything or the trailing axes, else host."""
    axes = tuple(range(a.ndim)) if axis is None else (
        (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis))
    trailing = tuple(range(a.ndim - len(axes), a.ndim))
    if a.size == 0 or not axes or tuple(sorted(axes)) != trailing:
        return _host_fallback(_ref.sum, a, axis, keepdims)
    rows = int(np.prod(a.shape[:a.ndim - len(axes)]))
    out = _empty(rows, np.float64)
    _k()["sum_rows"][rows, _TPB](a.reshape(rows, a.size // rows), out)
    res = to_host(out).astype(a.dtype)
    shape = [d for d in a.shape[:a.ndim - len(axes)]] + ([1] * len(axes) if keepdims else [])
    return to_device(res.reshape(shape))


# ---------------------------------------------------------------------------- matmul
def matmul(a, b):
    """a @ b on device: tiled shared-memory kernel per 2-D slice (batch dims broadcast)."""
    dt = np.result_type(a.dtype, b.dtype)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    M, K, N = tuple(a.shape)[-2], tuple(a.shape)[-1], tuple(b.shape)[-1]
    out = _empty(batch + (M, N), dt)
    if out.size == 0:
        return out
    if K == 0:
        return to_device(np.zeros(batch + (M, N), dt))
    kern = _k()["matmul_f32" if dt == np.float32 else "matmul_f64"]
    grid = ((N + _BN - 1) // _BN, (M + _BM - 1) // _BM)
    for idx in np.ndindex(*batch):
        ia = tuple(i if d > 1 else 0 for i, d in zip(idx[len(idx) - a.ndim + 2:], a.shape[:-2]))
        ib = tuple(i if d > 1 else 0 for i, d in zip(idx[len(idx) - b.ndim + 2:], b.shape[:-2]))
        kern[grid, (16, 16)](a[ia] if ia else a, b[ib] if ib else b, out[idx] if idx else out)
    return out


# ---------------------------------------------------------------------------- softmax family
def _softmax(x, axis, log_out):
    if x.size == 0 or axis != x.ndim - 1:
        return _host_fallback(_ref.log_softmax if log_out else _ref.softmax, x, axis)
    n = tuple(x.shape)[-1]
    x2 = x.reshape(x.size // n, n)
    out = _empty(x2.shape, x.dtype)
    _k()["softmax_rows"][x2.shape[0], _TPB](x2, out, log_out)
    return out.reshape(x.shape)


def softmax(x, axis):
    """Softmax along axis (device kernel for the last axis; one block per row)."""
    return _softmax(x, axis, False)


def log_softmax(x, axis):
    """Log-softmax along axis."""
    return _softmax(x, axis, True)


def softmax_backward(grad, y, axis):
    """y * (grad - sum(grad*y)) per row."""
    if grad.size == 0 or axis != grad.ndim - 1:
        return _host_fallback(_ref.softmax_backward, grad, y, axis)
    n = tuple(grad.shape)[-1]
    g2, y2 = grad.reshape(grad.size // n, n), y.reshape(y.size // n, n)
    out = _empty(g2.shape, grad.dtype)
    _k()["softmax_bwd_rows"][g2.shape[0], _TPB](g2, y2, out)
    return out.reshape(grad.shape)


def cross_entropy_forward(logits, targets):
    """(losses, probs): log-softmax rows on device, then pick -logp[target]."""
    if logits.size == 0:
        return _host_fallback(_ref.cross_entropy_forward, logits, targets)
    t = targets if _is_dev(targets) else to_device(np.asarray(targets, np.int64))
    logp = log_softmax(logits, 1)
    losses = _empty(logits.shape[0], logits.dtype)
    _k()["ce_pick"][_grid(losses.size), _TPB](logp, t, losses)
    _k()["exp_inplace"][_grid(logp.size), _TPB](_flat(logp))       # logp -> probs in place
    return losses, logp


def cross_entropy_backward(grad_losses, probs, targets):
    """(probs - onehot(targets)) * grad_losses[:, None]."""
    if probs.size == 0:
        return _host_fallback(_ref.cross_entropy_backward, grad_losses, probs, targets)
    t = targets if _is_dev(targets) else to_device(np.asarray(targets, np.int64))
    gl = grad_losses if _is_dev(grad_losses) else to_device(np.asarray(grad_losses, probs.dtype))
    out = _empty(probs.shape, probs.dtype)
    _k()["ce_bwd"][_grid(probs.size), _TPB](gl, probs, t, out)
    return out


# ---------------------------------------------------------------------------- optimizers
def sgd_step(param, grad, momentum_buf, lr, momentum, dampening, nesterov, weight_decay,
             first_step):
    """In-place SGD on device arrays."""
    has_buf = momentum != 0
    buf = _flat(momentum_buf) if has_buf else _flat(param)
    _k()["sgd"][_grid(param.size), _TPB](_flat(param), _flat(grad), buf, float(lr),
                                         float(momentum), float(dampening), bool(nesterov),
                                         float(weight_decay), bool(first_step), has_buf)


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              decoupled):
    """In-place Adam/AdamW on device arrays."""
    _k()["adam"][_grid(param.size), _TPB](
        _flat(param), _flat(grad), _flat(exp_avg), _flat(exp_avg_sq), float(lr), float(beta1),
        float(beta2), float(eps), float(weight_decay), bool(decoupled), 1 - beta1 ** step,
        math.sqrt(1 - beta2 ** step))
