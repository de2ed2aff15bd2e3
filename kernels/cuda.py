"""numba.cuda backend: same names and argument order as ``kernels.reference``.

Inputs and outputs are numba device arrays (make them with ``to_device``, read them back
with ``to_host``).  Every function here runs on the device: data crosses to the host only in
``to_host`` (and for the single integer in ``_read_count``, see "The one exception" below).
This file is the *host* side -- shapes, dtypes, launch sizes; the kernels themselves, what
one GPU thread does, are in ``kernels/cuda_device.py``, imported on the first call so that
``import kernels.cuda`` needs neither a GPU nor a driver.  The same code runs in numba's CUDA
*simulator* (``NUMBA_ENABLE_CUDASIM=1``, set before Python starts), where every thread is a
Python thread you can break into.

Layout rule: every array this module returns is **C-contiguous**.  Numba device arrays have
no general strided views, so ``transpose``, ``broadcast_to`` and ``getitem`` return copies
made by a strided-copy kernel (they are views in numpy).  In exchange every kernel can treat
its inputs as flat 1-D arrays, and ``reshape`` always works.  N-d layouts reach a kernel as a
``shape`` tuple plus a ``strides`` tuple in elements; a stride of 0 reads one element many
times, which is how broadcasting operands are read without copying them first.

The one exception: a boolean mask index (``x[mask]``) makes an array whose size is the number
of True entries, so that one integer is read back to the host to allocate the result
(PyTorch synchronises there too).  The mask itself stays on the device.

Integer index arrays that live on the device are not bounds-checked (a GPU thread cannot
raise; PyTorch uses a device-side assert).  Index arrays given from the host (Python lists)
are checked before they are copied over.
"""
import importlib
import math
import os
from collections import namedtuple

import numpy as np

from . import reference as _ref

_SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
# the simulator runs blocks one after another and each thread as a Python thread: give it few
_MAX_BLOCKS = 2 if _SIMULATOR else 1024          # grid-stride kernels
_MAX_ROW_BLOCKS = 2 if _SIMULATOR else 65535     # one block per row / output element
_dev_module = None


def _dev():
    """kernels.cuda_device, imported on first use (importing numba.cuda costs ~1 s)."""
    global _dev_module
    if _dev_module is None:
        _make_simulator_faithful()
        _dev_module = importlib.import_module("kernels.cuda_device")
    return _dev_module


def _make_simulator_faithful():
    """Under the simulator, let fake device arrays report their shape as a plain tuple, as
    real ones do: the simulator's shape tuples refuse negative indexes (`a.shape[-1]`), which
    would fail code that works on a GPU."""
    if _SIMULATOR:
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray
        FakeCUDAArray.shape = property(lambda self: self._ary.shape)


def is_available():
    """True if numba.cuda can run kernels here (a GPU, or the simulator). Never raises."""
    try:
        from numba import cuda
        return bool(cuda.is_available())
    except Exception:
        return False


def to_device(a):
    """Copy a numpy array (made contiguous) to the device."""
    from numba import cuda
    _make_simulator_faithful()
    a = np.asarray(a)
    # (np.ascontiguousarray alone would turn a 0-d array into a 1-d one)
    return cuda.to_device(np.ascontiguousarray(a).reshape(a.shape))


def to_host(d):
    """Copy a device array back to a numpy array (numpy input passes through)."""
    if isinstance(d, np.ndarray) or np.isscalar(d):
        return np.asarray(d)
    return d.copy_to_host()


# ============================================================================ helpers
def _is_dev(x):
    return getattr(x, "__cuda_ndarray__", False)


def _is_scalar(x):
    return isinstance(x, (bool, int, float, np.generic))


def _check_device(*xs):
    """Refuse host arrays next to device arrays: data never moves between devices silently."""
    for x in xs:
        if isinstance(x, np.ndarray):
            raise RuntimeError("Expected all tensors to be on the same device, but found at "
                               "least two devices, cuda:0 and cpu!")


def _empty(shape, dtype):
    from numba import cuda
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    return cuda.device_array(tuple(int(s) for s in shape), dtype=np.dtype(dtype))


def _flat(a):
    """The 1-D view of a C-contiguous device array (every array here is one)."""
    return a.reshape(a.size) if a.ndim != 1 else a


