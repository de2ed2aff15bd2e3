"""Reference (plain numpy) kernels: the oracle for tests and the readable baseline.

Every backend (``kernels.cpu``, ``kernels.cuda``) exports the same names with the
same argument order.  Arrays are float32/float64 for math, int64 for indices and
targets, bool for comparisons.  Unless stated otherwise outputs are new arrays and
inputs are never modified; inputs may be non-contiguous, 0-d or empty and
broadcast like numpy.  A Python scalar may stand in for ``b`` in binary ops.

Vocabulary
----------
binary      add sub mul div pow maximum minimum (a, b)
compare     eq ne lt le gt ge (a, b) -> bool;  where(cond, a, b)
unary       neg exp log sqrt abs tanh sigmoid relu (a);  clamp(a, lo, hi)
fused bwd   relu_backward(grad, x)  tanh_backward(grad, y)  sigmoid_backward(grad, y)
reduce      sum max min (a, axis, keepdims);  argmax argmin (a, axis, keepdims) -> int64
matmul      matmul(a, b)  (>= 2-D operands, batched with broadcast batch dims)
softmax     softmax(x, axis)  log_softmax(x, axis)
            softmax_backward(grad, y, axis)  log_softmax_backward(grad, y, axis)
loss        cross_entropy_forward(logits, targets) -> (losses, probs)
            cross_entropy_backward(grad_losses, probs, targets) -> grad_logits
conv        im2col(x, kh, kw, stride, padding)
            col2im(cols, x_shape, kh, kw, stride, padding)
pool        max_pool2d_forward(x, kernel, stride, padding) -> (out, argmax)
            max_pool2d_backward(grad_out, argmax, x_shape)
optim       sgd_step(param, grad, momentum_buf, lr, momentum, dampening, nesterov,
                     weight_decay, first_step)                       (in place)
            adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
                      weight_decay, decoupled)                       (in place)
memory      ones_like zeros copy copy_into astype broadcast_to transpose getitem setitem
            index_backward take_along_axis scatter_along_axis concatenate stack
            logical_and logical_or   (what tensor ops use to move and index arrays)
"""
import numpy as np

__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum",
    "eq", "ne", "lt", "le", "gt", "ge", "where",
    "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clamp",
    "relu_backward", "tanh_backward", "sigmoid_backward",
    "sum", "max", "min", "argmax", "argmin",
    "matmul",
    "softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
    "cross_entropy_forward", "cross_entropy_backward",
    "im2col", "col2im", "max_pool2d_forward", "max_pool2d_backward",
    "sgd_step", "adam_step",
    # memory and movement (see the end of this file)
    "ones_like", "zeros", "copy", "copy_into", "astype", "broadcast_to", "transpose",
    "getitem", "setitem", "index_backward", "take_along_axis", "scatter_along_axis",
    "concatenate", "stack", "logical_and", "logical_or",
]