def _shape(a):
    # a plain tuple: the simulator's shapes reject negative indexes
    return tuple(int(s) for s in a.shape)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _contiguous_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def _padded(*tuples):
    """Kernel tuples need at least one entry: a 0-d layout is one element at offset 0."""
    if len(tuples[0]) == 0:
        return tuple((1,) if i == 0 else (0,) for i in range(len(tuples)))
    return tuple(tuple(int(v) for v in t) for t in tuples)


def _grid(n):
    """Blocks for a grid-stride loop over n items (a grid-stride loop works with any count)."""
    blocks = (n + _dev().TPB - 1) // _dev().TPB
    return 1 if blocks < 1 else (_MAX_BLOCKS if blocks > _MAX_BLOCKS else blocks)


def _launch(kernel, n):
    return kernel[_grid(n), _dev().TPB]


def _row_launch(kernel, rows):
    return kernel[1 if rows < 1 else (rows if rows < _MAX_ROW_BLOCKS else _MAX_ROW_BLOCKS),
                  _dev().TPB]


def _broadcast_strides(shape, target):
    """Element strides that read a contiguous array of `shape` as if broadcast to `target`
    (0 along the dims it is repeated on)."""
    if len(shape) > len(target) or any(s != t and s != 1 for s, t in
                                       zip(shape[::-1], target[::-1])):
        raise ValueError(f"operands could not be broadcast together with shapes "
                         f"{shape} {target}")
    own = _contiguous_strides(shape)
    lead = len(target) - len(shape)
    return (0,) * lead + tuple(0 if s == 1 and t != 1 else st
                               for s, t, st in zip(shape, target[lead:], own))


def _full(shape, value, dtype):
    out = _empty(shape, dtype)
    if out.size:
        _launch(_dev().fill_k, out.size)(_flat(out), np.dtype(dtype).type(value))
    return out


# ============================================================================ elementwise
def _result_dtype(name, a, b):
    """The dtype the numpy reference would give: ask it on one-element stand-ins."""
    with np.errstate(all="ignore"):
        return getattr(_ref, name)(*(np.ones(1, x.dtype) if _is_dev(x) else x
                                     for x in (a, b))).dtype


def _binary(name, a, b):
    if isinstance(a, np.generic) or (isinstance(a, np.ndarray) and a.ndim == 0):
        a = a.item()           # numpy scalars count as Python numbers (weakly typed)
    if isinstance(b, np.generic) or (isinstance(b, np.ndarray) and b.ndim == 0):
        b = b.item()
    _check_device(a, b)
    if not _is_dev(a) and not _is_dev(b):     # two numbers (e.g. `b - 1` in pow's backward)
        return getattr(_ref, name)(a, b)
    dtype = _result_dtype(name, a, b)
    same, broadcast, scalar_b, scalar_a = _dev().BINARY[name]
    if not _is_dev(b):                    # array op number: the number is a kernel argument
        out = _empty(a.shape, dtype)
        if out.size:
            s = np.result_type(a.dtype, b).type(b)
            _launch(scalar_b, out.size)(_flat(a), s, _flat(out))
        return out
    if not _is_dev(a):
        out = _empty(b.shape, dtype)
        if out.size:
            s = np.result_type(b.dtype, a).type(a)
            _launch(scalar_a, out.size)(s, _flat(b), _flat(out))
        return out
    sa, sb = _shape(a), _shape(b)
    if sa == sb:
        out = _empty(sa, dtype)
        if out.size:
            _launch(same, out.size)(_flat(a), _flat(b), _flat(out))
        return out
    shape = tuple(np.broadcast_shapes(sa, sb))       # raises ValueError like numpy
    out = _empty(shape, dtype)
    if out.size:
        shape_t, a_strides, b_strides = _padded(shape, _broadcast_strides(sa, shape),
                                                _broadcast_strides(sb, shape))
        _launch(broadcast, out.size)(_flat(a), a_strides, _flat(b), b_strides, _flat(out), shape_t)
    return out


def add(a, b): return _binary("add", a, b)                          # noqa: E704
def sub(a, b): return _binary("sub", a, b)                          # noqa: E704
def mul(a, b): return _binary("mul", a, b)                          # noqa: E704
def div(a, b): return _binary("div", a, b)                          # noqa: E704
def pow(a, b): return _binary("pow", a, b)                          # noqa: E704
def maximum(a, b): return _binary("maximum", a, b)                  # noqa: E704
def minimum(a, b): return _binary("minimum", a, b)                  # noqa: E704
def eq(a, b): return _binary("eq", a, b)                            # noqa: E704
def ne(a, b): return _binary("ne", a, b)                            # noqa: E704
def lt(a, b): return _binary("lt", a, b)                            # noqa: E704
def le(a, b): return _binary("le", a, b)                            # noqa: E704
def gt(a, b): return _binary("gt", a, b)                            # noqa: E704
def ge(a, b): return _binary("ge", a, b)                            # noqa: E704
def logical_and(a, b): return _binary("logical_and", a, b)          # noqa: E704
def logical_or(a, b): return _binary("logical_or", a, b)            # noqa: E704
def relu_backward(grad, x): return _binary("relu_backward", grad, x)        # noqa: E704
def tanh_backward(grad, y): return _binary("tanh_backward", grad, y)        # noqa: E704
def sigmoid_backward(grad, y): return _binary("sigmoid_backward", grad, y)  # noqa: E704


def _unary(name, a, dtype=None):
    if not _is_dev(a):                        # a number (e.g. log(2) in the backward of 2 ** x)
        return getattr(_ref, name)(a)
    out = _empty(a.shape, a.dtype if dtype is None else dtype)
    if out.size:
        _launch(_dev().UNARY[name], out.size)(_flat(a), _flat(out))
    return out


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
    out = _empty(a.shape, a.dtype)
    if out.size:
        t = a.dtype.type
        _launch(_dev().clamp_k, out.size)(_flat(a), t(-np.inf if lo is None else lo),
                                          t(np.inf if hi is None else hi), _flat(out))
    return out


def where(cond, a, b):
    """cond ? a : b elementwise; all three broadcast, and a or b may be a Python number."""
    _check_device(cond, a, b)
    dtype = np.result_type(a.dtype if _is_dev(a) else a, b.dtype if _is_dev(b) else b)
    # a number becomes a one-element array (filled on the device) read with stride 0
    a = a if _is_dev(a) else _full((), a, dtype)
    b = b if _is_dev(b) else _full((), b, dtype)
    if not _is_dev(cond):
        cond = _full((), bool(cond), np.bool_)
    shapes = [_shape(x) for x in (cond, a, b)]
    shape = tuple(np.broadcast_shapes(*shapes))
    out = _empty(shape, dtype)
    if out.size:
        shape_t, cs, as_, bs = _padded(shape, *(_broadcast_strides(s, shape) for s in shapes))
        _launch(_dev().where_k, out.size)(_flat(cond), cs, _flat(a), as_, _flat(b), bs,
                                          _flat(out), shape_t)
    return out


# ============================================================================ reductions
def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted({int(ax) % ndim if ndim else 0 for ax in axes}))


def _reduce_layout(shape, axes, keepdims):
    """Split `shape` into the kept dims (one output element each) and the reduced dims
    (summed into it), each with its strides into the contiguous input."""
    strides = _contiguous_strides(shape)
    keep = [d for d in range(len(shape)) if d not in axes]
    keep_shape, keep_strides = _padded(tuple(shape[d] for d in keep), tuple(strides[d] for d in keep))
    red_shape, red_strides = _padded(tuple(shape[d] for d in axes), tuple(strides[d] for d in axes))
    out_shape = tuple(1 if d in axes else s for d, s in enumerate(shape)) if keepdims else \
        tuple(shape[d] for d in keep)
    return out_shape, keep_shape, keep_strides, red_shape, red_strides, _numel(red_shape)


def sum(a, axis=None, keepdims=False):
    """Sum over axis (None = all, int, or tuple): one block per output element, float64 accumulation."""
    shape = _shape(a)
    axes = _axes(axis, len(shape))
    dtype = _ref.sum(np.ones(1, a.dtype)).dtype          # numpy's rule: bool/int32 sum to int64
    out_shape, keep_shape, keep_strides, red_shape, red_strides, red_size = \
        _reduce_layout(shape, axes, keepdims)
    if a.size == 0 or not axes:
        return zeros(out_shape, dtype) if a.size == 0 else astype(a.reshape(out_shape), dtype)
    out = _empty(out_shape, dtype)
    _row_launch(_dev().sum_k, out.size)(_flat(a), _flat(out), keep_shape, keep_strides,
                                        red_shape, red_strides, red_size)
    return out