def _pair(v):
    """Normalise an int or a 2-sequence to a (int, int) tuple."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


# ----------------------------------------------------------------------------- binary
# numpy's ufuncs themselves, not wrappers: these run on every small-tensor op, and a Python
# wrapper around each would be one more call per op (numpy broadcasting throughout).
add = np.add                # a + b
sub = np.subtract           # a - b
mul = np.multiply           # a * b
div = np.true_divide        # a / b (true division; x/0 gives +-inf or nan like IEEE)


def pow(a, b):
    """a ** b (negative base with fractional exponent gives nan)."""
    return np.power(a, b)


def maximum(a, b):
    """Elementwise max; nan propagates."""
    return np.maximum(a, b)


def minimum(a, b):
    """Elementwise min; nan propagates."""
    return np.minimum(a, b)


def eq(a, b):
    """a == b -> bool."""
    return np.equal(a, b)


def ne(a, b):
    """a != b -> bool."""
    return np.not_equal(a, b)


def lt(a, b):
    """a < b -> bool."""
    return np.less(a, b)


def le(a, b):
    """a <= b -> bool."""
    return np.less_equal(a, b)


def gt(a, b):
    """a > b -> bool."""
    return np.greater(a, b)


def ge(a, b):
    """a >= b -> bool."""
    return np.greater_equal(a, b)


def where(cond, a, b):
    """cond ? a : b elementwise (all three broadcast)."""
    return np.where(cond, a, b)


# ----------------------------------------------------------------------------- unary
def neg(a):
    """-a."""
    return np.negative(a)


def exp(a):
    """e**a."""
    return np.exp(a)


def log(a):
    """Natural log (log 0 = -inf, log of negative = nan)."""
    return np.log(a)


def sqrt(a):
    """Square root."""
    return np.sqrt(a)


def abs(a):
    """|a|."""
    return np.abs(a)


def tanh(a):
    """Hyperbolic tangent."""
    return np.tanh(a)


def sigmoid(a):
    """1/(1+e^-a), computed from e^-|a| so exp never overflows for large |a|."""
    a = np.asarray(a)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


def relu(a):
    """max(a, 0) (nan propagates)."""
    a = np.asarray(a)
    return np.maximum(a, a.dtype.type(0))


def clamp(a, lo, hi):
    """Clip a to [lo, hi]; either bound may be None (= unbounded)."""
    a = np.asarray(a)
    if lo is None and hi is None:
        return a.copy()
    return np.clip(a, lo, hi).astype(a.dtype, copy=False)


# ----------------------------------------------------------------------------- fused activation backward
def relu_backward(grad, x):
    """grad * (x > 0): one pass instead of compare + cast + multiply."""
    return np.where(np.asarray(x) > 0, grad, 0).astype(np.result_type(grad, x), copy=False)


def tanh_backward(grad, y):
    """grad * (1 - y*y) with y = tanh(x) saved from the forward pass."""
    return grad * (1 - y * y)


def sigmoid_backward(grad, y):
    """grad * y * (1 - y) with y = sigmoid(x) saved from the forward pass."""
    return grad * y * (1 - y)


# ----------------------------------------------------------------------------- reductions
def sum(a, axis=None, keepdims=False):
    """Sum over axis (None = all, int, or tuple); always returns an ndarray."""
    return np.asarray(np.sum(a, axis=axis, keepdims=keepdims))


def max(a, axis=None, keepdims=False):
    """Max over axis; nan propagates; empty reductions raise like numpy."""
    return np.asarray(np.max(a, axis=axis, keepdims=keepdims))


def min(a, axis=None, keepdims=False):
    """Min over axis."""
    return np.asarray(np.min(a, axis=axis, keepdims=keepdims))


def argmax(a, axis=None, keepdims=False):
    """Index (int64) of the first maximum along axis (flat index when axis is None)."""
    return np.asarray(np.argmax(a, axis=axis, keepdims=keepdims)).astype(np.int64, copy=False)


def argmin(a, axis=None, keepdims=False):
    """Index (int64) of the first minimum along axis."""
    return np.asarray(np.argmin(a, axis=axis, keepdims=keepdims)).astype(np.int64, copy=False)


# ----------------------------------------------------------------------------- matmul
def matmul(a, b):
    """a @ b for >= 2-D operands (batch dims broadcast), via numpy's BLAS."""
    return np.matmul(a, b)


# ----------------------------------------------------------------------------- softmax family
def softmax(x, axis):
    """exp(x - max) / sum(exp(x - max)); subtracting the max keeps exp <= 1 (no overflow)."""
    x = np.asarray(x)
    if x.size == 0:
        return np.empty_like(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis):
    """x - logsumexp(x) with the max factored out, exact even for |x| ~ 1000."""
    x = np.asarray(x)
    if x.size == 0:
        return np.empty_like(x)
    s = x - np.max(x, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def softmax_backward(grad, y, axis):
    """y * (grad - sum(grad*y)) -- the Jacobian-vector product of softmax."""
    return y * (grad - np.sum(grad * y, axis=axis, keepdims=True))


def log_softmax_backward(grad, y, axis):
    """grad - exp(y) * sum(grad) with y = log_softmax(x)."""
    return grad - np.exp(y) * np.sum(grad, axis=axis, keepdims=True)


# ----------------------------------------------------------------------------- cross-entropy
def cross_entropy_forward(logits, targets):
    """Per-row loss logsumexp(row) - row[target] and softmax(row) saved for backward."""
    logits = np.asarray(logits)
    n = logits.shape[0]
    logp = log_softmax(logits, 1)
    losses = -logp[np.arange(n), targets]
    return losses, np.exp(logp)


def cross_entropy_backward(grad_losses, probs, targets):
    """(probs - onehot(targets)) * grad_losses[:, None]."""
    g = np.array(probs, copy=True)
    g[np.arange(g.shape[0]), targets] -= 1
    return g * np.asarray(grad_losses, dtype=g.dtype)[:, None]


# ----------------------------------------------------------------------------- convolution helpers
def _out_size(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def im2col(x, kh, kw, stride, padding):
    """Unfold (N,C,H,W) into (N, C*kh*kw, OH*OW) so convolution becomes one matmul.

    Row index is (c, i, j) (matching weight.reshape(out_channels, -1)), column index
    is (oh, ow).  One strided slice per kernel offset (i, j) keeps it vectorised.
    """
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    x = np.asarray(x)
    n, c, h, w = x.shape
    oh, ow = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw][:, :, :oh, :ow]
    return cols.reshape(n, c * kh * kw, oh * ow)


def col2im(cols, x_shape, kh, kw, stride, padding):
    """Adjoint of im2col: scatter-add every column entry back to its pixel."""
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    n, c, h, w = x_shape
    oh, ow = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    cols = np.asarray(cols).reshape(n, c, kh, kw, oh, ow)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            # within one (i, j) offset the target pixels are distinct, so += is safe
            xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw][:, :, :oh, :ow] += cols[:, :, i, j]
    return np.ascontiguousarray(xp[:, :, ph:ph + h, pw:pw + w])


# ----------------------------------------------------------------------------- max pooling
def max_pool2d_forward(x, kernel, stride, padding):
    """Window max and the flat index h*W+w of the (first) max; padding counts as -inf."""
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    x = np.asarray(x)
    n, c, h, w = x.shape
    oh, ow = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    hs = np.arange(oh) * sh - ph          # top row of each window (unpadded coords)
    ws = np.arange(ow) * sw - pw
    best = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    # start from the first real pixel of each window so argmax is always valid
    idx = np.broadcast_to(np.maximum(hs, 0)[:, None] * w + np.maximum(ws, 0)[None, :],
                          best.shape).astype(np.int64)
    for i in range(kh):
        for j in range(kw):
            v = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw][:, :, :oh, :ow]
            take = (v > best) | (np.isnan(v) & ~np.isnan(best))   # strict: first max wins
            best = np.where(take, v, best)
            idx = np.where(take, (hs + i)[:, None] * w + (ws + j)[None, :], idx)
    return best, idx


def max_pool2d_backward(grad_out, argmax, x_shape):
    """Scatter-add grad_out to the argmax pixels (windows may overlap)."""
    n, c, h, w = x_shape
    grad_out = np.asarray(grad_out)
    gx = np.zeros((n * c, h * w), dtype=grad_out.dtype)
    argmax = np.asarray(argmax)
    rows = np.repeat(np.arange(n * c), argmax.shape[2] * argmax.shape[3])
    np.add.at(gx, (rows, argmax.reshape(-1)), grad_out.reshape(-1))
    return gx.reshape(n, c, h, w)


# ----------------------------------------------------------------------------- optimizers
def sgd_step(param, grad, momentum_buf, lr, momentum, dampening, nesterov, weight_decay,
             first_step):
    """In-place torch.optim.SGD update (weight decay, momentum, dampening, nesterov)."""
    g = grad + weight_decay * param if weight_decay != 0 else grad
    if momentum != 0:
        if first_step:
            momentum_buf[...] = g                     # PyTorch: buf = clone(grad)
        else:
            momentum_buf *= momentum
            momentum_buf += (1 - dampening) * g
        g = g + momentum * momentum_buf if nesterov else momentum_buf
    param -= lr * g


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              decoupled):
    """In-place torch.optim.Adam (decoupled=False, L2) / AdamW (decoupled=True) update."""
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    exp_avg *= beta1
    exp_avg += (1 - beta1) * grad
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    denom = np.sqrt(exp_avg_sq) / np.sqrt(bc2) + eps   # PyTorch's exact order of ops
    param -= (lr / bc1) * (exp_avg / denom)


# ---------------------------------------------------------------------- memory and movement
# Not compute, but every backend must provide them: tensor ops reshape, index and copy
# arrays through these names, so the same op code runs on numpy and on device arrays.

def ones_like(a):
    """An array of ones shaped and typed like `a` (the seed gradient of backward)."""
    return np.ones_like(a)


def zeros(shape, dtype):
    return np.zeros(shape, dtype)


def copy(a):
    """A fresh C-contiguous copy (callers may write into it)."""
    return np.array(a, copy=True, order="C")


def copy_into(destination, source):
    """Write `source` into `destination` in place (same shape; same-kind dtype cast)."""
    np.copyto(destination, source, casting="same_kind")


def astype(a, dtype):
    return a.astype(dtype)


def broadcast_to(a, shape):
    """A read-only view that repeats `a` along broadcast axes (no copy)."""
    return np.broadcast_to(a, shape)


def transpose(a, axes):
    """A view with the axes permuted (no copy)."""
    return np.transpose(a, axes)


def getitem(a, index):
    return a[index]


def setitem(a, index, value):
    """`a[index] = value`, in place."""
    a[index] = value


def index_backward(grad, index, shape):
    """The adjoint of `a[index]`: zeros of `shape` with `grad` added at `index`
    (added, not assigned, because an integer-array index may pick an element twice)."""
    out = np.zeros(shape, dtype=grad.dtype)
    np.add.at(out, index, grad)
    return out


def take_along_axis(a, indices, axis):
    return np.take_along_axis(a, indices, axis)


def scatter_along_axis(values, indices, axis, shape):
    """The adjoint of take_along_axis: zeros of `shape` with `values` added at `indices`."""
    out = np.zeros(shape, dtype=values.dtype)
    grid = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    grid[axis] = indices
    np.add.at(out, tuple(grid), values)
    return out


def concatenate(arrays, axis):
    return np.concatenate(arrays, axis)


def stack(arrays, axis):
    return np.stack(arrays, axis)


def logical_and(a, b):
    return np.logical_and(a, b)


def logical_or(a, b):
    return np.logical_or(a, b)