def _argbest(a, axis, keepdims, want_max, what):
    shape = _shape(a)
    axes = _axes(axis, len(shape))
    out_shape, keep_shape, keep_strides, red_shape, red_strides, red_size = \
        _reduce_layout(shape, axes, keepdims)
    values, indices = _empty(out_shape, a.dtype), _empty(out_shape, np.int64)
    if values.size == 0:
        return values, indices
    if red_size == 0:
        raise ValueError(f"zero-size array to reduction operation {what} which has no identity")
    _row_launch(_dev().argbest_k, values.size)(_flat(a), _flat(values), _flat(indices), keep_shape,
                                               keep_strides, red_shape, red_strides, red_size,
                                               want_max)
    return values, indices


def max(a, axis=None, keepdims=False):
    """Max over axis; NaN propagates."""
    return _argbest(a, axis, keepdims, True, "maximum")[0]


def min(a, axis=None, keepdims=False):
    return _argbest(a, axis, keepdims, False, "minimum")[0]


def argmax(a, axis=None, keepdims=False):
    """Index (int64) of the first maximum along axis (flat index when axis is None)."""
    return _argbest(a, axis, keepdims, True, "maximum")[1]


def argmin(a, axis=None, keepdims=False):
    return _argbest(a, axis, keepdims, False, "minimum")[1]


# ============================================================================ matmul
def _as_batch(x, batch, dtype):
    """x as a 3-D (batch or 1, rows, cols) array of `dtype` for the batched kernel."""
    x = x if x.dtype == dtype else astype(x, dtype)
    shape = _shape(x)
    own = shape[:-2]
    if _numel(own) == 1:
        return x.reshape((1,) + shape[-2:])
    if (1,) * (len(batch) - len(own)) + own != batch:    # partly broadcast: materialise it
        x = broadcast_to(x, batch + shape[-2:])
    return x.reshape((_numel(batch),) + shape[-2:])


def matmul(a, b):
    """a @ b on device: one launch of the tiled kernel, batch entries along grid z."""
    _check_device(a, b)
    sa, sb = _shape(a), _shape(b)
    if len(sa) < 2 or len(sb) < 2:
        raise ValueError("matmul: both operands need at least 2 dimensions here")
    if sa[-1] != sb[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0 "
                         f"(size {sb[-2]} is different from {sa[-1]})")
    dtype = np.result_type(a.dtype, b.dtype)
    compute = np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)
    batch = tuple(np.broadcast_shapes(sa[:-2], sb[:-2]))
    M, K, N = sa[-2], sa[-1], sb[-1]
    out_shape = batch + (M, N)
    if _numel(out_shape) == 0 or K == 0:
        return zeros(out_shape, dtype)
    out = _empty((_numel(batch), M, N), compute)
    kernel = _dev().matmul_f32_k if compute == np.float32 else _dev().matmul_f64_k
    grid = ((N + _dev().BN - 1) // _dev().BN, (M + _dev().BM - 1) // _dev().BM, _numel(batch))
    threads = (_dev().MM_THREADS, _dev().MM_THREADS)
    kernel[grid, threads](_as_batch(a, batch, compute), _as_batch(b, batch, compute), out)
    out = out.reshape(out_shape)
    return out if compute == dtype else astype(out, dtype)


# ============================================================================ softmax family
def _row_layout(shape, axis):
    """Rows along `axis`: where each row starts (kept dims) and the step between its elements."""
    strides = _contiguous_strides(shape)
    keep = [d for d in range(len(shape)) if d != axis]
    keep_shape, keep_strides = _padded(tuple(shape[d] for d in keep), tuple(strides[d] for d in keep))
    return keep_shape, keep_strides, shape[axis], strides[axis]


def _softmax(x, axis, log_out):
    shape = _shape(x)
    out = _empty(shape, x.dtype)
    if out.size == 0:
        return out
    keep_shape, keep_strides, n, step = _row_layout(shape, axis % len(shape))
    _row_launch(_dev().softmax_k, out.size // n)(_flat(x), _flat(out), keep_shape, keep_strides,
                                                  n, step, log_out)
    return out


def softmax(x, axis):
    """Softmax along axis: one block per row, any axis (rows are read with a stride)."""
    return _softmax(x, axis, False)


def log_softmax(x, axis):
    return _softmax(x, axis, True)


def _softmax_backward(grad, y, axis, log_out):
    _check_device(grad, y)
    shape = _shape(grad)
    out = _empty(shape, grad.dtype)
    if out.size == 0:
        return out
    keep_shape, keep_strides, n, step = _row_layout(shape, axis % len(shape))
    _row_launch(_dev().softmax_backward_k, out.size // n)(
        _flat(grad), _flat(y), _flat(out), keep_shape, keep_strides, n, step, log_out)
    return out


def softmax_backward(grad, y, axis):
    """y * (grad - sum(grad*y)) per row."""
    return _softmax_backward(grad, y, axis, False)


def log_softmax_backward(grad, y, axis):
    """grad - exp(y) * sum(grad) per row."""
    return _softmax_backward(grad, y, axis, True)


def cross_entropy_forward(logits, targets):
    """(losses, probs): log-softmax rows, pick -logp[target], then exp in place gives probs."""
    _check_device(logits, targets)
    logp = log_softmax(logits, 1)
    losses = _empty(_shape(logits)[0], logits.dtype)
    if logits.size:
        _launch(_dev().ce_pick_k, losses.size)(logp, targets, losses)
        _launch(_dev().exp_inplace_k, logp.size)(_flat(logp))
    return losses, logp


def cross_entropy_backward(grad_losses, probs, targets):
    """(probs - onehot(targets)) * grad_losses[:, None]."""
    _check_device(grad_losses, probs, targets)
    out = _empty(_shape(probs), probs.dtype)
    if out.size:
        _launch(_dev().ce_backward_k, out.size)(grad_losses, probs, targets, out)
    return out


# ============================================================================ convolution, pooling
def _pair(v):
    return _ref._pair(v)


def _out_size(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def im2col(x, kh, kw, stride, padding):
    """Unfold (N,C,H,W) into (N, C*kh*kw, OH*OW): one thread per column entry."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    n, c, h, w = _shape(x)
    oh, ow = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    cols = _empty((n, c * kh * kw, oh * ow), x.dtype)
    if cols.size:
        _launch(_dev().im2col_k, cols.size)(_flat(x), _flat(cols), c, h, w, kh, kw, sh, sw, ph, pw,
                                            oh, ow)
    return cols


def col2im(cols, x_shape, kh, kw, stride, padding):
    """Adjoint of im2col: each pixel gathers the column entries that read it."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    n, c, h, w = x_shape
    oh, ow = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    x = _empty((n, c, h, w), cols.dtype)
    if x.size:
        _launch(_dev().col2im_k, x.size)(_flat(cols), _flat(x), c, h, w, kh, kw, sh, sw, ph, pw,
                                         oh, ow)
    return x


def max_pool2d_forward(x, kernel, stride, padding):
    """Window max and the flat index h*W+w of the first max; one thread per output."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    n, c, h, w = _shape(x)
    oh, ow = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    out, argmax_ = _empty((n, c, oh, ow), x.dtype), _empty((n, c, oh, ow), np.int64)
    if out.size:
        _launch(_dev().max_pool_forward_k, out.size)(_flat(x), _flat(out), _flat(argmax_), h, w,
                                                     kh, kw, sh, sw, ph, pw, oh, ow)
    return out, argmax_


def max_pool2d_backward(grad_out, argmax, x_shape):
    """Scatter-add grad_out to the argmax pixels (atomics: windows may overlap)."""
    _check_device(grad_out, argmax)
    n, c, h, w = x_shape
    grad_x = zeros((n, c, h, w), grad_out.dtype)
    if grad_out.size:
        oh, ow = _shape(grad_out)[2:]
        _launch(_dev().max_pool_backward_k, grad_out.size)(_flat(grad_out), _flat(argmax),
                                                           _flat(grad_x), h * w, oh * ow)
    return grad_x


# ============================================================================ optimizers
def sgd_step(param, grad, momentum_buf, lr, momentum, dampening, nesterov, weight_decay,
             first_step):
    """In-place SGD on device arrays."""
    _check_device(param, grad, momentum_buf)
    has_buf = momentum != 0
    buf = _flat(momentum_buf) if has_buf else _flat(param)
    _launch(_dev().sgd_k, param.size)(_flat(param), _flat(grad), buf, float(lr), float(momentum),
                                      float(dampening), bool(nesterov), float(weight_decay),
                                      bool(first_step), has_buf)


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              decoupled):
    """In-place Adam/AdamW on device arrays."""
    _check_device(param, grad, exp_avg, exp_avg_sq)
    _launch(_dev().adam_k, param.size)(
        _flat(param), _flat(grad), _flat(exp_avg), _flat(exp_avg_sq), float(lr), float(beta1),
        float(beta2), float(eps), float(weight_decay), bool(decoupled), 1 - beta1 ** step,
        math.sqrt(1 - beta2 ** step))


# ============================================================================ memory and movement
def ones_like(a):
    return _full(_shape(a), 1, a.dtype)


def zeros(shape, dtype):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _full(shape, 0, dtype)


def copy(a):
    """A fresh contiguous copy."""
    return _unary("copy", a)


def astype(a, dtype):
    """A copy cast to dtype (to bool means != 0; float to int truncates, like numpy)."""
    dtype = np.dtype(dtype)
    return _unary("to_bool" if dtype == np.bool_ and a.dtype != np.bool_ else "copy", a, dtype)


def copy_into(destination, source):
    """Write `source` (broadcast to destination's shape, cast to its dtype) into `destination`."""
    _check_device(source)
    if not _is_dev(source):
        if destination.size:
            _launch(_dev().fill_k, destination.size)(_flat(destination),
                                                    destination.dtype.type(source))
        return
    if _shape(source) != _shape(destination):
        source = broadcast_to(source, _shape(destination))
    if destination.size:
        name = "to_bool" if destination.dtype == np.bool_ and source.dtype != np.bool_ else "copy"
        _launch(_dev().UNARY[name], destination.size)(_flat(source), _flat(destination))


def _strided_copy(a, shape, strides, base=0):
    out = _empty(shape, a.dtype)
    if out.size:
        shape_t, strides_t = _padded(shape, strides)
        _launch(_dev().strided_copy_k, out.size)(_flat(a), _flat(out), shape_t, strides_t, int(base))
    return out


def broadcast_to(a, shape):
    """`a` repeated along broadcast dims (a copy here; numpy gives a read-only view)."""
    shape = tuple(int(s) for s in shape)
    if _shape(a) == shape:
        return a
    return _strided_copy(a, shape, _broadcast_strides(_shape(a), shape))


def transpose(a, axes):
    """`a` with its axes permuted (a copy here; a view in numpy)."""
    axes = tuple(int(ax) for ax in axes)
    if axes == tuple(range(a.ndim)):
        return a
    shape, strides = _shape(a), _contiguous_strides(_shape(a))
    return _strided_copy(a, tuple(shape[ax] for ax in axes), tuple(strides[ax] for ax in axes))


# ---------------------------------------------------------------------------- indexing
# Any numpy index (ints, slices, None, Ellipsis, integer arrays, boolean masks) is turned
# into one "plan": for output element i,
#     offset(i) = base + sum_d i_d * strides[d] + sum_j idx[j, pos(i)] * idx_strides[j]
# The basic parts (slices, ints) are the strides and base; each integer array (a mask becomes
# the integer list of its True positions) is a row of `idx`, broadcast to the common index
# shape.  getitem gathers along the plan, setitem and index_backward scatter along it.
_Plan = namedtuple("_Plan", "shape strides base idx idx_pos idx_strides idx_sizes")


def _mask_positions(mask):
    """Flat positions of the True entries of a device mask, in order, computed on the device.
    The count is the one integer read back to the host (it sizes the result)."""
    mask = _flat(mask)
    chunk = 64
    chunks = (mask.size + chunk - 1) // chunk
    counts, starts, total = _empty(chunks, np.int64), _empty(chunks, np.int64), _empty(1, np.int64)
    _launch(_dev().mask_count_k, chunks)(mask, counts, chunk)
    _dev().exclusive_scan_k[1, 1](counts, starts, total)
    positions = _empty(_read_count(total), np.int64)
    if positions.size:
        _launch(_dev().mask_positions_k, chunks)(mask, starts, positions, chunk)
    return positions


def _read_count(total):
    """The one device-to-host read outside to_host: a single integer (see the module docstring)."""
    return int(total.copy_to_host()[0])


def _index_parts(index, ndim):
    """The index as a list of parts, Ellipsis expanded and trailing dims filled with full slices."""
    parts = list(index) if isinstance(index, tuple) else [index]
    used = 0                                 # source dims the parts consume
    for part in parts:
        if _is_array_index(part):
            used += part.ndim if part.dtype == np.bool_ else 1
        elif part is not None and part is not Ellipsis:
            used += 1
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, "
                         f"but {used} were indexed")
    fill = [slice(None)] * (ndim - used)
    at = [i for i, part in enumerate(parts) if part is Ellipsis]
    if at:
        parts[at[0]:at[0] + 1] = fill
        return parts
    return parts + fill


def _is_array_index(part):
    return _is_dev(part) or isinstance(part, np.ndarray)


def _index_plan(shape, index):
    """The plan for `array_of(shape)[index]` (see above)."""
    shape = tuple(int(s) for s in shape)
    strides = _contiguous_strides(shape)
    parts = _index_parts(index, len(shape))
    has_arrays = any(_is_array_index(p) for p in parts)
    basic, base, arrays = [], 0, []          # basic: (size, stride) per output dim
    first_array_at, gap, separated = None, False, False
    d = 0                                    # the source dim the next part consumes
    for part in parts:
        if _is_array_index(part) or (has_arrays and isinstance(part, (int, np.integer))):
            # with index arrays present, numpy treats an int as a 0-d index array too
            if first_array_at is None:
                first_array_at = len(basic)
            elif gap:
                separated = True             # a slice between index arrays: numpy puts them first
            if not _is_array_index(part):
                arrays.append((np.asarray(int(part)), strides[d], shape[d]))
                d += 1
            elif part.dtype == np.bool_:
                m = part.ndim
                if _shape(part) != shape[d:d + m]:
                    raise IndexError(f"boolean index did not match indexed array along dimension "
                                     f"{d}; dimension is {shape[d]} but corresponding boolean "
                                     f"dimension is {_shape(part)[0]}")
                positions = np.flatnonzero(part) if isinstance(part, np.ndarray) \
                    else _mask_positions(part)
                # a mask's dims are adjacent in a contiguous array, so a flat position times
                # the stride of the mask's last dim finds the element
                arrays.append((positions, strides[d + m - 1], _numel(shape[d:d + m])))
                d += m
            else:
                arrays.append((part, strides[d], shape[d]))
                d += 1
            continue
        if first_array_at is not None:
            gap = True
        if part is None:
            basic.append((1, 0))
        elif isinstance(part, slice):
            start, stop, step = part.indices(shape[d])
            basic.append((len(range(start, stop, step)), step * strides[d]))
            base += start * strides[d]
            d += 1
        elif isinstance(part, (int, np.integer)):
            i = int(part)
            if not -shape[d] <= i < shape[d]:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {shape[d]}")
            base += (i % shape[d]) * strides[d]
            d += 1
        else:
            raise IndexError(f"unsupported index {part!r} on a cuda array")
    if not arrays:
        return _Plan(tuple(s for s, _ in basic), tuple(st for _, st in basic), base,
                     None, None, None, None)
    # the index arrays broadcast together to one index shape
    try:
        index_shape = tuple(np.broadcast_shapes(*(_shape(a) for a, _, _ in arrays)))
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together with "
                         "shapes " + " ".join(str(_shape(a)) for a, _, _ in arrays)) from None
    rows = []
    for a, _, size in arrays:
        if isinstance(a, np.ndarray):        # the user's host data (a list): check, then copy over
            a = a.astype(np.int64)
            bad = a[(a >= size) | (a < -size)]
            if bad.size:
                raise IndexError(f"index {bad.flat[0]} is out of bounds for size {size}")
            a = to_device(np.broadcast_to(a, index_shape))
        else:
            a = broadcast_to(a if a.dtype == np.int64 else astype(a, np.int64), index_shape)
        rows.append(a.reshape(1, _numel(index_shape)))
    idx = concatenate(rows, 0)
    at = 0 if separated else first_array_at
    out_shape = tuple(s for s, _ in basic[:at]) + index_shape + tuple(s for s, _ in basic[at:])
    out_strides = tuple(st for _, st in basic[:at]) + (0,) * len(index_shape) + \
        tuple(st for _, st in basic[at:])
    idx_pos = (0,) * at + _contiguous_strides(index_shape) + (0,) * (len(basic) - at)
    return _Plan(out_shape, out_strides, base, idx, idx_pos,
                 tuple(st for _, st, _ in arrays), tuple(sz for _, _, sz in arrays))


def _gather(a, plan):
    if plan.idx is None:
        return _strided_copy(a, plan.shape, plan.strides, plan.base)
    out = _empty(plan.shape, a.dtype)
    if out.size:
        shape_t, strides_t, pos_t = _padded(plan.shape, plan.strides, plan.idx_pos)
        _launch(_dev().index_gather_k, out.size)(_flat(a), _flat(out), shape_t, strides_t,
                                                 int(plan.base), plan.idx, pos_t,
                                                 plan.idx_strides, plan.idx_sizes)
    return out


def _scatter(destination, plan, values, accumulate):
    """Write (or add) `values`, shaped like plan.shape, into `destination` along the plan."""
    if values.size == 0:
        return
    if plan.idx is None:                    # no index arrays: an empty idx, one dummy entry
        idx, idx_strides, idx_sizes = _empty((0, 1), np.int64), (0,), (1,)
        pos = (0,) * len(plan.shape)
    else:
        idx, idx_strides, idx_sizes, pos = plan.idx, plan.idx_strides, plan.idx_sizes, plan.idx_pos
    shape_t, strides_t, pos_t = _padded(plan.shape, plan.strides, pos)
    kernel = _dev().index_scatter_add_k if accumulate else _dev().index_scatter_k
    _launch(kernel, values.size)(_flat(destination), _flat(values), shape_t, strides_t,
                                 int(plan.base), idx, pos_t, idx_strides, idx_sizes)


def getitem(a, index):
    """`a[index]` for any numpy index, as a new contiguous array."""
    return _gather(a, _index_plan(_shape(a), index))


def setitem(a, index, value):
    """`a[index] = value`, in place (value: a number or a device array that broadcasts)."""
    _check_device(value)
    plan = _index_plan(_shape(a), index)
    if not _is_dev(value):
        values = _full(plan.shape, value, a.dtype)
    else:
        values = value if value.dtype == a.dtype else astype(value, a.dtype)
        if _shape(values) != plan.shape:
            shape = _shape(values)
            while len(shape) > len(plan.shape) and shape[0] == 1:   # numpy drops leading 1s
                shape = shape[1:]
            try:
                values = broadcast_to(values.reshape(shape), plan.shape)
            except ValueError:
                raise ValueError(f"could not broadcast input array from shape {_shape(value)} "
                                 f"into shape {plan.shape}") from None
    _scatter(a, plan, values, False)


def index_backward(grad, index, shape):
    """The adjoint of `a[index]`: zeros of `shape` with `grad` added at `index` (atomically:
    an integer-array index may pick one element twice)."""
    out = zeros(shape, grad.dtype)
    _scatter(out, _index_plan(shape, index), grad, True)
    return out


def _along_axis_plan(shape, indices, axis):
    """The plan of take_along_axis: other dims index themselves, `axis` reads `indices`."""
    shape = tuple(int(s) for s in shape)
    ishape = _shape(indices)
    axis = axis % len(shape)
    out_shape = tuple(ishape[d] if d == axis else int(np.broadcast_shapes((shape[d],), (ishape[d],))[0])
                      for d in range(len(shape)))
    strides = _contiguous_strides(shape)
    out_strides = tuple(0 if (d == axis or shape[d] == 1) else strides[d] for d in range(len(shape)))
    idx = indices if indices.dtype == np.int64 else astype(indices, np.int64)
    idx = broadcast_to(idx, out_shape).reshape(1, _numel(out_shape))
    return _Plan(out_shape, out_strides, 0, idx, _contiguous_strides(out_shape),
                 (strides[axis],), (shape[axis],))


def take_along_axis(a, indices, axis):
    _check_device(indices)
    return _gather(a, _along_axis_plan(_shape(a), indices, axis))


def scatter_along_axis(values, indices, axis, shape):
    """The adjoint of take_along_axis: zeros of `shape` with `values` added at `indices`."""
    _check_device(values, indices)
    out = zeros(shape, values.dtype)
    plan = _along_axis_plan(shape, indices, axis)
    _scatter(out, plan, broadcast_to(values, plan.shape), True)
    return out


def concatenate(arrays, axis):
    """Join along an existing axis: one strided write per piece into the output."""
    _check_device(*arrays)
    shapes = [_shape(a) for a in arrays]
    axis = axis % len(shapes[0])
    dtype = np.result_type(*(a.dtype for a in arrays))
    out_shape = list(shapes[0])
    out_shape[axis] = _python_sum(s[axis] for s in shapes)
    out = _empty(tuple(out_shape), dtype)
    start = 0
    for a, s in zip(arrays, shapes):
        setitem(out, (slice(None),) * axis + (slice(start, start + s[axis]),), a)
        start += s[axis]
    return out


def stack(arrays, axis):
    """Join along a new axis: concatenate after giving each piece a size-1 dim there."""
    shape = _shape(arrays[0])
    axis = axis % (len(shape) + 1)
    new = shape[:axis] + (1,) + shape[axis:]
    return concatenate([a.reshape(new) for a in arrays], axis)


def _python_sum(values):
    # (this module defines `sum`, the kernel; this is Python's)
    total = 0
    for v in values:
        total += v
    return total
